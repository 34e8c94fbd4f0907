"""cumsum / cumprod, top_k and in_top_k: forward against NumPy references (float64 where
floating), gradients against central finite differences, on every available device; integer
dtypes, empty and size-1 dimensions, ties, NaN, static shapes and error messages."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand
from nestor.ops.top_k_ops import TopKV2

DEVICES = available_devices()


# ---------------------------------------------------------------- references
def np_scan(x, axis, exclusive, reverse, prod):
    """cumsum / cumprod by NumPy: moved axis last, flipped for reverse, shifted for exclusive."""
    y = np.moveaxis(np.asarray(x), axis, -1)
    if reverse:
        y = y[..., ::-1]
    y = (np.cumprod if prod else np.cumsum)(y, axis=-1, dtype=y.dtype)
    if exclusive:
        first = np.full_like(y[..., :1], 1 if prod else 0)
        y = np.concatenate([first, y[..., :-1]], axis=-1)
    if reverse:
        y = y[..., ::-1]
    return np.moveaxis(y, -1, axis)


def np_top_k(x, k):
    """Sorted by (NaN first, larger value first, lower index first), per row of the last axis."""
    x = np.asarray(x)
    rows = x.reshape(-1, x.shape[-1])
    idx = np.zeros((rows.shape[0], k), np.int32)
    for r, row in enumerate(rows):
        def key(j, row=row):
            return (0, 0.0, j) if np.isnan(row[j]) else (1, -float(row[j]), j)
        idx[r] = sorted(range(row.size), key=key)[:k]
    vals = np.take_along_axis(rows, idx.astype(np.int64), axis=1)
    return vals.reshape(x.shape[:-1] + (k,)), idx.reshape(x.shape[:-1] + (k,))


def np_in_top_k(pred, targets, k):
    out = []
    for row, t in zip(pred, targets):
        ok = 0 <= t < row.size and np.all(np.isfinite(row))
        out.append(bool(ok and np.sum(row > row[t]) < k))
    return np.array(out, dtype=bool)


def test_references_on_hand_worked_examples():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np_scan(x, 0, False, False, False), [1, 3, 6])
    np.testing.assert_array_equal(np_scan(x, 0, True, False, False), [0, 1, 3])
    np.testing.assert_array_equal(np_scan(x, 0, False, True, False), [6, 5, 3])
    np.testing.assert_array_equal(np_scan(x, 0, True, True, True), [6, 3, 1])
    v, i = np_top_k(np.array([1.0, 3.0, np.nan, 3.0, -0.0, 0.0]), 5)
    np.testing.assert_array_equal(i, [2, 1, 3, 0, 4])
    assert list(np_in_top_k(np.array([[1.0, 2.0, 2.0]]), [1], 1)) == [True]


# ---------------------------------------------------------------- cumsum / cumprod
SCAN_CASES = [((5,), 0), ((3, 4), 1), ((3, 4), -2), ((2, 3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), 0)]
FLAGS = [(False, False), (True, False), (False, True), (True, True)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("exclusive,reverse", FLAGS)
@pytest.mark.parametrize("shape,axis", SCAN_CASES)
@pytest.mark.parametrize("prod", [False, True], ids=["cumsum", "cumprod"])
def test_scan_float64_forward_and_grad(device, prod, shape, axis, exclusive, reverse):
    x = rand(*shape, seed=1, low=0.5, high=1.5) * np.where(rand(*shape, seed=2) > 0, 1.0, -1.0)
    op = tf.math.cumprod if prod else tf.math.cumsum
    check_op(lambda p: op(p, axis, exclusive=exclusive, reverse=reverse), [x],
             lambda v: np_scan(v, axis, exclusive, reverse, prod), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("exclusive,reverse", FLAGS)
def test_cumprod_gradient_is_exact_with_zeros(device, exclusive, reverse):
    # One zero, two zeros and a zero at each end of a line: TensorFlow's gradient (a division by
    # x) is wrong at all of these; cumprod is multilinear, so central differences are exact here.
    x = np.array([[0.7, 0.0, 1.3, -0.9, 1.1],
                  [0.0, 1.2, 0.0, 0.8, -1.4],
                  [1.5, -0.6, 0.9, 1.1, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 0.0]])
    check_op(lambda p: tf.cumprod(p, axis=1, exclusive=exclusive, reverse=reverse), [x],
             lambda v: np_scan(v, 1, exclusive, reverse, True), device=device, grad_atol=1e-8)
    check_op(lambda p: tf.cumprod(p, axis=0, exclusive=exclusive, reverse=reverse), [x],
             lambda v: np_scan(v, 0, exclusive, reverse, True), device=device, grad_atol=1e-8)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
@pytest.mark.parametrize("prod", [False, True], ids=["cumsum", "cumprod"])
def test_scan_other_dtypes(device, prod, dtype):
    rng = np.random.default_rng(3)
    x = (rng.integers(-3, 4, size=(3, 5)) if dtype != np.float32 else rng.uniform(-2, 2, (3, 5))).astype(dtype)
    op = tf.cumprod if prod else tf.cumsum
    for exclusive, reverse in FLAGS:
        for axis in (0, 1, -1):
            check_op(lambda p: op(p, axis, exclusive, reverse), [x],
                     lambda v: np_scan(v.astype(np.float64), axis, exclusive, reverse, prod).astype(dtype),
                     device=device, grad=False, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_integer_scans_wrap_around(device):
    x = np.array([2 ** 31 - 1, 1, 5], np.int32)
    check_op(tf.cumsum, [x], lambda v: np.array([2 ** 31 - 1, -2 ** 31, -2 ** 31 + 5], np.int32), device=device,
             grad=False)
    y = np.array([2 ** 32, 2 ** 32, 3], np.int64)
    check_op(tf.cumprod, [y], lambda v: np.array([2 ** 32, 0, 0], np.int64), device=device, grad=False)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,axis", [((0,), 0), ((3, 0), 1), ((3, 0), 0), ((0, 4), 1), ((1, 5), 0),
                                        ((4, 1), 1), ((1,), 0), ((1, 1, 1), -1)])
def test_scan_empty_and_size_one_dims(device, shape, axis):
    x = rand(*shape, seed=4)
    for prod, op in ((False, tf.cumsum), (True, tf.cumprod)):
        for exclusive, reverse in FLAGS:
            check_op(lambda p: op(p, axis, exclusive=exclusive, reverse=reverse), [x],
                     lambda v: np_scan(v, axis, exclusive, reverse, prod), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_scan_axis_fed_at_run_time_and_large_lines(device):
    x = rand(3, 700, 5, seed=5, low=0.99, high=1.01)  # more columns and rows than one pool task
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float64, [None, None, None])
        a = tf.placeholder(tf.int64, [])
        ys = [tf.cumsum(p, a, reverse=True), tf.cumprod(p, a, exclusive=True)]
        assert ys[0].shape.as_list() == [None, None, None]
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            for axis in (0, 1, 2, -1):
                got = s.run(ys, {p: x, a: axis})
                np.testing.assert_allclose(got[0], np_scan(x, axis, False, True, False), rtol=1e-12)
                np.testing.assert_allclose(got[1], np_scan(x, axis, True, False, True), rtol=1e-12)
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"cumsum.*axis 3 is out of range for rank 3"):
                s.run(ys[0], {p: x, a: 3})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"cumprod.*axis -4 is out of range for rank 3"):
                s.run(ys[1], {p: x, a: -4})


def test_scan_static_shapes_names_and_errors():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, 3])
        y = tf.math.cumsum(p, axis=1)
        assert y.shape.as_list() == [None, 3] and y.dtype == tf.float32
        assert tf.cumprod(p, -2, name="cp").op.name == "cp"
        assert tf.cumsum is tf.math.cumsum and tf.cumprod is tf.math.cumprod
        assert y.op.type == "cumsum"
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"\(cumsum\): axis 2 is out of range for rank 2"):
            tf.cumsum(p, 2)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"\(cumprod\): axis -3 is out of range for rank 2"):
            tf.cumprod(p, -3)
        with pytest.raises(tf.errors.InvalidArgumentError, match="x must be at least 1-D, got a scalar"):
            tf.cumsum(tf.constant(1.0))
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"axis must be a scalar, got shape \(1,\)"):
            tf.cumsum(p, [1])
        with pytest.raises(tf.errors.InvalidArgumentError, match="x must be numeric, got string"):
            tf.cumsum(tf.constant(["a", "b"]))
        with pytest.raises(TypeError, match="axis must be an int32 or int64 scalar"):
            tf.cumsum(p, 1.5)


def test_scan_gradients_are_scans_of_dy():
    # cumsum's gradient is the cumsum of dy with the same exclusive flag and the opposite direction.
    dy = np.array([[1.0, 2.0, 3.0, 4.0]])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [1, 4])
        w = tf.placeholder(tf.float64, [1, 4])
        with tf.Session() as s:
            for exclusive, reverse in FLAGS:
                (g,) = tf.gradients(tf.cumsum(x, 1, exclusive, reverse), [x], grad_ys=[w])
                got = s.run(g, {x: np.zeros((1, 4)), w: dy})
                np.testing.assert_array_equal(got, np_scan(dy, 1, exclusive, not reverse, False))


# ---------------------------------------------------------------- top_k
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,k", [((5,), 1), ((5,), 3), ((5,), 5), ((3, 7), 1), ((3, 7), 4), ((3, 7), 7),
                                     ((2, 3, 6), 2), ((4, 1), 1), ((3, 300), 17)])
def test_top_k_float64_forward_and_grad(device, shape, k):
    x = rand(*shape, seed=6)
    check_op(lambda p: tuple(tf.math.top_k(p, k)), [x], lambda v: np_top_k(v, k), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_top_k_ties_take_the_lower_index_first(device, dtype):
    x = np.random.default_rng(7).integers(-2, 3, size=(6, 9)).astype(dtype)
    x[0] = 1  # every entry tied
    for k in (0, 1, 4, 9):
        check_op(lambda p: tuple(tf.nn.top_k(p, k=k)), [x], lambda v: np_top_k(v, k), device=device, grad=False)
        check_op(lambda p: tuple(tf.math.top_k(p, k, sorted=False)), [x], lambda v: np_top_k(v, k),
                 device=device, grad=False)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_top_k_nan_inf_and_signed_zeros(device, dtype):
    x = np.array([[1.0, np.nan, -np.inf, 0.0, -0.0, np.inf, np.nan, -1.0],
                  [-0.0, 0.0, -0.0, 0.0, 2.0, 2.0, -np.inf, -np.inf]], dtype)
    for k in (1, 3, 8):
        check_op(lambda p: tuple(tf.math.top_k(p, k)), [x], lambda v: np_top_k(v, k), device=device, grad=False)


@pytest.mark.parametrize("device", DEVICES)
def test_top_k_gradient_scatters_dy_to_the_selected_entries(device):
    x = np.array([[0.5, 2.0, -1.0, 3.0], [4.0, 1.0, 1.5, 0.0]])
    w = np.array([[10.0, 20.0], [30.0, 40.0]])
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float64, [2, 4])
        vals = tf.math.top_k(p, 2).values
        (grad,) = tf.gradients(vals, [p], grad_ys=[tf.constant(w)])
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            got = s.run(grad, {p: x})
    np.testing.assert_array_equal(got, [[0.0, 20.0, 0.0, 10.0], [30.0, 0.0, 40.0, 0.0]])


@pytest.mark.parametrize("device", DEVICES)
def test_top_k_dynamic_k_and_shapes(device):
    x = rand(4, 6, seed=8)
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float64, [None, 6])
        k = tf.placeholder(tf.int32, [])
        r = tf.math.top_k(p, k)
        assert r.values.shape.as_list() == [None, None] and r.indices.dtype == tf.int32
        r3 = tf.math.top_k(p, 3)
        assert r3.values.shape.as_list() == [None, 3] and r3.indices.shape.as_list() == [None, 3]
        assert isinstance(r3, TopKV2) and r3._fields == ("values", "indices")
        u = tf.placeholder(tf.float64, None)
        assert tf.math.top_k(u, 2).values.shape.ndims is None
        with tf.Session(graph=g, config=tf.ConfigProto(device=device)) as s:
            for kv in (0, 2, 6):
                v, i = s.run(r, {p: x, k: kv})
                wv, wi = np_top_k(x, kv)
                np.testing.assert_array_equal(v, wv)
                np.testing.assert_array_equal(i, wi)
            with pytest.raises(tf.errors.InvalidArgumentError, match="input must have at least k columns. Had 6, "
                                                                     "needed 7"):
                s.run(r, {p: x, k: 7})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"Need k >= 0, got -1"):
                s.run(r, {p: x, k: -1})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"input must be >= 1-D, got shape \(\)"):
                s.run(tf.math.top_k(u, 1), {u: 2.0})


def test_top_k_build_time_errors():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, 5])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"\(top_k\): input must have at least k columns. "
                                                                 r"Had 5, needed 6"):
            tf.math.top_k(p, 6)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Need k >= 0, got -2"):
            tf.math.top_k(p, -2)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"input must be >= 1-D, got shape \(\)"):
            tf.math.top_k(tf.constant(3.0))
        with pytest.raises(tf.errors.InvalidArgumentError, match="input must be numeric, got bool"):
            tf.math.top_k(tf.constant([True, False]))
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"k must be a scalar, got shape \(1,\)"):
            tf.math.top_k(p, [1])
        with pytest.raises(TypeError, match="k must be int32 or int64"):
            tf.math.top_k(p, 1.5)


# ---------------------------------------------------------------- in_top_k
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("pdtype,tdtype", [(np.float32, np.int32), (np.float64, np.int64)])
def test_in_top_k_ties_non_finite_and_bad_targets(device, pdtype, tdtype):
    pred = np.array([[0.1, 0.3, 0.3, 0.2],      # tie at the top
                     [0.1, np.nan, 0.5, 0.2],   # NaN anywhere in the row: False
                     [0.1, 0.2, np.inf, 0.3],   # inf anywhere in the row: False
                     [1.0, 2.0, 3.0, 4.0],
                     [1.0, 2.0, 3.0, 4.0],
                     [5.0, 5.0, 5.0, 5.0]], pdtype)
    for targets in ([1, 2, 0, 3, -1, 3], [2, 0, 3, 4, 0, 0], [0, 3, 1, 2, 1, 2]):
        t = np.array(targets, tdtype)
        for k in (-1, 0, 1, 2, 3, 4, 10):
            check_op(lambda p, q: tf.math.in_top_k(q, p, k), [pred, t], lambda p, q: np_in_top_k(p, q, k),
                     device=device, grad=False)
            check_op(lambda p, q: tf.nn.in_top_k(p, q, k), [pred, t], lambda p, q: np_in_top_k(p, q, k),
                     device=device, grad=False)


@pytest.mark.parametrize("device", DEVICES)
def test_in_top_k_random_against_reference(device):
    rng = np.random.default_rng(9)
    pred = rng.integers(0, 5, size=(50, 8)).astype(np.float32)  # many ties
    t = rng.integers(0, 8, size=50).astype(np.int32)
    for k in (1, 2, 5):
        check_op(lambda p, q: tf.math.in_top_k(q, p, k), [pred, t], lambda p, q: np_in_top_k(p, q, k),
                 device=device, grad=False)


def test_in_top_k_shapes_and_errors():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, 4])
        t = tf.placeholder(tf.int32, [7])
        r = tf.math.in_top_k(t, p, 2)
        assert r.dtype == tf.bool and r.shape.as_list() == [7]
        assert tf.nn.in_top_k(p, tf.placeholder(tf.int64, [None]), 1).shape.as_list() == [None]
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"predictions must be 2-dimensional, got shape "
                                                                 r"\(4,\)"):
            tf.math.in_top_k([1], [0.1, 0.2, 0.3, 0.4], 1)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"targets must be 1-dimensional"):
            tf.math.in_top_k([[1]], p, 1)
        with pytest.raises(tf.errors.InvalidArgumentError, match="First dimension of predictions 2 must match "
                                                                 "length of targets 3"):
            tf.math.in_top_k([0, 1, 2], np.zeros((2, 4), np.float32), 1)
        with pytest.raises(TypeError, match="targets must be int32 or int64"):
            tf.math.in_top_k([0.5], np.zeros((1, 4), np.float32), 1)
        q = tf.placeholder(tf.float32, [None, None])
        u = tf.placeholder(tf.int32, [None])
        with tf.Session() as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match="First dimension of predictions 2 must match "
                                                                     "length of targets 1"):
                s.run(tf.math.in_top_k(u, q, 1), {q: np.zeros((2, 3)), u: [0]})
