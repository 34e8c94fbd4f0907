"""Keras-style streaming metric objects used by the heads (the `tf.keras.metrics` classes TF's
heads create: Mean, Accuracy, BinaryAccuracy, Precision, Recall, AUC).

Each object owns zero-initialized local metric variables (created when it is constructed,
under a variable scope named after it), `update_state(...)` returns an op adding one batch,
and `result()` reads the value. `as_metric_op()` gives the `(value, update_op)` pair an
`EstimatorSpec.eval_metric_ops` entry needs; its update op groups every `update_state` made.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np

from ... import dtypes as _dtypes
from ...framework.graph import Tensor, convert_to_tensor, create_op
from ...framework.variables import variable_scope
from ...metrics._impl import metric_variable
from ...ops import core_ops, math_ops, reduction_ops, state_ops


def _f32(x: Any) -> Tensor:
    return core_ops.cast(convert_to_tensor(x), _dtypes.float32)


def div_no_nan(x: Tensor, y: Tensor) -> Tensor:
    """x / y, 0 where y == 0."""
    zero = math_ops.equal(y, 0.0)
    safe = math_ops.where(zero, core_ops.ones_like(y), y)
    return math_ops.where(zero, core_ops.zeros_like(x), math_ops.divide(x, safe))


def broadcast_weights(weights: Any, values: Tensor) -> Tensor:
    """`weights` (float32) multiplied out to the shape of `values`."""
    return math_ops.multiply(_f32(weights), core_ops.ones_like(values))


class Metric:
    """Base class: a named streaming metric with `update_state`, `result` and `as_metric_op`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._updates: List[Any] = []

    def _add_update(self, op: Any) -> Any:
        self._updates.append(op)
        return op

    def result(self) -> Tensor:
        raise NotImplementedError

    def as_metric_op(self) -> Tuple[Tensor, Any]:
        update = core_ops.group(*self._updates) if self._updates else core_ops.no_op()
        return self.result(), update


class Mean(Metric):
    """Weighted mean of all values seen (`tf.keras.metrics.Mean`)."""

    def __init__(self, name: str = "mean") -> None:
        super().__init__(name)
        with variable_scope(None, default_name=_scope_name(name)):
            self.total = metric_variable([], _dtypes.float32, name="total")
            self.count = metric_variable([], _dtypes.float32, name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> Any:
        values = _f32(values)
        if sample_weight is None:
            num = core_ops.cast(core_ops.size(values), _dtypes.float32)
        else:
            w = broadcast_weights(sample_weight, values)
            values = math_ops.multiply(values, w)
            num = reduction_ops.reduce_sum(w)
        return self._add_update(core_ops.group(state_ops.assign_add(self.total, reduction_ops.reduce_sum(values)),
                                               state_ops.assign_add(self.count, num)))

    def result(self) -> Tensor:
        return div_no_nan(self.total.value(), self.count.value())


class AccuracyBaseline(Metric):
    """max(label mean, 1 - label mean) of a binary head's `label/mean` metric."""

    def __init__(self, label_mean: Mean, name: str = "accuracy_baseline") -> None:
        super().__init__(name)
        self._label_mean = label_mean

    def result(self) -> Tensor:
        t, c = self._label_mean.total.value(), self._label_mean.count.value()
        return div_no_nan(math_ops.maximum(t, c - t), c)


class Accuracy(Mean):
    """How often `y_pred` equals `y_true` (`tf.keras.metrics.Accuracy`); with `threshold`,
    `y_pred > threshold` is compared (`tf.keras.metrics.BinaryAccuracy`)."""

    def __init__(self, name: str = "accuracy", threshold: Optional[float] = None) -> None:
        super().__init__(name)
        self._threshold = threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:  # type: ignore[override]
        y_true = convert_to_tensor(y_true)
        y_pred = convert_to_tensor(y_pred)
        if self._threshold is not None:
            y_true = _f32(y_true)
            y_pred = core_ops.cast(math_ops.greater(_f32(y_pred), float(self._threshold)), _dtypes.float32)
        elif y_pred.dtype != y_true.dtype:
            y_pred = core_ops.cast(y_pred, y_true.dtype)
        return super().update_state(core_ops.cast(math_ops.equal(y_true, y_pred), _dtypes.float32), sample_weight)


class _Confusion(Metric):
    """Weighted tp/fp/tn/fn counts of `y_pred > t` at each threshold t."""

    def __init__(self, name: str, thresholds: List[float]) -> None:
        super().__init__(name)
        self.thresholds = np.asarray(thresholds, dtype=np.float32)
        with variable_scope(None, default_name=_scope_name(name)):
            n = len(thresholds)
            self.tp = metric_variable([n], _dtypes.float32, name="true_positives")
            self.fp = metric_variable([n], _dtypes.float32, name="false_positives")
            self.tn = metric_variable([n], _dtypes.float32, name="true_negatives")
            self.fn = metric_variable([n], _dtypes.float32, name="false_negatives")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_true = convert_to_tensor(y_true)
        y_pred = _f32(y_pred)
        w = convert_to_tensor(np.float32(1.0)) if sample_weight is None else broadcast_weights(sample_weight, y_pred)
        counts = create_op("confusion_at_thresholds", [y_true, y_pred, w, core_ops.constant(self.thresholds)],
                           name="confusion_at_thresholds")
        return self._add_update(core_ops.group(*[state_ops.assign_add(v, counts[i]) for i, v in
                                                 enumerate((self.tp, self.fp, self.tn, self.fn))]))


class Precision(_Confusion):
    """tp / (tp + fp) at one threshold (`tf.keras.metrics.Precision`)."""

    def __init__(self, name: str = "precision", thresholds: float = 0.5) -> None:
        super().__init__(name, [thresholds])

    def result(self) -> Tensor:
        tp = self.tp.value()[0]
        return div_no_nan(tp, tp + self.fp.value()[0])


class Recall(_Confusion):
    """tp / (tp + fn) at one threshold (`tf.keras.metrics.Recall`)."""

    def __init__(self, name: str = "recall", thresholds: float = 0.5) -> None:
        super().__init__(name, [thresholds])

    def result(self) -> Tensor:
        tp = self.tp.value()[0]
        return div_no_nan(tp, tp + self.fn.value()[0])


class AUC(_Confusion):
    """Area under the ROC or PR curve, `tf.keras.metrics.AUC(num_thresholds=200,
    summation_method='interpolation')`: thresholds -1e-7, i/199 (i = 1..198), 1+1e-7; ROC by
    the trapezoidal rule, PR by Davis & Goadrich's interpolation."""

    def __init__(self, name: str = "auc", curve: str = "ROC", num_thresholds: int = 200) -> None:
        eps = 1e-7
        thr = [0.0 - eps] + [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0 + eps]
        super().__init__(name, thr)
        self.curve = curve

    def result(self) -> Tensor:
        tp, fp, tn, fn = (v.value() for v in (self.tp, self.fp, self.tn, self.fn))
        n = len(self.thresholds)
        head = lambda x: x[:n - 1]  # noqa: E731
        tail = lambda x: x[1:]  # noqa: E731
        if self.curve == "PR":
            dtp = head(tp) - tail(tp)
            p = tp + fp
            prec_slope = div_no_nan(dtp, math_ops.maximum(head(p) - tail(p), 0.0))
            intercept = tail(tp) - prec_slope * tail(p)
            both = math_ops.logical_and(math_ops.greater(head(p), 0.0), math_ops.greater(tail(p), 0.0))
            ratio = math_ops.where(both, div_no_nan(head(p), math_ops.maximum(tail(p), 0.0)),
                                   core_ops.ones_like(tail(p)))
            inc = div_no_nan(prec_slope * (dtp + intercept * math_ops.log(ratio)),
                             math_ops.maximum(tail(tp) + tail(fn), 0.0))
            return reduction_ops.reduce_sum(inc)
        recall = div_no_nan(tp, tp + fn)
        fpr = div_no_nan(fp, fp + tn)
        return reduction_ops.reduce_sum((head(fpr) - tail(fpr)) * (head(recall) + tail(recall)) * 0.5)


def _scope_name(name: str) -> str:
    return "".join(c if (c.isalnum() or c in "_-.") else "_" for c in name)
