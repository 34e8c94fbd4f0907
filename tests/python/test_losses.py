"""tf.losses (TF1): every loss and Reduction against NumPy float64 implementations of TF's
formulas, gradients against finite differences, loss collections and regularizers."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import nestor as tf
from nestor import losses as L
from nestor.losses import regularizers as R

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ops"))
from harness import check_op  # noqa: E402

RED = L.Reduction
ALL_RED = [RED.NONE, RED.SUM, RED.MEAN, RED.SUM_OVER_BATCH_SIZE, RED.SUM_BY_NONZERO_WEIGHTS]


def ref_weighted(losses, weights, reduction):
    """TF's compute_weighted_loss in float64."""
    losses = np.asarray(losses, np.float64)
    w = np.asarray(weights, np.float64)
    wl = losses * w
    if reduction == RED.NONE:
        return wl
    s = wl.sum()
    if reduction == RED.SUM:
        return s
    if reduction == RED.MEAN:
        d = (np.ones_like(losses) * w).sum()
    elif reduction == RED.SUM_OVER_BATCH_SIZE:
        d = losses.size
    else:
        d = np.broadcast_to((w != 0).astype(np.float64), np.broadcast(losses, w).shape).sum()
    return 0.0 if d == 0 else s / d


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


rng = np.random.default_rng(7)
LAB01 = rng.integers(0, 2, size=(4, 3)).astype(np.float64)
PRED = rng.uniform(-2, 2, size=(4, 3))
PROB = rng.uniform(0.05, 0.95, size=(4, 3))
LABR = rng.uniform(-2, 2, size=(4, 3))

# name -> (fn(labels, preds, weights, reduction), labels, preds, per-element numpy losses)
CASES = {
    "absolute_difference": (lambda a, b, w, r: L.absolute_difference(a, b, w, reduction=r),
                            LABR, PRED, np.abs(PRED - LABR)),
    "mean_squared_error": (lambda a, b, w, r: L.mean_squared_error(a, b, w, reduction=r),
                           LABR, PRED, (PRED - LABR) ** 2),
    "hinge_loss": (lambda a, b, w, r: L.hinge_loss(a, b, w, reduction=r),
                   LAB01, PRED, np.maximum(0.0, 1.0 - (2 * LAB01 - 1) * PRED)),
    "huber_loss": (lambda a, b, w, r: L.huber_loss(a, b, w, delta=0.7, reduction=r), LABR, PRED,
                   np.where(np.abs(PRED - LABR) <= 0.7, 0.5 * (PRED - LABR) ** 2,
                            0.7 * (np.abs(PRED - LABR) - 0.35))),
    "log_loss": (lambda a, b, w, r: L.log_loss(a, b, w, reduction=r), LAB01, PROB,
                 -LAB01 * np.log(PROB + 1e-7) - (1 - LAB01) * np.log(1 - PROB + 1e-7)),
    "sigmoid_cross_entropy": (lambda a, b, w, r: L.sigmoid_cross_entropy(a, b, w, reduction=r), LAB01, PRED,
                              -LAB01 * np.log(_sigmoid(PRED)) - (1 - LAB01) * np.log(1 - _sigmoid(PRED))),
}
WEIGHTS = {
    "py_float": 2.5,
    "scalar_zero": np.float64(0.0),
    "col": np.array([[1.0], [0.0], [2.0], [0.5]]),
    "row": np.array([[0.0, 1.5, 2.0]]),
    "full": np.where(rng.uniform(size=(4, 3)) < 0.3, 0.0, rng.uniform(0.5, 2.0, size=(4, 3))),
    "all_zero": np.zeros((4, 3)),
}


def _run(fn, *feeds):
    g = tf.Graph()
    with g.as_default():
        out = fn(*[tf.constant(f) if isinstance(f, np.ndarray) else f for f in feeds])
        with tf.Session() as s:
            return s.run(out), g


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("wname", sorted(WEIGHTS))
@pytest.mark.parametrize("reduction", ALL_RED)
def test_loss_reductions_weights(name, wname, reduction):
    fn, lab, pred, per = CASES[name]
    w = WEIGHTS[wname]
    got, g = _run(lambda a, b: fn(a, b, w if isinstance(w, float) else tf.constant(w), reduction), lab, pred)
    np.testing.assert_allclose(got, ref_weighted(per, w, reduction), rtol=1e-10, atol=1e-12)
    with g.as_default():
        assert len(tf.get_collection(tf.GraphKeys.LOSSES)) == 1


@pytest.mark.parametrize("reduction", ALL_RED)
@pytest.mark.parametrize("weights", [1.0, np.array([[1.0], [0.0], [3.0], [2.0]]), np.float64(2.0)])
def test_cosine_distance(reduction, weights):
    a = rng.standard_normal((4, 5))
    b = rng.standard_normal((4, 5))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    got, _ = _run(lambda x, y: L.cosine_distance(x, y, axis=1, weights=weights, reduction=reduction), a, b)
    per = 1.0 - (a * b).sum(1, keepdims=True)
    np.testing.assert_allclose(got, ref_weighted(per, weights, reduction), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="You must specify 'axis'"):
        L.cosine_distance(tf.constant(a), tf.constant(b))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ALL_RED)
@pytest.mark.parametrize("weights", [1.0, np.array([2.0, 0.0, 1.0, 3.0])])
def test_softmax_cross_entropy(smoothing, reduction, weights):
    logits = rng.uniform(-3, 3, size=(4, 5))
    onehot = np.eye(5)[[0, 3, 1, 4]]
    got, _ = _run(lambda y, x: L.softmax_cross_entropy(y, x, weights=weights, label_smoothing=smoothing,
                                                       reduction=reduction), onehot, logits)
    lab = onehot * (1 - smoothing) + smoothing / 5
    per = -(lab * _log_softmax(logits)).sum(-1)
    np.testing.assert_allclose(got, ref_weighted(per, weights, reduction), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_sigmoid_cross_entropy_label_smoothing(smoothing):
    w = np.array([[1.0, 0.0, 2.0]])
    got, _ = _run(lambda y, x: L.sigmoid_cross_entropy(y, x, weights=w, label_smoothing=smoothing), LAB01, PRED)
    z = LAB01 * (1 - smoothing) + 0.5 * smoothing
    per = -z * np.log(_sigmoid(PRED)) - (1 - z) * np.log(1 - _sigmoid(PRED))
    np.testing.assert_allclose(got, ref_weighted(per, w, RED.SUM_BY_NONZERO_WEIGHTS), rtol=1e-10)


@pytest.mark.parametrize("label_shape", ["flat", "column"])
@pytest.mark.parametrize("weights", [1.0, np.array([1.0, 0.0, 2.0, 0.5]), np.array([[1.0], [0.0], [2.0], [0.5]])])
@pytest.mark.parametrize("reduction", ALL_RED)
def test_sparse_softmax_cross_entropy(label_shape, weights, reduction):
    logits = rng.uniform(-3, 3, size=(4, 5))
    ids = np.array([2, 0, 4, 1], np.int32)
    lab = ids if label_shape == "flat" else ids[:, None]
    got, _ = _run(lambda y, x: L.sparse_softmax_cross_entropy(y, x, weights=weights, reduction=reduction), lab,
                  logits)
    per = -_log_softmax(logits)[np.arange(4), ids]
    np.testing.assert_allclose(got, ref_weighted(per, np.reshape(weights, (-1,)) if np.ndim(weights) else weights,
                                                 reduction), rtol=1e-10, atol=1e-12)


def test_mean_pairwise_squared_error_bruteforce():
    lab = rng.standard_normal((3, 4))
    pred = rng.standard_normal((3, 4))
    w = np.array([[1.0], [0.5], [2.0]])
    got, _ = _run(lambda a, b: L.mean_pairwise_squared_error(a, b, weights=w), lab, pred)
    d = pred - lab
    want = 0.0
    for i in range(3):
        pairs = [(d[i, j] - d[i, k]) ** 2 for j in range(4) for k in range(4) if j != k]
        want += w[i, 0] * np.mean(pairs)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_reduction_keys_and_errors():
    assert RED.SUM_BY_NONZERO_WEIGHTS == "weighted_sum_by_nonzero_weights"
    assert set(RED.all()) == {"none", "weighted_sum", "weighted_mean", "weighted_sum_over_batch_size",
                              "weighted_sum_by_nonzero_weights"}
    RED.validate(RED.MEAN)
    with pytest.raises(ValueError, match="Invalid Reduction Key bogus"):
        RED.validate("bogus")
    with tf.Graph().as_default():
        x = tf.constant(np.ones((4, 3)))
        with pytest.raises(ValueError, match="weights can not be broadcast to values"):
            L.compute_weighted_loss(x, tf.constant(np.ones((4, 2))))
        with pytest.raises(ValueError, match="weights can not be broadcast to values"):
            L.compute_weighted_loss(x, tf.constant(np.ones(3)))
        with pytest.raises(ValueError, match="incompatible"):
            L.mean_squared_error(tf.constant(np.ones((4, 3))), tf.constant(np.ones((4, 2))))
        with pytest.raises(ValueError, match="labels must not be None"):
            L.mean_squared_error(None, x)


def test_compute_weighted_loss_float32_and_int_weights():
    per = rng.uniform(0, 2, size=(3, 2)).astype(np.float32)
    w = np.array([[1], [0], [3]], np.int32)
    got, _ = _run(lambda a, b: L.compute_weighted_loss(a, b), per, w)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref_weighted(per, w, RED.SUM_BY_NONZERO_WEIGHTS), rtol=1e-6)


GRAD_CASES = {
    "softmax_ce": (lambda x: L.softmax_cross_entropy(tf.constant(np.eye(4)[[1, 0, 3]]), x,
                                                     weights=tf.constant(np.array([1.0, 2.0, 0.0])),
                                                     label_smoothing=0.1)),
    "sparse_softmax_ce": (lambda x: L.sparse_softmax_cross_entropy(tf.constant(np.array([2, 0, 1])), x,
                                                                   weights=tf.constant(np.array([0.5, 1.0, 2.0])),
                                                                   reduction=RED.MEAN)),
    "sigmoid_ce": (lambda x: L.sigmoid_cross_entropy(tf.constant(np.array([[1.0, 0, 1, 0]] * 3)), x,
                                                     label_smoothing=0.2, reduction=RED.SUM)),
    "huber": (lambda x: L.huber_loss(tf.constant(np.zeros((3, 4))), x, delta=0.5,
                                     reduction=RED.SUM_OVER_BATCH_SIZE)),
    "mse_none": (lambda x: L.mean_squared_error(tf.constant(np.ones((3, 4))), x,
                                                weights=tf.constant(np.array([[1.0, 0.0, 2.0, 3.0]])),
                                                reduction=RED.NONE)),
    "pairwise": (lambda x: L.mean_pairwise_squared_error(tf.constant(np.zeros((3, 4))), x)),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_loss_gradients_vs_finite_differences(name):
    x = np.random.default_rng(3).uniform(-2, 2, size=(3, 4))
    if name == "huber":  # keep |x| away from the kink at delta
        x = np.where(np.abs(np.abs(x) - 0.5) < 0.1, x + 0.3, x)
    check_op(GRAD_CASES[name], [x])


def test_log_loss_and_hinge_gradients():
    p = np.random.default_rng(4).uniform(0.1, 0.9, size=(3, 4))
    check_op(lambda x: L.log_loss(tf.constant(LAB01[:3, :3].repeat(2, axis=1)[:, :4]), x), [p])
    logits = np.array([[0.3, -0.4, 1.7], [-1.6, 0.2, 2.5]])  # margins away from 1
    check_op(lambda x: L.hinge_loss(tf.constant(np.array([[1.0, 0, 0], [0, 1, 1]])), x), [logits])


def test_losses_collection_and_total_loss():
    with tf.Graph().as_default():
        a = tf.constant(np.array([[1.0, 2.0]]))
        b = tf.constant(np.array([[0.0, 0.0]]))
        l1 = L.mean_squared_error(a, b)
        l2 = L.absolute_difference(a, b, loss_collection=None)
        l3 = L.absolute_difference(a, b, scope="other")
        assert tf.get_collection(tf.GraphKeys.LOSSES) == [l1, l3]
        assert L.get_losses() == [l1, l3]
        assert L.get_losses(scope="other") == [l3]
        assert l1.name.startswith("mean_squared_error/")
        v = tf.get_variable("w", dtype=tf.float64, initializer=tf.constant(np.array([3.0, -4.0])),
                            regularizer=R.l2_regularizer(0.5))
        extra = tf.constant(1.25, tf.float64)
        L.add_loss(extra)
        reg = L.get_regularization_loss()
        total = L.get_total_loss()
        total_noreg = L.get_total_loss(add_regularization_losses=False)
        assert total.name == "total_loss:0"
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            got = s.run([l1, l2, l3, reg, total, total_noreg])
        want_reg = 0.5 * (9 + 16) / 2
        np.testing.assert_allclose(got[:4], [2.5, 1.5, 1.5, want_reg])
        np.testing.assert_allclose(got[4], 2.5 + 1.5 + 1.25 + want_reg)
        np.testing.assert_allclose(got[5], 2.5 + 1.5 + 1.25)
        assert v in tf.trainable_variables()
    with tf.Graph().as_default():
        with tf.Session() as s:
            assert s.run(L.get_regularization_loss()) == 0.0
        with pytest.raises(ValueError, match="at least one Tensor"):
            L.get_total_loss()


def test_regularizers():
    w = np.array([[1.5, -2.0], [0.25, 3.0]])
    with tf.Graph().as_default():
        t = tf.constant(w)
        outs = [R.l1_regularizer(0.3)(t), R.l2_regularizer(0.3)(t), R.l1_l2_regularizer(0.1, 0.2)(t),
                R.l2(0.3)(t), R.l1_l2(0.1, 0.2)(t), R.sum_regularizer([R.l1_regularizer(0.5), None])(t)]
        assert R.l2_regularizer(0.0)(t) is None
        with tf.Session() as s:
            got = s.run(outs)
    a, q = np.abs(w).sum(), (w ** 2).sum()
    np.testing.assert_allclose(got, [0.3 * a, 0.3 * q / 2, 0.1 * a + 0.2 * q / 2, 0.3 * q, 0.1 * a + 0.2 * q,
                                     0.5 * a])
    with pytest.raises(ValueError, match="scale cannot be an integer"):
        R.l2_regularizer(1)
    with pytest.raises(ValueError, match="less than 0"):
        R.l1_regularizer(-0.5)


def test_apply_regularization():
    with tf.Graph().as_default():
        ws = [tf.constant(np.array([1.0, -2.0])), tf.constant(np.array([[3.0]]))]
        total = R.apply_regularization(R.l1_regularizer(2.0), ws)
        assert tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES) == [total]
        with tf.Session() as s:
            np.testing.assert_allclose(s.run(total), 2.0 * 6.0)
        with pytest.raises(ValueError, match="No weights"):
            R.apply_regularization(R.l1_regularizer(2.0), [])
