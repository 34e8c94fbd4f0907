"""DLPack interchange (nestor.experimental.dlpack): zero copy both ways against torch and
numpy, every dtype, lifetimes, feeds from torch tensors through graphs, signatures and
run_steps, fetches kept on the device, and every error path with its message.

The GPU tests at the end skip, with the reason, where no GPU (or no CUDA torch / cupy) is
visible."""
import gc
import weakref

import numpy as np
import pytest

import nestor as tf
from model_fns import softmax_classifier
from nestor.experimental import dlpack

torch = pytest.importorskip("torch")

DTYPES = [(np.float32, torch.float32, tf.float32), (np.float64, torch.float64, tf.float64),
          (np.int32, torch.int32, tf.int32), (np.int64, torch.int64, tf.int64), (np.bool_, torch.bool, tf.bool)]


def _values(np_dtype, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    if np_dtype is np.bool_:
        return rng.random(shape) > 0.5
    return (rng.standard_normal(shape) * 10).astype(np_dtype)


def _ptr(x):
    """The address of a DLPack producer's first element, read through numpy (no copy)."""
    return np.from_dlpack(x).__array_interface__["data"][0]


# ---------------------------------------------------------------- import / export
def test_from_torch_shares_memory_and_sees_later_writes():
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    x = dlpack.from_dlpack(t)
    assert isinstance(x, dlpack.DeviceTensor)
    assert x.shape == (2, 3) and x.dtype is tf.float32 and x.device == "cpu" and x.ndim == 2
    assert x.__dlpack_device__() == (1, 0)
    assert _ptr(x) == t.data_ptr()
    t[1, 2] = 42.0
    np.testing.assert_array_equal(x.numpy(), np.array([[0, 1, 2], [3, 4, 42]], np.float32))


@pytest.mark.parametrize("np_dtype,torch_dtype,tf_dtype", DTYPES, ids=lambda d: getattr(d, "__name__", str(d)))
def test_every_dtype_round_trips_torch_nestor_torch_and_numpy(np_dtype, torch_dtype, tf_dtype):
    ref = _values(np_dtype)
    t = torch.from_numpy(ref.copy())
    x = dlpack.from_dlpack(t)
    assert x.dtype is tf_dtype
    back = torch.from_dlpack(x)
    assert back.dtype == torch_dtype and back.data_ptr() == t.data_ptr()
    np.testing.assert_array_equal(back.numpy(), ref)
    as_np = np.from_dlpack(x)
    assert as_np.dtype == np.dtype(np_dtype) and np.shares_memory(as_np, t.numpy())
    np.testing.assert_array_equal(as_np, ref)
    np.testing.assert_array_equal(np.asarray(x), ref)


def test_numpy_producer_and_zero_dim_and_empty_tensors():
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    x = dlpack.from_dlpack(a)
    assert np.shares_memory(np.from_dlpack(x), a)
    s = dlpack.from_dlpack(torch.tensor(2.5, dtype=torch.float64))
    assert s.shape == () and s.numpy() == 2.5
    e = dlpack.from_dlpack(torch.zeros((0, 3)))
    assert e.shape == (0, 3) and torch.from_dlpack(e).shape == (0, 3)


def test_size_one_dims_with_any_stride_and_offsets_are_accepted():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    row = base[2:3, :]            # byte offset into the storage, size-1 leading dim
    col = base[:, 1:2].T          # (1, 4) with strides (1, 6): not contiguous
    x = dlpack.from_dlpack(row)
    np.testing.assert_array_equal(x.numpy(), base.numpy()[2:3])
    assert _ptr(x) == row.data_ptr()
    unit = base[1:2, 2:3]          # (1, 1) with strides (6, 1)
    np.testing.assert_array_equal(dlpack.from_dlpack(unit).numpy(), [[8.0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape \(1, 4\) with strides \(1, 6\)"):
        dlpack.from_dlpack(col)


def test_capsules_both_ways_and_a_capsule_is_consumed_once():
    t = torch.arange(5, dtype=torch.int32)
    x = dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(t))  # a bare legacy capsule from torch
    assert _ptr(x) == t.data_ptr()
    cap = dlpack.to_dlpack(x)
    assert '"dltensor"' in repr(cap)
    y = torch.utils.dlpack.from_dlpack(cap)
    assert y.data_ptr() == t.data_ptr()
    with pytest.raises(tf.errors.InvalidArgumentError, match="got 'used_dltensor'.*consumed only once"):
        dlpack.from_dlpack(cap)
    unused = dlpack.to_dlpack(x)
    del unused  # the capsule's destructor frees an export nobody took
    gc.collect()


def test_dlpack_protocol_arguments():
    x = dlpack.from_dlpack(torch.ones(3))
    assert '"dltensor"' in repr(x.__dlpack__())
    assert '"dltensor_versioned"' in repr(x.__dlpack__(max_version=(1, 0)))
    assert '"dltensor"' in repr(x.__dlpack__(max_version=(0, 8)))
    shared = np.from_dlpack(x)
    copied = np.from_dlpack(x, copy=True)
    assert np.shares_memory(shared, np.from_dlpack(x)) and not np.shares_memory(copied, shared)
    np.testing.assert_array_equal(copied, np.ones(3, np.float32))
    assert np.shares_memory(np.from_dlpack(x, device="cpu"), shared)
    with pytest.raises(BufferError, match="not supported"):
        x.__dlpack__(dl_device=(10, 0))


# ---------------------------------------------------------------- lifetimes
def test_producer_dropped_nestor_tensor_still_valid_and_released_after():
    a = np.arange(8, dtype=np.float64) * 1.5
    watch = weakref.ref(a)
    x = dlpack.from_dlpack(a)
    del a
    gc.collect()
    assert watch() is not None  # the DLPack deleter has not run: nestor still views it
    np.testing.assert_array_equal(x.numpy(), np.arange(8) * 1.5)
    t = torch.arange(4, dtype=torch.float32) + 1
    y = dlpack.from_dlpack(t)
    del t
    gc.collect()
    np.testing.assert_array_equal(y.numpy(), [1, 2, 3, 4])
    del x
    gc.collect()
    assert watch() is None  # ... and it runs once the last view is gone


def test_nestor_tensor_dropped_while_torch_holds_the_export():
    a = np.arange(6, dtype=np.float32)
    watch = weakref.ref(a)
    x = dlpack.from_dlpack(a)
    held = torch.from_dlpack(x)
    del a, x
    gc.collect()
    assert watch() is not None
    np.testing.assert_array_equal(held.numpy(), np.arange(6, dtype=np.float32))
    del held
    gc.collect()
    assert watch() is None


def test_fetched_tensor_outlives_the_session_through_torch():
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float32, [None, 2])
        y = p * 2.0
        with tf.Session() as s:
            out = s.run(y, {p: np.ones((3, 2), np.float32)}, experimental_keep_on_device=True)
    held = torch.from_dlpack(out)
    del out, s
    gc.collect()
    np.testing.assert_array_equal(held.numpy(), np.full((3, 2), 2.0, np.float32))


# ---------------------------------------------------------------- errors
def test_non_contiguous_torch_tensor_fails_asking_for_a_contiguous_copy():
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    msg = r"DLPack tensor of shape \(3, 2\) with strides \(1, 3\).*make a contiguous copy first"
    with pytest.raises(tf.errors.InvalidArgumentError, match=msg):
        dlpack.from_dlpack(t.T)
    g = tf.Graph()
    with g.as_default(), tf.Session() as s:
        p = tf.placeholder(tf.float32, [3, 2])
        with pytest.raises(tf.errors.InvalidArgumentError, match=msg):
            s.run(p + 1.0, {p: t.T})
        np.testing.assert_array_equal(s.run(p + 1.0, {p: t.T.contiguous()}), t.T.numpy() + 1)


@pytest.mark.parametrize("torch_dtype,name", [(torch.complex64, "complex64"), (torch.float16, "float16"),
                                              (torch.uint8, "uint8"), (torch.bfloat16, "bfloat16")])
def test_unsupported_dtypes_are_named(torch_dtype, name):
    t = torch.zeros(3, dtype=torch_dtype)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"DLPack dtype {name} is not supported: nestor tensors hold float32, float64"):
        dlpack.from_dlpack(t)


def test_string_tensors_cannot_be_exported():
    g = tf.Graph()
    with g.as_default(), tf.Session() as s:
        words = s.run(tf.constant(["a", "bc"]), experimental_keep_on_device=True)
    assert words.dtype is tf.string
    np.testing.assert_array_equal(words.numpy(), np.array([b"a", b"bc"], dtype=object))
    msg = "a string tensor cannot be exported through DLPack"
    with pytest.raises(tf.errors.InvalidArgumentError, match=msg):
        dlpack.to_dlpack(words)
    with pytest.raises(tf.errors.InvalidArgumentError, match=msg):
        words.__dlpack__()
    with pytest.raises(tf.errors.InvalidArgumentError, match=msg):
        torch.from_dlpack(words)


def test_objects_without_dlpack_are_refused():
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected a DLPack capsule or an object with __dlpack__"):
        dlpack.from_dlpack([1.0, 2.0])


# ---------------------------------------------------------------- feeds
class _OnlyDLPack:
    """A producer that speaks nothing but DLPack (no __array__): feeding it proves the
    session imports through DLPack rather than numpy."""

    def __init__(self, t):
        self.t, self.calls = t, []

    def __dlpack__(self, **kwargs):
        self.calls.append(kwargs)
        return self.t.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.t.__dlpack_device__()


def _mlp_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        rng = np.random.default_rng(7)
        w = tf.constant(rng.standard_normal((4, 3)).astype(np.float32))
        b = tf.constant(rng.standard_normal(3).astype(np.float32))
        y = tf.nn.softmax(tf.nn.relu(tf.matmul(x, w) + b) * 0.5 + tf.reduce_mean(x, axis=1, keepdims=True))
    return g, x, y


def test_torch_feed_through_a_graph_matches_the_numpy_feed():
    g, x, y = _mlp_graph()
    data = _values(np.float32, (5, 4), seed=3)
    with tf.Session(graph=g) as s:
        want = s.run(y, {x: data})
        producer = _OnlyDLPack(torch.from_numpy(data.copy()))
        np.testing.assert_array_equal(s.run(y, {x: producer}), want)
        assert len(producer.calls) == 1 and producer.calls[0].get("max_version") == (1, 0)
        np.testing.assert_array_equal(s.run(y, {x: torch.from_numpy(data)}), want)
        call = s.make_callable(y, [x])
        np.testing.assert_array_equal(call(torch.from_numpy(data)), want)
        # float64 on the host is cast like a float64 numpy array would be
        np.testing.assert_allclose(s.run(y, {x: torch.from_numpy(data.astype(np.float64))}), want, rtol=1e-6)
        stacked = np.stack([data, data[::-1].copy()])
        got = s.run_steps(y, {x: torch.from_numpy(stacked)}, steps=2)
        np.testing.assert_array_equal(got, s.run(y, {x: stacked[1]}))


def test_fetches_kept_on_device_on_a_cpu_session():
    g, x, y = _mlp_graph()
    data = _values(np.float32, (5, 4), seed=4)
    with g.as_default(), tf.Session(graph=g) as s:
        v = tf.Variable(np.arange(3, dtype=np.float32), name="v")
        s.run(tf.global_variables_initializer())
        want = s.run(y, {x: data})
        out = s.run({"y": y, "v": v}, {x: data}, experimental_keep_on_device=True)
        assert isinstance(out["y"], dlpack.DeviceTensor) and out["y"].device == "cpu"
        np.testing.assert_array_equal(torch.from_dlpack(out["y"]).numpy(), want)
        assert isinstance(s.run(y, {x: data}), np.ndarray)  # the default is unchanged
        # a fetched variable is the caller's own copy: writes through torch never reach it
        torch.from_dlpack(out["v"]).add_(100.0)
        np.testing.assert_array_equal(s.run(v), [0, 1, 2])
        # a DeviceTensor feeds back without conversion
        again = s.run(y, {x: dlpack.from_dlpack(torch.from_numpy(data))}, experimental_keep_on_device=True)
        np.testing.assert_array_equal(again.numpy(), want)


def _export(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    est = tf.estimator.Estimator(softmax_classifier, model_dir=str(tmp_path / "m"))
    est.train(lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(16), steps=4)
    return est.export_saved_model(str(tmp_path / "e"), tf.estimator.export.build_raw_serving_input_receiver_fn(
        {"x": tf.zeros([1, 4])})), x


def test_saved_model_signature_takes_torch_and_returns_device_tensors(tmp_path):
    path, x = _export(tmp_path)
    want = tf.saved_model.load(path).signatures["serving_default"](x=x)["probabilities"]
    assert isinstance(want, np.ndarray) and want.shape == (64, 3)
    np.testing.assert_allclose(want.sum(axis=1), 1.0, rtol=1e-5)
    got = tf.saved_model.load(path).signatures["serving_default"](x=torch.from_numpy(x))["probabilities"]
    np.testing.assert_array_equal(got, want)
    on_dev = tf.saved_model.load(path, experimental_keep_on_device=True).signatures["serving_default"]
    out = on_dev(x=torch.from_numpy(x))["probabilities"]
    assert isinstance(out, dlpack.DeviceTensor) and out.shape == (64, 3)
    np.testing.assert_array_equal(torch.from_dlpack(out).numpy(), want)


# ---------------------------------------------------------------- GPU
_gpu = bool(tf.config.list_physical_devices("GPU"))
requires_gpu = pytest.mark.skipif(not _gpu, reason="no GPU visible: " + tf.config.device_unavailable_reason("cuda"))
requires_torch_cuda = pytest.mark.skipif(not (_gpu and torch.cuda.is_available()),
                                         reason="needs a GPU visible to both nestor and torch (torch "
                                                f"{torch.__version__}, cuda available: {torch.cuda.is_available()})")


@requires_gpu
def test_gpu_fetches_stay_on_the_device_and_feed_back_in_place():
    g, x, y = _mlp_graph()
    with g.as_default():
        ident = tf.identity(x)
    data = _values(np.float32, (5, 4), seed=5)
    with tf.Session(graph=g) as cpu:
        want = cpu.run(y, {x: data})
    with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as s:
        out = s.run(y, {x: data}, experimental_keep_on_device=True)
        assert out.device == "cuda:0" and out.__dlpack_device__() == (2, 0)
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-5)
        with pytest.raises(BufferError):
            np.from_dlpack(out)  # GPU memory: numpy cannot view it
        np.testing.assert_allclose(np.from_dlpack(out, device="cpu"), want, rtol=1e-5)  # dl_device: a host copy
        np.testing.assert_array_equal(s.run(y, {x: data}), out.numpy())  # numpy by default
        x_dev = s.run(ident, {x: data}, experimental_keep_on_device=True)
        assert x_dev.device == "cuda:0"
        np.testing.assert_allclose(s.run(y, {x: x_dev}), want, rtol=1e-5)  # a device feed, used in place
    with tf.Session(graph=g) as cpu:  # a CPU session copies a device feed to the host
        np.testing.assert_array_equal(cpu.run(y, {x: x_dev}), want)


@requires_torch_cuda
def test_torch_cuda_round_trip_and_feeds():
    g, x, y = _mlp_graph()
    data = _values(np.float32, (5, 4), seed=6)
    with tf.Session(graph=g) as cpu:
        want = cpu.run(y, {x: data})
    t = torch.from_numpy(data).cuda()
    d = dlpack.from_dlpack(t)
    assert d.device == "cuda:0" and torch.from_dlpack(d).data_ptr() == t.data_ptr()
    np.testing.assert_array_equal(d.numpy(), data)
    with tf.Session(graph=g, config=tf.ConfigProto(device="cuda")) as s:
        out = s.run(y, {x: t}, experimental_keep_on_device=True)
        back = torch.from_dlpack(out)
        assert back.is_cuda
        np.testing.assert_allclose(back.cpu().numpy(), want, rtol=1e-5)
    with tf.Session(graph=g) as cpu:
        np.testing.assert_array_equal(cpu.run(y, {x: t}), want)


@requires_gpu
def test_cupy_round_trip():
    cupy = pytest.importorskip("cupy")
    a = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    d = dlpack.from_dlpack(a)
    assert d.device == "cuda:0"
    b = cupy.from_dlpack(d)
    assert b.data.ptr == a.data.ptr
    np.testing.assert_array_equal(d.numpy(), cupy.asnumpy(a))
    with pytest.raises(tf.errors.InvalidArgumentError, match="not contiguous in row-major order"):
        dlpack.from_dlpack(a.T)
