"""Thresholded streaming metrics and AUC (`tf.compat.v1.metrics.*_at_thresholds`, `auc`).

The confusion counts for all thresholds come from one native op, `confusion_at_thresholds`,
which bins each example once (O(N log T)) instead of building [T, N] comparison tensors.
An example is predicted positive for threshold t when `prediction > t`. Predictions must be
in [0, 1]: others fail at run time with InvalidArgumentError, as TF's assertions do.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, create_op
from ..framework.variables import variable_scope
from ..ops import core_ops, math_ops, reduction_ops, state_ops
from ._impl import Collections, _add, _broadcast_weights, _div_no_nan, _remove_squeezable_dimensions, metric_variable

__all__ = ["true_positives_at_thresholds", "false_positives_at_thresholds", "true_negatives_at_thresholds",
           "false_negatives_at_thresholds", "precision_at_thresholds", "recall_at_thresholds", "auc"]

_VAR_NAMES = {"tp": "true_positives", "fn": "false_negatives", "tn": "true_negatives", "fp": "false_positives"}
_OUTPUT_INDEX = {"tp": 0, "fp": 1, "tn": 2, "fn": 3}


def _confusion_matrix_at_thresholds(labels: Any, predictions: Any, thresholds: Sequence[float], weights: Any = None,
                                    includes: Sequence[str] = ("tp", "fn", "tn", "fp")
                                    ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
    """Creates the count variables named in `includes` ([len(thresholds)] float32 each) and their updates."""
    for key in includes:
        if key not in _VAR_NAMES:
            raise ValueError(f"Invalid key: {key}")
    predictions = convert_to_tensor(predictions)
    if not predictions.dtype.is_floating:
        predictions = core_ops.cast(predictions, _dtypes.float32)
    labels = convert_to_tensor(labels)
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    thr = np.asarray([float(t) for t in thresholds], dtype=np.float32)
    if thr.ndim != 1 or thr.size == 0:
        raise ValueError(f"thresholds must be a non-empty list of floats, got {thresholds!r}")
    if weights is None:
        w = convert_to_tensor(np.float32(1.0))
    else:
        w = core_ops.cast(weights, _dtypes.float32)
        if not (w.shape.rank == 0 or (w.shape.is_fully_defined() and predictions.shape.is_fully_defined()
                                      and w.shape == predictions.shape)):
            w = _broadcast_weights(w, predictions)
    counts = create_op("confusion_at_thresholds", [labels, predictions, w, core_ops.constant(thr)],
                       name="confusion_at_thresholds")
    values: Dict[str, Tensor] = {}
    updates: Dict[str, Tensor] = {}
    for key in ("tp", "fn", "tn", "fp"):  # TF's creation order
        if key in includes:
            var = metric_variable([thr.size], _dtypes.float32, name=_VAR_NAMES[key])
            values[key] = var.value()
            updates[key] = state_ops.assign_add(var, counts[_OUTPUT_INDEX[key]])
    return values, updates


def _count_at_thresholds(key: str) -> Any:
    default = _VAR_NAMES[key]

    def metric(labels: Any, predictions: Any, thresholds: Sequence[float], weights: Any = None,
               metrics_collections: Collections = None, updates_collections: Collections = None,
               name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
        with variable_scope(name, default, (predictions, labels, weights)):
            values, updates = _confusion_matrix_at_thresholds(labels, predictions, thresholds, weights, (key,))
            value = core_ops.identity(values[key])
            _add(metrics_collections, value)
            _add(updates_collections, updates[key])
            return value, updates[key]
    metric.__name__ = f"{default}_at_thresholds"
    metric.__doc__ = (f"Weighted {default.replace('_', ' ')} for each threshold "
                      f"(`tf.compat.v1.metrics.{default}_at_thresholds`).\n\n"
                      f"An example is predicted positive when prediction > threshold; labels are cast to bool.\n"
                      f"Returns ([len(thresholds)] value, update_op); the state is `{default}/{default}`.")
    return metric


true_positives_at_thresholds = _count_at_thresholds("tp")
false_positives_at_thresholds = _count_at_thresholds("fp")
true_negatives_at_thresholds = _count_at_thresholds("tn")
false_negatives_at_thresholds = _count_at_thresholds("fn")


def _ratio_at_thresholds(default: str, other: str, prefix: str) -> Any:
    def metric(labels: Any, predictions: Any, thresholds: Sequence[float], weights: Any = None,
               metrics_collections: Collections = None, updates_collections: Collections = None,
               name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
        with variable_scope(name, default, (predictions, labels, weights)):
            values, updates = _confusion_matrix_at_thresholds(labels, predictions, thresholds, weights,
                                                              ("tp", other))

            def compute(tp: Tensor, o: Tensor, suffix: str) -> Tensor:
                return math_ops.divide(tp, math_ops.add(math_ops.add(tp, 1e-7), o), name=prefix + suffix)
            value = compute(values["tp"], values[other], "value")
            update_op = compute(updates["tp"], updates[other], "update_op")
            _add(metrics_collections, value)
            _add(updates_collections, update_op)
            return value, update_op
    metric.__name__ = default
    return metric


precision_at_thresholds = _ratio_at_thresholds("precision_at_thresholds", "fp", "precision_")
precision_at_thresholds.__doc__ = """tp / (tp + fp + 1e-7) for each threshold (`tf.compat.v1.metrics.precision_at_thresholds`)."""
recall_at_thresholds = _ratio_at_thresholds("recall_at_thresholds", "fn", "recall_")
recall_at_thresholds.__doc__ = """tp / (tp + fn + 1e-7) for each threshold (`tf.compat.v1.metrics.recall_at_thresholds`)."""


def _auc_thresholds(num_thresholds: int, thresholds: Optional[Sequence[float]]) -> List[float]:
    kepsilon = 1e-7
    if thresholds is not None:
        inner = sorted(float(t) for t in thresholds)
    else:
        if num_thresholds < 2:
            raise ValueError(f"num_thresholds must be > 1, got {num_thresholds}")
        inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - kepsilon] + inner + [1.0 + kepsilon]


def _head(x: Tensor, n: int) -> Tensor:
    return x[:n - 1]


def _tail(x: Tensor) -> Tensor:
    return x[1:]


def _interpolate_pr_auc(tp: Tensor, fp: Tensor, fn: Tensor, n: int) -> Tensor:
    """Davis & Goadrich's interpolation of the PR curve between thresholds (TF's 'careful_interpolation')."""
    dtp = math_ops.subtract(_head(tp, n), _tail(tp))
    p = math_ops.add(tp, fp)
    prec_slope = _div_no_nan(dtp, math_ops.subtract(_head(p, n), _tail(p)), name="prec_slope")
    intercept = math_ops.subtract(_tail(tp), math_ops.multiply(prec_slope, _tail(p)))
    both = math_ops.logical_and(math_ops.greater(_head(p, n), 0.0), math_ops.greater(_tail(p), 0.0))
    safe_p_ratio = math_ops.where(both, _div_no_nan(_head(p, n), _tail(p), name="recall_relative_ratio"),
                                  core_ops.ones_like(_tail(p)))
    safe_log = math_ops.log(safe_p_ratio)
    increment = _div_no_nan(math_ops.multiply(prec_slope, math_ops.add(dtp, math_ops.multiply(intercept, safe_log))),
                            math_ops.add(_tail(tp), _tail(fn)), name="pr_auc_increment")
    return reduction_ops.reduce_sum(increment, name="interpolate_pr_auc")


def auc(labels: Any, predictions: Any, weights: Any = None, num_thresholds: int = 200,
        metrics_collections: Collections = None, updates_collections: Collections = None, curve: str = "ROC",
        name: Optional[str] = None, summation_method: str = "trapezoidal",
        thresholds: Optional[Sequence[float]] = None) -> Tuple[Tensor, Tensor]:
    """Approximate area under the ROC or PR curve (`tf.compat.v1.metrics.auc`).

    The curve is sampled at `num_thresholds` thresholds: -1e-7, i/(num_thresholds-1) for
    i = 1..num_thresholds-2, and 1+1e-7 (or the sorted `thresholds` between those two ends).

    Args:
      labels: bool-castable Tensor of the predictions' shape.
      predictions: floats in [0, 1].
      curve: 'ROC' or 'PR'.
      summation_method: 'trapezoidal', 'careful_interpolation' (PR: Davis & Goadrich
        interpolation; ROC: trapezoidal), 'minoring' or 'majoring' (left/right Riemann sums
        bounding the curve from below/above).

    Returns:
      (auc, update_op). The state is `auc/{true_positives,false_negatives,true_negatives,false_positives}`.
    """
    if curve not in ("ROC", "PR"):
        raise ValueError(f"curve must be either ROC or PR, {curve} unknown")
    if summation_method not in ("trapezoidal", "careful_interpolation", "minoring", "majoring"):
        raise ValueError(f"Invalid summation_method: {summation_method}")
    with variable_scope(name, "auc", (labels, predictions, weights)):
        thr = _auc_thresholds(num_thresholds, thresholds)
        n = len(thr)
        values, updates = _confusion_matrix_at_thresholds(labels, predictions, thr, weights)
        epsilon = 1.0e-6

        def compute_auc(tp: Tensor, fn: Tensor, tn: Tensor, fp: Tensor, name: str) -> Tensor:
            if curve == "PR":
                if summation_method == "trapezoidal":
                    logging.getLogger("nestor").warning(
                        "Trapezoidal rule is known to produce incorrect PR-AUCs; please switch to "
                        "\"careful_interpolation\" instead.")
                elif summation_method == "careful_interpolation":
                    return _interpolate_pr_auc(tp, fp, fn, n)
            rec = math_ops.divide(math_ops.add(tp, epsilon), math_ops.add(math_ops.add(tp, fn), epsilon))
            if curve == "ROC":
                x = math_ops.divide(fp, math_ops.add(math_ops.add(fp, tn), epsilon))
                y = rec
            else:
                x = rec
                y = math_ops.divide(math_ops.add(tp, epsilon), math_ops.add(math_ops.add(tp, fp), epsilon))
            dx = math_ops.subtract(_head(x, n), _tail(x))
            if summation_method in ("trapezoidal", "careful_interpolation"):
                height = math_ops.multiply(math_ops.add(_head(y, n), _tail(y)), 0.5)
            elif summation_method == "minoring":
                height = math_ops.minimum(_head(y, n), _tail(y))
            else:
                height = math_ops.maximum(_head(y, n), _tail(y))
            return reduction_ops.reduce_sum(math_ops.multiply(dx, height), name=name)

        value = compute_auc(values["tp"], values["fn"], values["tn"], values["fp"], "value")
        update_op = compute_auc(updates["tp"], updates["fn"], updates["tn"], updates["fp"], "update_op")
        _add(metrics_collections, value)
        _add(updates_collections, update_op)
        return value, update_op
