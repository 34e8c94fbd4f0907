"""tf.compat.v1.metrics @k (recall/precision/average precision), specificity/sensitivity at an
operating point, percentage_below, mean_cosine_distance and mean_relative_error.

Each metric is streamed over several batches and checked after every batch against TF 2.15's
recorded results (tests/fixtures/metrics_at_k.json, made by make_metrics_at_k.py) and against
NumPy float64 computations of the same definitions over the data seen so far; plus edge cases
(set semantics of labels, NaN where TF gives NaN), errors, collections, and an Estimator whose
eval_metric_ops accumulate over several eval batches."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

import numpy as np
import pytest

import nestor as tf
from nestor import metrics

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "metrics_at_k.json")
with open(FIXTURE) as _f:
    REF = json.load(_f)
CASES = REF["cases"]


def _nan(v: Any) -> Any:
    return np.nan if v == "nan" else v


def _inputs(case: Dict[str, Any]) -> Dict[str, np.ndarray]:
    """The case's arguments: names of arrays stored once at the fixture's top level."""
    out = {}
    for arg, ref in case["inputs"].items():
        a = REF["arrays"][ref]
        out[arg] = np.asarray(a["value"], dtype=a["dtype"])
    return out


def _stream(build: Any, inputs: Dict[str, np.ndarray], splits: List[int]) -> Dict[str, Any]:
    """Builds `build(**placeholders)` and runs its update op per batch of `inputs`."""
    g = tf.Graph()
    with g.as_default():
        phs = {n: tf.placeholder(tf.as_dtype(a.dtype), [None] + list(a.shape[1:])) for n, a in inputs.items()}
        value, update = build(**phs)
        names = [v.op.name for v in tf.local_variables()]
        with tf.Session() as s:
            s.run(tf.local_variables_initializer())
            before = s.run(value)
            ups, start = [], 0
            for n in splits:
                ups.append(s.run(update, {phs[k]: a[start:start + n] for k, a in inputs.items()}))
                start += n
            return {"before": before, "updates": np.array(ups, np.float64), "value": s.run(value), "names": names,
                    "dtype": value.dtype}


# ---- NumPy float64 references -------------------------------------------------------------------

def _np_top_k(x: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-x, axis=-1, kind="stable")[..., :k]


def _rows(labels: np.ndarray, idx: np.ndarray) -> tuple:
    if labels.ndim == idx.ndim - 1:
        labels = labels[..., None]
    return labels.reshape(-1, labels.shape[-1]), idx.reshape(-1, idx.shape[-1])


def _np_ratio(metric: str, labels: np.ndarray, idx: np.ndarray, class_id: Optional[int],
              weights: Optional[np.ndarray]) -> float:
    lab, pred = _rows(labels, idx)
    w = np.ones(len(lab)) if weights is None else np.broadcast_to(np.asarray(weights, np.float64).ravel(), len(lab))
    tp = other = 0.0
    for row_l, row_p, wi in zip(lab, pred, w):
        ls, ps = set(row_l.tolist()), set(row_p.tolist())
        if class_id is not None:
            ls, ps = ls & {class_id}, ps & {class_id}
        tp += wi * len(ls & ps)
        other += wi * len(ls - ps if metric == "recall" else ps - ls)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(tp) / np.float64(tp + other))


def _np_average_precision(labels: np.ndarray, logits: np.ndarray, k: int, weights: Optional[np.ndarray]) -> float:
    lab, pred = _rows(np.where(labels >= logits.shape[-1], -1, labels), _np_top_k(logits, k))
    aps = []
    for row_l, row_p in zip(lab, pred):
        rel = np.array([p in set(row_l.tolist()) for p in row_p], np.float64)
        prec_sum = float(np.sum(np.cumsum(rel) / np.arange(1, k + 1) * rel))
        n_rel = min(int(np.sum(row_l >= 0)), k)
        aps.append(prec_sum / n_rel if n_rel else np.nan)  # no label in range: 0 / 0
    aps = np.array(aps)
    w = np.ones(len(aps)) if weights is None else np.broadcast_to(np.asarray(weights, np.float64).ravel(), len(aps))
    return float(np.sum(aps * w) / np.sum(w)) if np.sum(w) > 0 else 0.0


def _np_operating_point(metric: str, labels: np.ndarray, preds: np.ndarray, target: float, num_thresholds: int,
                        weights: Optional[np.ndarray]) -> float:
    eps = 1e-7
    top = 1 - eps if metric == "specificity_at_sensitivity" else 1 + eps
    thr = np.array([-eps] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [top], np.float32)
    w = np.ones(len(preds)) if weights is None else weights.astype(np.float64)
    pos = preds[None, :] > thr[:, None]  # float32 comparison, as the thresholds are float32 in both
    lb = labels.astype(bool)[None, :]
    tp, fn = (w * (pos & lb)).sum(1), (w * (~pos & lb)).sum(1)
    tn, fp = (w * (~pos & ~lb)).sum(1), (w * (pos & ~lb)).sum(1)
    # which threshold is nearest the target decides between exact ties (e.g. rates 0.4 and 0.6
    # for a target of 0.5), so the rates that choose it are float32 as in TF; the result is float64
    f32 = np.float32
    if metric == "specificity_at_sensitivity":
        d = np.abs(f32(tp) / (f32(tp) + f32(fn) + f32(eps)) - f32(target))
        i = np.flatnonzero(d == d.min())[-1]
        return float(tn[i] / (tn[i] + fp[i] + eps))
    d = np.abs(f32(tn) / (f32(tn) + f32(fp) + f32(eps)) - f32(target))
    i = int(np.argmin(d))
    return float(tp[i] / (tp[i] + fn[i] + eps))


def _np_mean(v: np.ndarray, w: Optional[np.ndarray]) -> float:
    v = v.astype(np.float64)
    w = np.ones_like(v) if w is None else np.broadcast_to(w.astype(np.float64), v.shape)
    return float((v * w).sum() / w.sum())


def _numpy_reference(case: Dict[str, Any], x: Dict[str, np.ndarray]) -> float:
    m, kw, w = case["metric"], case["kwargs"], x.get("weights")
    if m in ("recall_at_k", "precision_at_k"):
        return _np_ratio(m.split("_")[0], x["labels"], _np_top_k(x["predictions"], kw["k"]), kw.get("class_id"), w)
    if m in ("recall_at_top_k", "precision_at_top_k"):
        return _np_ratio(m.split("_")[0], x["labels"], x["predictions_idx"], kw.get("class_id"), w)
    if m == "average_precision_at_k":
        return _np_average_precision(x["labels"], x["predictions"], kw["k"], w)
    if m in ("specificity_at_sensitivity", "sensitivity_at_specificity"):
        target = kw["sensitivity"] if "sensitivity" in kw else kw["specificity"]
        return _np_operating_point(m, x["labels"], x["predictions"], target, kw.get("num_thresholds", 200), w)
    if m == "percentage_below":
        return _np_mean(x["values"] < kw["threshold"], w)
    if m == "mean_cosine_distance":
        return 1.0 - _np_mean((x["labels"].astype(np.float64) * x["predictions"]).sum(1, keepdims=True), w)
    if m == "mean_relative_error":
        lab, pred, nrm = (x[n].astype(np.float64) for n in ("labels", "predictions", "normalizer"))
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(nrm == 0, 0.0, np.abs(lab - pred) / nrm)
        return _np_mean(rel, w)
    raise AssertionError(f"no reference for {m}")


def _case_id(c: Dict[str, Any]) -> str:
    return f"{c['metric']}-{'-'.join(f'{k}{v}' for k, v in c['kwargs'].items())}-{'+'.join(c['inputs'])}"


# ---- against TF 2.15 and NumPy, batch by batch ----------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{_case_id(c)}" for i, c in enumerate(CASES)])
def test_streaming_matches_tf_and_numpy(case: Dict[str, Any]) -> None:
    x = _inputs(case)
    fn = getattr(metrics, case["metric"])
    got = _stream(lambda **ph: fn(**{a: ph[a] for a in case["args"]}, **case["kwargs"]), x, REF["splits"])
    tf_updates = np.array([_nan(u) for u in case["updates"]], np.float64)
    float64_metric = case["metric"].endswith(("_at_k", "_at_top_k"))
    rtol = 1e-9 if float64_metric else 2e-6
    np.testing.assert_allclose(got["updates"], tf_updates, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(got["value"], _nan(case["value"]), rtol=rtol, atol=1e-7)
    assert got["dtype"] == (tf.float64 if float64_metric else tf.float32)
    # NumPy over the data seen so far, after every batch
    end = np.cumsum(REF["splits"])
    refs = [_numpy_reference(case, {n: a[:e] for n, a in x.items()}) for e in end]
    np.testing.assert_allclose(got["updates"], refs, rtol=1e-6, atol=1e-6)
    # state names as TF's (TF's average precision scope calls its count `max_1`; ours is `max`)
    want = [n.replace("/max_1", "/max") for n in case["variables"]]
    assert got["names"] == want


def test_fixture_covers_every_new_metric() -> None:
    covered = {c["metric"] for c in CASES}
    assert covered == {"recall_at_k", "precision_at_k", "average_precision_at_k", "recall_at_top_k",
                       "precision_at_top_k", "specificity_at_sensitivity", "sensitivity_at_specificity",
                       "percentage_below", "mean_cosine_distance", "mean_relative_error"}
    assert REF["tensorflow"].startswith("2.15")


# ---- semantics ------------------------------------------------------------------------------------

LOGITS = np.array([[0.1, 0.5, 0.2, 0.9, 0.3], [0.8, 0.1, 0.3, 0.2, 0.6]], np.float32)  # top2: [3,1], [0,4]


def _once(build: Any, **arrays: np.ndarray) -> Dict[str, Any]:
    return _stream(build, arrays, [len(next(iter(arrays.values())))])


@pytest.mark.parametrize("labels,recall,precision", [
    ([[3, -1], [0, -1]], 2 / 4, 2 / 4),   # -1 is a label that is never predicted: a false negative
    ([[3, 7], [0, 5]], 2 / 4, 2 / 4),     # so is an out-of-range id
    ([[3, 3], [0, 0]], 2 / 2, 2 / 4),     # labels are sets: a duplicate counts once
    ([[1, -1], [-1, -1]], 1 / 3, 1 / 4),
])
def test_label_set_semantics(labels: list, recall: float, precision: float) -> None:
    lab = np.array(labels, np.int64)
    r = _once(lambda l, p: metrics.recall_at_k(l, p, 2), l=lab, p=LOGITS)
    p = _once(lambda l, p: metrics.precision_at_k(l, p, 2), l=lab, p=LOGITS)
    np.testing.assert_allclose([r["value"], p["value"]], [recall, precision], rtol=1e-12)
    np.testing.assert_allclose(r["value"], _np_ratio("recall", lab, _np_top_k(LOGITS, 2), None, None), rtol=1e-12)


def test_nan_where_tf_divides_zero_by_zero() -> None:
    lab = np.array([[-1, -1], [2, -1]], np.int64)
    # class 3 is no row's label: recall for it is 0 / (0 + 0), NaN before and after the update
    r = _once(lambda l, p: metrics.recall_at_k(l, p, 2, class_id=3), l=lab, p=LOGITS)
    assert np.isnan(r["before"]) and np.isnan(r["value"])
    ap = _once(lambda l, p: metrics.average_precision_at_k(l, p, 2), l=lab, p=LOGITS)
    assert ap["before"] == 0.0 and np.isnan(ap["value"])  # row 0 has no label in range
    assert np.isnan(_np_average_precision(lab, LOGITS, 2, None))


def test_zero_weights_mask_rows_and_int32_inputs() -> None:
    lab = np.array([3, 2], np.int32)
    w = np.array([1.0, 0.0], np.float32)
    r = _once(lambda l, p, w: metrics.recall_at_k(l, p, 1, weights=w), l=lab, p=LOGITS, w=w)
    assert r["value"] == 1.0 == _np_ratio("recall", lab, _np_top_k(LOGITS, 1), None, w)
    idx = _np_top_k(LOGITS, 2).astype(np.int32)
    p = _once(lambda l, i: metrics.precision_at_top_k(l, i, class_id=0), l=lab, i=idx)
    assert p["value"] == 0.0 == _np_ratio("precision", lab, idx, 0, None)


def test_higher_rank_predictions() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 3, 7)).astype(np.float32)
    labels = rng.integers(-1, 7, size=(4, 3, 2)).astype(np.int64)
    w = rng.random((4, 3)).astype(np.float32)
    for k in (1, 4):
        r = _once(lambda l, p, w: metrics.recall_at_k(l, p, k, weights=w), l=labels, p=logits, w=w)
        p = _once(lambda l, p: metrics.precision_at_k(l, p, k), l=labels, p=logits)
        ap = _once(lambda l, p: metrics.average_precision_at_k(l[..., :1], p, k), l=np.abs(labels), p=logits)
        np.testing.assert_allclose(r["value"], _np_ratio("recall", labels, _np_top_k(logits, k), None, w), rtol=1e-6)
        np.testing.assert_allclose(p["value"], _np_ratio("precision", labels, _np_top_k(logits, k), None, None),
                                   rtol=1e-12)
        np.testing.assert_allclose(ap["value"], _np_average_precision(np.abs(labels)[..., :1], logits, k, None),
                                   rtol=1e-12)


def test_aliases_and_names() -> None:
    assert metrics.sparse_precision_at_k is metrics.precision_at_k
    assert metrics.sparse_average_precision_at_k is metrics.average_precision_at_k
    assert tf.compat.v1.metrics.recall_at_top_k is metrics.recall_at_top_k
    with tf.Graph().as_default():
        lab, p = tf.constant([[1, 2]], tf.int64), tf.constant(LOGITS[:1])
        metrics.recall_at_k(lab, p, 2, name="my_recall")
        metrics.average_precision_at_k(lab, p, 2)
        assert [v.op.name for v in tf.local_variables()] == [
            "my_recall/true_positive_at_2", "my_recall/false_negative_at_2",
            "average_precision_at_2/max", "average_precision_at_2/total"]
        assert all(v in tf.get_collection(tf.GraphKeys.METRIC_VARIABLES) for v in tf.local_variables())
        assert not tf.trainable_variables()


def test_collections() -> None:
    with tf.Graph().as_default():
        lab, p = tf.constant([[1, 2]], tf.int64), tf.constant(LOGITS[:1])
        built = [metrics.precision_at_k(lab, p, 2, metrics_collections=["m"], updates_collections=["u"]),
                 metrics.average_precision_at_k(lab, p, 2, metrics_collections=["m"], updates_collections=["u"]),
                 metrics.sensitivity_at_specificity(tf.constant([1, 0]), tf.constant([0.7, 0.2]), 0.5,
                                                    metrics_collections=["m"], updates_collections=["u"]),
                 metrics.mean_cosine_distance(tf.constant([[1.0, 0.0]]), tf.constant([[0.0, 1.0]]), 1,
                                              metrics_collections=["m"], updates_collections=["u"])]
        assert tf.get_collection("m") == [v for v, _ in built]
        assert tf.get_collection("u") == [u for _, u in built]


def test_errors() -> None:
    with tf.Graph().as_default():
        lab, p = tf.constant([[1, 2]], tf.int64), tf.constant(LOGITS[:1])
        with pytest.raises(ValueError, match=r"Invalid k=0. `k` should be >= 1."):
            metrics.recall_at_k(lab, p, 0)
        with pytest.raises(ValueError, match=r"Invalid k=0"):
            metrics.average_precision_at_k(lab, p, 0)
        with pytest.raises(ValueError, match=r"Unexpected labels shape"):
            metrics.precision_at_k(tf.constant([[[1]]], tf.int64), p, 2)
        with pytest.raises(TypeError, match=r"labels must be an integer Tensor"):
            metrics.recall_at_k(tf.constant([[1.0]]), p, 2)
        with pytest.raises(TypeError, match=r"predictions must be a float Tensor"):
            metrics.precision_at_k(lab, tf.constant([[1, 2, 3]]), 2)
        with pytest.raises(ValueError, match=r"weights can not be broadcast to values"):
            metrics.recall_at_k(lab, p, 2, weights=tf.constant([[1.0, 2.0]]))
        with pytest.raises(ValueError, match=r"`sensitivity` must be in the range \[0, 1\]"):
            metrics.specificity_at_sensitivity(tf.constant([1]), tf.constant([0.5]), 1.5)
        with pytest.raises(ValueError, match=r"`specificity` must be in .* Currently, `specificity` got -0.1"):
            metrics.sensitivity_at_specificity(tf.constant([1]), tf.constant([0.5]), -0.1)
        with pytest.raises(ValueError, match=r"num_thresholds must be an int > 1"):
            metrics.sensitivity_at_specificity(tf.constant([1]), tf.constant([0.5]), 0.5, num_thresholds=1)


def test_local_variables_initializer_resets_state() -> None:
    with tf.Graph().as_default():
        lab, p = tf.constant([3, 2], tf.int64), tf.constant(LOGITS)
        value, update = metrics.recall_at_k(lab, p, 1)
        with tf.Session() as s:
            s.run(tf.local_variables_initializer())
            s.run(update)
            s.run(update)
            assert s.run(value) == 0.5
            s.run(tf.local_variables_initializer())
            assert np.isnan(s.run(value))


# ---- Estimator: eval_metric_ops accumulate over eval batches ---------------------------------------

def test_estimator_eval_metric_ops_stream_over_batches(tmp_path: Any) -> None:
    rng = np.random.default_rng(5)
    n, c = 50, 6
    x = rng.normal(size=(n, c)).astype(np.float32)
    labels = rng.integers(0, c, size=(n, 2)).astype(np.int64)
    labels[rng.random((n, 2)) < 0.3] = -1
    labels[:, 0] = np.abs(labels[:, 0])  # every row has a label in range
    w = rng.random(n).astype(np.float32)

    def model_fn(features: Any, labels: Any, mode: Any) -> Any:
        bias = tf.get_variable("bias", [c], initializer=tf.zeros_initializer())
        logits = features["x"] + bias
        loss = tf.reduce_mean(tf.square(logits - 0.3))
        if mode == tf.estimator.ModeKeys.EVAL:
            ops = {"precision_at_2": metrics.precision_at_k(labels, logits, 2),
                   "recall_at_3_w": metrics.recall_at_k(labels, logits, 3, weights=features["w"]),
                   "precision_at_2_class1": metrics.precision_at_k(labels, logits, 2, class_id=1),
                   "map_at_3": metrics.average_precision_at_k(labels, logits, 3)}
            return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops=ops)
        train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

    def input_fn(batch: int, repeat: bool) -> Any:
        def fn() -> Any:
            ds = tf.data.Dataset.from_tensor_slices(({"x": x, "w": w}, labels))
            return (ds.repeat() if repeat else ds).batch(batch)
        return fn

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "m"),
                                 config=tf.estimator.RunConfig(tf_random_seed=1))
    est.train(input_fn(16, True), steps=3)
    res = est.evaluate(input_fn(7, False))  # 8 batches, the last one partial
    logits = x + est.get_variable_value("bias")
    assert np.abs(est.get_variable_value("bias")).max() > 0  # trained, so the checkpoint matters
    np.testing.assert_allclose(res["precision_at_2"],
                               _np_ratio("precision", labels, _np_top_k(logits, 2), None, None), rtol=1e-6)
    np.testing.assert_allclose(res["recall_at_3_w"],
                               _np_ratio("recall", labels, _np_top_k(logits, 3), None, w), rtol=1e-6)
    np.testing.assert_allclose(res["precision_at_2_class1"],
                               _np_ratio("precision", labels, _np_top_k(logits, 2), 1, None), rtol=1e-6)
    np.testing.assert_allclose(res["map_at_3"], _np_average_precision(labels, logits, 3, None), rtol=1e-6)
    # a single batch's value differs from the whole set's, so the test sees the accumulation
    first = _np_ratio("precision", labels[:7], _np_top_k(logits[:7], 2), None, None)
    assert abs(first - res["precision_at_2"]) > 1e-3
