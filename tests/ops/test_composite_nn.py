"""tf.nn.batch_normalization, tf.nn.weighted_cross_entropy_with_logits, tf.math.confusion_matrix
(TF2 and TF1 argument orders) and the tf.math spellings of log_softmax / softplus: forward
against NumPy float64 formulas, gradients against finite differences, errors."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand

DEVICES = available_devices()


def run(t, feed=None):
    g = (t[0] if isinstance(t, (list, tuple)) else t).graph
    with tf.Session(graph=g) as s:
        return s.run(t, feed)


# ---------------------------------------------------------------- batch_normalization
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("with_offset,with_scale", [(True, True), (False, True), (True, False), (False, False)])
def test_batch_normalization(device, with_offset, with_scale):
    x = rand(4, 3, seed=1)
    mean, var = rand(3, seed=2), rand(3, seed=3, low=0.2, high=2.0)
    offset, scale = rand(3, seed=4), rand(3, seed=5)
    eps = 1e-3

    def fn(x, m, v, o, s):
        return tf.nn.batch_normalization(x, m, v, o if with_offset else None, s if with_scale else None, eps)

    def ref(x, m, v, o, s):
        y = (x - m) / np.sqrt(v + eps)
        return y * (s if with_scale else 1.0) + (o if with_offset else 0.0)

    check_op(fn, [x, mean, var, offset, scale], ref, device=device, rtol=1e-12)


def test_batch_normalization_with_moments_and_float32():
    x = rand(5, 2, 3, seed=6)
    with tf.Graph().as_default():
        t = tf.constant(x.astype(np.float32))
        m, v = tf.nn.moments(t, [0, 1], keepdims=True)
        y = tf.nn.batch_normalization(t, m, v, 0.5, 2.0, 1e-3)  # Python offset / scale take x's dtype
        assert y.dtype == tf.float32 and y.shape.as_list() == [5, 2, 3]
        got = run(y)
    mu, var = x.mean(axis=(0, 1), keepdims=True), x.var(axis=(0, 1), keepdims=True)
    np.testing.assert_allclose(got, (x - mu) / np.sqrt(var + 1e-3) * 2.0 + 0.5, rtol=2e-5, atol=1e-5)


# ---------------------------------------------------------------- weighted_cross_entropy_with_logits
def np_wce(z, x, q):
    # labels * -log(sigmoid(x)) * q + (1 - labels) * -log(1 - sigmoid(x)), overflow-free
    return z * np.logaddexp(0.0, -x) * q + (1 - z) * np.logaddexp(0.0, x)


@pytest.mark.parametrize("device", DEVICES)
def test_weighted_cross_entropy_forward_and_gradient(device):
    logits = rand(3, 4, seed=7, low=-4, high=4)
    logits = np.where(np.abs(logits) < 0.1, 0.5, logits)  # |x| and max(-x, 0) have kinks at 0
    labels = rand(3, 4, seed=8, low=0, high=1)
    pos_weight = rand(4, seed=9, low=0.5, high=3)
    check_op(lambda z, x, q: tf.nn.weighted_cross_entropy_with_logits(z, x, q), [labels, logits, pos_weight],
             np_wce, device=device, rtol=1e-12)


def test_weighted_cross_entropy_is_stable_for_large_logits_and_tf1_keywords():
    logits = np.array([-800.0, -50.0, 50.0, 800.0])
    labels = np.array([1.0, 0.0, 1.0, 0.0])
    with tf.Graph().as_default():
        a = tf.nn.weighted_cross_entropy_with_logits(labels=labels, logits=logits, pos_weight=2.0)
        b = tf.nn.weighted_cross_entropy_with_logits(targets=labels, logits=logits, pos_weight=2.0)
        got_a, got_b = run([a, b])
        with pytest.raises(ValueError, match="Cannot specify both 'targets' and 'labels'"):
            tf.nn.weighted_cross_entropy_with_logits(labels=labels, targets=labels, logits=logits, pos_weight=2.0)
        with pytest.raises(ValueError, match=r"`logits` and `labels` must have the same shape, received \(\(2,\) vs "
                                             r"\(3,\)\)"):
            tf.nn.weighted_cross_entropy_with_logits([1.0, 0.0, 1.0], [2.0, -3.0], 2.0)
        with pytest.raises(TypeError, match="missing required argument: 'pos_weight'"):
            tf.nn.weighted_cross_entropy_with_logits([1.0], [2.0])
    # TensorFlow's form (1 - z) * x + ... cancels to exactly 0 where the true loss is ~1e-22
    np.testing.assert_allclose(got_a, np_wce(labels, logits, 2.0), rtol=1e-12, atol=1e-20)
    assert np.isfinite(got_a).all()
    np.testing.assert_array_equal(got_a, got_b)


# ---------------------------------------------------------------- confusion_matrix
def np_confusion(labels, preds, n, weights=None):
    cm = np.zeros((n, n))
    np.add.at(cm, (labels, preds), 1.0 if weights is None else weights)
    return cm


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [tf.int32, tf.int64, tf.float32, tf.float64])
def test_confusion_matrix_counts(device, dtype):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=30).astype(np.int64)
    preds = rng.integers(0, 4, size=30).astype(np.int32)
    want = np_confusion(labels, preds, 5).astype(dtype.as_numpy_dtype)
    check_op(lambda a, b: tf.math.confusion_matrix(a, b, num_classes=5, dtype=dtype), [labels, preds],
             lambda a, b: want, device=device, grad=False)
    check_op(lambda a, b: tf.math.confusion_matrix(a, b, dtype=dtype), [labels, preds],  # max + 1 = 4 classes
             lambda a, b: want[:4, :4], device=device, grad=False)


def test_confusion_matrix_weights_dtypes_and_shapes():
    labels, preds = np.array([0, 1, 1, 2]), np.array([0, 1, 1, 0])
    w = np.array([0.5, 1.7, 2.9, 1.25])
    with tf.Graph().as_default():
        outs = [tf.math.confusion_matrix(labels, preds, weights=w, dtype=tf.float64),
                tf.math.confusion_matrix(labels, preds, 3, w),             # int32: weights truncate first
                tf.math.confusion_matrix(labels, preds, 4, dtype=tf.bool),
                tf.math.confusion_matrix(labels[:, None], preds),          # squeezable labels
                tf.math.confusion_matrix([0.0, 1.7], [0, 1]),              # float labels truncate
                tf.math.confusion_matrix(labels, preds, tf.placeholder_with_default(np.int64(3), []))]
        assert outs[1].shape.as_list() == [3, 3] and outs[0].shape.as_list() == [None, None]
        got = run(outs)
    np.testing.assert_allclose(got[0], np_confusion(labels, preds, 3, w), rtol=1e-15)
    np.testing.assert_array_equal(got[1], np_confusion(labels, preds, 3, np.trunc(w)))
    np.testing.assert_array_equal(got[2], np_confusion(labels, preds, 4) > 0)
    np.testing.assert_array_equal(got[3], np_confusion(labels, preds, 3))
    np.testing.assert_array_equal(got[4], np.eye(2))
    np.testing.assert_array_equal(got[5], np_confusion(labels, preds, 3))
    assert got[1].dtype == np.int32 and got[2].dtype == np.bool_


def test_confusion_matrix_tf1_argument_order():
    # TF1: (labels, predictions, num_classes, dtype, name, weights); TF2: (..., num_classes, weights, dtype, name)
    labels, preds = [0, 1, 1], [0, 1, 0]
    with tf.Graph().as_default():
        v1 = tf.confusion_matrix(labels, preds, 2, tf.float32, "cm_v1", [1.0, 2.0, 4.0])
        v1c = tf.compat.v1.confusion_matrix(labels, preds, 2, tf.int64)
        v2 = tf.math.confusion_matrix(labels, preds, 2, [1.0, 2.0, 4.0], tf.float32, "cm_v2")
        assert v1.name.startswith("cm_v1/") and v2.name.startswith("cm_v2/") and v1c.dtype == tf.int64
        got1, got1c, got2 = run([v1, v1c, v2])
    np.testing.assert_array_equal(got1, [[1.0, 0.0], [4.0, 2.0]])
    np.testing.assert_array_equal(got2, got1)
    np.testing.assert_array_equal(got1c, [[1, 0], [1, 1]])


def test_confusion_matrix_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"labels must be 1-D, got shape \(1, 2\)"):
            tf.math.confusion_matrix([[0, 1]], [[0, 1]])
        with pytest.raises(ValueError, match=r"labels \(shape \(3,\)\) and predictions \(shape \(2,\)\)"):
            tf.math.confusion_matrix([0, 1, 1], [0, 1])
        with pytest.raises(ValueError, match=r"Shapes \(2,\) and \(3,\) are incompatible.*weights"):
            tf.math.confusion_matrix([0, 1], [0, 1], weights=[1.0, 2.0, 3.0])
        with pytest.raises(ValueError, match="num_classes must be a non-negative integer scalar"):
            tf.math.confusion_matrix([0, 1], [0, 1], num_classes=-2)
        cases = [(tf.math.confusion_matrix([-1, 1], [0, 1]), "`labels` contains negative values"),
                 (tf.math.confusion_matrix([0, 1], [0, -3], 3), "`predictions` contains negative values"),
                 (tf.math.confusion_matrix([3, 1], [0, 1], num_classes=2), "`labels` out of bound"),
                 (tf.math.confusion_matrix([0, 1], [0, 2], num_classes=2), "`predictions` out of bound"),
                 (tf.math.confusion_matrix(np.zeros(0, np.int32), np.zeros(0, np.int32)), "needs at least one label")]
        for t, msg in cases:
            with pytest.raises(tf.errors.InvalidArgumentError, match=msg):
                run(t)
        empty = run(tf.math.confusion_matrix(np.zeros(0, np.int32), np.zeros(0, np.int32), num_classes=2))
    np.testing.assert_array_equal(empty, np.zeros((2, 2)))


# ---------------------------------------------------------------- tf.math aliases
@pytest.mark.parametrize("device", DEVICES)
def test_math_log_softmax_and_softplus(device):
    assert tf.math.log_softmax is tf.nn.log_softmax and tf.math.softplus is tf.nn.softplus
    x = rand(3, 5, seed=10)
    check_op(lambda v: tf.math.log_softmax(v, axis=0), [x],
             lambda v: v - np.log(np.sum(np.exp(v), axis=0, keepdims=True)), device=device)
    check_op(tf.math.softplus, [x], lambda v: np.log1p(np.exp(v)), device=device)
