"""tf.sort / tf.argsort / tf.searchsorted, tf.math.bincount, tf.histogram_fixed_width(_bins),
tf.meshgrid, tf.math.reduce_euclidean_norm and tf.math.cumulative_logsumexp (compositions of
native ops): forward against NumPy float64 references, gradients against finite differences,
and errors."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand, run_op

DEVICES = available_devices()
I32 = np.iinfo(np.int32)


def run(t, feed=None):
    g = (t[0] if isinstance(t, (list, tuple)) else t).graph
    with tf.Session(graph=g) as s:
        return s.run(t, feed)


# ---------------------------------------------------------------- sort / argsort
def np_argsort(x, axis, direction):
    key = x.astype(np.float64) if x.dtype.kind == "f" else x.astype(np.int64)
    return np.argsort(key if direction == "ASCENDING" else -key, axis=axis, kind="stable").astype(np.int32)


def np_sort(x, axis, direction):
    return np.take_along_axis(x, np_argsort(x, axis, direction), axis)


TIES = np.array([[3., 1., 2., 1., 3., -0., 0., 2.], [5., 5., -1., 5., 0., -2., -1., 4.]])
SORT_INPUTS = {
    "float_ties": TIES,
    "float32_3d": rand(2, 3, 4, seed=5).astype(np.float32),
    "int32_extremes": np.array([3, I32.min, 5, I32.max, 3, -1, I32.min, 0], np.int32),
    "int64_ties": np.array([[2, 2, -7, 9], [1, 0, 1, 0]], np.int64),
    "empty_axis": np.zeros((2, 0)),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("direction", ["ASCENDING", "DESCENDING"])
@pytest.mark.parametrize("key", list(SORT_INPUTS))
@pytest.mark.parametrize("axis", [-1, 0])
def test_sort_and_argsort_match_numpy_stable(device, direction, key, axis):
    x = SORT_INPUTS[key]
    check_op(lambda t: [tf.sort(t, axis=axis, direction=direction),
                        tf.argsort(t, axis=axis, direction=direction, stable=True)],
             [x], lambda a: [np_sort(a, axis, direction), np_argsort(a, axis, direction)], device=device, grad=False)


@pytest.mark.parametrize("axis", [0, 1, 2, -2])
@pytest.mark.parametrize("direction", ["ASCENDING", "DESCENDING"])
def test_sort_middle_axes_and_gradient(axis, direction):
    x = rand(3, 4, 5, seed=7)  # distinct values: the sort is differentiable
    check_op(lambda t: tf.sort(t, axis=axis, direction=direction), [x], lambda a: np_sort(a, axis, direction))


def test_sort_unknown_axis_length_at_graph_time():
    x = rand(3, 6, seed=8)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float64, [None, None])
        s, a = tf.sort(p, axis=0), tf.argsort(p, direction="DESCENDING")
        got_s, got_a = run([s, a], {p: x})
    np.testing.assert_array_equal(got_s, np.sort(x, axis=0))
    np.testing.assert_array_equal(got_a, np_argsort(x, -1, "DESCENDING"))


def test_sort_nan_comes_first_in_both_directions():
    x = np.array([1., np.nan, -np.inf, 0., np.nan, 2.])
    got_a, got_d, idx_a = run_op(lambda t: [tf.sort(t), tf.sort(t, direction="DESCENDING"), tf.argsort(t)], [x])
    np.testing.assert_array_equal(got_a, [np.nan, np.nan, -np.inf, 0., 1., 2.])
    np.testing.assert_array_equal(got_d, [np.nan, np.nan, 2., 1., 0., -np.inf])
    np.testing.assert_array_equal(idx_a, [1, 4, 2, 3, 0, 5])


def test_sort_errors():
    with tf.Graph().as_default():
        x = tf.zeros([2, 3])
        with pytest.raises(ValueError, match="`direction` should be one of ASCENDING, DESCENDING"):
            tf.sort(x, direction="UP")
        with pytest.raises(ValueError, match="`axis` must be a constant scalar"):
            tf.argsort(x, axis=tf.placeholder(tf.int32, []))
        with pytest.raises(ValueError, match="axis 2 is out of range"):
            tf.sort(x, axis=2)
        with pytest.raises(TypeError, match="values must be float32, float64, int32 or int64, got bool"):
            tf.sort(tf.constant([True, False]))
        with pytest.raises(ValueError, match="argsort: values must be at least 1-D, got a scalar"):
            tf.argsort(tf.constant(1.0))
        with pytest.raises(ValueError, match="rank of `values` must be known"):
            tf.sort(tf.placeholder(tf.float32))
        with pytest.raises(TypeError, match="uint64 values above 9223372036854775807 are not supported"):
            tf.sort(np.array([2**63 + 5, 1], np.uint64))


def test_sort_numpy_unsigned_inputs_keep_their_values():
    u32 = np.array([4000000000, 1, 7, 4000000000, 0], np.uint32)
    u8 = np.array([[255, 0, 7], [3, 3, 1]], np.uint8)
    with tf.Graph().as_default():
        got = run([tf.sort(u32), tf.argsort(u32, direction="DESCENDING"), tf.sort(u8, axis=0), tf.argsort(u8)])
    np.testing.assert_array_equal(got[0], np.sort(u32))
    np.testing.assert_array_equal(got[1], np_argsort(u32, -1, "DESCENDING"))
    np.testing.assert_array_equal(got[2], np.sort(u8, axis=0))
    np.testing.assert_array_equal(got[3], np_argsort(u8, -1, "ASCENDING"))


# ---------------------------------------------------------------- searchsorted
def np_searchsorted(seq, v, side):
    if seq.ndim == 1:
        return np.searchsorted(seq, v, side=side)
    seq2, v2 = seq.reshape(-1, seq.shape[-1]), v.reshape(-1, v.shape[-1])
    return np.stack([np.searchsorted(a, b, side=side) for a, b in zip(seq2, v2)]).reshape(v.shape)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("seq,vals", [
    (np.array([1., 2., 2., 2., 5., 7.]), np.array([-1., 2., 2.5, 5., 7., 9., 1.])),
    (np.array([[1, 3, 5, 7], [2, 2, 6, 8]], np.int32), np.array([[0, 3, 8], [2, 5, 9]], np.int32)),
    (np.sort(rand(2, 3, 5, seed=9), -1), rand(2, 3, 4, seed=10)),
    (np.array([1., 2.]), np.zeros(0)),
], ids=["ties", "int_2d", "3d", "no_values"])
def test_searchsorted_matches_numpy(device, side, seq, vals):
    check_op(lambda s, v: tf.searchsorted(s, v, side=side), [seq, vals],
             lambda s, v: np_searchsorted(s, v, side).astype(np.int32), device=device, grad=False)


def test_searchsorted_out_type_and_errors():
    with tf.Graph().as_default():
        r = tf.searchsorted([1., 2., 3.], [2.5], out_type=tf.int64)
        assert r.dtype == tf.int64
        np.testing.assert_array_equal(run(r), np.searchsorted([1., 2., 3.], [2.5]))
        with pytest.raises(ValueError, match="`side` must be either 'right' or 'left'"):
            tf.searchsorted([1., 2.], [1.], side="middle")
        with pytest.raises(TypeError, match="out_type must be int32 or int64"):
            tf.searchsorted([1., 2.], [1.], out_type=tf.float32)
        with pytest.raises(ValueError, match="must have the same rank"):
            tf.searchsorted([[1., 2.]], [1.])
        with pytest.raises(ValueError, match="leading dimension 0 differs: 2 in sorted_sequence"):
            tf.searchsorted(tf.zeros([2, 3]), tf.zeros([3, 1]))


# ---------------------------------------------------------------- bincount
def np_bincount(arr, weights=None, minlength=None, maxlength=None, axis=None):
    def one(a, w, size):
        keep = a < size
        return np.bincount(a[keep], None if w is None else w[keep], minlength=size)[:size]
    size = int(arr.max()) + 1 if arr.size else 0
    size = max(size, minlength) if minlength is not None else size
    size = min(size, maxlength) if maxlength is not None else size
    if axis == -1:
        return np.stack([one(a, None if weights is None else w, size)
                         for a, w in zip(arr, weights if weights is not None else arr)])
    return one(arr.ravel(), None if weights is None else weights.ravel(), size)


ARR = np.array([[1, 1, 3, 0], [7, 3, 3, 2]], np.int32)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("minlength,maxlength", [(None, None), (10, None), (None, 4), (2, 4), (12, 3), (0, 0)])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_bincount_matches_numpy(device, minlength, maxlength, axis):
    check_op(lambda a: tf.math.bincount(a, minlength=minlength, maxlength=maxlength, axis=axis), [ARR],
             lambda a: np_bincount(a, None, minlength, maxlength, axis).astype(np.int32), device=device, grad=False)


@pytest.mark.parametrize("axis", [None, -1])
def test_bincount_weights_and_their_gradient(axis):
    w = rand(2, 4, seed=11)
    check_op(lambda a, ww: tf.bincount(a, weights=ww, maxlength=6, axis=axis), [ARR, w],
             lambda a, ww: np_bincount(a, ww, None, 6, axis), grad_inputs=[1])


def test_bincount_dtype_binary_output_empty_and_int64():
    with tf.Graph().as_default():
        f = tf.math.bincount(ARR, dtype=tf.float64)
        b = tf.math.bincount(ARR, binary_output=True, axis=-1)
        e = tf.math.bincount(tf.zeros([0], tf.int32))
        e5 = tf.math.bincount(tf.zeros([0], tf.int32), minlength=5)
        l64 = tf.math.bincount(tf.constant([2, 4, 4], tf.int64), dtype=tf.int64)
        assert f.dtype == tf.float64 and l64.dtype == tf.int64
        got = run([f, b, e, e5, l64])
    np.testing.assert_array_equal(got[0], np.bincount(ARR.ravel()).astype(np.float64))
    np.testing.assert_array_equal(got[1], (np_bincount(ARR, axis=-1) > 0).astype(np.int32))
    np.testing.assert_array_equal(got[2], np.zeros(0))
    np.testing.assert_array_equal(got[3], np.zeros(5))
    np.testing.assert_array_equal(got[4], np.bincount([2, 4, 4]))


def test_bincount_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Only 0 and -1 are currently supported"):
            tf.math.bincount(ARR, axis=1)
        with pytest.raises(ValueError, match="`binary_output` and `weights` are mutually exclusive"):
            tf.math.bincount(ARR, weights=tf.ones([2, 4]), binary_output=True)
        with pytest.raises(ValueError, match="axis=-1 needs a 2-D arr"):
            tf.math.bincount(tf.constant([1, 2]), axis=-1)
        neg = tf.math.bincount(tf.constant([1, -2, 3]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="non-negative"):
            run(neg)


# ---------------------------------------------------------------- histograms
def np_hist(v, lo, hi, nbins):
    return np.histogram(np.clip(v, lo, hi), bins=nbins, range=(lo, hi))[0]


def np_bins(v, lo, hi, nbins):
    edges = np.linspace(lo, hi, nbins + 1)
    return np.clip(np.searchsorted(edges, v, side="right") - 1, 0, nbins - 1)


# values away from the bin edges (the edge rounding of np.linspace and of the op may differ)
HV = np.array([[-3.2, 0.1, 1.3, 2.7, 4.9], [5.0, 7.4, 2.2, 9.9, 12.1]])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("nbins", [1, 3, 5, 100])
def test_histogram_fixed_width_matches_numpy(device, nbins):
    check_op(lambda v: [tf.histogram_fixed_width(v, [0., 10.], nbins=nbins),
                        tf.histogram_fixed_width_bins(v, [0., 10.], nbins=nbins)], [HV],
             lambda v: [np_hist(v, 0., 10., nbins).astype(np.int32), np_bins(v, 0., 10., nbins).astype(np.int32)],
             device=device, grad=False)


def test_histogram_int_values_dtype_and_errors():
    v = np.array([0, 1, 2, 3, 4, 5, 9, 11, -1], np.int32)
    with tf.Graph().as_default():
        h = tf.histogram_fixed_width(tf.constant(v), [0, 10], nbins=5, dtype=tf.int64)
        hb = tf.histogram_fixed_width_bins(tf.constant(v), [0, 10], nbins=5, dtype=tf.int64)
        assert h.dtype == tf.int64 and hb.dtype == tf.int64 and hb.shape.as_list() == [9]
        got_h, got_hb = run([h, hb])
        with pytest.raises(ValueError, match="nbins must be > 0, got 0"):
            tf.histogram_fixed_width([1.], [0., 1.], nbins=0)
        with pytest.raises(ValueError, match="2-element vector"):
            tf.histogram_fixed_width_bins([1.], [0., 1., 2.])
        n = tf.placeholder(tf.int32, [])
        with pytest.raises(tf.errors.InvalidArgumentError, match="nbins must be > 0"):
            run(tf.histogram_fixed_width([1.], [0., 1.], nbins=n), {n: -1})
    np.testing.assert_array_equal(got_h, np_hist(v, 0, 10, 5))
    np.testing.assert_array_equal(got_hb, np_bins(v, 0, 10, 5))


# ---------------------------------------------------------------- meshgrid
@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sizes", [(3,), (3, 4), (2, 3, 4)])
def test_meshgrid_matches_numpy(indexing, sizes):
    xs = [rand(n, seed=i) for i, n in enumerate(sizes)]
    check_op(lambda *ts: tf.meshgrid(*ts, indexing=indexing), xs, lambda *a: np.meshgrid(*a, indexing=indexing))


def test_meshgrid_dynamic_sizes_and_errors():
    a, b = np.arange(3, dtype=np.int32), np.arange(5, dtype=np.int32) * 10
    with tf.Graph().as_default():
        pa, pb = tf.placeholder(tf.int32, [None]), tf.placeholder(tf.int32, [None])
        got = run(tf.meshgrid(pa, pb), {pa: a, pb: b})
        assert tf.meshgrid() == []
        with pytest.raises(ValueError, match="must be either 'xy' or 'ij', got 'yx'"):
            tf.meshgrid(pa, indexing="yx")
        with pytest.raises(TypeError, match="'sparse' is an invalid keyword argument"):
            tf.meshgrid(pa, sparse=True)
    for g, w in zip(got, np.meshgrid(a, b)):
        np.testing.assert_array_equal(g, w)


# ---------------------------------------------------------------- reduce_euclidean_norm / cumulative_logsumexp
@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, False), ([0, 2], True), (-1, True)])
def test_reduce_euclidean_norm(axis, keepdims):
    x = rand(2, 3, 4, seed=12)
    ax = tuple(axis) if isinstance(axis, list) else axis
    check_op(lambda t: tf.math.reduce_euclidean_norm(t, axis=axis, keepdims=keepdims), [x],
             lambda a: np.sqrt(np.sum(a * a, axis=ax, keepdims=keepdims)))
    xi = np.array([[3, 4], [1, 1]], np.int32)
    check_op(lambda t: tf.math.reduce_euclidean_norm(t, 1), [xi], lambda a: np.array([5, 1], np.int32), grad=False)


def np_cumlse(x, axis, exclusive, reverse):
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    out = np.empty_like(x)
    for j in range(n):
        idx = [i for i in range(n) if ((i > j or (i == j and not exclusive)) if reverse
                                       else (i < j or (i == j and not exclusive)))]
        sel = x[..., idx]
        out[..., j] = np.logaddexp.reduce(sel, axis=-1) if idx else -np.inf
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumulative_logsumexp(axis, exclusive, reverse):
    x = rand(3, 4, 2, seed=13) * 5
    x[0, 0, 0] = -800.0  # far below the rest: a shifted exp would underflow
    # an exclusive sum's first (reverse: last) element is -inf: left out of the (finite-difference) check
    n = x.shape[axis]
    keep = np.arange(n)[(0 if reverse else 1) if exclusive else 0:n - 1 if exclusive and reverse else n]
    check_op(lambda t: tf.gather(tf.math.cumulative_logsumexp(t, axis=axis, exclusive=exclusive, reverse=reverse),
                                 keep, axis=axis % 3),
             [x], lambda a: np.take(np_cumlse(a, axis, exclusive, reverse), keep, axis=axis))
    if exclusive:
        edge = run_op(lambda t: tf.math.cumulative_logsumexp(t, axis=axis, exclusive=True, reverse=reverse), [x])
        assert np.all(np.take(edge, -1 if reverse else 0, axis=axis) == -np.inf)


def test_cumulative_logsumexp_errors():
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="must be float32 or float64, got int32"):
            tf.math.cumulative_logsumexp(tf.constant([1, 2]))
        with pytest.raises(ValueError, match="axis must be a constant int"):
            tf.math.cumulative_logsumexp(tf.zeros([2, 3]), axis=2)
