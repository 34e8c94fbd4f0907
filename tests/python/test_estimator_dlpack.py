"""Estimators fed with arrays that live outside numpy (cupy, torch, any DLPack producer):
an input_fn that returns them directly has them fed at every step through DLPack, with
no copy, and the results match plain gradient descent computed in numpy float64.

The CPU tests use torch tensors and a minimal DLPack producer over a numpy array; the
GPU test at the end (cupy arrays on the device) skips, with the reason, without a GPU."""
import gc
import weakref

import numpy as np
import pytest

import nestor as tf

LR = 0.1


class Producer:
    """A DLPack producer that is not numpy (like a JAX or cupy array) over a numpy array."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, *args, **kwargs):
        return self.a.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.25
         + 0.1 * rng.standard_normal((n, 1))).astype(np.float32)
    return x, y


def _gd_reference(batches, steps_each, w=None, b=None):
    """Full-batch gradient descent on mean squared error, in float64."""
    w = np.zeros((3, 1)) if w is None else w
    b = np.zeros(1) if b is None else b
    for (x, y), steps in zip(batches, steps_each):
        x, y = x.astype(np.float64), y.astype(np.float64)
        for _ in range(steps):
            r = x @ w + b - y
            w = w - LR * 2.0 / len(x) * (x.T @ r)
            b = b - LR * 2.0 / len(x) * r.sum(axis=0)
    return w, b


def _model_fn(calls):
    def model_fn(features, labels, mode):
        calls.append((mode, features["x"]))
        w = tf.get_variable("w", [3, 1], initializer=tf.zeros_initializer())
        b = tf.get_variable("b", [1], initializer=tf.zeros_initializer())
        pred = tf.matmul(features["x"], w) + b
        if mode == tf.estimator.ModeKeys.PREDICT:
            return tf.estimator.EstimatorSpec(mode, predictions={"y": pred})
        loss = tf.reduce_mean(tf.square(pred - labels))
        train_op = tf.train.GradientDescentOptimizer(LR).minimize(loss, global_step=tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op, eval_metric_ops={
            "mae": tf.metrics.mean_absolute_error(labels, pred)})
    return model_fn


def _weights(est):
    return est.get_variable_value("w"), est.get_variable_value("b")


@pytest.mark.parametrize("wrap", ["producer", "torch"])
def test_device_arrays_are_fed_every_step_and_the_graph_is_reused(tmp_path, wrap):
    if wrap == "torch":
        torch = pytest.importorskip("torch")
        conv = torch.from_numpy
    else:
        conv = Producer
    (x1, y1), (x2, y2) = _data(seed=1), _data(seed=2)
    calls = []
    est = tf.estimator.Estimator(_model_fn(calls), model_dir=str(tmp_path))
    est.train(lambda: ({"x": conv(x1)}, conv(y1)), steps=7)
    assert len(calls) == 1
    mode, x_in = calls[0]
    assert x_in.op.type.lower() == "placeholder" and x_in.shape.as_list() == [32, 3] and x_in.dtype is tf.float32
    w, b = _weights(est)
    w_ref, b_ref = _gd_reference([(x1, y1)], [7])
    np.testing.assert_allclose(w, w_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, b_ref, rtol=1e-5, atol=1e-6)
    # Same structure, dtypes and shapes: the built graph is fed the new arrays.
    est.train(lambda: ({"x": conv(x2)}, conv(y2)), steps=5)
    assert len(calls) == 1
    w_ref, b_ref = _gd_reference([(x1, y1), (x2, y2)], [7, 5])
    w, b = _weights(est)
    np.testing.assert_allclose(w, w_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, b_ref, rtol=1e-5, atol=1e-6)
    assert est.get_variable_value("global_step") == 12


def test_evaluate_and_predict_take_device_arrays(tmp_path):
    torch = pytest.importorskip("torch")
    x, y = _data(seed=3)
    calls = []
    est = tf.estimator.Estimator(_model_fn(calls), model_dir=str(tmp_path))
    est.train(lambda: ({"x": torch.from_numpy(x)}, torch.from_numpy(y)), steps=4)
    w, b = _gd_reference([(x, y)], [4])
    pred = x.astype(np.float64) @ w + b
    # Not a Dataset, steps=None: one batch, as with tensors returned directly.
    res = est.evaluate(lambda: ({"x": torch.from_numpy(x)}, torch.from_numpy(y)))
    np.testing.assert_allclose(res["loss"], np.mean((pred - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(res["mae"], np.mean(np.abs(pred - y)), rtol=1e-5)
    assert res["global_step"] == 4
    out = list(est.predict(lambda: {"x": torch.from_numpy(x)}))
    assert len(out) == 32
    np.testing.assert_allclose(np.stack([o["y"] for o in out]), pred, rtol=1e-5, atol=1e-6)
    # Labels returned in PREDICT mode are dropped, not fed.
    out = list(est.predict(lambda: ({"x": torch.from_numpy(x)}, torch.from_numpy(y)), yield_single_examples=False))
    np.testing.assert_allclose(out[0]["y"], pred, rtol=1e-5, atol=1e-6)
    assert {m for m, _ in calls} == {"train", "eval", "infer"}


def test_arrays_are_fed_without_a_copy_and_not_held_after_the_call(tmp_path):
    x, y = _data(seed=4)
    held = {"x": x.copy(), "y": y.copy()}
    est = tf.estimator.Estimator(_model_fn([]), model_dir=str(tmp_path))
    est.train(lambda: ({"x": Producer(held["x"])}, Producer(held["y"])), steps=1)
    # Written in place between calls: the next call sees the new values through the same memory.
    held["x"][:] = x * 2.0
    est.train(lambda: ({"x": Producer(held["x"])}, Producer(held["y"])), steps=1)
    w_ref, b_ref = _gd_reference([(x, y), (x * 2.0, y)], [1, 1])
    np.testing.assert_allclose(_weights(est)[0], w_ref, rtol=1e-5, atol=1e-6)
    refs = [weakref.ref(held["x"]), weakref.ref(held["y"])]
    held.clear()
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_mixed_with_numpy_constants_and_premade_estimators(tmp_path):
    torch = pytest.importorskip("torch")
    x, y = _data(seed=5)
    cols = [tf.feature_column.numeric_column("x", shape=[3]), tf.feature_column.numeric_column("z")]
    z = np.linspace(-1, 1, 32).astype(np.float32)[:, None]

    def run(conv, model_dir):
        est = tf.estimator.LinearRegressor(cols, model_dir=model_dir, optimizer="SGD")
        est.train(lambda: ({"x": conv(x), "z": z}, conv(y)), steps=6)
        return est.evaluate(lambda: ({"x": conv(x), "z": z}, conv(y)), steps=1)["average_loss"]

    got = run(torch.from_numpy, str(tmp_path / "torch"))
    want = run(lambda a: a, str(tmp_path / "numpy"))  # all numpy: constants, as TensorFlow
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got < np.mean(y.astype(np.float64) ** 2)  # it learnt from the fed data


def test_non_contiguous_array_error_names_the_feature(tmp_path):
    torch = pytest.importorskip("torch")
    x, y = _data(seed=6)
    wide = torch.from_numpy(np.concatenate([x, x], axis=1))[:, :3]
    est = tf.estimator.Estimator(_model_fn([]), model_dir=str(tmp_path))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"torch\.Tensor 'x', which cannot be fed: .*contiguous"):
        est.train(lambda: ({"x": wide}, torch.from_numpy(y)), steps=1)


def test_dataset_from_device_memory_says_what_to_do():
    class OnGpu(Producer):
        def __dlpack_device__(self):
            return (2, 0)  # kDLCUDA

    with pytest.raises(TypeError, match=r"device memory \(DLPack device type 2\).*return them from the input_fn"):
        tf.data.Dataset.from_tensor_slices({"x": OnGpu(np.zeros((4, 3), np.float32))})


# ---------------------------------------------------------------- GPU
_gpu = bool(tf.config.list_physical_devices("GPU"))


@pytest.mark.skipif(not _gpu, reason="no GPU visible: " + tf.config.device_unavailable_reason("cuda"))
def test_cupy_features_train_on_the_gpu_like_numpy_on_the_cpu(tmp_path):
    cupy = pytest.importorskip("cupy")
    x, y = _data(seed=7)
    est = tf.estimator.Estimator(_model_fn([]), model_dir=str(tmp_path),
                                 config=tf.estimator.RunConfig(device="cuda"))
    xd, yd = cupy.asarray(x), cupy.asarray(y)
    est.train(lambda: ({"x": xd}, yd), steps=9)
    w_ref, b_ref = _gd_reference([(x, y)], [9])
    np.testing.assert_allclose(_weights(est)[0], w_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_weights(est)[1], b_ref, rtol=1e-4, atol=1e-5)
    pred = x.astype(np.float64) @ w_ref + b_ref
    out = next(est.predict(lambda: {"x": xd}, yield_single_examples=False))
    np.testing.assert_allclose(out["y"], pred, rtol=1e-4, atol=1e-5)
