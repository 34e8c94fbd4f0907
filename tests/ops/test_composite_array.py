"""tf.sequence_mask, tf.boolean_mask and tf.linspace (compositions of native ops): forward
against NumPy float64 references, gradients against finite differences, static shapes,
run-time (dynamic) sizes, and errors."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand, run_op

DEVICES = available_devices()


def run(t, feed=None):
    g = (t[0] if isinstance(t, (list, tuple)) else t).graph
    with tf.Session(graph=g) as s:
        return s.run(t, feed)


# ---------------------------------------------------------------- sequence_mask
def np_sequence_mask(lengths, maxlen=None):
    lengths = np.asarray(lengths)
    if maxlen is None:
        maxlen = max(0, lengths.max()) if lengths.size else 0
    return np.arange(maxlen) < lengths[..., None]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("lengths", [np.array([1, 3, 0, 2], np.int32), np.array([[1, 4], [2, 0], [3, 3]], np.int64),
                                     np.array(2, np.int32), np.array([-1, 2], np.int32), np.zeros(0, np.int32)],
                         ids=["1d", "2d_int64", "scalar", "negative", "empty"])
@pytest.mark.parametrize("maxlen", [None, 0, 3, 6])
def test_sequence_mask_matches_numpy(device, lengths, maxlen):
    check_op(lambda n: tf.sequence_mask(n, maxlen=maxlen), [lengths],
             lambda n: np_sequence_mask(n, maxlen), device=device, grad=False)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64, tf.int32, tf.int64, tf.bool])
def test_sequence_mask_dtype_and_static_shape(dtype):
    with tf.Graph().as_default():
        lengths = tf.placeholder(tf.int32, [None, 2])
        m = tf.sequence_mask(lengths, 5, dtype=dtype)
        assert m.dtype == dtype and m.shape.as_list() == [None, 2, 5]
        dyn = tf.sequence_mask(lengths, tf.placeholder_with_default(5, []))  # maxlen known at run time only
        assert dyn.shape.as_list() == [None, 2, None]
        got, got_dyn = run([m, dyn], {lengths: [[0, 5], [2, 7]]})
    want = np_sequence_mask([[0, 5], [2, 7]], 5)
    np.testing.assert_array_equal(got, want.astype(dtype.as_numpy_dtype))
    np.testing.assert_array_equal(got_dyn, want)


def test_sequence_mask_float_lengths_cast_to_maxlen_dtype():
    # As TensorFlow: lengths are cast to maxlen's dtype (int32 for a Python int: 1.5 -> 1), and
    # a float maxlen (from float lengths) compares against float positions.
    with tf.Graph().as_default():
        a = tf.sequence_mask([1.5, 3.0], maxlen=3)
        b = tf.sequence_mask([1.5, 3.0])
        got_a, got_b = run([a, b])
    np.testing.assert_array_equal(got_a, [[True, False, False], [True, True, True]])
    np.testing.assert_array_equal(got_b, [[True, True, False], [True, True, True]])


def test_sequence_mask_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"`maxlen` must be scalar.*\(1,\)"):
            tf.sequence_mask([1, 2], maxlen=[4])
        with pytest.raises(ValueError, match="`maxlen` must be >= 0, got -1"):
            tf.sequence_mask([1, 2], maxlen=-1)


# ---------------------------------------------------------------- boolean_mask
def np_boolean_mask(t, mask, axis=0):
    mask = np.asarray(mask)
    axis = axis % t.ndim
    k = mask.ndim
    flat = t.reshape(t.shape[:axis] + (-1,) + t.shape[axis + k:])
    return np.compress(mask.reshape(-1).astype(bool), flat, axis=axis)


MASK_CASES = [
    ((5,), (5,), None),
    ((4, 3), (4,), 0),
    ((4, 3), (4, 3), None),
    ((2, 3, 4), (3,), 1),
    ((2, 3, 4), (4,), -1),
    ((2, 3, 4, 2), (3, 4), 1),
    ((2, 3, 4, 2), (4, 2), -2),
    ((3, 2), (3,), -2),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("tshape,mshape,axis", MASK_CASES, ids=[f"{a}-{b}-{c}" for a, b, c in MASK_CASES])
def test_boolean_mask_forward_and_gradient(device, tshape, mshape, axis):
    t = rand(*tshape, seed=3)
    mask = np.random.default_rng(1).uniform(size=mshape) < 0.6
    mask.reshape(-1)[0] = True  # at least one kept entry, so the gradient check is not vacuous
    mask.reshape(-1)[-1] = False
    check_op(lambda x, m: tf.boolean_mask(x, m, axis=axis), [t, mask],
             lambda x, m: np_boolean_mask(x, m, 0 if axis is None else axis), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_boolean_mask_all_false_empty_and_numeric_masks(device):
    t = rand(3, 4, seed=2)
    check_op(lambda x, m: tf.boolean_mask(x, m), [t, np.zeros(3, bool)], lambda x, m: x[:0], device=device)
    check_op(lambda x, m: tf.boolean_mask(x, m, axis=1), [t, np.ones(4, bool)], lambda x, m: x, device=device)
    empty = np.zeros((0, 3))
    check_op(lambda x, m: tf.boolean_mask(x, m), [empty, np.zeros(0, bool)], lambda x, m: x, device=device,
             grad=False)
    ints = np.array([0, 2, -1], np.int32)  # nonzero entries are selected, as TensorFlow's where()
    check_op(lambda x, m: tf.boolean_mask(x, m), [t, ints], lambda x, m: x[[1, 2]], device=device)


def test_boolean_mask_unknown_dimensions_and_dtypes():
    t = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    mask = np.array([[True, False, True], [False, True, True]])
    with tf.Graph().as_default():
        pt = tf.placeholder(tf.int64, [None, None, 4])
        pm = tf.placeholder(tf.bool, [None, None])
        out = tf.boolean_mask(pt, pm)
        assert out.shape.as_list() == [None, 4] and out.dtype == tf.int64
        strings = tf.boolean_mask(tf.constant(["a", "b", "c"]), [True, False, True])
        got, got_s = run([out, strings], {pt: t, pm: mask})
    np.testing.assert_array_equal(got, t[mask])
    assert list(got_s) == [b"a", b"c"]


def test_boolean_mask_tf1_positional_name():
    # TensorFlow 1's order is (tensor, mask, name, axis); a string in the axis slot is the name.
    with tf.Graph().as_default():
        out = tf.compat.v1.boolean_mask(np.arange(6).reshape(2, 3), [False, True], "picked")
        assert out.name.startswith("picked/")
        out2 = tf.boolean_mask(np.arange(6).reshape(2, 3), [True, False, True], "cols", 1)
        got, got2 = run([out, out2])
    np.testing.assert_array_equal(got, [[3, 4, 5]])
    np.testing.assert_array_equal(got2, [[0, 2], [3, 5]])


def test_boolean_mask_errors():
    x = np.zeros((2, 3, 4))
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="mask cannot be scalar"):
            tf.boolean_mask(x, True)
        with pytest.raises(ValueError, match="Number of mask dimensions must be specified"):
            tf.boolean_mask(x, tf.placeholder(tf.bool))
        with pytest.raises(ValueError, match=r"Shapes \(2,\) and \(3,\) are incompatible.*`mask`"):
            tf.boolean_mask(x, [True, False, True])
        with pytest.raises(ValueError, match=r"Shapes \(3, 4\) and \(3, 3\) are incompatible"):
            tf.boolean_mask(x, np.ones((3, 3), bool), axis=1)
        with pytest.raises(ValueError, match=r"rank 1 at axis 3 must cover.*\(2, 3, 4\)"):
            tf.boolean_mask(x, [True] * 4, axis=3)
        with pytest.raises(ValueError, match=r"rank 2 at axis -1 must cover"):
            tf.boolean_mask(x, np.ones((4, 1), bool), axis=-1)
        with pytest.raises(ValueError, match="negative axis .* known rank"):
            tf.boolean_mask(tf.placeholder(tf.float32), [True], axis=-1)
        with pytest.raises(TypeError, match="axis must be a Python int or a constant"):
            tf.boolean_mask(x, [True, False], axis=tf.placeholder(tf.int32, []))


# ---------------------------------------------------------------- linspace
def np_linspace(start, stop, num, axis=0):
    """Element k = start + k * (stop - start) / (num - 1), with exact ends (float64)."""
    start, stop = np.broadcast_arrays(np.asarray(start, np.float64), np.asarray(stop, np.float64))
    k = np.arange(num, dtype=np.float64).reshape((-1,) + (1,) * start.ndim)
    out = start + k * (stop - start) / max(num - 1, 1)
    if num >= 2:
        out[-1] = stop
    return np.moveaxis(out, 0, axis)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("num", [0, 1, 2, 3, 7])
def test_linspace_scalar_ends(device, num):
    check_op(lambda a, b: tf.linspace(a, b, num), [np.array(-1.5), np.array(2.25)],
             lambda a, b: np_linspace(a, b, num), device=device, rtol=1e-14, atol=1e-14)
    check_op(lambda a, b: tf.linspace(a, b, num), [np.array(3.0), np.array(-1.0)],  # descending
             lambda a, b: np_linspace(a, b, num), device=device, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sa,sb,axis", [((3,), (3,), 0), ((3,), (3,), 1), ((3,), (3,), -1), ((2, 1), (3,), 0),
                                        ((2, 1), (3,), 2), ((2, 1), (3,), -2), ((), (2, 2), 1)])
def test_linspace_tensor_ends_broadcast_and_axis(device, sa, sb, axis):
    a, b = rand(*sa, seed=1), rand(*sb, seed=2)
    check_op(lambda x, y: tf.linspace(x, y, 5, axis=axis), [a, b], lambda x, y: np_linspace(x, y, 5, axis),
             device=device, rtol=1e-13, atol=1e-14)


def test_linspace_dtypes_and_float32_rounding():
    with tf.Graph().as_default():
        ints = tf.linspace(0, 10, 4)
        f32 = tf.linspace(0.1, 0.7, 4)
        f64 = tf.linspace(np.float64(0.1), 0.7, 4)
        assert ints.dtype == tf.float64 and f32.dtype == tf.float32 and f64.dtype == tf.float64
        assert f32.shape.as_list() == [4]
        got_i, got_32, got_64 = run([ints, f32, f64])
    np.testing.assert_allclose(got_i, np_linspace(0, 10, 4), rtol=1e-15)
    np.testing.assert_allclose(got_64, np_linspace(0.1, 0.7, 4), rtol=1e-15)
    # float32 arithmetic in TensorFlow's order: delta = (stop - start) / 3, start + k * delta
    s, e = np.float32(0.1), np.float32(0.7)
    d = (e - s) / np.float32(3)
    np.testing.assert_array_equal(got_32, np.array([s, s + np.float32(1) * d, s + np.float32(2) * d, e], np.float32))


@pytest.mark.parametrize("num_dtype", [tf.int32, tf.int64])
@pytest.mark.parametrize("num", [0, 1, 2, 6])
def test_linspace_run_time_num(num_dtype, num):
    a, b = np.array([0.0, 1.0]), np.array([1.0, -2.0])
    with tf.Graph().as_default():
        n = tf.placeholder(num_dtype, [])
        out = tf.linspace(tf.constant(a), tf.constant(b), n, axis=1)
        assert out.shape.as_list() == [2, None]
        got = run(out, {n: num})
    np.testing.assert_allclose(got, np_linspace(a, b, num, axis=1), rtol=1e-14, atol=1e-15)


def test_linspace_errors():
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match=r"\(name: num\) must be of type integer"):
            tf.linspace(0.0, 1.0, 2.5)
        with pytest.raises(TypeError, match=r"\(name: num\) must be of type integer"):
            tf.linspace(0.0, 1.0, tf.placeholder(tf.float32, []))
        with pytest.raises(ValueError, match="`num` must be >= 0, got -1"):
            tf.linspace(0.0, 1.0, -1)
        with pytest.raises(ValueError, match=r"axis 2 is out of range for a result of rank 1"):
            tf.linspace(0.0, 1.0, 3, axis=2)
        with pytest.raises(ValueError, match="conversion requested dtype float64"):
            tf.linspace(tf.constant(1.0, tf.float64), tf.constant(2.0), 3)
        n = tf.placeholder(tf.int32, [])
        out = tf.lin_space(0.0, 1.0, n)
        with pytest.raises(tf.errors.InvalidArgumentError, match="linspace: num must be >= 0"):
            run(out, {n: -2})


def test_sequence_mask_and_boolean_mask_run_on_inputs_of_run_op():
    # run_op builds from placeholders of the exact input shapes: the composed graph runs there too.
    lengths = np.array([2, 0, 3], np.int32)
    got = run_op(lambda n: tf.boolean_mask(tf.range(3), tf.sequence_mask(n, 3)[:, 1]), [lengths])
    np.testing.assert_array_equal(got, [0, 2])
