"""Dense columns: numeric, bucketized, indicator, embedding and shared embeddings."""
from __future__ import annotations

import collections
import math
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.graph import Tensor, TensorShape, convert_to_tensor, create_op
from ..framework.sparse_tensor import SparseTensor
from ..initializers import truncated_normal_initializer
from ..ops import array_ops, core_ops, sparse_ops
from .columns import (CategoricalColumn, DenseColumn, IdsAndWeights, _Builder, as_tuple_shape, check_key,
                      dense_input, prune, with_values)
from .parse_spec import FixedLenFeature

_COMBINERS = ("mean", "sqrtn", "sum")


def _batch_reshape(x: Tensor, n: int) -> Tensor:
    """x reshaped to [batch, n]."""
    return core_ops.reshape(x, [-1, n])


class NumericColumn(DenseColumn, collections.namedtuple("NumericColumn", ["key", "shape", "default_value", "dtype",
                                                                          "normalizer_fn"])):
    """A dense numeric feature (see `numeric_column`)."""

    @property
    def name(self) -> str:
        return self.key

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape(list(self.shape))

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return {self.key: FixedLenFeature(self.shape, self.dtype, self.default_value)}

    def _transform(self, builder: _Builder) -> Tensor:
        def build() -> Tensor:
            x = dense_input(builder, self.key, self.name)
            if not (x.dtype.is_floating or x.dtype.is_integer):
                raise ValueError(f"numeric_column '{self.key}' needs a numeric feature, got dtype {x.dtype.name}")
            if x.dtype != self.dtype:
                x = core_ops.cast(x, self.dtype)
            if self.normalizer_fn is not None:
                x = convert_to_tensor(self.normalizer_fn(x))
            return core_ops.cast(x, _dtypes.float32)
        return builder.cached((self, "dense"), build)

    def _dense(self, builder: _Builder) -> Tensor:
        x = self._transform(builder)
        n = int(np.prod(self.shape))
        last = x.shape.as_list()[1:] if x.shape.rank is not None else None
        if last is not None and None not in last and int(np.prod(last)) != n:
            raise ValueError(f"Feature '{self.key}' has per-example shape {last}, but numeric_column "
                             f"'{self.name}' has shape {list(self.shape)}")
        return _batch_reshape(x, n)


def _check_default_value(shape: tuple, default_value: Any, dtype: _dtypes.DType, key: str) -> Any:
    """TF's numeric default: None, or a nested tuple of `shape` (a scalar is repeated)."""
    if default_value is None:
        return None

    def filled(s: tuple, v: Any) -> Any:
        return tuple(filled(s[1:], v) for _ in range(s[0])) if s else v
    if isinstance(default_value, (int, np.integer)) and not isinstance(default_value, bool):
        return filled(shape, int(default_value) if dtype.is_integer else float(default_value))
    if isinstance(default_value, (float, np.floating)):
        if not dtype.is_floating:
            raise TypeError(f"The default_value of column {key} is float but dtype is {dtype.name}")
        return filled(shape, float(default_value))
    arr = np.asarray(default_value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"default_value must be compatible with dtype. default_value: {default_value}, "
                        f"dtype: {dtype.name}, key: {key}")
    if arr.shape != shape:
        raise ValueError(f"The shape of default_value must be equal to given shape. default_value: {default_value},"
                         f" shape: {shape}, key: {key}")
    return _as_tuple(arr.astype(np.float64 if dtype.is_floating else np.int64).tolist())


def _as_tuple(v: Any) -> Any:
    return tuple(_as_tuple(x) for x in v) if isinstance(v, list) else v


def numeric_column(key: str, shape: Any = (1,), default_value: Any = None, dtype: Any = _dtypes.float32,
                   normalizer_fn: Optional[Callable[[Tensor], Tensor]] = None) -> NumericColumn:
    """Real-valued features of a fixed `shape` (`tf.feature_column.numeric_column`).

    The feature is cast to `dtype`, passed through `normalizer_fn`, cast to float32 and
    flattened to `[batch, prod(shape)]` by dense consumers.

    Raises:
      ValueError: an empty key, a non-positive shape or a non-numeric dtype.
      TypeError: a non-callable normalizer_fn or a default_value of the wrong type.
    """
    check_key(key, "numeric_column")
    shape = as_tuple_shape(shape, key)
    dt = _dtypes.as_dtype(dtype)
    if not (dt.is_floating or dt.is_integer):
        raise ValueError(f"dtype must be convertible to float. dtype: {dt.name}, key: {key}")
    default_value = _check_default_value(shape, default_value, dt, key)
    if normalizer_fn is not None and not callable(normalizer_fn):
        raise TypeError(f"normalizer_fn must be a callable. Given: {normalizer_fn}")
    return NumericColumn(key, shape, default_value, dt, normalizer_fn)


class BucketizedColumn(DenseColumn, CategoricalColumn, collections.namedtuple(
        "BucketizedColumn", ["source_column", "boundaries"])):
    """A numeric column discretized by `boundaries` (see `bucketized_column`)."""

    @property
    def name(self) -> str:
        return f"{self.source_column.name}_bucketized"

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return self.source_column.parse_example_spec

    @property
    def _n(self) -> int:
        return int(np.prod(self.source_column.shape))

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape(list(self.source_column.shape) + [len(self.boundaries) + 1])

    @property
    def num_buckets(self) -> int:
        return self._n * (len(self.boundaries) + 1)

    def _buckets(self, builder: _Builder) -> Tensor:
        def build() -> Tensor:
            x = _batch_reshape(self.source_column._transform(builder), self._n)
            b = create_op("bucketize", [x], {"boundaries": [float(v) for v in self.boundaries]}, name="bucketize")
            return core_ops.cast(b, _dtypes.int64)
        return builder.cached((self, "buckets"), build)

    def _dense(self, builder: _Builder) -> Tensor:
        oh = array_ops.one_hot(self._buckets(builder), len(self.boundaries) + 1, dtype=_dtypes.float32)
        return _batch_reshape(oh, self.num_buckets)

    def _ids(self, builder: _Builder) -> IdsAndWeights:
        def build() -> Any:
            b = self._buckets(builder)
            offsets = np.arange(self._n, dtype=np.int64) * (len(self.boundaries) + 1)
            ids = create_op("add", [b, convert_to_tensor(offsets)])
            everywhere = create_op("greater_equal", [ids, convert_to_tensor(0, _dtypes.int64)])
            indices = create_op("where_indices", [everywhere])
            shape = core_ops.cast(core_ops.shape(ids), _dtypes.int64)
            return SparseTensor(indices, core_ops.reshape(ids, [-1]), shape), None
        return builder.cached((self, "ids"), build)


def bucketized_column(source_column: NumericColumn, boundaries: Sequence[float]) -> BucketizedColumn:
    """Discretizes a numeric column: bucket i holds `[boundaries[i-1], boundaries[i])`
    (`tf.feature_column.bucketized_column`). Dense: one-hot per element; categorical: ids
    `bucket + element_index * (len(boundaries) + 1)`.

    Raises:
      ValueError: a non-numeric source, or empty or unsorted boundaries.
    """
    if not isinstance(source_column, NumericColumn):
        raise ValueError(f"source_column must be a column generated with numeric_column(). Given: {source_column}")
    if len(source_column.shape) > 1:
        raise ValueError(f"source_column must be one-dimensional column. Given: {source_column}")
    b = tuple(float(v) for v in (boundaries or ()))
    if not b:
        raise ValueError(f"boundaries must not be empty. Given: {boundaries}")
    if any(b[i] >= b[i + 1] for i in range(len(b) - 1)):
        raise ValueError(f"boundaries must be a sorted list. Given: {boundaries}")
    return BucketizedColumn(source_column, b)


def _reject_sequence(cat: Any, who: str) -> None:
    if getattr(cat, "_is_sequence", False):
        raise ValueError(f"In {who}: categorical_column must not be of type SequenceCategoricalColumn. "
                         f"Suggested fix: use a non-sequence categorical_column_with_*, or sequence_input_layer "
                         f"for sequence input. Given: {cat.name}")


def _indicator(cat: CategoricalColumn, builder: _Builder) -> Tensor:
    """[batch, num_buckets] counts (or summed weights) of each id per example."""
    ids, weights = cat._ids(builder)
    ids, weights = prune(ids, weights, cat.num_buckets, prune_weights=False)
    n = cat.num_buckets
    rows = sparse_ops.gather(ids.indices, 0, axis=1)
    pos = create_op("add", [create_op("multiply", [rows, convert_to_tensor(n, _dtypes.int64)]), ids.values])
    vals = weights.values if weights is not None else \
        core_ops.ones_like(ids.values, dtype=_dtypes.float32)
    batch = sparse_ops.gather(ids.dense_shape, 0)
    total = create_op("multiply", [batch, convert_to_tensor(n, _dtypes.int64)])
    flat = sparse_ops.unsorted_segment_sum(vals, pos, total)
    return core_ops.reshape(flat, [-1, n])


class IndicatorColumn(DenseColumn, collections.namedtuple("IndicatorColumn", ["categorical_column"])):
    """Multi-hot representation of a categorical column (see `indicator_column`)."""

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_indicator"

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return self.categorical_column.parse_example_spec

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape([self.categorical_column.num_buckets])

    def _dense(self, builder: _Builder) -> Tensor:
        _reject_sequence(self.categorical_column, f"indicator_column: {self.name}")
        return builder.cached((self, "dense"), lambda: _indicator(self.categorical_column, builder))


def indicator_column(categorical_column: CategoricalColumn) -> IndicatorColumn:
    """Multi-hot `[batch, num_buckets]` of a categorical column; repeated ids are summed and
    weighted columns contribute their weights (`tf.feature_column.indicator_column`)."""
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"Unsupported input type. Input must be a CategoricalColumn. Given: {categorical_column}")
    return IndicatorColumn(categorical_column)


def embedding_lookup(table: Any, ids: SparseTensor, weights: Optional[SparseTensor], combiner: str,
                     max_norm: Optional[float]) -> Tensor:
    """Safe sparse lookup: invalid ids / non-positive weights dropped, empty rows zero; the
    gradient w.r.t. the table stays sparse."""
    if max_norm is None:
        return sparse_ops.embedding_lookup_sparse(table, ids, weights, combiner=combiner, name="lookup")
    rows = sparse_ops.embedding_lookup(table, ids.values, max_norm=max_norm)
    n = core_ops.shape(ids.values, out_type=_dtypes.int64)[0]
    local = with_values(ids, array_ops.range(0, n, dtype=_dtypes.int64))
    return sparse_ops.embedding_lookup_sparse(rows, local, weights, combiner=combiner, name="lookup")


def _check_embedding_args(dimension: Any, combiner: str, initializer: Any, ckpt_to_load_from: Any,
                          tensor_name_in_ckpt: Any, max_norm: Any) -> None:
    if dimension is None or int(dimension) < 1:
        raise ValueError(f"Invalid dimension {dimension}.")
    if combiner not in _COMBINERS:
        raise ValueError(f"combiner must be one of {list(_COMBINERS)}, got {combiner!r}")
    if initializer is not None and not callable(initializer):
        raise ValueError("initializer must be callable if specified.")
    if (ckpt_to_load_from is None) != (tensor_name_in_ckpt is None):
        raise ValueError("Must specify both `ckpt_to_load_from` and `tensor_name_in_ckpt` or none of them.")
    if ckpt_to_load_from is not None:
        raise ValueError("ckpt_to_load_from is not supported by nestor's embedding columns; use "
                         "tf.estimator.WarmStartSettings to initialize the embedding from a checkpoint.")
    if max_norm is not None and float(max_norm) <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")


def _default_initializer(dimension: int) -> Any:
    return truncated_normal_initializer(mean=0.0, stddev=1.0 / math.sqrt(dimension))


class EmbeddingColumn(DenseColumn, collections.namedtuple(
        "EmbeddingColumn", ["categorical_column", "dimension", "combiner", "initializer", "ckpt_to_load_from",
                            "tensor_name_in_ckpt", "max_norm", "trainable", "use_safe_embedding_lookup"])):
    """Dense embedding of a categorical column (see `embedding_column`)."""

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_embedding"

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return self.categorical_column.parse_example_spec

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape([self.dimension])

    def _table(self, builder: _Builder) -> Any:
        init = self.initializer or _default_initializer(self.dimension)
        return builder.get_variable("embedding_weights", [self.categorical_column.num_buckets, self.dimension],
                                    init, self.trainable)

    def _dense(self, builder: _Builder) -> Tensor:
        _reject_sequence(self.categorical_column, f"embedding_column: {self.name}")
        table = self._table(builder)
        ids, weights = self.categorical_column._ids(builder)
        ids, weights = prune(ids, weights)
        return embedding_lookup(table, ids, weights, self.combiner, self.max_norm)


def embedding_column(categorical_column: CategoricalColumn, dimension: int, combiner: str = "mean",
                     initializer: Any = None, ckpt_to_load_from: Optional[str] = None,
                     tensor_name_in_ckpt: Optional[str] = None, max_norm: Optional[float] = None,
                     trainable: bool = True, use_safe_embedding_lookup: bool = True) -> EmbeddingColumn:
    """Dense `[batch, dimension]` embedding of a categorical column (`tf.feature_column.embedding_column`).

    The table `<consumer scope>/<categorical name>_embedding/embedding_weights` has shape
    `[num_buckets, dimension]` and is initialized with `truncated_normal(0, 1/sqrt(dimension))`
    by default. Rows combine their ids' embeddings with `combiner` ('mean', 'sqrtn', 'sum';
    weighted when the column is weighted); rows without ids give zeros. `max_norm` clips each
    looked-up embedding's L2 norm.

    Raises:
      ValueError: a bad dimension, combiner, initializer or max_norm, or a checkpoint to load from.
    """
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"categorical_column must be a CategoricalColumn, given: {categorical_column}")
    _check_embedding_args(dimension, combiner, initializer, ckpt_to_load_from, tensor_name_in_ckpt, max_norm)
    return EmbeddingColumn(categorical_column, int(dimension), combiner, initializer, ckpt_to_load_from,
                           tensor_name_in_ckpt, max_norm, bool(trainable), bool(use_safe_embedding_lookup))


class SharedEmbeddingColumn(DenseColumn, collections.namedtuple(
        "SharedEmbeddingColumn", ["categorical_column", "dimension", "combiner", "initializer",
                                  "shared_embedding_collection_name", "max_norm", "trainable"])):
    """One of several columns that share one embedding table (see `shared_embeddings`)."""

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_shared_embedding"

    @property
    def _var_scope_name(self) -> str:
        return self.shared_embedding_collection_name

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return self.categorical_column.parse_example_spec

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape([self.dimension])

    def _table(self, builder: _Builder) -> Any:
        existing = _g.get_collection(self.shared_embedding_collection_name)
        shape = [self.categorical_column.num_buckets, self.dimension]
        if existing:
            table = existing[0]
            if table.shape.as_list() != shape:
                raise ValueError(f"Shared embedding '{self.shared_embedding_collection_name}' has shape "
                                 f"{table.shape.as_list()}, column {self.name} needs {shape}")
            return table
        init = self.initializer or _default_initializer(self.dimension)
        table = builder.get_variable("embedding_weights", shape, init, self.trainable)
        _g.add_to_collection(self.shared_embedding_collection_name, table)
        return table

    def _dense(self, builder: _Builder) -> Tensor:
        _reject_sequence(self.categorical_column, f"shared_embeddings: {self.name}")
        table = self._table(builder)
        ids, weights = self.categorical_column._ids(builder)
        ids, weights = prune(ids, weights)
        return embedding_lookup(table, ids, weights, self.combiner, self.max_norm)


def shared_embeddings(categorical_columns: Sequence[CategoricalColumn], dimension: int, combiner: str = "mean",
                      initializer: Any = None, shared_embedding_collection_name: Optional[str] = None,
                      ckpt_to_load_from: Optional[str] = None, tensor_name_in_ckpt: Optional[str] = None,
                      max_norm: Optional[float] = None, trainable: bool = True,
                      use_safe_embedding_lookup: bool = True) -> List[SharedEmbeddingColumn]:
    """Embedding columns of several categorical columns that share one table
    (`tf.feature_column.shared_embeddings`; also `shared_embedding_columns`).

    The table is `<first consumer scope>/<collection name>/embedding_weights`, registered in the
    graph collection `shared_embedding_collection_name` (default: the sorted column names
    joined by '_' plus '_shared_embedding') and reused by every later consumer.

    Raises:
      ValueError: no columns, columns with different num_buckets, or bad embedding arguments.
    """
    cols = list(categorical_columns or [])
    if not cols:
        raise ValueError("categorical_columns must not be empty.")
    for c in cols:
        if not isinstance(c, CategoricalColumn):
            raise ValueError(f"All categorical_columns must be subclasses of CategoricalColumn. Given: {c}")
    def base_type(c: Any) -> type:
        inner = getattr(c, "categorical_column", None)
        return base_type(inner) if isinstance(inner, CategoricalColumn) else type(c)
    n = cols[0].num_buckets
    for c in cols[1:]:
        if base_type(c) is not base_type(cols[0]):
            raise ValueError(f"To use shared_embedding_column, all categorical_columns must have the same type, "
                             f"or be weighted_categorical_column or sequence column of the same type. Given column: "
                             f"{cols[0]} of type: {base_type(cols[0]).__name__} does not match given column: {c} "
                             f"of type: {base_type(c).__name__}")
        if c.num_buckets != n:
            raise ValueError(f"To use shared_embedding_column, all categorical_columns must have the same number "
                             f"of buckets. Given column: {cols[0]} with buckets: {n} does not match column: {c} "
                             f"with buckets: {c.num_buckets}")
    _check_embedding_args(dimension, combiner, initializer, ckpt_to_load_from, tensor_name_in_ckpt, max_norm)
    name = shared_embedding_collection_name or \
        "_".join(sorted(c.name for c in cols)) + "_shared_embedding"
    return [SharedEmbeddingColumn(c, int(dimension), combiner, initializer, name, max_norm, bool(trainable))
            for c in cols]


def shared_embedding_columns(categorical_columns: Sequence[CategoricalColumn], dimension: int,
                             combiner: str = "mean", initializer: Any = None,
                             shared_embedding_collection_name: Optional[str] = None,
                             ckpt_to_load_from: Optional[str] = None, tensor_name_in_ckpt: Optional[str] = None,
                             max_norm: Optional[float] = None, trainable: bool = True,
                             use_safe_embedding_lookup: bool = True) -> List[SharedEmbeddingColumn]:
    """TF1's name of `shared_embeddings` (`tf.compat.v1.feature_column.shared_embedding_columns`)."""
    return shared_embeddings(categorical_columns, dimension, combiner, initializer,
                             shared_embedding_collection_name, ckpt_to_load_from, tensor_name_in_ckpt, max_norm,
                             trainable, use_safe_embedding_lookup)
