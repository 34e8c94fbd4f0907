"""Parsing specs (`tf.io.FixedLenFeature`, `tf.io.VarLenFeature`) and `make_parse_example_spec`."""
from __future__ import annotations

import collections
from typing import Any, Dict, Iterable

from .. import dtypes as _dtypes


class FixedLenFeature(collections.namedtuple("FixedLenFeature", ["shape", "dtype", "default_value"])):
    """A fixed-length input feature of `shape` and `dtype` (`tf.io.FixedLenFeature`)."""

    def __new__(cls, shape: Any, dtype: Any, default_value: Any = None) -> "FixedLenFeature":
        return super().__new__(cls, shape, _dtypes.as_dtype(dtype), default_value)


class VarLenFeature(collections.namedtuple("VarLenFeature", ["dtype"])):
    """A variable-length input feature, parsed into a SparseTensor (`tf.io.VarLenFeature`)."""

    def __new__(cls, dtype: Any) -> "VarLenFeature":
        return super().__new__(cls, _dtypes.as_dtype(dtype))


def make_parse_example_spec(feature_columns: Iterable[Any]) -> Dict[str, Any]:
    """The feature-key -> FixedLenFeature/VarLenFeature dict the columns need
    (`tf.feature_column.make_parse_example_spec`).

    Raises:
      ValueError: an item is not a feature column, or two columns need different specs for one key.
    """
    from .columns import FeatureColumn
    result: Dict[str, Any] = {}
    for column in feature_columns:
        if not isinstance(column, FeatureColumn):
            raise ValueError(f"All feature_columns must be FeatureColumn instances. Given: {column!r}")
        for key, value in column.parse_example_spec.items():
            if key in result and result[key] != value:
                raise ValueError(f"feature_columns contain different parse_spec for key {key}. "
                                 f"Given {value} and {result[key]}")
        result.update(column.parse_example_spec)
    return result
