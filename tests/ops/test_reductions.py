"""Reductions: reduce_sum/mean/max/min/prod/any/all/logsumexp, argmax/argmin, count_nonzero."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand, run_op

DEVICES = available_devices()


def _np_axes(axis, rank):
    if axis is None:
        return tuple(range(rank))
    ax = [axis] if np.isscalar(axis) else list(axis)
    return tuple(sorted(a % rank for a in ax))


def _lse(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


REDUCTIONS = [
    (tf.reduce_sum, np.sum),
    (tf.reduce_mean, np.mean),
    (tf.reduce_max, np.max),
    (tf.reduce_min, np.min),
    (tf.reduce_prod, np.prod),
    (tf.reduce_logsumexp, _lse),
]
AXES = [None, 0, 1, -1, [0, 2], [-1, -3], [1, 2], [0, 1, 2], [2, 0], []]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op,ref", REDUCTIONS, ids=lambda f: getattr(f, "__name__", ""))
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_forward_and_gradient(device, op, ref, axis, keepdims):
    # Values in [0.5, 1.5] with random signs: no zeros (prod), no ties (max/min).
    x = rand(2, 3, 4, seed=3, low=0.5, high=1.5) * np.where(rand(2, 3, 4, seed=4) > 0, 1.0, -1.0)
    ax = _np_axes(axis, 3)
    check_op(lambda t: op(t, axis=axis, keepdims=keepdims), [x],
             lambda t: ref(t, axis=ax, keepdims=keepdims), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op,ref", REDUCTIONS[:5], ids=lambda f: getattr(f, "__name__", ""))
@pytest.mark.parametrize("shape,axis", [((5,), 0), ((3, 1, 4), 1), ((1, 6), [0, 1]), ((2, 1, 3, 1), [0, 2])])
def test_reduce_size_one_axes_and_vectors(device, op, ref, shape, axis):
    x = rand(*shape, seed=5, low=0.5, high=1.5)
    ax = _np_axes(axis, len(shape))
    check_op(lambda t: op(t, axis=axis), [x], lambda t: ref(t, axis=ax), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("axis", [None, 0, -1, [0, 2], []], ids=str)
def test_reduce_integer_dtypes(device, dtype, axis):
    x = np.random.default_rng(1).integers(-9, 10, size=(2, 3, 4)).astype(dtype)
    ax = _np_axes(axis, 3)
    count = int(np.prod([x.shape[a] for a in ax]))
    for op, ref in [(tf.reduce_sum, lambda t: np.sum(t, axis=ax)), (tf.reduce_max, lambda t: np.max(t, axis=ax)),
                    (tf.reduce_min, lambda t: np.min(t, axis=ax)),
                    (tf.reduce_prod, lambda t: np.prod(t.astype(np.int64), axis=ax).astype(dtype)),
                    (tf.reduce_mean, lambda t: np.trunc(np.sum(t, axis=ax) / count).astype(dtype))]:
        got = run_op(lambda t: op(t, axis), [x], device)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, ref(x), err_msg=op.__name__)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,axis", [((300, 1000), 0), ((300, 1000), 1), ((300, 1000), None),
                                        ((3, 200001), 1), ((200001, 3), 0), ((40, 50, 60), [0, 2]),
                                        ((64, 3000, 2), 1)])
def test_reduce_large_float32_matches_float64(device, shape, axis):
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    ax = _np_axes(axis, len(shape))
    x64 = x.astype(np.float64)
    got = run_op(lambda t: [tf.reduce_sum(t, axis), tf.reduce_mean(t, axis), tf.reduce_max(t, axis),
                            tf.reduce_logsumexp(t, axis)], [x], device)
    want = [x64.sum(axis=ax), x64.mean(axis=ax), x64.max(axis=ax), _lse(x64, axis=ax)]
    for g, w, tol in zip(got, want, [1e-2, 1e-5, 0, 1e-5]):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=tol * max(1.0, np.sqrt(x.size / max(w.size, 1))))


@pytest.mark.parametrize("device", DEVICES)
def test_reduce_large_gradients(device):
    x = np.random.default_rng(2).standard_normal((500, 300))
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float64, x.shape)
        ys = [tf.reduce_sum(p, 0), tf.reduce_mean(p, 1), tf.reduce_max(p, [0, 1]), tf.reduce_logsumexp(p, 0)]
        grads = [tf.gradients(y, p)[0] for y in ys]
        with tf.Session(config=tf.ConfigProto(device=device)) as s:
            gs, gm, gx, gl = s.run(grads, {p: x})
    np.testing.assert_allclose(gs, np.ones_like(x))
    np.testing.assert_allclose(gm, np.full_like(x, 1 / 300))
    np.testing.assert_array_equal(gx, (x == x.max()).astype(np.float64))
    e = np.exp(x - x.max(0))
    np.testing.assert_allclose(gl, e / e.sum(0), rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_max_min_gradient_splits_ties(device):
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 5.0]])
    gmax = run_op(lambda t: tf.gradients(tf.reduce_max(t, 1), t)[0], [x], device)
    np.testing.assert_allclose(gmax, [[0, 0.5, 0.5, 0], [0, 0, 0, 1]])
    gmin = run_op(lambda t: tf.gradients(tf.reduce_min(t, 1), t)[0], [x], device)
    np.testing.assert_allclose(gmin, [[0, 0, 0, 1], [1 / 3, 1 / 3, 1 / 3, 0]])


@pytest.mark.parametrize("device", DEVICES)
def test_prod_gradient_with_zeros(device):
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 5.0]])
    got = run_op(lambda t: tf.gradients(tf.reduce_prod(t, 1), t)[0], [x], device)
    np.testing.assert_allclose(got, [[0, 6, 0], [0, 0, 0], [10, 5, 2]])


@pytest.mark.parametrize("device", DEVICES)
def test_reduce_empty_inputs(device):
    x = np.zeros((0, 3))
    got = run_op(lambda t: [tf.reduce_sum(t, 0), tf.reduce_prod(t, 0), tf.reduce_max(t, 0), tf.reduce_min(t, 0),
                            tf.reduce_mean(t, 0), tf.reduce_logsumexp(t, 0), tf.reduce_sum(t, 1)], [x], device)
    np.testing.assert_array_equal(got[0], np.zeros(3))
    np.testing.assert_array_equal(got[1], np.ones(3))
    np.testing.assert_array_equal(got[2], np.full(3, -np.inf))
    np.testing.assert_array_equal(got[3], np.full(3, np.inf))
    assert np.all(np.isnan(got[4]))
    np.testing.assert_array_equal(got[5], np.full(3, -np.inf))
    assert got[6].shape == (0,)
    b = np.zeros((2, 0), dtype=bool)
    anys, alls = run_op(lambda t: [tf.reduce_any(t, 1), tf.reduce_all(t, 1)], [b], device)
    np.testing.assert_array_equal(anys, [False, False])
    np.testing.assert_array_equal(alls, [True, True])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", [None, 0, 1, [0, 1], []], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_any_all(device, axis, keepdims):
    b = np.array([[True, False, True], [True, True, True], [False, False, False]])
    ax = _np_axes(axis, 2)
    got = run_op(lambda t: [tf.reduce_any(t, axis, keepdims=keepdims), tf.reduce_all(t, axis, keepdims=keepdims)],
                 [b], device)
    np.testing.assert_array_equal(got[0], np.any(b, axis=ax, keepdims=keepdims))
    np.testing.assert_array_equal(got[1], np.all(b, axis=ax, keepdims=keepdims))


@pytest.mark.parametrize("device", DEVICES)
def test_axis_none_with_unknown_rank(device):
    x = rand(2, 3, 4, seed=9)
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float64, None)
        y = tf.reduce_sum(p)
        yk = tf.reduce_max(p, keepdims=True)
        assert y.shape.as_list() == []
        assert yk.shape.rank is None
        dy = tf.gradients(tf.reduce_mean(p), p)[0]
        with tf.Session(config=tf.ConfigProto(device=device)) as s:
            v, vk, d = s.run([y, yk, dy], {p: x})
            np.testing.assert_allclose(v, x.sum())
            np.testing.assert_allclose(vk, x.max(keepdims=True))
            np.testing.assert_allclose(d, np.full_like(x, 1 / x.size))
            np.testing.assert_allclose(s.run(y, {p: x[0, 0]}), x[0, 0].sum())


@pytest.mark.parametrize("device", DEVICES)
def test_axes_fed_at_run_time(device):
    x = rand(3, 4, 5, seed=11)
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float64, x.shape)
        a = tf.placeholder(tf.int32, [None])
        y = tf.reduce_sum(p, a, keepdims=True)
        assert y.shape.as_list() == [None, None, None]
        dy = tf.gradients(tf.reduce_max(p, a), p)[0]
        with tf.Session(config=tf.ConfigProto(device=device)) as s:
            np.testing.assert_allclose(s.run(y, {p: x, a: [0, -1]}), x.sum((0, 2), keepdims=True))
            np.testing.assert_allclose(s.run(y, {p: x, a: []}), x)
            d = s.run(dy, {p: x, a: [1]})
            np.testing.assert_array_equal(d, (x == x.max(1, keepdims=True)).astype(np.float64))


def test_shape_inference_and_aliases():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, 3, 4])
        assert tf.reduce_sum(p, [0, -1]).shape.as_list() == [3]
        assert tf.reduce_mean(p, 1, keepdims=True).shape.as_list() == [None, 1, 4]
        assert tf.reduce_max(p, reduction_indices=[2], keep_dims=True).shape.as_list() == [None, 3, 1]
        assert tf.reduce_min(p, []).shape.as_list() == [None, 3, 4]
        assert tf.argmax(p, 1).shape.as_list() == [None, 4]
        assert tf.argmax(p, dimension=2).dtype == tf.int64
        assert tf.argmin(p, 0, output_type=tf.int32).dtype == tf.int32
        assert tf.math.reduce_sum is tf.reduce_sum
        with pytest.raises(ValueError, match="both"):
            tf.reduce_sum(p, axis=0, reduction_indices=0)


def test_reduce_errors_name_axis_and_rank():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [2, 3], name="p")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"axis 2 is out of range for rank 2"):
            tf.reduce_sum(p, 2)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"axis -3 is out of range for rank 2"):
            tf.argmax(p, -3)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"must be bool, got float32"):
            create_float_any(p)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"float32 or float64, got int32"):
            tf.reduce_logsumexp(tf.cast(p, tf.int32))
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, None)
        a = tf.placeholder(tf.int32, [None])
        y = tf.reduce_sum(p, a)
        with tf.Session() as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"axis 5 is out of range for rank 2"):
                s.run(y, {p: np.zeros((2, 3)), a: [5]})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"Reduction axis 0 is empty in shape \(0, 2\)"):
                s.run(tf.argmax(p, 0), {p: np.zeros((0, 2))})


def create_float_any(p):
    """reduce_any of a float tensor, bypassing the Python-side conversion."""
    from nestor.framework.graph import create_op
    return create_op("any", [p, tf.constant([0])])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", [0, 1, -1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
def test_argmax_argmin(device, axis, dtype):
    x = (np.random.default_rng(4).integers(-4, 5, size=(3, 4, 5))).astype(dtype)  # many ties
    got = run_op(lambda t: [tf.argmax(t, axis), tf.argmin(t, axis, output_type=tf.int32)], [x], device)
    np.testing.assert_array_equal(got[0], np.argmax(x, axis=axis))  # numpy also picks the first tie
    np.testing.assert_array_equal(got[1], np.argmin(x, axis=axis))
    assert got[0].dtype == np.int64 and got[1].dtype == np.int32
    big = np.random.default_rng(5).standard_normal((1000, 700)).astype(dtype)
    np.testing.assert_array_equal(run_op(lambda t: tf.argmax(t, axis % 2), [big], device),
                                  np.argmax(big, axis=axis % 2))


@pytest.mark.parametrize("device", DEVICES)
def test_count_nonzero(device):
    x = np.array([[0.0, 1.5, 0.0], [2.0, -1.0, 0.0]])
    got = run_op(lambda t: [tf.count_nonzero(t), tf.count_nonzero(t, 1), tf.count_nonzero(t, 0, keepdims=True,
                                                                                           dtype=tf.int32)],
                 [x], device)
    assert got[0] == 3 and got[0].dtype == np.int64
    np.testing.assert_array_equal(got[1], [1, 2])
    np.testing.assert_array_equal(got[2], [[1, 2, 0]])
    assert got[2].dtype == np.int32
    b = np.array([True, False, True])
    assert run_op(lambda t: tf.count_nonzero(t), [b], device) == 2


@pytest.mark.parametrize("device", DEVICES)
def test_logsumexp_is_stable(device):
    x = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -1000.0], [-np.inf, -np.inf, -np.inf]])
    for dt in (np.float64, np.float32):
        got = run_op(lambda t: tf.reduce_logsumexp(t, 1), [x.astype(dt)], device)
        want = np.array([np.logaddexp.reduce(r) for r in x])
        np.testing.assert_allclose(got, want, rtol=1e-6)
    check_op(lambda t: tf.reduce_logsumexp(t, 1), [x[:2]], lambda t: _lse(t, axis=1), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_second_order_through_broadcast(device):
    # d/dw of gradients(reduce_mean(x, 1), x, grad_ys=w): exercises the gradient of the broadcast helper.
    x = rand(3, 4, seed=1)
    w = rand(3, seed=2)
    check_op(lambda a, b: tf.gradients(tf.reduce_mean(a, 1), a, grad_ys=b)[0] * a, [x, w],
             lambda a, b: np.broadcast_to(b[:, None] / 4, a.shape) * a, device=device)
    w2 = rand(1, 4, seed=3)
    check_op(lambda a, b: tf.gradients(tf.reduce_sum(a, 0, keepdims=True), a, grad_ys=b)[0] * a,
             [x, w2], lambda a, b: np.broadcast_to(b, a.shape) * a, device=device)


def test_size_uses_int_prod():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, None)
        with tf.Session() as s:
            assert s.run(tf.size(p), {p: np.zeros((3, 5, 2))}) == 30
