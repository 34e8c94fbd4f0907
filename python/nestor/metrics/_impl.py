"""Streaming metrics over counts and means (`tf.compat.v1.metrics`).

Each metric returns `(value_tensor, update_op)`. Its state lives in zero-initialized local
variables (collections LOCAL_VARIABLES and METRIC_VARIABLES, not trainable) created under a
variable scope named after the metric (or `name`), e.g. `accuracy/total` and
`accuracy/count`; `tf.local_variables_initializer()` resets them. `update_op` adds one
batch to the state and returns the updated metric; `value_tensor` reads the state.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.graph import GraphKeys, Tensor, convert_to_tensor
from ..framework.variables import Variable, variable_scope
from ..ops import array_ops, core_ops, math_ops, reduction_ops, sparse_ops, state_ops

__all__ = ["metric_variable", "accuracy", "mean", "mean_tensor", "mean_squared_error", "root_mean_squared_error",
           "mean_absolute_error", "true_positives", "false_positives", "true_negatives", "false_negatives",
           "precision", "recall", "mean_per_class_accuracy", "mean_iou"]

Collections = Optional[Sequence[str]]


def metric_variable(shape: Any, dtype: Any, validate_shape: bool = True, name: Optional[str] = None) -> Variable:
    """A zero-initialized, non-trainable local variable holding metric state."""
    dt = _dtypes.as_dtype(dtype)
    return Variable(lambda: array_ops.zeros(shape, dt), trainable=False,
                    collections=[GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES],
                    validate_shape=validate_shape, name=name)


def _add(collections: Collections, value: Any) -> None:
    if collections:
        _g.add_to_collections(collections, value)


def _rank(t: Tensor) -> Optional[int]:
    return t.shape.rank


def _last_dim_is_1(t: Tensor) -> bool:
    dims = t.shape.as_list()
    return dims[-1] is None or dims[-1] == 1


def _remove_squeezable_dimensions(predictions: Any, labels: Any, weights: Any) -> Tuple[Any, Any, Any]:
    """Drops a trailing size-1 dim of labels/predictions/weights where ranks differ by one (static ranks)."""
    predictions = convert_to_tensor(predictions)
    if labels is not None:
        labels = convert_to_tensor(labels)
        pr, lr = _rank(predictions), _rank(labels)
        if pr is not None and lr is not None:
            if lr - pr == 1 and _last_dim_is_1(labels):
                labels = array_ops.squeeze(labels, [-1])
            elif pr - lr == 1 and _last_dim_is_1(predictions):
                predictions = array_ops.squeeze(predictions, [-1])
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {predictions.shape} and {labels.shape} are incompatible")
    if weights is None:
        return predictions, labels, None
    weights = convert_to_tensor(weights)
    wr, pr = _rank(weights), _rank(predictions)
    if wr == 0 or wr is None or pr is None:
        return predictions, labels, weights
    if wr - pr == 1:
        weights = array_ops.squeeze(weights, [-1])
    elif pr - wr == 1:
        weights = array_ops.expand_dims(weights, -1)
    return predictions, labels, weights


def _broadcast_weights(weights: Tensor, values: Tensor) -> Tensor:
    """`weights` (float32) broadcast to the shape of `values`, as TF's broadcast_weights."""
    if weights.shape.is_fully_defined() and values.shape.is_fully_defined() and weights.shape == values.shape:
        return weights
    ws, vs = weights.shape, values.shape
    if ws.rank is not None and vs.rank is not None and ws.rank != 0 and ws.rank != vs.rank:
        raise ValueError(f"weights can not be broadcast to values: weights shape {ws}, values shape {vs}. "
                         f"weights must be a scalar or have the rank of values.")
    return math_ops.multiply(weights, core_ops.ones_like(values))


def _div_no_nan(x: Tensor, y: Tensor, name: Optional[str] = None) -> Tensor:
    """x / max(y, 0), and 0 where that denominator is 0 (TF's div_no_nan(x, maximum(y, 0)))."""
    pos = math_ops.greater(y, 0.0)
    safe = math_ops.where(pos, y, core_ops.ones_like(y))
    return math_ops.where(pos, math_ops.divide(x, safe), core_ops.zeros_like(x), name=name)


def _f32(x: Any) -> Tensor:
    return core_ops.cast(convert_to_tensor(x), _dtypes.float32)


def mean(values: Any, weights: Any = None, metrics_collections: Collections = None,
         updates_collections: Collections = None, name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """The (weighted) mean of `values` over all batches (`tf.compat.v1.metrics.mean`).

    Args:
      values: a Tensor of any shape.
      weights: None, or a Tensor broadcastable to `values` (rank 0 or the rank of `values`).
      metrics_collections / updates_collections: collections to add the value / update op to.
      name: the variable scope (default 'mean').

    Returns:
      (mean, update_op): `mean` is total / count (0 before any update).
    """
    with variable_scope(name, "mean", (values, weights)):
        values = _f32(values)
        total = metric_variable([], _dtypes.float32, name="total")
        count = metric_variable([], _dtypes.float32, name="count")
        if weights is None:
            num_values = core_ops.cast(core_ops.size(values), _dtypes.float32)
        else:
            values, _, weights = _remove_squeezable_dimensions(values, None, weights)
            weights = _broadcast_weights(_f32(weights), values)
            values = math_ops.multiply(values, weights)
            num_values = reduction_ops.reduce_sum(weights)
        update_total = state_ops.assign_add(total, reduction_ops.reduce_sum(values))
        update_count = state_ops.assign_add(count, num_values)
        mean_t = _div_no_nan(total.value(), count.value(), name="value")
        update_op = _div_no_nan(update_total, update_count, name="update_op")
        _add(metrics_collections, mean_t)
        _add(updates_collections, update_op)
        return mean_t, update_op


def mean_tensor(values: Any, weights: Any = None, metrics_collections: Collections = None,
                updates_collections: Collections = None, name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """The elementwise (weighted) mean of `values` over batches (`tf.compat.v1.metrics.mean_tensor`).

    `values` must have a fully defined static shape; the state is `total_tensor` and `count_tensor`.
    """
    with variable_scope(name, "mean", (values, weights)):
        values = _f32(values)
        if not values.shape.is_fully_defined():
            raise ValueError(f"mean_tensor needs values of a fully defined shape, got {values.shape}")
        total = metric_variable(values.shape, _dtypes.float32, name="total_tensor")
        count = metric_variable(values.shape, _dtypes.float32, name="count_tensor")
        num_values = core_ops.ones_like(values)
        if weights is not None:
            values, _, weights = _remove_squeezable_dimensions(values, None, weights)
            weights = _broadcast_weights(_f32(weights), values)
            values = math_ops.multiply(values, weights)
            num_values = math_ops.multiply(num_values, weights)
        update_total = state_ops.assign_add(total, values)
        update_count = state_ops.assign_add(count, num_values)
        mean_t = _div_no_nan(total.value(), count.value(), name="value")
        update_op = _div_no_nan(update_total, update_count, name="update_op")
        _add(metrics_collections, mean_t)
        _add(updates_collections, update_op)
        return mean_t, update_op


def accuracy(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Collections = None,
             updates_collections: Collections = None, name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """How often `predictions` equals `labels` (`tf.compat.v1.metrics.accuracy`).

    Predictions are cast to the labels' dtype; the state is `accuracy/total` and `accuracy/count`.
    """
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    if labels.dtype != predictions.dtype:
        predictions = core_ops.cast(predictions, labels.dtype)
    is_correct = core_ops.cast(math_ops.equal(predictions, labels), _dtypes.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")


def _error_mean(fn: Callable[[Tensor, Tensor], Tensor], default: str) -> Callable[..., Tuple[Tensor, Tensor]]:
    def metric(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Collections = None,
               updates_collections: Collections = None, name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
        predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
        if labels.dtype != predictions.dtype:
            raise ValueError(f"labels ({labels.dtype.name}) and predictions ({predictions.dtype.name}) "
                             f"must have the same dtype")
        return mean(fn(labels, predictions), weights, metrics_collections, updates_collections, name or default)
    metric.__name__ = default
    return metric


mean_squared_error = _error_mean(math_ops.squared_difference, "mean_squared_error")
mean_squared_error.__doc__ = """The mean of (predictions - labels)**2 (`tf.compat.v1.metrics.mean_squared_error`)."""
mean_absolute_error = _error_mean(lambda l, p: math_ops.abs(math_ops.subtract(p, l)), "mean_absolute_error")
mean_absolute_error.__doc__ = """The mean of |predictions - labels| (`tf.compat.v1.metrics.mean_absolute_error`)."""


def root_mean_squared_error(labels: Any, predictions: Any, weights: Any = None,
                            metrics_collections: Collections = None, updates_collections: Collections = None,
                            name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """sqrt of the streaming mean squared error (`tf.compat.v1.metrics.root_mean_squared_error`)."""
    mse, update_mse = mean_squared_error(labels, predictions, weights, None, None,
                                         name or "root_mean_squared_error")
    rmse = math_ops.sqrt(mse)
    update_op = math_ops.sqrt(update_mse)
    _add(metrics_collections, rmse)
    _add(updates_collections, update_op)
    return rmse, update_op


def _count_condition(values: Tensor, weights: Any, metrics_collections: Collections,
                     updates_collections: Collections) -> Tuple[Tensor, Tensor]:
    count = metric_variable([], _dtypes.float32, name="count")
    values = core_ops.cast(values, _dtypes.float32)
    if weights is not None:
        weights = convert_to_tensor(weights)
        wr, vr = weights.shape.rank, values.shape.rank
        if wr is not None and vr is not None and wr not in (0, vr):
            raise ValueError(f"weights of rank {wr} must be a scalar or have the rank of values ({vr})")
        values = math_ops.multiply(values, _f32(weights))
    value_tensor = core_ops.identity(count.value())
    update_op = state_ops.assign_add(count, reduction_ops.reduce_sum(values))
    _add(metrics_collections, value_tensor)
    _add(updates_collections, update_op)
    return value_tensor, update_op


def _bool_inputs(labels: Any, predictions: Any, weights: Any) -> Tuple[Tensor, Tensor, Any]:
    p, l, w = _remove_squeezable_dimensions(core_ops.cast(convert_to_tensor(predictions), _dtypes.bool),
                                            core_ops.cast(convert_to_tensor(labels), _dtypes.bool), weights)
    return l, p, w


def _condition_metric(default: str, want_label: bool, want_pred: bool) -> Callable[..., Tuple[Tensor, Tensor]]:
    def metric(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Collections = None,
               updates_collections: Collections = None, name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
        with variable_scope(name, default, (predictions, labels, weights)):
            l, p, w = _bool_inputs(labels, predictions, weights)
            lv = l if want_label else math_ops.logical_not(l)
            pv = p if want_pred else math_ops.logical_not(p)
            return _count_condition(math_ops.logical_and(lv, pv), w, metrics_collections, updates_collections)
    metric.__name__ = default
    metric.__doc__ = (f"Sum of the weights of {default.replace('_', ' ')} (`tf.compat.v1.metrics.{default}`).\n\n"
                      f"labels and predictions are cast to bool; the state is `{default}/count`.")
    return metric


true_positives = _condition_metric("true_positives", True, True)
false_positives = _condition_metric("false_positives", False, True)
true_negatives = _condition_metric("true_negatives", False, False)
false_negatives = _condition_metric("false_negatives", True, False)


def _ratio(a: Tensor, b: Tensor, name: str) -> Tensor:
    s = math_ops.add(a, b)
    pos = math_ops.greater(s, 0.0)
    return math_ops.where(pos, math_ops.divide(a, math_ops.where(pos, s, core_ops.ones_like(s))),
                          core_ops.zeros_like(s), name=name)


def _precision_recall(default: str, other: Callable[..., Tuple[Tensor, Tensor]]) -> Callable[..., Any]:
    def metric(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Collections = None,
               updates_collections: Collections = None, name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
        with variable_scope(name, default, (predictions, labels, weights)):
            l, p, w = _bool_inputs(labels, predictions, weights)
            tp, tp_update = true_positives(l, p, w)
            o, o_update = other(l, p, w)
            value = _ratio(tp, o, "value")
            update_op = _ratio(tp_update, o_update, "update_op")
            _add(metrics_collections, value)
            _add(updates_collections, update_op)
            return value, update_op
    metric.__name__ = default
    return metric


precision = _precision_recall("precision", false_positives)
precision.__doc__ = """tp / (tp + fp) over all batches, 0 if no positive prediction (`tf.compat.v1.metrics.precision`).

predictions and labels are cast to bool (nonzero is True)."""
recall = _precision_recall("recall", false_negatives)
recall.__doc__ = """tp / (tp + fn) over all batches, 0 if no positive label (`tf.compat.v1.metrics.recall`).

predictions and labels are cast to bool (nonzero is True)."""


def _flat(x: Tensor) -> Tensor:
    return core_ops.reshape(x, [-1]) if x.shape.rank is None or x.shape.rank != 1 else x


def mean_per_class_accuracy(labels: Any, predictions: Any, num_classes: int, weights: Any = None,
                            metrics_collections: Collections = None, updates_collections: Collections = None,
                            name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """Mean over classes of the per-class accuracy (`tf.compat.v1.metrics.mean_per_class_accuracy`).

    As in TF1, `update_op` returns the per-class accuracies [num_classes]; the value is their mean.
    Labels and predictions are class ids in [0, num_classes).
    """
    with variable_scope(name, "mean_accuracy", (predictions, labels, weights)):
        labels = _flat(core_ops.cast(convert_to_tensor(labels), _dtypes.int64))
        predictions = _flat(convert_to_tensor(predictions))
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {predictions.shape} and {labels.shape} are incompatible")
        total = metric_variable([num_classes], _dtypes.float32, name="total")
        count = metric_variable([num_classes], _dtypes.float32, name="count")
        ones = core_ops.ones_like(labels, dtype=_dtypes.float32)
        if predictions.dtype != labels.dtype:
            predictions = core_ops.cast(predictions, labels.dtype)
        is_correct = core_ops.cast(math_ops.equal(predictions, labels), _dtypes.float32)
        if weights is not None:
            w = _flat(_f32(weights))
            is_correct = math_ops.multiply(is_correct, w)
            ones = math_ops.multiply(ones, w)
        update_total = state_ops.assign_add(total, sparse_ops.unsorted_segment_sum(ones, labels, num_classes))
        update_count = state_ops.assign_add(count, sparse_ops.unsorted_segment_sum(is_correct, labels, num_classes))
        value = reduction_ops.reduce_mean(_div_no_nan(count.value(), total.value()), name="mean_accuracy")
        update_op = _div_no_nan(update_count, update_total, name="update_op")
        _add(metrics_collections, value)
        _add(updates_collections, update_op)
        return value, update_op


def mean_iou(labels: Any, predictions: Any, num_classes: int, weights: Any = None,
             metrics_collections: Collections = None, updates_collections: Collections = None,
             name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """Mean intersection-over-union over classes (`tf.compat.v1.metrics.mean_iou`).

    The state is the float64 confusion matrix `mean_iou/total_confusion_matrix` [num_classes,
    num_classes] (rows: labels, columns: predictions); `update_op` returns it. Classes that
    never occur are left out of the mean.
    """
    with variable_scope(name, "mean_iou", (predictions, labels, weights)):
        labels, predictions = convert_to_tensor(labels), convert_to_tensor(predictions)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {predictions.shape} and {labels.shape} are incompatible")
        total_cm = metric_variable([num_classes, num_classes], _dtypes.float64, name="total_confusion_matrix")
        lab = _flat(core_ops.cast(labels, _dtypes.int64))
        pred = _flat(core_ops.cast(predictions, _dtypes.int64))
        cells = math_ops.add(math_ops.multiply(lab, num_classes), pred)
        w = core_ops.ones_like(lab, dtype=_dtypes.float64) if weights is None else \
            math_ops.multiply(_flat(core_ops.cast(convert_to_tensor(weights), _dtypes.float64)),
                              core_ops.ones_like(lab, dtype=_dtypes.float64))
        cm = core_ops.reshape(sparse_ops.unsorted_segment_sum(w, cells, num_classes * num_classes),
                              [num_classes, num_classes])
        update_op = state_ops.assign_add(total_cm, cm)
        t = total_cm.value()
        rows = core_ops.cast(reduction_ops.reduce_sum(t, 0), _dtypes.float32)
        cols = core_ops.cast(reduction_ops.reduce_sum(t, 1), _dtypes.float32)
        diag = core_ops.cast(reduction_ops.reduce_sum(math_ops.multiply(t, np.eye(num_classes)), 1), _dtypes.float32)
        denom = math_ops.subtract(math_ops.add(rows, cols), diag)
        valid = reduction_ops.reduce_sum(core_ops.cast(math_ops.not_equal(denom, 0.0), _dtypes.float32))
        denom = math_ops.where(math_ops.greater(denom, 0.0), denom, core_ops.ones_like(denom))
        iou = math_ops.divide(diag, denom)
        value = _div_no_nan(reduction_ops.reduce_sum(iou, name="mean_iou"), valid)
        _add(metrics_collections, value)
        _add(updates_collections, update_op)
        return value, update_op
