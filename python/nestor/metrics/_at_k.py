"""Streaming top-k metrics against sparse class labels (`tf.compat.v1.metrics.*_at_k`).

Labels are class ids, int64 `[D1, ..., DN]` (one label per row) or `[D1, ..., DN, num_labels]`
(several; pad with -1). As TensorFlow's set operations do, each row's labels form a *set*:
duplicates count once, and every value counts, -1 and out-of-range ids included, so those
are false negatives for recall (they can never be predicted) and change nothing for
precision. Predictions are logits `[D1, ..., DN, num_classes]` (or, for the `*_at_top_k`
variants, the top-k class ids `[D1, ..., DN, k]`).

The state is float64: `<metric>/true_positive_at_<k>` and `false_negative_at_<k>` (recall)
or `false_positive_at_<k>` (precision); with `class_id` the names end in `_class<id>`.
Values are plain divisions, so 0 / 0 gives NaN as in TensorFlow (e.g. recall for a
`class_id` that never occurs in the labels).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor
from ..framework.variables import variable_scope
from ..ops import array_ops, core_ops, math_ops, reduction_ops, scan_ops, state_ops, top_k_ops
from ._impl import Collections, _add, _broadcast_weights, _div_no_nan, metric_variable

__all__ = ["recall_at_k", "recall_at_top_k", "precision_at_k", "precision_at_top_k", "sparse_precision_at_k",
           "average_precision_at_k", "sparse_average_precision_at_k"]


def _at_k_name(name: str, k: Optional[int] = None, class_id: Optional[int] = None) -> str:
    name = f"{name}_at_{k}" if k is not None else f"{name}_at_k"
    return f"{name}_class{class_id}" if class_id is not None else name


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be a Python int, got {k!r}")
    if k < 1:
        raise ValueError(f"Invalid k={k}. `k` should be >= 1.")
    return int(k)


def _int64_ids(x: Any, what: str) -> Tensor:
    t = convert_to_tensor(x, name=what)
    if not t.dtype.is_integer:
        raise TypeError(f"{what} must be an integer Tensor of class ids, got {t.dtype.name}")
    return t if t.dtype == _dtypes.int64 else core_ops.cast(t, _dtypes.int64)


def _maybe_expand_labels(labels: Tensor, predictions: Tensor) -> Tensor:
    """`labels` with a trailing num_labels=1 axis when it has one rank less than `predictions`."""
    lr, pr = labels.shape.rank, predictions.shape.rank
    if lr is None or pr is None:
        raise ValueError(f"labels and predictions need static ranks, got shapes {labels.shape} and "
                         f"{predictions.shape}")
    if pr == lr:
        return labels
    if pr == lr + 1:
        return array_ops.expand_dims(labels, -1)
    raise ValueError(f"Unexpected labels shape {labels.shape} for predictions shape {predictions.shape}. "
                     f"Predictions rank should be the same rank as labels rank or labels rank plus one .")


def _first_occurrence(ids: Tensor) -> Tensor:
    """bool [..., n]: True where ids[..., j] differs from every ids[..., i < j] (set semantics)."""
    r = array_ops.range(core_ops.shape(ids)[-1])
    earlier = math_ops.less(array_ops.expand_dims(r, 0), array_ops.expand_dims(r, 1))  # [j, i]: i < j
    same = math_ops.equal(array_ops.expand_dims(ids, -1), array_ops.expand_dims(ids, -2))
    return math_ops.logical_not(reduction_ops.reduce_any(math_ops.logical_and(same, earlier), -1))


def _member_of(a: Tensor, b: Tensor) -> Tensor:
    """bool [..., len_a]: whether a[..., i] occurs in b[..., :]."""
    return reduction_ops.reduce_any(math_ops.equal(array_ops.expand_dims(a, -1), array_ops.expand_dims(b, -2)), -1)


def _count(mask: Tensor) -> Tensor:
    return reduction_ops.reduce_sum(core_ops.cast(mask, _dtypes.float64), -1)


def _weighted_total(per_row: Tensor, weights: Any) -> Tensor:
    """sum(per_row * weights); weights must have rank 0 or per_row's rank, each dim 1 or equal."""
    if weights is not None:
        w = core_ops.cast(convert_to_tensor(weights), _dtypes.float64)
        wr, vr = w.shape.rank, per_row.shape.rank
        ok = wr is None or vr is None or wr == 0 or (
            wr == vr and all(a is None or b is None or a in (1, b)
                             for a, b in zip(w.shape.as_list(), per_row.shape.as_list())))
        if not ok:
            raise ValueError(f"weights can not be broadcast to values. values.rank={vr}. weights.rank={wr}. "
                             f"values.shape={per_row.shape}. weights.shape={w.shape}.")
        per_row = math_ops.multiply(per_row, w)
    return reduction_ops.reduce_sum(per_row)


def _streaming_counts(labels: Any, predictions_idx: Any, k: Optional[int], class_id: Optional[int],
                      weights: Any, other: str) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """(tp, tp_update, other, other_update); `other` is 'false_negative' or 'false_positive'."""
    pred = _int64_ids(predictions_idx, "predictions_idx")
    if pred.shape.rank == 0:
        raise ValueError("The rank of `predictions_idx` must be at least 1.")
    lab = _maybe_expand_labels(_int64_ids(labels, "labels"), pred)
    lab_sel, pred_sel = _first_occurrence(lab), _first_occurrence(pred)
    if class_id is not None:
        lab_sel = math_ops.logical_and(lab_sel, math_ops.equal(lab, np.int64(class_id)))
        pred_sel = math_ops.logical_and(pred_sel, math_ops.equal(pred, np.int64(class_id)))
    if other == "false_negative":
        hit = _member_of(lab, pred)
        tp_rows = _count(math_ops.logical_and(lab_sel, hit))
        other_rows = _count(math_ops.logical_and(lab_sel, math_ops.logical_not(hit)))
    else:
        hit = _member_of(pred, lab)
        tp_rows = _count(math_ops.logical_and(pred_sel, hit))
        other_rows = _count(math_ops.logical_and(pred_sel, math_ops.logical_not(hit)))
    out = []
    for prefix, rows in (("true_positive", tp_rows), (other, other_rows)):
        var = metric_variable([], _dtypes.float64, name=_at_k_name(prefix, k, class_id))
        out += [var.value(), state_ops.assign_add(var, _weighted_total(rows, weights))]
    return out[0], out[1], out[2], out[3]


def _ratio_at_top_k(default: str, other: str, labels: Any, predictions_idx: Any, k: Optional[int],
                    class_id: Optional[int], weights: Any, metrics_collections: Collections,
                    updates_collections: Collections, name: Optional[str]) -> Tuple[Tensor, Tensor]:
    with variable_scope(name, _at_k_name(default, k, class_id), (predictions_idx, labels, weights)):
        tp, tp_update, o, o_update = _streaming_counts(labels, predictions_idx, k, class_id, weights, other)
        value = math_ops.divide(tp, math_ops.add(tp, o), name="value")
        update_op = math_ops.divide(tp_update, math_ops.add(tp_update, o_update), name="update")
        _add(metrics_collections, value)
        _add(updates_collections, update_op)
        return value, update_op


def _top_k_idx(predictions: Any, k: int) -> Tensor:
    p = convert_to_tensor(predictions, name="predictions")
    if not p.dtype.is_floating:
        raise TypeError(f"predictions must be a float Tensor of logits, got {p.dtype.name}")
    return top_k_ops.top_k(p, k).indices


def recall_at_top_k(labels: Any, predictions_idx: Any, k: Optional[int] = None, class_id: Optional[int] = None,
                    weights: Any = None, metrics_collections: Collections = None,
                    updates_collections: Collections = None, name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """Recall@k of given top-k class ids against sparse labels (`tf.compat.v1.metrics.recall_at_top_k`).

    Args:
      labels: int `Tensor` `[D1, ..., DN, num_labels]` or `[D1, ..., DN]` (num_labels=1) of
        class ids. Ids outside `[0, num_classes)` (e.g. -1 padding) always count as false negatives.
      predictions_idx: int `Tensor` `[D1, ..., DN, k]`, the top-k predicted class ids.
      k: only used in the default name (`recall_at_<k>`, or `recall_at_k` when None).
      class_id: if set, binary recall of that class: among rows whose labels hold `class_id`,
        how often `class_id` is among the predictions.
      weights: None, or a `Tensor` of rank 0 or of shape `[D1, ..., DN]` (dims of 1 broadcast);
        each row's counts are multiplied by its weight.
      metrics_collections / updates_collections: collections to add the value / update op to.
      name: the variable scope.

    Returns:
      (recall, update_op): float64 scalars, tp / (tp + fn) over all batches so far.

    Raises:
      ValueError: the ranks of labels and predictions_idx do not fit, or weights do not broadcast.
      TypeError: labels or predictions_idx are not integer.
    """
    return _ratio_at_top_k("recall", "false_negative", labels, predictions_idx, k, class_id, weights,
                           metrics_collections, updates_collections, name)


def precision_at_top_k(labels: Any, predictions_idx: Any, k: Optional[int] = None, class_id: Optional[int] = None,
                       weights: Any = None, metrics_collections: Collections = None,
                       updates_collections: Collections = None, name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """Precision@k of given top-k class ids against sparse labels (`tf.compat.v1.metrics.precision_at_top_k`).

    Args:
      labels: int `Tensor` `[D1, ..., DN, num_labels]` or `[D1, ..., DN]` of class ids.
      predictions_idx: int `Tensor` `[D1, ..., DN, k]`, the top-k predicted class ids.
      k: only used in the default name (`precision_at_<k>`, or `precision_at_k` when None).
      class_id: if set, binary precision of that class: among rows predicting `class_id`,
        how often it is among the labels.
      weights: None, or a `Tensor` of rank 0 or of shape `[D1, ..., DN]`.
      metrics_collections / updates_collections: collections to add the value / update op to.
      name: the variable scope.

    Returns:
      (precision, update_op): float64 scalars, tp / (tp + fp) over all batches so far.

    Raises:
      ValueError: the ranks of labels and predictions_idx do not fit, or weights do not broadcast.
      TypeError: labels or predictions_idx are not integer.
    """
    return _ratio_at_top_k("precision", "false_positive", labels, predictions_idx, k, class_id, weights,
                           metrics_collections, updates_collections, name)


def recall_at_k(labels: Any, predictions: Any, k: int, class_id: Optional[int] = None, weights: Any = None,
                metrics_collections: Collections = None, updates_collections: Collections = None,
                name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """Recall@k of logits against sparse labels (`tf.compat.v1.metrics.recall_at_k`).

    How often a label of a row is among the row's `k` highest logits (ties: the lower class
    id ranks first), counted over the set of labels of every row. See `recall_at_top_k`.

    Args:
      labels: int `Tensor` `[D1, ..., DN, num_labels]` or `[D1, ..., DN]` of class ids.
      predictions: float `Tensor` `[D1, ..., DN, num_classes]` of logits.
      k: int >= 1.
      class_id, weights, metrics_collections, updates_collections: as in `recall_at_top_k`.
      name: the variable scope (default `recall_at_<k>[_class<class_id>]`).

    Returns:
      (recall, update_op): float64 scalars.
    """
    k = _check_k(k)
    return recall_at_top_k(labels, _top_k_idx(predictions, k), k, class_id, weights, metrics_collections,
                           updates_collections, name)


def precision_at_k(labels: Any, predictions: Any, k: int, class_id: Optional[int] = None, weights: Any = None,
                   metrics_collections: Collections = None, updates_collections: Collections = None,
                   name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """Precision@k of logits against sparse labels (`tf.compat.v1.metrics.precision_at_k`).

    How often one of a row's `k` highest logits is one of its labels. See `precision_at_top_k`.

    Args:
      labels: int `Tensor` `[D1, ..., DN, num_labels]` or `[D1, ..., DN]` of class ids.
      predictions: float `Tensor` `[D1, ..., DN, num_classes]` of logits.
      k: int >= 1.
      class_id, weights, metrics_collections, updates_collections: as in `precision_at_top_k`.
      name: the variable scope (default `precision_at_<k>[_class<class_id>]`).

    Returns:
      (precision, update_op): float64 scalars.
    """
    k = _check_k(k)
    return precision_at_top_k(labels, _top_k_idx(predictions, k), k, class_id, weights, metrics_collections,
                              updates_collections, name)


sparse_precision_at_k = precision_at_k


def _average_precision_rows(labels: Tensor, predictions_idx: Tensor) -> Tensor:
    """float64 [D1, ..., DN]: sum_i precision@i * rel_i / min(#labels >= 0, k); NaN for rows without labels."""
    k = predictions_idx.shape.as_list()[-1]
    if k is None:
        raise ValueError("The last dimension of predictions_idx must be set. Currently, it is None.")
    relevant = core_ops.cast(_member_of(predictions_idx, labels), _dtypes.float64)
    tp_per_k = scan_ops.cumsum(relevant, axis=-1)
    precision_per_k = math_ops.divide(tp_per_k, np.arange(1, k + 1, dtype=np.float64))
    precision_sum = reduction_ops.reduce_sum(math_ops.multiply(precision_per_k, relevant), -1)
    num_labels = _count(math_ops.greater_equal(labels, np.int64(0)))  # duplicates count, as TF
    return math_ops.divide(precision_sum, math_ops.minimum(num_labels, float(k)))


def average_precision_at_k(labels: Any, predictions: Any, k: int, weights: Any = None,
                           metrics_collections: Collections = None, updates_collections: Collections = None,
                           name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """Mean average precision@k of logits against sparse labels (`tf.compat.v1.metrics.average_precision_at_k`).

    Per row, AveP = sum_{i=1..k} precision@i * rel_i / min(num_labels, k), where rel_i says
    whether the i-th highest logit's class is a label and num_labels counts the row's labels
    in `[0, num_classes)` (duplicates included, as TF). A row without such labels gives NaN,
    which then stays in the mean, as in TensorFlow.

    Args:
      labels: int `Tensor` `[D1, ..., DN, num_labels]` or `[D1, ..., DN]` of class ids; ids
        outside `[0, num_classes)` are ignored.
      predictions: float `Tensor` `[D1, ..., DN, num_classes]` of logits.
      k: int >= 1.
      weights: None, or a `Tensor` of rank 0 or of shape `[D1, ..., DN]`: a weighted mean of rows.
      metrics_collections / updates_collections: collections to add the value / update op to.
      name: the variable scope (default `average_precision_at_<k>`).

    Returns:
      (mean_average_precision, update_op): float64 scalars, total / max over all batches so
      far (0 before any row), with state `<scope>/total` and `<scope>/max`.

    Raises:
      ValueError: k < 1, ranks do not fit, or weights do not broadcast.
    """
    k = _check_k(k)
    with variable_scope(name, _at_k_name("average_precision", k), (predictions, labels, weights)):
        pred = convert_to_tensor(predictions, name="predictions")
        idx = core_ops.cast(_top_k_idx(pred, k), _dtypes.int64)
        lab = _maybe_expand_labels(_int64_ids(labels, "labels"), idx)
        num_classes = core_ops.cast(core_ops.shape(pred)[-1], _dtypes.int64)
        lab = math_ops.where(math_ops.greater_equal(lab, num_classes),
                             math_ops.multiply(core_ops.ones_like(lab), np.int64(-1)), lab)
        ap = _average_precision_rows(lab, idx)
        if weights is None:
            batch_max = core_ops.cast(core_ops.size(ap), _dtypes.float64)
        else:
            w = _broadcast_weights(core_ops.cast(convert_to_tensor(weights), _dtypes.float64), ap)
            ap = math_ops.multiply(ap, w)
            batch_max = reduction_ops.reduce_sum(w)
        max_var = metric_variable([], _dtypes.float64, name="max")
        total_var = metric_variable([], _dtypes.float64, name="total")
        max_update = state_ops.assign_add(max_var, batch_max)
        total_update = state_ops.assign_add(total_var, reduction_ops.reduce_sum(ap))
        value = _div_no_nan(total_var.value(), max_var.value(), name="mean")
        update_op = _div_no_nan(total_update, max_update, name="update")
        _add(metrics_collections, value)
        _add(updates_collections, update_op)
        return value, update_op


sparse_average_precision_at_k = average_precision_at_k
