"""tf.nn: softmax, log_softmax, losses with logits, l2_loss, bias_add, moments."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand, run_op

DEVICES = available_devices()


def _lse(x, axis=-1, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _log_softmax(x, axis=-1):
    return x - _lse(x, axis, keepdims=True)


def _softmax(x, axis=-1):
    return np.exp(_log_softmax(x, axis))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axis", [None, -1, 0, 1, -2])
def test_softmax_and_log_softmax(device, axis):
    x = rand(2, 3, 4, seed=1)
    ax = -1 if axis is None else axis
    check_op(lambda t: tf.nn.softmax(t, axis=axis), [x], lambda t: _softmax(t, ax), device=device)
    check_op(lambda t: tf.nn.log_softmax(t, axis=axis), [x], lambda t: _log_softmax(t, ax), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_softmax_dim_alias_and_float32(device):
    x = np.random.default_rng(3).standard_normal((257, 1000)).astype(np.float32)
    got = run_op(lambda t: [tf.nn.softmax(t, dim=0), tf.nn.log_softmax(t)], [x], device)
    np.testing.assert_allclose(got[0], _softmax(x.astype(np.float64), 0), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(got[1], _log_softmax(x.astype(np.float64)), rtol=1e-5, atol=1e-5)
    assert got[0].dtype == np.float32


@pytest.mark.parametrize("device", DEVICES)
def test_softmax_family_is_stable_for_huge_logits(device):
    x = np.array([[1000.0, -1000.0, 999.0], [-1000.0, -1000.0, -1001.0]])
    for dt in (np.float64, np.float32):
        sm, lsm = run_op(lambda t: [tf.nn.softmax(t), tf.nn.log_softmax(t)], [x.astype(dt)], device)
        assert np.all(np.isfinite(sm)) and np.all(np.isfinite(lsm))
        np.testing.assert_allclose(lsm, _log_softmax(x), rtol=1e-6)
        np.testing.assert_allclose(sm, _softmax(x), rtol=1e-6, atol=1e-30)
    check_op(tf.nn.log_softmax, [x], _log_softmax, device=device)


def _sparse_ref(logits, labels):
    lsm = _log_softmax(logits)
    return -np.take_along_axis(lsm, labels[..., None].astype(np.int64), axis=-1)[..., 0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("ldtype", [np.int32, np.int64])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (1, 1), (9, 2), (5, 8), (6, 9), (3, 17)])
def test_sparse_softmax_cross_entropy(device, ldtype, shape):
    x = rand(*shape, seed=2)
    labels = np.random.default_rng(3).integers(0, shape[-1], size=shape[:-1]).astype(ldtype)
    check_op(lambda t, z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=t), [x, labels],
             _sparse_ref, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_sparse_softmax_cross_entropy_gradient_and_stability(device):
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [5.0, 5.0, 5.0]])
    labels = np.array([1, 2, 0], dtype=np.int32)
    want = -np.array([_log_softmax(x)[i, labels[i]] for i in range(3)])
    for dt in (np.float64, np.float32):
        got = run_op(lambda t, z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=t),
                     [x.astype(dt), labels], device)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=1e-6)
    g = run_op(lambda t, z: tf.gradients(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=t), t)[0],
               [x, labels], device)
    np.testing.assert_allclose(g, _softmax(x) - np.eye(3)[labels], atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_sparse_softmax_cross_entropy_float32_over_a_wide_range(device):
    # float32 exponentiates with a vectorized polynomial (<= 2 ulp): loss and backprop stay
    # within float32 rounding of the float64 reference for logits spanning e^-60..e^60.
    x = np.random.default_rng(5).uniform(-60.0, 60.0, (67, 7))
    x[3] = [0.0, -200.0, 50.0, np.float32(88.0), -88.0, 1e-3, 7.0]
    labels = np.random.default_rng(6).integers(0, 7, 67).astype(np.int64)

    def loss_and_grad(t, z):
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=t)
        return [loss, tf.gradients(loss, t)[0]]

    loss, backprop = run_op(loss_and_grad, [x.astype(np.float32), labels], device)
    x32 = x.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(loss, _sparse_ref(x32, labels), rtol=2e-6, atol=1e-5)
    np.testing.assert_allclose(backprop, _softmax(x32) - np.eye(7)[labels], rtol=1e-5, atol=1e-7)


def test_sparse_softmax_cross_entropy_label_out_of_range():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 5])
        z = tf.placeholder(tf.int64, [None])
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=x)
        with tf.Session() as s:
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"label value of 7 at position 2 .*range of \[0, 5\)"):
                s.run(loss, {x: np.zeros((4, 5)), z: [0, 4, 7, 1]})
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"label value of -1 at position 0 .*range of \[0, 5\)"):
                s.run(loss, {x: np.zeros((2, 5)), z: [-1, 9]})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"label value of -1 at position 0"):
                s.run(loss, {x: np.zeros((1, 5)), z: [-1]})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"logits shape \(\?, 5\) and labels shape \(3, 2\)"):
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.zeros_like(tf.placeholder(tf.int32, [3, 2])),
                                                           logits=x)


def test_losses_need_keyword_arguments():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        z = tf.placeholder(tf.int32, [2])
        with pytest.raises(ValueError, match="named arguments"):
            tf.nn.sparse_softmax_cross_entropy_with_logits(z, x)
        with pytest.raises(ValueError, match="named arguments"):
            tf.nn.sigmoid_cross_entropy_with_logits(x, x)
        with pytest.raises(ValueError, match="named arguments"):
            tf.nn.softmax_cross_entropy_with_logits(x, x)


def _xent_ref(logits, labels, axis=-1):
    return -np.sum(labels * _log_softmax(logits, axis), axis=axis)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape,axis", [((3, 4), -1), ((2, 3, 4), -1), ((2, 3, 4), 1), ((3, 4), 0)])
def test_softmax_cross_entropy_v2_gradients_to_both(device, shape, axis):
    x = rand(*shape, seed=4)
    z = rand(*shape, seed=5, low=0.0, high=1.0)
    z = z / z.sum(axis=axis, keepdims=True)
    check_op(lambda t, u: tf.nn.softmax_cross_entropy_with_logits_v2(labels=u, logits=t, axis=axis), [x, z],
             lambda t, u: _xent_ref(t, u, axis), device=device)
    # Labels that do not sum to one: the logits gradient is still exact.
    w = rand(*shape, seed=6, low=0.0, high=2.0)
    check_op(lambda t, u: tf.nn.softmax_cross_entropy_with_logits_v2(u, t, axis=axis), [x, w],
             lambda t, u: _xent_ref(t, u, axis), device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_softmax_cross_entropy_v1_blocks_label_gradient_and_is_stable(device):
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -999.0, -1000.0]])
    z = np.array([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
    g = tf.Graph()
    with g.as_default():
        px, pz = tf.placeholder(tf.float64, x.shape), tf.placeholder(tf.float64, z.shape)
        loss = tf.nn.softmax_cross_entropy_with_logits(labels=pz, logits=px)
        loss32 = tf.nn.softmax_cross_entropy_with_logits(labels=tf.cast(pz, tf.float32), logits=tf.cast(px, tf.float32))
        gx, gz = tf.gradients(loss, [px, pz])
        assert gz is None
        with tf.Session(config=tf.ConfigProto(device=device)) as s:
            lv, l32, gv = s.run([loss, loss32, gx], {px: x, pz: z})
    assert np.all(np.isfinite(lv)) and np.all(np.isfinite(l32))
    np.testing.assert_allclose(lv, _xent_ref(x, z), rtol=1e-12)
    np.testing.assert_allclose(l32, _xent_ref(x, z), rtol=1e-6)
    np.testing.assert_allclose(gv, _softmax(x) - z, atol=1e-12)


def _sigmoid_xent_ref(x, z):
    return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))


@pytest.mark.parametrize("device", DEVICES)
def test_sigmoid_cross_entropy(device):
    x = rand(3, 4, seed=7, low=-3, high=3)
    z = rand(3, 4, seed=8, low=0, high=1)
    check_op(lambda t, u: tf.nn.sigmoid_cross_entropy_with_logits(labels=u, logits=t), [x, z],
             lambda t, u: t * (1 - u) + np.log1p(np.exp(-t)), device=device)
    big = np.array([1000.0, -1000.0, 30.0, -30.0])
    zb = np.array([0.0, 1.0, 0.25, 0.75])
    for dt in (np.float64, np.float32):
        got = run_op(lambda t, u: tf.nn.sigmoid_cross_entropy_with_logits(labels=u, logits=t),
                     [big.astype(dt), zb.astype(dt)], device)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, _sigmoid_xent_ref(big, zb), rtol=1e-6)
    check_op(lambda t, u: tf.nn.sigmoid_cross_entropy_with_logits(labels=u, logits=t), [big, zb],
             _sigmoid_xent_ref, device=device, eps=1e-4)
    with tf.Graph().as_default():
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"same shape, got \(3,\) and \(4,\)"):
            tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(tf.placeholder(tf.float32, [4])),
                                                    logits=tf.placeholder(tf.float32, [3]))


@pytest.mark.parametrize("device", DEVICES)
def test_l2_loss(device):
    x = rand(3, 5, seed=9)
    check_op(tf.nn.l2_loss, [x], lambda t: np.sum(t * t) / 2, device=device)
    big = np.random.default_rng(1).standard_normal(300001).astype(np.float32)
    got = run_op(tf.nn.l2_loss, [big], device)
    assert got.shape == () and got.dtype == np.float32
    np.testing.assert_allclose(got, np.sum(big.astype(np.float64) ** 2) / 2, rtol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 5)])
def test_bias_add(device, shape):
    v = rand(*shape, seed=10)
    b = rand(shape[-1], seed=11)
    check_op(tf.nn.bias_add, [v, b], lambda x, y: x + y, device=device)
    check_op(lambda x, y: tf.nn.bias_add(x, y, data_format="NHWC"), [v, b], lambda x, y: x + y, device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(100000, 7), (3000, 512), (5, 3), (256, 3), (257, 10), (131, 70), (1, 1)])
def test_bias_add_large_float32_and_its_gradient(device, shape):
    v = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    b = np.random.default_rng(3).standard_normal(shape[-1]).astype(np.float32)
    w = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    out, gb = run_op(lambda x, y, u: [tf.nn.bias_add(x, y), tf.gradients(tf.nn.bias_add(x, y), y, grad_ys=u)[0]],
                     [v, b, w], device)
    np.testing.assert_array_equal(out, v + b)
    np.testing.assert_allclose(gb, w.astype(np.float64).sum(0), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_bias_add_grad_second_order(device):
    # d/du of (the bias gradient for upstream u) * c exercises the gradient of bias_add_grad.
    v = rand(4, 3, seed=1)
    w = rand(4, 3, seed=2)
    c = rand(3, seed=3)

    def f(x, u):
        b = tf.constant(c)
        return tf.gradients(tf.nn.bias_add(x, b), b, grad_ys=u)[0] * b

    check_op(f, [v, w], lambda x, u: u.sum(0) * c, device=device)


def test_bias_add_errors():
    with tf.Graph().as_default():
        v = tf.placeholder(tf.float32, [None, 4], name="v")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"bias of shape \(3,\).*\(\?, 4\)"):
            tf.nn.bias_add(v, tf.placeholder(tf.float32, [3]))
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"at least 2-D, got shape \(4,\)"):
            tf.nn.bias_add(tf.placeholder(tf.float32, [4]), tf.placeholder(tf.float32, [4]))
        with pytest.raises(ValueError, match="NHWC"):
            tf.nn.bias_add(v, tf.placeholder(tf.float32, [4]), data_format="NCHW")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("axes,keepdims", [([0], False), ([0, 1], False), ([1], True), ([0, 2], True)])
def test_moments(device, axes, keepdims):
    x = rand(3, 4, 2, seed=12)
    check_op(lambda t: list(tf.nn.moments(t, axes, keepdims=keepdims)), [x],
             lambda t: [t.mean(axis=tuple(axes), keepdims=keepdims), t.var(axis=tuple(axes), keepdims=keepdims)],
             device=device)
