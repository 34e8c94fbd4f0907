"""Base classes and input plumbing shared by all feature columns.

Categorical columns produce ids as `SparseTensor(indices int64 [n, 2], values int64 [n],
dense_shape [batch, max_len])` (plus optional per-id weights with the same indices). Dense
categorical inputs are converted to that form by dropping missing entries: '' for strings
and -1 for integers (TensorFlow's rule). Dense columns produce float32 `[batch, dims...]`.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework import variables as _vars
from ..framework.graph import Tensor, TensorShape, convert_to_tensor, create_op
from ..framework.sparse_tensor import SparseTensor
from ..framework.values import SparseTensorValue
from ..ops import array_ops, core_ops, sparse_ops

IdsAndWeights = Tuple[SparseTensor, Optional[SparseTensor]]


class FeatureColumn:
    """Base of all feature columns: a `name` and the `parse_example_spec` it needs."""

    @property
    def name(self) -> str:
        raise NotImplementedError

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        raise NotImplementedError

    @property
    def _var_scope_name(self) -> str:
        return self.name

    @property
    def _is_sequence(self) -> bool:
        return False


class DenseColumn(FeatureColumn):
    """A column with a dense float representation `[batch] + variable_shape`."""

    @property
    def variable_shape(self) -> TensorShape:
        raise NotImplementedError

    def _dense(self, builder: "_Builder") -> Tensor:
        raise NotImplementedError


class CategoricalColumn(FeatureColumn):
    """A column of sparse integer ids in `[0, num_buckets)`."""

    @property
    def num_buckets(self) -> int:
        raise NotImplementedError

    def _ids(self, builder: "_Builder") -> IdsAndWeights:
        """The raw (unpruned) ids SparseTensor and the weights SparseTensor or None."""
        raise NotImplementedError


class _Builder:
    """Per-call state of a consumer (input_layer, linear_model, ...): the features, a cache
    of transformed columns and the variable-creation settings."""

    def __init__(self, features: Dict[Any, Any], trainable: bool = True,
                 weight_collections: Optional[List[str]] = None):
        if not isinstance(features, dict):
            raise ValueError(f"features should be a dictionary of Tensors/SparseTensors; got {type(features).__name__}")
        self.features = features
        self.trainable = trainable
        self.weight_collections = list(weight_collections or [])
        self.cache: Dict[Any, Any] = {}

    def cached(self, key: Any, fn: Any) -> Any:
        if key not in self.cache:
            self.cache[key] = fn()
        return self.cache[key]

    def raw(self, key: str, column_name: str) -> Any:
        """The input feature `key` as a Tensor or SparseTensor."""
        if key not in self.features:
            raise ValueError(f"Feature '{key}' (needed by feature column '{column_name}') is not in features "
                             f"dictionary. Available keys: {sorted(map(str, self.features))}")
        x = self.features[key]
        if isinstance(x, SparseTensorValue):
            return SparseTensor.from_value(x)
        if isinstance(x, SparseTensor):
            return x
        return convert_to_tensor(x, name=_safe(key))

    def get_variable(self, name: str, shape: List[int], initializer: Any, trainable: bool,
                     dtype: Any = _dtypes.float32) -> Any:
        var = _vars.get_variable(name, shape=shape, dtype=dtype, initializer=initializer,
                                 trainable=bool(trainable and self.trainable))
        for c in self.weight_collections:
            if not any(v is var for v in _g.get_collection(c)):
                _g.add_to_collection(c, var)
        return var


def _safe(key: str) -> str:
    """A node-name-friendly version of a feature key."""
    s = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in str(key))
    return s if s and s[0].isalnum() else "f" + s


def dense_input(builder: _Builder, key: str, column_name: str) -> Tensor:
    """The dense feature `key` with rank >= 2 ([batch] becomes [batch, 1])."""
    x = builder.raw(key, column_name)
    if isinstance(x, SparseTensor):
        raise ValueError(f"The corresponding Tensor of numerical column must be a Tensor. SparseTensor is not "
                         f"supported. key: {key} (column '{column_name}')")
    return _at_least_2d(x, key, column_name)


def _at_least_2d(x: Tensor, key: str, column_name: str) -> Tensor:
    rank = x.shape.rank
    if rank == 0:
        raise ValueError(f"Feature (key: {key}) cannot have rank 0 (column '{column_name}'). Given: {x}")
    if rank == 1:
        return array_ops.expand_dims(x, -1)
    return x


def _check_id_dtype(x: Any, key: str, column_name: str, want: _dtypes.DType) -> None:
    dt = x.dtype
    if want == _dtypes.string:
        ok = dt == _dtypes.string
    else:
        ok = dt.is_integer
    if not ok:
        raise ValueError(f"Column dtype and SparseTensors dtype must be compatible. key: {key}, column "
                         f"'{column_name}' expects {'string' if want == _dtypes.string else 'integer'} values, "
                         f"given dtype: {dt.name}")


def sparse_input(builder: _Builder, key: str, column_name: str, want: Optional[_dtypes.DType]) -> SparseTensor:
    """The categorical feature `key` as a rank-2 SparseTensor (dense inputs lose '' / -1 entries).

    Args:
      want: _dtypes.string or an integer dtype (checked), or None to accept string or integer.
    """
    def build() -> SparseTensor:
        x = builder.raw(key, column_name)
        if want is not None:
            _check_id_dtype(x, key, column_name, want)
        elif not (x.dtype == _dtypes.string or x.dtype.is_integer):
            raise ValueError(f"Feature '{key}' of column '{column_name}' must be string or integer, got "
                             f"{x.dtype.name}")
        if isinstance(x, SparseTensor):
            if x.shape.rank is not None and x.shape.rank != 2:
                raise ValueError(f"Feature '{key}' of column '{column_name}' must be a rank-2 SparseTensor "
                                 f"[batch, n], got rank {x.shape.rank}")
            return x
        return dense_to_sparse(_flatten_2d(_at_least_2d(x, key, column_name)))
    return builder.cached(("sparse_input", key), build)


def _flatten_2d(x: Tensor) -> Tensor:
    rank = x.shape.rank
    if rank is None or rank > 2:
        return core_ops.reshape(x, [core_ops.shape(x)[0], -1])
    return x


def dense_to_sparse(x: Tensor) -> SparseTensor:
    """A rank-2 SparseTensor of `x`'s entries other than '' (strings) / -1 (integers)."""
    ignore = "" if x.dtype == _dtypes.string else -1
    mask = core_ops_not_equal(x, ignore)
    indices = create_op("where_indices", [mask], name="indices")
    flat = core_ops.reshape(create_op("where_indices", [core_ops.reshape(mask, [-1])]), [-1])
    values = sparse_ops.gather(core_ops.reshape(x, [-1]), flat, name="values")
    dense_shape = core_ops.cast(core_ops.shape(x), _dtypes.int64)
    return SparseTensor(indices, values, dense_shape)


def core_ops_not_equal(x: Tensor, v: Any) -> Tensor:
    return create_op("not_equal", [x, convert_to_tensor(v, dtype=x.dtype)], name="NotEqual")


def with_values(sp: SparseTensor, values: Tensor) -> SparseTensor:
    """`sp` with new values (same indices and dense_shape)."""
    out = SparseTensor(sp.indices, values, sp.dense_shape)
    out._static_shape = sp.shape
    return out


def retain(sp: SparseTensor, keep: Tensor) -> SparseTensor:
    """The entries of `sp` where the bool vector `keep` is true."""
    rows = core_ops.reshape(create_op("where_indices", [keep]), [-1])
    out = SparseTensor(sparse_ops.gather(sp.indices, rows), sparse_ops.gather(sp.values, rows), sp.dense_shape)
    out._static_shape = sp.shape
    return out


def prune(ids: SparseTensor, weights: Optional[SparseTensor], num_buckets: Optional[int] = None,
          prune_weights: bool = True) -> IdsAndWeights:
    """Drops ids < 0 (and >= num_buckets when given) and, with `prune_weights`, weights <= 0
    (TF's safe_embedding_lookup_sparse); the same entries are dropped from both."""
    keep = create_op("greater_equal", [ids.values, convert_to_tensor(0, dtype=ids.dtype)])
    if num_buckets is not None:
        below = create_op("less", [ids.values, convert_to_tensor(num_buckets, dtype=ids.dtype)])
        keep = create_op("logical_and", [keep, below])
    if weights is not None and prune_weights:
        pos = create_op("greater", [weights.values, convert_to_tensor(0, dtype=weights.dtype)])
        keep = create_op("logical_and", [keep, pos])
    ids = retain(ids, keep)
    if weights is not None:
        weights = retain(weights, keep)
    return ids, weights


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError(f"key must be a non-empty string for {what}, got {key!r}")
    return key


def as_tuple_shape(shape: Any, key: str) -> Tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    out = []
    for d in shape:
        if not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"shape dimensions must be greater than 0. shape: {shape}, key: {key}")
        out.append(int(d))
    return tuple(out)
