"""Parsing specs for canned estimators' tf.Example input: the feature columns' spec plus the
label and the weight (`tf.estimator.classifier_parse_example_spec`, `regressor_parse_example_spec`)."""
from __future__ import annotations

import numbers
from typing import Any, Dict, Iterable, Optional

from .. import dtypes as _dtypes
from ..feature_column.dense import NumericColumn, numeric_column
from ..feature_column.parse_spec import FixedLenFeature, make_parse_example_spec

__all__ = ["classifier_parse_example_spec", "regressor_parse_example_spec"]


def _add_label_and_weight(spec: Dict[str, Any], label_key: str, label_spec: FixedLenFeature,
                          weight_column: Any) -> Dict[str, Any]:
    if not isinstance(label_key, str) or not label_key:
        raise ValueError(f"label_key must be a non-empty string (the tf.Example key of the label), "
                         f"given: {label_key!r}")
    if label_key in spec:
        raise ValueError(f"label should not be used as feature. label_key: {label_key}, features: {list(spec)}")
    spec[label_key] = label_spec
    if weight_column is None:
        return spec
    if isinstance(weight_column, str):
        weight_column = numeric_column(weight_column)
    if not isinstance(weight_column, NumericColumn):
        raise ValueError(f"weight_column should be an instance of tf.feature_column.numeric_column. "
                         f"Given type: {type(weight_column)} value: {weight_column}")
    if weight_column.key in spec:
        raise ValueError(f"weight_column should not be used as feature. weight_column: {weight_column.key}, "
                         f"features: {list(spec)}")
    spec.update(weight_column.parse_example_spec)
    return spec


def classifier_parse_example_spec(feature_columns: Iterable[Any], label_key: str, label_dtype: Any = _dtypes.int64,
                                  label_default: Any = None, weight_column: Any = None) -> Dict[str, Any]:
    """The `parse_example` spec of tf.Examples holding a classifier's features, label and weight.

    The result is `make_parse_example_spec(feature_columns)` plus
    `label_key: FixedLenFeature([1], label_dtype, label_default)` and, with `weight_column`,
    the weight column's own spec (a `FixedLenFeature` of its shape, dtype and default).

    Args:
      feature_columns: an iterable of feature columns.
      label_key: the tf.Example key of the label.
      label_dtype: the label's dtype: int64 (class ids), string (with a `label_vocabulary`)
        or float32 (binary classification).
      label_default: the label of Examples without `label_key` (None: the key is required).
      weight_column: a feature key (a float32 `numeric_column` of shape [1]) or a
        `numeric_column`, for the examples' weights.

    Returns:
      A dict of feature key -> `FixedLenFeature` / `VarLenFeature`.

    Raises:
      ValueError: `label_key` is not a non-empty string or is one of the columns' keys;
        `weight_column` is neither a string nor a `numeric_column`, or its key is a
        column's or the label's; an item of `feature_columns` is not a feature column.
    """
    spec = make_parse_example_spec(feature_columns)
    return _add_label_and_weight(spec, label_key, FixedLenFeature((1,), label_dtype, label_default), weight_column)


def regressor_parse_example_spec(feature_columns: Iterable[Any], label_key: str, label_dtype: Any = _dtypes.float32,
                                 label_default: Any = None, label_dimension: int = 1,
                                 weight_column: Optional[Any] = None) -> Dict[str, Any]:
    """The `parse_example` spec of tf.Examples holding a regressor's features, label and weight.

    As `classifier_parse_example_spec`, with the label
    `FixedLenFeature([label_dimension], label_dtype, label_default)`.

    Args:
      feature_columns: an iterable of feature columns.
      label_key: the tf.Example key of the label.
      label_dtype: the label's dtype (float32 by default).
      label_default: the label of Examples without `label_key` (None: the key is required).
      label_dimension: the number of label values per example.
      weight_column: a feature key or a `numeric_column`, for the examples' weights.

    Returns:
      A dict of feature key -> `FixedLenFeature` / `VarLenFeature`.

    Raises:
      ValueError: as `classifier_parse_example_spec`, or `label_dimension` is not a
        positive integer.
    """
    if isinstance(label_dimension, bool) or not isinstance(label_dimension, numbers.Integral) or label_dimension < 1:
        raise ValueError(f"label_dimension must be a positive integer, given: {label_dimension!r}")
    spec = make_parse_example_spec(feature_columns)
    label_spec = FixedLenFeature((int(label_dimension),), label_dtype, label_default)
    return _add_label_and_weight(spec, label_key, label_spec, weight_column)
