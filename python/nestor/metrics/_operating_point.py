"""Metrics at an operating point, and small means (`tf.compat.v1.metrics`).

`specificity_at_sensitivity` / `sensitivity_at_specificity` pick, among `num_thresholds`
thresholds, the one whose sensitivity (specificity) is nearest the target, and report the
other rate there, as TF1 does; `percentage_below`, `mean_cosine_distance` and
`mean_relative_error` are weighted streaming means (see `mean`).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor
from ..framework.variables import variable_scope
from ..ops import core_ops, math_ops, reduction_ops, scan_ops, sparse_ops
from ._impl import Collections, _add, _f32, _remove_squeezable_dimensions, mean
from ._thresholds import _confusion_matrix_at_thresholds

__all__ = ["specificity_at_sensitivity", "sensitivity_at_specificity", "percentage_below", "mean_cosine_distance",
           "mean_relative_error"]

_KEPSILON = 1e-7


def _thresholds(num_thresholds: int, top: float) -> list:
    if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds < 2:
        raise ValueError(f"num_thresholds must be an int > 1, got {num_thresholds!r}")
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - _KEPSILON] + inner + [top]


def _rate(a: Tensor, b: Tensor) -> Tensor:
    """a / (a + b + 1e-7)."""
    return math_ops.divide(a, math_ops.add(math_ops.add(a, b), _KEPSILON))


def _at_index(x: Tensor, i: Tensor) -> Tensor:
    return sparse_ops.gather(x, i)


def _operating_point(kind: str, labels: Any, predictions: Any, target: float, weights: Any, num_thresholds: int,
                     metrics_collections: Collections, updates_collections: Collections,
                     name: Optional[str]) -> Tuple[Tensor, Tensor]:
    given = "sensitivity" if kind == "specificity_at_sensitivity" else "specificity"
    if not 0 <= target <= 1:
        verb = "is" if given == "sensitivity" else "got"  # TF's two wordings
        raise ValueError(f"`{given}` must be in the range [0, 1]. Currently, `{given}` {verb} {target}.")
    # TF's own choice: the top threshold is 1 - 1e-7 for specificity_at_sensitivity, 1 + 1e-7 otherwise
    top = 1.0 - _KEPSILON if kind == "specificity_at_sensitivity" else 1.0 + _KEPSILON
    with variable_scope(name, kind, (predictions, labels, weights)):
        values, updates = _confusion_matrix_at_thresholds(labels, predictions, _thresholds(num_thresholds, top),
                                                          weights)

        def compute(c: dict, name: str) -> Tensor:
            if kind == "specificity_at_sensitivity":
                dist = math_ops.abs(math_ops.subtract(_rate(c["tp"], c["fn"]), float(target)))
                at_min = core_ops.cast(math_ops.equal(dist, reduction_ops.reduce_min(dist)), _dtypes.int64)
                idx = reduction_ops.argmax(scan_ops.cumsum(at_min), 0)  # the last threshold at the minimum
                return math_ops.divide(_at_index(c["tn"], idx),
                                       math_ops.add(math_ops.add(_at_index(c["tn"], idx), _at_index(c["fp"], idx)),
                                                    _KEPSILON), name=name)
            dist = math_ops.abs(math_ops.subtract(_rate(c["tn"], c["fp"]), float(target)))
            idx = reduction_ops.argmin(dist, 0)  # the first threshold at the minimum
            return math_ops.divide(_at_index(c["tp"], idx),
                                   math_ops.add(math_ops.add(_at_index(c["tp"], idx), _at_index(c["fn"], idx)),
                                                _KEPSILON), name=name)

        value = compute(values, "value")
        update_op = compute(updates, "update_op")
        _add(metrics_collections, value)
        _add(updates_collections, update_op)
        return value, update_op


def specificity_at_sensitivity(labels: Any, predictions: Any, sensitivity: float, weights: Any = None,
                               num_thresholds: int = 200, metrics_collections: Collections = None,
                               updates_collections: Collections = None,
                               name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """Specificity where sensitivity is nearest `sensitivity` (`tf.compat.v1.metrics.specificity_at_sensitivity`).

    Confusion counts are kept at the thresholds -1e-7, i/(num_thresholds-1) for
    i = 1..num_thresholds-2, and 1-1e-7 (an example is positive when prediction > threshold).
    Of the thresholds whose sensitivity tp/(tp+fn+1e-7) is nearest the target, the last
    (highest) is taken; the result is tn/(tn+fp+1e-7) there.

    Args:
      labels: bool-castable `Tensor` of the predictions' shape.
      predictions: floats in [0, 1] (others fail at run time).
      sensitivity: a Python float in [0, 1].
      weights: None, or a `Tensor` broadcastable to `predictions`.
      num_thresholds: int > 1.
      metrics_collections / updates_collections: collections to add the value / update op to.
      name: the variable scope (default 'specificity_at_sensitivity').

    Returns:
      (specificity, update_op): float32 scalars. The state is
      `<scope>/{true_positives,false_negatives,true_negatives,false_positives}`.

    Raises:
      ValueError: `sensitivity` outside [0, 1] or `num_thresholds` < 2.
    """
    return _operating_point("specificity_at_sensitivity", labels, predictions, sensitivity, weights, num_thresholds,
                            metrics_collections, updates_collections, name)


def sensitivity_at_specificity(labels: Any, predictions: Any, specificity: float, weights: Any = None,
                               num_thresholds: int = 200, metrics_collections: Collections = None,
                               updates_collections: Collections = None,
                               name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """Sensitivity where specificity is nearest `specificity` (`tf.compat.v1.metrics.sensitivity_at_specificity`).

    Thresholds as in `specificity_at_sensitivity` but with a top threshold of 1+1e-7; of the
    thresholds whose specificity tn/(tn+fp+1e-7) is nearest the target, the first (lowest) is
    taken; the result is tp/(tp+fn+1e-7) there.

    Args:
      labels: bool-castable `Tensor` of the predictions' shape.
      predictions: floats in [0, 1] (others fail at run time).
      specificity: a Python float in [0, 1].
      weights: None, or a `Tensor` broadcastable to `predictions`.
      num_thresholds: int > 1.
      metrics_collections / updates_collections: collections to add the value / update op to.
      name: the variable scope (default 'sensitivity_at_specificity').

    Returns:
      (sensitivity, update_op): float32 scalars.

    Raises:
      ValueError: `specificity` outside [0, 1] or `num_thresholds` < 2.
    """
    return _operating_point("sensitivity_at_specificity", labels, predictions, specificity, weights, num_thresholds,
                            metrics_collections, updates_collections, name)


def percentage_below(values: Any, threshold: float, weights: Any = None, metrics_collections: Collections = None,
                     updates_collections: Collections = None, name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """The (weighted) fraction of `values` below `threshold` (`tf.compat.v1.metrics.percentage_below`).

    Args:
      values: a numeric `Tensor` of any shape.
      threshold: a scalar; `values < threshold` counts.
      weights: None, or a `Tensor` broadcastable to `values`.
      metrics_collections / updates_collections: collections to add the value / update op to.
      name: the variable scope (default 'percentage_below_threshold').

    Returns:
      (fraction, update_op): float32 scalars, as `mean`.
    """
    below = core_ops.cast(math_ops.less(convert_to_tensor(values), threshold), _dtypes.float32)
    return mean(below, weights, metrics_collections, updates_collections, name or "percentage_below_threshold")


def mean_cosine_distance(labels: Any, predictions: Any, dim: int, weights: Any = None,
                         metrics_collections: Collections = None, updates_collections: Collections = None,
                         name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """1 - the mean of sum(labels * predictions, dim) (`tf.compat.v1.metrics.mean_cosine_distance`).

    Both inputs are assumed unit-normalized along `dim` (as in TF, nothing normalizes them).

    Args:
      labels: float `Tensor`, e.g. `[batch, dims]`.
      predictions: float `Tensor` of the labels' shape.
      dim: the axis holding the vector components.
      weights: None, or a `Tensor` broadcastable to the reduced `[..., 1, ...]` shape, e.g. `[batch, 1]`.
      metrics_collections / updates_collections: collections to add the value / update op to.
      name: the variable scope (default 'mean_cosine_distance').

    Returns:
      (mean_distance, update_op): float32 scalars.
    """
    predictions, labels, weights = _remove_squeezable_dimensions(_f32(predictions), _f32(labels), weights)
    radial = reduction_ops.reduce_sum(math_ops.multiply(predictions, labels), [dim], keepdims=True)
    mean_t, update = mean(radial, weights, None, None, name or "mean_cosine_distance")
    value = math_ops.subtract(1.0, mean_t)
    update_op = math_ops.subtract(1.0, update)
    _add(metrics_collections, value)
    _add(updates_collections, update_op)
    return value, update_op


def mean_relative_error(labels: Any, predictions: Any, normalizer: Any, weights: Any = None,
                        metrics_collections: Collections = None, updates_collections: Collections = None,
                        name: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """The mean of |labels - predictions| / normalizer (`tf.compat.v1.metrics.mean_relative_error`).

    Entries whose normalizer is 0 contribute 0 (and still count in the mean), as in TF.

    Args:
      labels: float `Tensor`.
      predictions: float `Tensor` of the labels' shape.
      normalizer: float `Tensor` of the predictions' shape.
      weights: None, or a `Tensor` broadcastable to `predictions`.
      metrics_collections / updates_collections: collections to add the value / update op to.
      name: the variable scope (default 'mean_relative_error').

    Returns:
      (mean_relative_error, update_op): float32 scalars.

    Raises:
      ValueError: the shapes of predictions and normalizer (or labels) are incompatible.
    """
    predictions, labels, weights = _remove_squeezable_dimensions(_f32(predictions), _f32(labels), weights)
    predictions, normalizer, _ = _remove_squeezable_dimensions(predictions, _f32(normalizer), None)
    rel = math_ops.where(math_ops.equal(normalizer, 0.0), core_ops.zeros_like(labels),
                         math_ops.divide(math_ops.abs(math_ops.subtract(labels, predictions)), normalizer))
    return mean(rel, weights, metrics_collections, updates_collections, name or "mean_relative_error")
