"""tf.compat.v1.metrics: every metric streamed over several batches against NumPy float64
references over the concatenated data; AUC against a NumPy copy of TF's thresholded sums
and against exact (all-thresholds) areas; state, names, collections and errors."""
from __future__ import annotations

import time
from typing import Any, Callable, List, Sequence, Tuple

import numpy as np
import pytest

import nestor as tf
from nestor import metrics

RNG = np.random.default_rng(7)


def _stream(build: Callable[..., Tuple[Any, Any]], batches: Sequence[Sequence[np.ndarray]]) -> Tuple[list, Any, Any]:
    """Builds the metric on placeholders, runs update_op per batch; returns (updates, value_before, value)."""
    g = tf.Graph()
    with g.as_default():
        first = batches[0]
        phs = [tf.placeholder(tf.as_dtype(x.dtype), [None] + list(x.shape[1:])) for x in first]
        value, update = build(*phs)
        with tf.Session() as s:
            s.run(tf.local_variables_initializer())
            before = s.run(value)
            ups = [s.run(update, dict(zip(phs, b))) for b in batches]
            return ups, before, s.run(value)


def _batches(*arrays: np.ndarray, sizes: Sequence[int] = (7, 1, 13, 20)) -> List[List[np.ndarray]]:
    out, start = [], 0
    for n in sizes:
        out.append([a[start:start + n] for a in arrays])
        start += n
    return out


N = 41
LABELS_INT = RNG.integers(0, 3, N).astype(np.int64)
PREDS_INT = np.where(RNG.random(N) < 0.6, LABELS_INT, RNG.integers(0, 3, N)).astype(np.int64)
W = RNG.random(N).astype(np.float32) * 2
Y = RNG.normal(size=(N, 3)).astype(np.float32)
YHAT = (Y + RNG.normal(scale=0.5, size=(N, 3))).astype(np.float32)
LB = RNG.random(N) < 0.4
PB = RNG.random(N) < 0.5


def _wmean(v: np.ndarray, w: np.ndarray) -> float:
    v, w = v.astype(np.float64), np.broadcast_to(w.astype(np.float64), v.shape)
    return float((v * w).sum() / w.sum())


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy(weighted: bool) -> None:
    arrays = (LABELS_INT, PREDS_INT, W) if weighted else (LABELS_INT, PREDS_INT)
    ups, before, val = _stream(lambda l, p, *w: metrics.accuracy(l, p, *w), _batches(*arrays))
    ref = _wmean(LABELS_INT == PREDS_INT, W if weighted else np.ones(N))
    assert before == 0.0
    np.testing.assert_allclose(val, ref, rtol=1e-6)
    np.testing.assert_allclose(ups[-1], ref, rtol=1e-6)
    n0 = 7
    np.testing.assert_allclose(ups[0], _wmean(LABELS_INT[:n0] == PREDS_INT[:n0], (W if weighted else np.ones(N))[:n0]),
                               rtol=1e-6)


@pytest.mark.parametrize("weights", ["none", "scalar", "column", "full"])
def test_mean_and_weight_broadcasting(weights: str) -> None:
    wcol = W[:, None]
    if weights == "none":
        build, arrays, ref = (lambda v: metrics.mean(v)), (Y,), Y.astype(np.float64).mean()
    elif weights == "scalar":
        build, arrays, ref = (lambda v: metrics.mean(v, weights=2.5)), (Y,), Y.astype(np.float64).mean()
    elif weights == "column":
        build, arrays, ref = (lambda v, w: metrics.mean(v, weights=w)), (Y, wcol), _wmean(Y, wcol)
    else:
        wfull = RNG.random((N, 3)).astype(np.float32)
        build, arrays, ref = (lambda v, w: metrics.mean(v, weights=w)), (Y, wfull), _wmean(Y, wfull)
    ups, before, val = _stream(build, _batches(*arrays))
    assert before == 0.0
    np.testing.assert_allclose([val, ups[-1]], [ref, ref], rtol=1e-5)


def test_mean_squeezes_trailing_weight_dim() -> None:
    v = Y[:, 0]
    ups, _, val = _stream(lambda x, w: metrics.mean(x, weights=w), _batches(v, W[:, None]))
    np.testing.assert_allclose(val, _wmean(v, W), rtol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_errors(weighted: bool) -> None:
    w = W[:, None] if weighted else np.ones((N, 1))
    err = YHAT.astype(np.float64) - Y
    refs = {"mse": _wmean(err ** 2, w), "mae": _wmean(np.abs(err), w)}
    refs["rmse"] = np.sqrt(refs["mse"])
    fns = {"mse": metrics.mean_squared_error, "mae": metrics.mean_absolute_error,
           "rmse": metrics.root_mean_squared_error}
    for key, fn in fns.items():
        arrays = (Y, YHAT, W[:, None]) if weighted else (Y, YHAT)
        ups, before, val = _stream(lambda l, p, *ww, fn=fn: fn(l, p, *ww), _batches(*arrays))
        assert before == 0.0, key
        np.testing.assert_allclose([val, ups[-1]], [refs[key]] * 2, rtol=1e-5, err_msg=key)


@pytest.mark.parametrize("weighted", [False, True])
def test_confusion_counts_precision_recall(weighted: bool) -> None:
    preds = np.where(PB, RNG.random(N) + 0.1, 0.0).astype(np.float32)  # nonzero float -> True
    labels = LB.astype(np.int32)
    w = W.astype(np.float64) if weighted else np.ones(N)
    tp, fp = (w * (LB & PB)).sum(), (w * (~LB & PB)).sum()
    tn, fn = (w * (~LB & ~PB)).sum(), (w * (LB & ~PB)).sum()
    refs = {metrics.true_positives: tp, metrics.false_positives: fp, metrics.true_negatives: tn,
            metrics.false_negatives: fn, metrics.precision: tp / (tp + fp), metrics.recall: tp / (tp + fn)}
    arrays = (labels, preds, W) if weighted else (labels, preds)
    for fn_, ref in refs.items():
        ups, before, val = _stream(lambda l, p, *ww, f=fn_: f(l, p, *ww), _batches(*arrays))
        assert before == 0.0
        np.testing.assert_allclose([val, ups[-1]], [ref, ref], rtol=1e-5, err_msg=fn_.__name__)


def test_precision_recall_zero_when_no_positives() -> None:
    z = np.zeros(5, np.bool_)
    for f in (metrics.precision, metrics.recall):
        ups, _, val = _stream(lambda l, p, f=f: f(l, p), [[z, z]])
        assert val == 0.0 and ups[0] == 0.0


def _np_counts(labels: np.ndarray, preds: np.ndarray, thresholds: Sequence[float], w: np.ndarray) -> np.ndarray:
    """[4, T] float64 tp, fp, tn, fn with TF's float32 comparison prediction > threshold."""
    thr = np.asarray(thresholds, np.float32)[:, None]
    pos = preds.astype(np.float32)[None, :] > thr
    lab = labels.astype(bool)[None, :]
    w = np.broadcast_to(w.astype(np.float64), preds.shape)[None, :]
    return np.stack([(w * (pos & lab)).sum(1), (w * (pos & ~lab)).sum(1),
                     (w * (~pos & ~lab)).sum(1), (w * (~pos & lab)).sum(1)])


NP = 600
SCORES = RNG.random(NP).astype(np.float32)
SCORES[:10] = [0.0, 1.0, 0.5, 0.25, 0.75, 0.5, 0.3, 0.3, 0.9, 0.1]  # ends and exact threshold ties
POS = RNG.random(NP) < 0.2 + 0.6 * SCORES  # labels correlated with the scores
WP = RNG.random(NP).astype(np.float32)


@pytest.mark.parametrize("weighted", [False, True])
def test_counts_precision_recall_at_thresholds(weighted: bool) -> None:
    thresholds = [0.5, 0.0, 0.3, 0.75, 1.0, 0.3]  # unsorted, with a duplicate
    w = WP if weighted else np.ones(NP, np.float32)
    tp, fp, tn, fn = _np_counts(POS, SCORES, thresholds, w)
    refs = {metrics.true_positives_at_thresholds: tp, metrics.false_positives_at_thresholds: fp,
            metrics.true_negatives_at_thresholds: tn, metrics.false_negatives_at_thresholds: fn,
            metrics.precision_at_thresholds: tp / (tp + fp + 1e-7),
            metrics.recall_at_thresholds: tp / (tp + fn + 1e-7)}
    arrays = (POS, SCORES, WP) if weighted else (POS, SCORES)
    for f, ref in refs.items():
        ups, before, val = _stream(lambda l, p, *ww, f=f: f(l, p, thresholds, *ww),
                                   _batches(*arrays, sizes=(100, 1, 299, 200)))
        np.testing.assert_array_equal(before, np.zeros(len(thresholds)))
        np.testing.assert_allclose(val, ref, rtol=1e-5, atol=1e-5, err_msg=f.__name__)
        np.testing.assert_allclose(ups[-1], ref, rtol=1e-5, atol=1e-5, err_msg=f.__name__)


def _np_tf_auc(labels: np.ndarray, preds: np.ndarray, w: np.ndarray, curve: str, method: str,
               num_thresholds: int = 200) -> float:
    """TF1's thresholded AUC, reimplemented in float64."""
    thr = [-1e-7] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1 + 1e-7]
    tp, fp, tn, fn = _np_counts(labels, preds, thr, w)
    eps = 1e-6
    if curve == "PR" and method == "careful_interpolation":
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = np.maximum(p[:-1] - p[1:], 0)
        slope = np.divide(dtp, dp, out=np.zeros_like(dtp), where=dp > 0)
        intercept = tp[1:] - slope * p[1:]
        ok = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(ok, p[:-1] / np.where(ok, p[1:], 1), 1.0)
        num = slope * (dtp + intercept * np.log(ratio))
        den = np.maximum(tp[1:] + fn[1:], 0)
        return float(np.divide(num, den, out=np.zeros_like(num), where=den > 0).sum())
    rec = (tp + eps) / (tp + fn + eps)
    x, y = (fp / (fp + tn + eps), rec) if curve == "ROC" else (rec, (tp + eps) / (tp + fp + eps))
    h = {"trapezoidal": (y[:-1] + y[1:]) / 2, "careful_interpolation": (y[:-1] + y[1:]) / 2,
         "minoring": np.minimum(y[:-1], y[1:]), "majoring": np.maximum(y[:-1], y[1:])}[method]
    return float(((x[:-1] - x[1:]) * h).sum())


def _exact_roc_auc(labels: np.ndarray, scores: np.ndarray, w: np.ndarray) -> float:
    """P(score_pos > score_neg) + 0.5 P(tie), weighted, over all pairs."""
    sp, wp = scores[labels].astype(np.float64), w[labels].astype(np.float64)
    sn, wn = scores[~labels].astype(np.float64), w[~labels].astype(np.float64)
    pair_w = wp[:, None] * wn[None, :]
    wins = (sp[:, None] > sn[None, :]) + 0.5 * (sp[:, None] == sn[None, :])
    return float((pair_w * wins).sum() / pair_w.sum())


def _exact_average_precision(labels: np.ndarray, scores: np.ndarray, w: np.ndarray) -> float:
    """Area under the step PR curve over every distinct score (weighted average precision)."""
    order = np.argsort(-scores.astype(np.float64), kind="stable")
    s, l, ww = scores[order].astype(np.float64), labels[order], w[order].astype(np.float64)
    last = np.r_[s[1:] != s[:-1], True]  # end of each group of equal scores
    tp, fp = np.cumsum(ww * l)[last], np.cumsum(ww * ~l)[last]
    rec, prec = tp / tp[-1], tp / (tp + fp)
    return float((np.diff(np.r_[0.0, rec]) * prec).sum())


@pytest.mark.parametrize("curve,method", [("ROC", "trapezoidal"), ("ROC", "careful_interpolation"),
                                          ("ROC", "minoring"), ("ROC", "majoring"), ("PR", "trapezoidal"),
                                          ("PR", "careful_interpolation"), ("PR", "minoring"), ("PR", "majoring")])
@pytest.mark.parametrize("weighted", [False, True])
def test_auc_matches_tf_thresholded_sum(curve: str, method: str, weighted: bool) -> None:
    w = WP if weighted else np.ones(NP, np.float32)
    arrays = (POS, SCORES, WP) if weighted else (POS, SCORES)
    ups, before, val = _stream(lambda l, p, *ww: metrics.auc(l, p, *ww, curve=curve, summation_method=method),
                               _batches(*arrays, sizes=(100, 1, 299, 200)))
    ref = _np_tf_auc(POS, SCORES, w, curve, method)
    assert before == 0.0
    assert abs(val - ref) < 1e-6 and abs(ups[-1] - ref) < 1e-6, (val, ref)


@pytest.mark.parametrize("weighted", [False, True])
def test_auc_close_to_exact_area(weighted: bool) -> None:
    n = 20000
    scores = RNG.random(n).astype(np.float32)
    labels = RNG.random(n) < scores ** 2
    w = RNG.random(n).astype(np.float32) if weighted else np.ones(n, np.float32)
    arrays = (labels, scores, w) if weighted else (labels, scores)
    sizes = (5000, 7000, 8000)
    _, _, roc = _stream(lambda l, p, *ww: metrics.auc(l, p, *ww), _batches(*arrays, sizes=sizes))
    _, _, pr = _stream(lambda l, p, *ww: metrics.auc(l, p, *ww, curve="PR", summation_method="careful_interpolation"),
                       _batches(*arrays, sizes=sizes))
    assert abs(roc - _exact_roc_auc(labels, scores, w)) < 0.01
    assert abs(pr - _exact_average_precision(labels, scores, w)) < 0.01


def test_auc_thresholds_argument_and_float64_predictions() -> None:
    inner = [0.8, 0.2, 0.5]
    preds = SCORES.astype(np.float64)
    _, _, val = _stream(lambda l, p: metrics.auc(l, p, thresholds=inner), [[POS, preds]])
    thr = [-1e-7, 0.2, 0.5, 0.8, 1 + 1e-7]
    tp, fp, tn, fn = _np_counts(POS, preds, thr, np.ones(NP))
    x, y = fp / (fp + tn + 1e-6), (tp + 1e-6) / (tp + fn + 1e-6)
    assert abs(val - ((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2).sum()) < 1e-6


@pytest.mark.parametrize("bad", [1.5, -0.25, np.nan])
def test_predictions_outside_unit_interval_fail_at_run_time(bad: float) -> None:
    g = tf.Graph()
    with g.as_default():
        l, p = tf.placeholder(tf.bool, [None]), tf.placeholder(tf.float32, [None])
        _, up = metrics.auc(l, p)
        with tf.Session() as s:
            s.run(tf.local_variables_initializer())
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"predictions must be in \[0, 1\]"):
                s.run(up, {l: [True, False, True], p: [0.5, bad, 0.2]})


def test_build_time_errors() -> None:
    with tf.Graph().as_default():
        l, p = tf.placeholder(tf.bool, [4]), tf.placeholder(tf.float32, [4])
        with pytest.raises(ValueError, match="curve must be either ROC or PR"):
            metrics.auc(l, p, curve="XY")
        with pytest.raises(ValueError, match="summation_method"):
            metrics.auc(l, p, summation_method="simpson")
        with pytest.raises(ValueError, match="incompatible"):
            metrics.accuracy(tf.placeholder(tf.int32, [4]), tf.placeholder(tf.int32, [5]))
        with pytest.raises(ValueError, match="broadcast"):
            metrics.mean(tf.placeholder(tf.float32, [4, 3, 2]), weights=tf.placeholder(tf.float32, [2]))


def test_optional_class_metrics() -> None:
    k = 3
    ups, before, val = _stream(lambda l, p, w: metrics.mean_per_class_accuracy(l, p, k, weights=w),
                               _batches(LABELS_INT, PREDS_INT, W))
    per_class = np.array([_wmean(PREDS_INT[LABELS_INT == c] == c, W[LABELS_INT == c]) for c in range(k)])
    assert before == 0.0
    np.testing.assert_allclose(ups[-1], per_class, rtol=1e-5)
    np.testing.assert_allclose(val, per_class.mean(), rtol=1e-5)
    ups, before, val = _stream(lambda l, p, w: metrics.mean_iou(l, p, k, weights=w), _batches(LABELS_INT, PREDS_INT, W))
    cm = np.zeros((k, k))
    np.add.at(cm, (LABELS_INT, PREDS_INT), W.astype(np.float64))
    iou = np.diag(cm) / (cm.sum(0) + cm.sum(1) - np.diag(cm))
    assert before == 0.0
    np.testing.assert_allclose(ups[-1], cm, rtol=1e-6)
    np.testing.assert_allclose(val, iou.mean(), rtol=1e-5)
    ups, before, val = _stream(lambda v, w: metrics.mean_tensor(v[0], weights=w[0]),
                               _batches(Y, W[:, None]))
    assert ups[-1].shape == (3,)
    rows = np.array([0, 7, 8, 21])  # first row of each batch, weighted by its weight
    np.testing.assert_allclose(val, (Y[rows] * W[rows, None]).sum(0) / W[rows].sum(), rtol=1e-5)


def test_variables_collections_and_names() -> None:
    with tf.Graph().as_default() as g:
        l, p = tf.placeholder(tf.int32, [None]), tf.placeholder(tf.int32, [None])
        acc, up = metrics.accuracy(l, p, metrics_collections=["m"], updates_collections=["u"])
        acc_named, _ = metrics.accuracy(l, p, name="acc_op")
        acc2, _ = metrics.accuracy(l, p)
        a, a_up = metrics.auc(tf.cast(l, tf.bool), tf.cast(p, tf.float32), updates_collections=["u"])
        pr, _ = metrics.precision(l, p)
        tpt, _ = metrics.true_positives_at_thresholds(l, tf.cast(p, tf.float32), [0.5])
        assert (acc.name, up.name, a.name, a_up.name) == ("accuracy/value:0", "accuracy/update_op:0",
                                                          "auc/value:0", "auc/update_op:0")
        assert tf.get_collection("m") == [acc]
        assert tf.get_collection("u") == [up, a_up]
        names = [v.op.name for v in tf.local_variables()]
        assert names == ["accuracy/total", "accuracy/count", "acc_op/total", "acc_op/count", "accuracy_1/total",
                         "accuracy_1/count", "auc/true_positives", "auc/false_negatives", "auc/true_negatives",
                         "auc/false_positives", "precision/true_positives/count", "precision/false_positives/count",
                         "true_positives/true_positives"]
        assert [v.op.name for v in g.get_collection(tf.GraphKeys.METRIC_VARIABLES)] == names
        assert tf.global_variables() == [] and tf.trainable_variables() == []
        assert acc_named.name == "acc_op/value:0" and acc2.name == "accuracy_1/value:0"


def test_local_variables_initializer_resets_state() -> None:
    with tf.Graph().as_default():
        l, p = tf.placeholder(tf.bool, [None]), tf.placeholder(tf.float32, [None])
        acc, acc_up = metrics.accuracy(l, tf.greater(p, 0.5))
        a, a_up = metrics.auc(l, p)
        init = tf.local_variables_initializer()
        with tf.Session() as s:
            first = []
            for _ in range(2):
                s.run(init)
                assert s.run([acc, a]) == [0.0, 0.0]
                for b in _batches(POS, SCORES, sizes=(300, 300)):
                    s.run([acc_up, a_up], {l: b[0], p: b[1]})
                first.append(s.run([acc, a]))
            assert first[0] == first[1]
            np.testing.assert_allclose(first[0][0], np.mean(POS == (SCORES > 0.5)), rtol=1e-6)


def test_auc_update_on_100k_examples_is_fast() -> None:
    n = 100_000
    scores = RNG.random(n).astype(np.float32)
    labels = RNG.random(n) < scores
    with tf.Graph().as_default():
        l, p = tf.placeholder(tf.bool, [None]), tf.placeholder(tf.float32, [None])
        _, up = metrics.auc(l, p)
        with tf.Session() as s:
            s.run(tf.local_variables_initializer())
            s.run(up, {l: labels[:10], p: scores[:10]})  # warm-up
            t0 = time.perf_counter()
            got = s.run(up, {l: labels, p: scores})
            elapsed = time.perf_counter() - t0
    assert elapsed < 0.25, elapsed
    ref = _np_tf_auc(np.r_[labels[:10], labels], np.r_[scores[:10], scores], np.ones(n + 10), "ROC", "trapezoidal")
    assert abs(got - ref) < 1e-6
