"""Clipping ops against NumPy, gradients against finite differences."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand


def _away_from(x, points, gap=0.05):
    """Moves entries of x that are within `gap` of any of `points` (kinks) away from them."""
    x = x.copy()
    for p in np.atleast_1d(points).ravel():
        close = np.abs(x - p) < gap
        x[close] = p + np.where(x[close] >= p, gap, -gap) * 2
    return x


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("lo_shape,hi_shape", [((), ()), ((4,), ()), ((3, 1), (4,)), ((3, 4), (3, 4))])
def test_clip_by_value(device, lo_shape, hi_shape):
    lo = rand(*lo_shape, seed=2, low=-1.0, high=-0.2)
    hi = rand(*hi_shape, seed=3, low=0.2, high=1.0)
    t = _away_from(rand(3, 4, seed=1), np.concatenate([np.ravel(lo), np.ravel(hi)]))
    check_op(tf.clip_by_value, [t, lo, hi], lambda a, b, c: np.minimum(np.maximum(a, b), c), device=device)


def test_clip_by_value_python_bounds_int_and_float32():
    x = np.array([[-3, 0, 5], [7, 2, -1]], np.int32)
    with tf.Graph().as_default():
        a = tf.clip_by_value(tf.constant(x), 0, 4)
        f = np.linspace(-2, 2, 9).astype(np.float32)
        b = tf.clip_by_value(tf.constant(f), -0.5, 1.25)
        assert a.dtype == tf.int32 and a.shape.as_list() == [2, 3]
        with tf.Session() as s:
            va, vb = s.run([a, b])
    np.testing.assert_array_equal(va, np.clip(x, 0, 4))
    assert vb.dtype == np.float32
    np.testing.assert_array_equal(vb, np.clip(f, np.float32(-0.5), np.float32(1.25)))


def test_clip_by_value_gradient_goes_to_the_active_bound():
    t = np.array([-2.0, -0.5, 0.3, 0.9, 3.0])
    with tf.Graph().as_default():
        x = tf.constant(t)
        lo, hi = tf.constant(-1.0, tf.float64), tf.constant([1.0] * 5, tf.float64)
        y = tf.clip_by_value(x, lo, hi)
        gx, glo, ghi = tf.gradients(y, [x, lo, hi])
        with tf.Session() as s:
            vx, vlo, vhi = s.run([gx, glo, ghi])
    np.testing.assert_array_equal(vx, [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(np.reshape(vlo, -1), [1.0])
    np.testing.assert_array_equal(vhi, [0, 0, 0, 0, 1])


@pytest.mark.parametrize("device", available_devices())
def test_global_norm(device):
    a, b, c = rand(3, 4, seed=1), rand(5, seed=2), rand(seed=3)
    check_op(lambda x, y, z: tf.global_norm([x, None, y, z]), [a, b, c],
             lambda x, y, z: np.sqrt(np.sum(x ** 2) + np.sum(y ** 2) + z ** 2), device=device)


def test_global_norm_of_zeros_has_zero_gradient():
    with tf.Graph().as_default():
        x = tf.constant(np.zeros((2, 3)))
        n = tf.global_norm([x])
        (g,) = tf.gradients(n, [x])
        with tf.Session() as s:
            vn, vg = s.run([n, g])
    assert vn == 0.0
    np.testing.assert_array_equal(vg, np.zeros((2, 3)))


def _np_clip_by_norm(t, c, axes=None):
    norm = np.sqrt(np.sum(t * t, axis=None if axes is None else tuple(axes), keepdims=True))
    return t * c / np.maximum(norm, c)


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("axes", [None, [1], [0], [0, 1]])
@pytest.mark.parametrize("clip", [0.8, 3.0, 50.0])
def test_clip_by_norm(device, axes, clip):
    t = rand(4, 3, seed=5)
    # Keep the row/column/total norms away from the clip threshold (a kink).
    norm = np.sqrt(np.sum(t * t, axis=None if axes is None else tuple(axes), keepdims=True))
    assert np.all(np.abs(norm - clip) > 0.05)
    c = np.array(clip)
    check_op(lambda x, cn: tf.clip_by_norm(x, cn, axes=axes), [t, c], lambda x, cn: _np_clip_by_norm(x, cn, axes),
             device=device)


def test_clip_by_norm_float32_and_zero_tensor():
    t = np.random.default_rng(1).standard_normal((20, 7)).astype(np.float32)
    with tf.Graph().as_default():
        y = tf.clip_by_norm(tf.constant(t), 2.0, axes=1)
        z = tf.constant(np.zeros((3, 2), np.float32))
        yz = tf.clip_by_norm(z, 1.0)
        (gz,) = tf.gradients(yz, [z])
        with tf.Session() as s:
            vy, vyz, vgz = s.run([y, yz, gz])
    np.testing.assert_allclose(vy, _np_clip_by_norm(t.astype(np.float64), 2.0, [1]), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(vyz, np.zeros((3, 2)))
    np.testing.assert_array_equal(vgz, np.ones((3, 2)))


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("clip", [0.5, 2.0, 100.0])
def test_clip_by_global_norm(device, clip):
    a, b = rand(2, 3, seed=7), rand(4, seed=8)
    gn = np.sqrt(np.sum(a ** 2) + np.sum(b ** 2))
    assert abs(gn - clip) > 0.05

    def fn(x, y, c):
        out, norm = tf.clip_by_global_norm([x, None, y], c)
        assert out[1] is None
        return [out[0], out[2], norm]

    def ref(x, y, c):
        n = np.sqrt(np.sum(x ** 2) + np.sum(y ** 2))
        s = c / max(n, c)
        return [x * s, y * s, n]

    check_op(fn, [a, b, np.array(clip)], ref, device=device)


def test_clip_by_global_norm_use_norm_sparse_and_inf():
    with tf.Graph().as_default():
        v = tf.constant(np.array([[3.0, 4.0], [0.0, 0.0]]))
        sl = tf.IndexedSlices(v, tf.constant([0, 2]), tf.constant([5, 2]))
        d = tf.constant(np.array([0.0, 12.0]))
        out, norm = tf.clip_by_global_norm([sl, d], 6.5)
        assert isinstance(out[0], tf.IndexedSlices)
        fixed, _ = tf.clip_by_global_norm([d], 1.0, use_norm=4.0)
        bad, _ = tf.clip_by_global_norm([tf.constant([1.0, np.inf])], 1.0)
        with tf.Session() as s:
            vals, n, f, b = s.run([out[0].values, norm, fixed[0], bad[0]])
    assert n == 13.0
    np.testing.assert_allclose(vals, np.array([[3.0, 4.0], [0.0, 0.0]]) * 0.5)
    np.testing.assert_allclose(f, [0.0, 3.0])
    assert np.all(np.isnan(b)), "an infinite global norm makes every entry NaN (as TF)"


def test_clip_errors():
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float32, [3, 4], name="t")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"clip_by_value.*must broadcast to the shape of t"):
            tf.clip_by_value(t, tf.zeros_like(tf.placeholder(tf.float32, [2, 3, 4])), 1.0)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"not broadcast-compatible"):
            tf.clip_by_value(t, tf.placeholder(tf.float32, [5]), 1.0)
        with pytest.raises(tf.errors.InvalidArgumentError, match="float32 and float64"):
            tf.clip_by_value(t, tf.placeholder(tf.float64, []), 1.0)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"global_norm.*float32 and float64"):
            tf.global_norm([t, tf.placeholder(tf.float64, [2])])
        with pytest.raises(TypeError, match="t_list should be a sequence"):
            tf.clip_by_global_norm(t, 1.0)
        with pytest.raises(tf.errors.InvalidArgumentError, match="axis 2 is out of range for rank 2"):
            tf.clip_by_norm(t, 1.0, axes=[2])
        u = tf.placeholder(tf.float32, [None, 4])
        lo = tf.placeholder(tf.float32, [None, 4])
        y = tf.clip_by_value(u, lo, 1.0)
        with tf.Session() as s:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"must broadcast to the shape of t \(1, 4\)"):
                s.run(y, {u: np.zeros((1, 4)), lo: np.zeros((3, 4))})
