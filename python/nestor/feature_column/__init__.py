"""`nestor.feature_column`: turns raw features into model inputs (`tf.feature_column`).

This module currently provides dense numeric columns and `input_layer`; the categorical,
embedding and crossed columns arrive with the pre-made estimators.
"""
from __future__ import annotations

import collections
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, TensorShape, convert_to_tensor, name_scope
from ..ops import array_ops, core_ops


class NumericColumn(collections.namedtuple("NumericColumn", ["key", "shape", "default_value", "dtype",
                                                             "normalizer_fn"])):
    """A dense numeric feature (see `numeric_column`)."""

    @property
    def name(self) -> str:
        return self.key

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape(self.shape)

    def _transform(self, features: Dict[str, Any]) -> Tensor:
        if self.key not in features:
            raise ValueError(f"The feature '{self.key}' of numeric_column is not in the features dict "
                             f"(keys: {sorted(map(str, features))}).")
        x = features[self.key]
        x = convert_to_tensor(x)
        if not (x.dtype.is_floating or x.dtype.is_integer):
            raise ValueError(f"numeric_column '{self.key}' needs a numeric feature, got {x.dtype.name}")
        x = core_ops.cast(x, self.dtype)
        if self.normalizer_fn is not None:
            x = self.normalizer_fn(x)
        return x

    def _dense(self, features: Dict[str, Any]) -> Tensor:
        x = core_ops.cast(self._transform(features), _dtypes.float32)
        n = int(np.prod(self.shape))
        rank = x.shape.rank
        if rank == 1 and n == 1:
            return array_ops.expand_dims(x, -1)
        return core_ops.reshape(x, [-1, n])


def numeric_column(key: str, shape: Any = (1,), default_value: Any = None, dtype: Any = _dtypes.float32,
                   normalizer_fn: Optional[Callable[[Tensor], Tensor]] = None) -> NumericColumn:
    """A column of real-valued features of a fixed `shape` (`tf.feature_column.numeric_column`).

    Raises:
      ValueError: for an empty key, a non-positive shape or a non-numeric dtype.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"key must be a non-empty string, got {key!r}")
    shape = (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)
    if any(d < 1 for d in shape):
        raise ValueError(f"shape dimensions must be positive, got {shape} for column {key}")
    dt = _dtypes.as_dtype(dtype)
    if not (dt.is_floating or dt.is_integer):
        raise ValueError(f"dtype must be convertible to float. dtype: {dt.name}, key: {key}")
    if normalizer_fn is not None and not callable(normalizer_fn):
        raise TypeError(f"normalizer_fn must be a callable. Given: {normalizer_fn}")
    return NumericColumn(key, shape, default_value, dt, normalizer_fn)


def input_layer(features: Dict[str, Any], feature_columns: Sequence[Any], weight_collections: Any = None,
                trainable: bool = True, cols_to_vars: Any = None, cols_to_output_tensors: Any = None) -> Tensor:
    """Concatenates the dense columns' values, sorted by column name, into `[batch, sum(dims)]`.

    Raises:
      ValueError: no columns, a missing feature, or a column that is not dense.
    """
    cols = list(feature_columns)
    if not cols:
        raise ValueError("feature_columns must not be empty.")
    for c in cols:
        if not hasattr(c, "_dense"):
            raise ValueError(f"Items of feature_columns must be a DenseColumn. You can wrap a categorical column "
                             f"with an embedding_column or indicator_column. Given: {c}")
    with name_scope("input_layer"):
        outs = []
        for c in sorted(cols, key=lambda c: c.name):
            with name_scope(c.name):
                t = c._dense(features)
            if cols_to_output_tensors is not None:
                cols_to_output_tensors[c] = t
            outs.append(t)
        return outs[0] if len(outs) == 1 else array_ops.concat(outs, axis=1)
