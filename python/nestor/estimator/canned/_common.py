"""Helpers shared by the pre-made estimators: head construction, argument checks, summaries."""
from __future__ import annotations

import numbers
from typing import Any, List, Optional, Sequence

from ...framework.graph import Tensor
from . import optimizers as _optimizers


def binary_or_multi_class_head(n_classes: int, weight_column: Any, label_vocabulary: Any,
                               loss_reduction: Any) -> Any:
    """`BinaryClassHead` for 2 classes, else `MultiClassHead(n_classes)` (TF's head_utils)."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 2:
        raise ValueError(f"n_classes must be > 1: {n_classes!r}")
    from .. import head as _head
    if int(n_classes) == 2:
        return _head.BinaryClassHead(weight_column=weight_column, label_vocabulary=label_vocabulary,
                                     loss_reduction=loss_reduction)
    return _head.MultiClassHead(int(n_classes), weight_column=weight_column, label_vocabulary=label_vocabulary,
                                loss_reduction=loss_reduction)


def regression_head(label_dimension: int, weight_column: Any, loss_reduction: Any) -> Any:
    """`RegressionHead(label_dimension)`."""
    if isinstance(label_dimension, bool) or not isinstance(label_dimension, numbers.Integral) or label_dimension < 1:
        raise ValueError(f"Invalid label_dimension {label_dimension!r}.")
    from .. import head as _head
    return _head.RegressionHead(label_dimension=int(label_dimension), weight_column=weight_column,
                                loss_reduction=loss_reduction)


def check_optimizer_arg(optimizer: Any, what: str = "optimizer") -> None:
    """Rejects an unknown optimizer name or a non-callable, non-optimizer object at construction
    (TF finds these only when training starts)."""
    from ...train.optimizer import Optimizer
    if isinstance(optimizer, str):
        if optimizer not in _optimizers.OPTIMIZER_NAMES:
            raise ValueError(f"Unsupported {what} name: {optimizer}. Supported names are: "
                             f"{_optimizers.OPTIMIZER_NAMES}")
    elif optimizer is not None and not isinstance(optimizer, Optimizer) and not callable(optimizer):
        raise ValueError(f"{what} must be an optimizer name, an Optimizer instance or a callable returning one. "
                         f"Given: {optimizer!r}")


def check_feature_columns(feature_columns: Any, what: str = "feature_columns") -> tuple:
    """The columns as a tuple; ValueError when there are none or one is not a feature column."""
    if feature_columns is None:
        raise ValueError(f"{what} must be given.")
    if isinstance(feature_columns, (str, bytes)) or not hasattr(feature_columns, "__iter__"):
        feature_columns = [feature_columns]
    cols = tuple(feature_columns)
    if not cols:
        raise ValueError(f"{what} must not be empty.")
    for c in cols:
        if not hasattr(c, "name"):
            raise ValueError(f"Items of {what} must be feature columns. Given: {c!r}")
    return cols


def check_hidden_units(hidden_units: Any, what: str = "hidden_units") -> List[int]:
    """The layer sizes as a list of positive ints."""
    if hidden_units is None or isinstance(hidden_units, (str, bytes)) or not hasattr(hidden_units, "__iter__"):
        raise ValueError(f"{what} must be an iterable of positive integers. Given: {hidden_units!r}")
    out = []
    for u in hidden_units:
        if isinstance(u, bool) or not isinstance(u, numbers.Integral) or u <= 0:
            raise ValueError(f"{what} must be positive integers. Given: {list(hidden_units)!r}")
        out.append(int(u))
    return out


def check_dropout(dropout: Optional[float], what: str = "dropout") -> Optional[float]:
    if dropout is None:
        return None
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"{what} must be None or a drop rate in [0, 1). Given: {dropout!r}")
    return float(dropout)


def check_sparse_combiner(combiner: str, what: str = "sparse_combiner") -> str:
    if combiner not in ("mean", "sqrtn", "sum"):
        raise ValueError(f"{what} must be one of 'mean', 'sqrtn', 'sum'. Given: {combiner!r}")
    return combiner


def check_features_dict(features: Any) -> None:
    if not isinstance(features, dict):
        raise ValueError(f"features should be a dictionary of `Tensor`s. Given type: {type(features)}")


def zero_fraction(value: Tensor) -> Tensor:
    """The fraction of zeros in `value` (`tf.math.zero_fraction`)."""
    from ... import dtypes
    from ...framework.graph import name_scope
    from ...ops import core_ops, math_ops, reduction_ops
    with name_scope("zero_fraction"):
        is_zero = math_ops.equal(value, core_ops.constant(0, value.dtype))
        return reduction_ops.reduce_mean(core_ops.cast(is_zero, dtypes.float32))


def add_layer_summary(value: Tensor, tag: str) -> None:
    """`<tag>/fraction_of_zero_values` (scalar) and `<tag>/activation` (histogram), as TF's DNN."""
    from ... import summary
    summary.scalar(f"{tag}/fraction_of_zero_values", zero_fraction(value))
    summary.histogram(f"{tag}/activation", value)


def flatten_vars(values: Sequence[Any]) -> List[Any]:
    out: List[Any] = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(flatten_vars(v))
        else:
            out.append(v)
    return out
