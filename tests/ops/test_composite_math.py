"""Composed math ops: tf.math.l2_normalize, tf.norm, tf.math.reduce_variance / reduce_std and
tf.math.unsorted_segment_mean / sqrt_n. Forward against NumPy float64 formulas, gradients
against central finite differences, edge cases and errors."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand

DEVICES = available_devices()


def run(t, feed=None):
    g = (t[0] if isinstance(t, (list, tuple)) else t).graph
    with tf.Session(graph=g) as s:
        return s.run(t, feed)


# ---------------------------------------------------------------- l2_normalize
def np_l2_normalize(x, axis=None, eps=1e-12):
    ss = np.sum(x * x, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=True)
    return x / np.sqrt(np.maximum(ss, eps))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, [0, 2], (-1, -2)], ids=str)
def test_l2_normalize_forward_and_gradient(device, axis):
    x = rand(2, 3, 4, seed=4)
    check_op(lambda v: tf.math.l2_normalize(v, axis=axis), [x], lambda v: np_l2_normalize(v, axis), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_l2_normalize_epsilon_floor(device):
    # Rows whose squared norm is below epsilon are scaled by 1/sqrt(epsilon), not normalized; the
    # gradient there is 1/sqrt(epsilon) * identity. Row 0 is normal, row 1 is tiny, row 2 is zero.
    x = np.array([[0.3, -0.4, 0.5], [2e-3, -1e-3, 3e-3], [0.0, 0.0, 0.0]])
    check_op(lambda v: tf.nn.l2_normalize(v, axis=1, epsilon=1e-2), [x], lambda v: np_l2_normalize(v, 1, 1e-2),
             device=device)
    check_op(lambda v: tf.linalg.l2_normalize(v, 1), [x[:2]], lambda v: np_l2_normalize(v, 1), device=device)
    # default epsilon: the zero row gives zeros, not NaN (TF1's `dim` spelling of axis)
    check_op(lambda v: tf.math.l2_normalize(v, dim=1), [x], lambda v: np_l2_normalize(v, 1), device=device,
             grad=False)


def test_l2_normalize_float32_and_errors():
    x = np.array([[3.0, 4.0], [1e-7, 0.0]], np.float32)
    with tf.Graph().as_default():
        got = run(tf.math.l2_normalize(x, axis=1))
        assert got.dtype == np.float32
        with pytest.raises(ValueError, match="Cannot specify both 'axis' and 'dim'"):
            tf.nn.l2_normalize(x, axis=0, dim=0)
        with pytest.raises(TypeError, match="l2_normalize: x must be float32 or float64, got int32"):
            tf.math.l2_normalize([3, 4])
    np.testing.assert_allclose(got, [[0.6, 0.8], [0.1, 0.0]], rtol=1e-6)


# ---------------------------------------------------------------- norm
VECTOR_ORDS = ["euclidean", 2, 1, np.inf, 0.5, 3, 2.5]


def np_vector_norm(x, ord, axis, keepdims):
    a = np.abs(x)
    if ord in ("euclidean", 2):
        r = np.sqrt(np.sum(a ** 2, axis=axis, keepdims=True))
    elif ord == np.inf:
        r = np.max(a, axis=axis, keepdims=True)
    else:
        r = np.sum(a ** ord, axis=axis, keepdims=True) ** (1.0 / ord)
    return r if keepdims else np.squeeze(r, axis=axis)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=str)
@pytest.mark.parametrize("axis", [None, 0, -1, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_vector_norms(device, ord, axis, keepdims):
    x = rand(3, 4, seed=11)
    x = np.where(np.abs(x) < 0.2, 0.7, x)  # |x| has a kink at 0
    check_op(lambda v: tf.norm(v, ord=ord, axis=axis, keepdims=keepdims), [x],
             lambda v: np_vector_norm(v, ord, axis, keepdims), device=device, grad_rtol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ord", ["fro", "euclidean", 1, np.inf], ids=str)
@pytest.mark.parametrize("shape,axis", [((3, 4), (0, 1)), ((3, 4), [-1, -2]), ((2, 3, 4), (1, 2)),
                                        ((2, 3, 4), (2, 0))], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_matrix_norms_match_numpy(device, ord, shape, axis, keepdims):
    x = rand(*shape, seed=12)
    x = np.where(np.abs(x) < 0.2, 0.7, x)
    np_ord = "fro" if ord == "euclidean" else ord
    check_op(lambda v: tf.linalg.norm(v, ord=ord, axis=axis, keepdims=keepdims), [x],
             lambda v: np.linalg.norm(v, ord=np_ord, axis=tuple(axis), keepdims=keepdims), device=device)


def test_norm_defaults_and_aliases():
    x = rand(3, 4, seed=13)
    with tf.Graph().as_default():
        t = tf.constant(x)
        outs = [tf.norm(t), tf.norm(t, keepdims=True), tf.compat.v1.norm(t, axis=1, keep_dims=True),
                tf.norm(t, ord=True, axis=1)]
        assert outs[0].shape.as_list() == [] and outs[1].shape.as_list() == [1, 1]
        got = run(outs)
    np.testing.assert_allclose(got[0], np.sqrt(np.sum(x * x)), rtol=1e-14)
    np.testing.assert_allclose(got[1], [[np.sqrt(np.sum(x * x))]], rtol=1e-14)
    np.testing.assert_allclose(got[2], np.linalg.norm(x, axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(got[3], np.sum(np.abs(x), axis=1), rtol=1e-14)  # True == 1, as in TensorFlow


def test_norm_errors():
    x = np.ones((3, 4))
    with tf.Graph().as_default():
        for ord in ("fro", 0, -1, -np.inf, "nuc", "foo", 1j):
            with pytest.raises(ValueError, match="'ord' must be a supported vector norm, got"):
                tf.norm(x, ord=ord)
        with pytest.raises(ValueError, match=r"'ord' must be a supported matrix norm in \['euclidean', 'fro', 1, 2, "
                                             r"inf\], got nuc"):
            tf.norm(x, ord="nuc", axis=(0, 1))
        for axis in ([1], (0, 1, 2), (1, 1), 1.0):
            with pytest.raises(ValueError, match="'axis' must be None, an integer, or a tuple of 2"):
                tf.norm(x, axis=axis)
        for ord in (2, 2.0):
            with pytest.raises(NotImplementedError, match="spectral norm .* needs an SVD"):
                tf.norm(x, ord=ord, axis=(0, 1))
        with pytest.raises(TypeError, match="tensor must be float32 or float64, got int32"):
            tf.norm(np.arange(3, dtype=np.int32))
        with pytest.raises(ValueError, match="Cannot specify both 'keepdims' and 'keep_dims'"):
            tf.compat.v1.norm(x, keepdims=True, keep_dims=True)


# ---------------------------------------------------------------- reduce_variance / reduce_std
AXES = [None, 0, -1, [0, 2], [1]]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_variance_and_std(device, axis, keepdims):
    x = rand(3, 4, 2, seed=21)
    ax = tuple(axis) if isinstance(axis, list) else axis
    check_op(lambda v: tf.math.reduce_variance(v, axis=axis, keepdims=keepdims), [x],
             lambda v: np.var(v, axis=ax, keepdims=keepdims), device=device)
    check_op(lambda v: tf.math.reduce_std(v, axis, keepdims), [x],
             lambda v: np.std(v, axis=ax, keepdims=keepdims), device=device)


def test_reduce_variance_float32_empty_and_errors():
    x = rand(5, 3, seed=22).astype(np.float32)
    with tf.Graph().as_default():
        v32 = tf.math.reduce_variance(x, axis=0)
        empty = tf.math.reduce_variance(np.zeros((0, 3)), axis=0)
        got32, got_empty = run([v32, empty])
        with pytest.raises(TypeError, match="Input must be either real or complex. Received integer type int32"):
            tf.math.reduce_variance([3, 4])
        with pytest.raises(TypeError, match="Received integer type int64"):
            tf.math.reduce_std(np.array([3, 4], np.int64))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, np.var(x.astype(np.float64), axis=0), rtol=1e-5)
    assert np.isnan(got_empty).all() and got_empty.shape == (3,)


# ---------------------------------------------------------------- unsorted_segment_mean / sqrt_n
def np_segment(data, ids, n, kind):
    out = np.zeros((n,) + data.shape[ids.ndim:])
    count = np.zeros(n)
    for idx in np.ndindex(ids.shape):
        s = ids[idx]
        if 0 <= s < n:
            out[s] += data[idx]
            count[s] += 1
    div = np.maximum(count, 1)
    div = div if kind == "mean" else np.sqrt(div)
    return out / div.reshape((n,) + (1,) * (out.ndim - 1))


SEGMENT_CASES = [
    ((6,), np.array([0, 2, 0, 3, 2, 0]), 5),             # segments 1 and 4 empty
    ((5, 3), np.array([1, -1, 1, 0, 3]), 4),             # negative ids are dropped
    ((2, 3, 2), np.array([[0, 1, 0], [1, 1, 2]]), 3),    # ids of a 2-D prefix of data
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["mean", "sqrt_n"])
@pytest.mark.parametrize("dshape,ids,n", SEGMENT_CASES, ids=["1d", "2d_negative", "2d_ids"])
def test_unsorted_segment_mean_and_sqrt_n(device, kind, dshape, ids, n):
    op = tf.math.unsorted_segment_mean if kind == "mean" else tf.math.unsorted_segment_sqrt_n
    data = rand(*dshape, seed=31)
    for id_dtype in (np.int32, np.int64):
        check_op(lambda d, s: op(d, s, n), [data, ids.astype(id_dtype)], lambda d, s: np_segment(d, s, n, kind),
                 device=device)


def test_unsorted_segment_mean_int_data_run_time_num_segments_and_errors():
    with tf.Graph().as_default():
        num = tf.placeholder(tf.int32, [])
        m = tf.unsorted_segment_mean([1, 2, 4], [0, 0, 1], 3)  # TF1 top-level spelling too
        d = tf.math.unsorted_segment_sqrt_n(tf.constant([[1.0, 2.0], [3.0, 4.0]]), [2, 2], num)
        assert m.dtype == tf.float64  # integer data: TensorFlow's true division
        got_m, got_d = run([m, d], {num: 4})
        with pytest.raises(TypeError, match="unsorted_segment_sqrt_n: data must be float32 or float64, got int32"):
            tf.math.unsorted_segment_sqrt_n([1, 2], [0, 0], 1)
        with pytest.raises(TypeError, match="segment_ids must be int32 or int64, got float32"):
            tf.math.unsorted_segment_mean([1.0, 2.0], [0.0, 1.0], 2)
        bad = tf.math.unsorted_segment_mean([1.0, 2.0], [0, 5], 2)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"segment_ids\[1\] = 5 is out of range \[0, 2\)"):
            run(bad)
    np.testing.assert_allclose(got_m, [1.5, 4.0, 0.0])
    np.testing.assert_allclose(got_d, [[0, 0], [0, 0], [4 / np.sqrt(2), 6 / np.sqrt(2)], [0, 0]], rtol=1e-6)
