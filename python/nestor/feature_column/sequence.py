"""Sequence columns (`tf.feature_column.sequence_*`) and `sequence_input_layer`, which turns
them into a padded `[batch, max_steps, dims]` tensor plus per-example sequence lengths (the
`tf.keras.experimental.SequenceFeatures` computation). Sequence features are SparseTensors
`[batch, steps * elements]`."""
from __future__ import annotations

import collections
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework import variables as _vars
from ..framework.graph import Tensor, TensorShape, convert_to_tensor, create_op
from ..framework.sparse_tensor import SparseTensor
from ..ops import array_ops, core_ops, sparse_ops
from . import categorical as _cat
from .columns import CategoricalColumn, FeatureColumn, IdsAndWeights, _Builder, as_tuple_shape, check_key
from .dense import EmbeddingColumn, IndicatorColumn
from .parse_spec import VarLenFeature


class SequenceNumericColumn(FeatureColumn, collections.namedtuple(
        "SequenceNumericColumn", ["key", "shape", "default_value", "dtype", "normalizer_fn"])):
    """A sequence of numeric values per example (see `sequence_numeric_column`)."""

    @property
    def name(self) -> str:
        return self.key

    @property
    def _is_sequence(self) -> bool:
        return True

    @property
    def variable_shape(self) -> TensorShape:
        return TensorShape(list(self.shape))

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return {self.key: VarLenFeature(self.dtype)}

    def _sequence_dense(self, builder: _Builder) -> Tuple[Tensor, Tensor]:
        sp = _sequence_input(builder, self.key, self.name)
        if not (sp.dtype.is_floating or sp.dtype.is_integer):
            raise ValueError(f"sequence_numeric_column '{self.key}' needs numeric values, got {sp.dtype.name}")
        vals = sp.values if sp.dtype == self.dtype else core_ops.cast(sp.values, self.dtype)
        if self.normalizer_fn is not None:
            vals = convert_to_tensor(self.normalizer_fn(vals))
        vals = core_ops.cast(vals, _dtypes.float32)
        sp = SparseTensor(sp.indices, vals, sp.dense_shape)
        dense = sparse_ops.sparse_tensor_to_dense(sp, default_value=float(self.default_value))
        n = int(np.prod(self.shape))
        return core_ops.reshape(dense, [core_ops.shape(dense)[0], -1, n]), _lengths(sp, n)


def _sequence_input(builder: _Builder, key: str, column_name: str) -> SparseTensor:
    x = builder.raw(key, column_name)
    if not isinstance(x, SparseTensor):
        raise ValueError(f"Sequence feature '{key}' of column '{column_name}' must be a SparseTensor "
                         f"[batch, steps], got a dense Tensor")
    return x


def _lengths(sp: SparseTensor, elements: int) -> Tensor:
    """Number of steps per example: ceil(entries / elements) (entries are contiguous from 0)."""
    rows = sparse_ops.gather(sp.indices, 0, axis=1)
    batch = sparse_ops.gather(sp.dense_shape, 0)
    counts = sparse_ops.unsorted_segment_sum(core_ops.ones_like(rows), rows, batch)
    if elements == 1:
        return counts
    e = convert_to_tensor(elements, dtype=_dtypes.int64)
    return create_op("floor_div", [create_op("add", [counts, convert_to_tensor(elements - 1, _dtypes.int64)]), e])


def sequence_numeric_column(key: str, shape: Any = (1,), default_value: float = 0.0, dtype: Any = _dtypes.float32,
                            normalizer_fn: Optional[Callable[[Tensor], Tensor]] = None) -> SequenceNumericColumn:
    """A sequence of numeric values of `shape` per step; `default_value` pads short sequences
    (`tf.feature_column.sequence_numeric_column`)."""
    check_key(key, "sequence_numeric_column")
    shape = as_tuple_shape(shape, key)
    dt = _dtypes.as_dtype(dtype)
    if not (dt.is_floating or dt.is_integer):
        raise ValueError(f"dtype must be convertible to float. dtype: {dt.name}, key: {key}")
    if normalizer_fn is not None and not callable(normalizer_fn):
        raise TypeError(f"normalizer_fn must be a callable. Given: {normalizer_fn}")
    return SequenceNumericColumn(key, shape, default_value, dt, normalizer_fn)


class SequenceCategoricalColumn(CategoricalColumn, collections.namedtuple("SequenceCategoricalColumn",
                                                                          ["categorical_column"])):
    """A sequence of categorical ids per example (see `sequence_categorical_column_with_*`)."""

    @property
    def name(self) -> str:
        return self.categorical_column.name

    @property
    def _is_sequence(self) -> bool:
        return True

    @property
    def num_buckets(self) -> int:
        return self.categorical_column.num_buckets

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return self.categorical_column.parse_example_spec

    def _ids(self, builder: _Builder) -> IdsAndWeights:
        return self.categorical_column._ids(builder)


def sequence_categorical_column_with_identity(key: str, num_buckets: int,
                                              default_value: Optional[int] = None) -> SequenceCategoricalColumn:
    """Sequence version of `categorical_column_with_identity`."""
    return SequenceCategoricalColumn(_cat.categorical_column_with_identity(key, num_buckets, default_value))


def sequence_categorical_column_with_hash_bucket(key: str, hash_bucket_size: int,
                                                 dtype: Any = _dtypes.string) -> SequenceCategoricalColumn:
    """Sequence version of `categorical_column_with_hash_bucket`."""
    return SequenceCategoricalColumn(_cat.categorical_column_with_hash_bucket(key, hash_bucket_size, dtype))


def sequence_categorical_column_with_vocabulary_list(key: str, vocabulary_list: Sequence[Any], dtype: Any = None,
                                                     default_value: int = -1,
                                                     num_oov_buckets: int = 0) -> SequenceCategoricalColumn:
    """Sequence version of `categorical_column_with_vocabulary_list`."""
    return SequenceCategoricalColumn(_cat.categorical_column_with_vocabulary_list(
        key, vocabulary_list, dtype, default_value, num_oov_buckets))


def sequence_categorical_column_with_vocabulary_file(key: str, vocabulary_file: str,
                                                     vocabulary_size: Optional[int] = None,
                                                     num_oov_buckets: int = 0, default_value: Optional[int] = None,
                                                     dtype: Any = _dtypes.string) -> SequenceCategoricalColumn:
    """Sequence version of `categorical_column_with_vocabulary_file` (note TF's argument order)."""
    return SequenceCategoricalColumn(_cat.categorical_column_with_vocabulary_file(
        key, vocabulary_file, vocabulary_size, dtype, default_value, num_oov_buckets))


def _sequence_ids(cat: SequenceCategoricalColumn, builder: _Builder) -> Tuple[Tensor, Tensor, Tensor]:
    """Dense ids [B, T] (-1 = padding), the bool mask ids >= 0, and the sequence lengths."""
    ids, _ = cat._ids(builder)
    dense = sparse_ops.sparse_tensor_to_dense(ids, default_value=-1)
    mask = create_op("greater_equal", [dense, convert_to_tensor(0, _dtypes.int64)])
    return dense, mask, _lengths(ids, 1)


def _sequence_dense(c: Any, builder: _Builder) -> Tuple[Tensor, Tensor]:
    if isinstance(c, SequenceNumericColumn):
        return c._sequence_dense(builder)
    cat = getattr(c, "categorical_column", None)
    if not isinstance(cat, SequenceCategoricalColumn) or not isinstance(c, (EmbeddingColumn, IndicatorColumn)):
        raise ValueError(f"All feature_columns must be sequence dense columns (sequence_numeric_column, or an "
                         f"embedding_column/indicator_column of a sequence_categorical_column_*). Given: {c}")
    dense, mask, lengths = _sequence_ids(cat, builder)
    if isinstance(c, IndicatorColumn):
        return array_ops.one_hot(dense, cat.num_buckets, dtype=_dtypes.float32), lengths
    table = c._table(builder)
    safe = create_op("where", [mask, dense, core_ops.zeros_like(dense)])
    emb = sparse_ops.embedding_lookup(table, safe, max_norm=c.max_norm)
    return create_op("multiply", [emb, array_ops.expand_dims(core_ops.cast(mask, _dtypes.float32), -1)]), lengths


def sequence_input_layer(features: Dict[str, Any], feature_columns: Sequence[Any], trainable: bool = True,
                         weight_collections: Any = None) -> Tuple[Tensor, Tensor]:
    """Padded sequence input `[batch, max_steps, sum(dims)]` (columns sorted by name) and the
    int64 sequence lengths `[batch]` of the first column (`SequenceFeatures`' computation).
    Variables live under `sequence_input_layer/<column scope>/`."""
    from .consumers import _normalize
    cols = _normalize(feature_columns)
    builder = _Builder(features, trainable, weight_collections)
    outs, lengths = [], None
    with _vars.variable_scope(None, default_name="sequence_input_layer"):
        for c in cols:
            with _vars.variable_scope(None, default_name=c._var_scope_name):
                t, n = _sequence_dense(c, builder)
            outs.append(t)
            lengths = n if lengths is None else lengths
        return (outs[0] if len(outs) == 1 else array_ops.concat(outs, axis=2)), lengths
