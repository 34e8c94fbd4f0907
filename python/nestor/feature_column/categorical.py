"""Categorical columns: vocabulary list/file, identity, hash bucket, crossed and weighted."""
from __future__ import annotations

import collections
import os
from typing import Any, Dict, Optional, Sequence

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import GraphKeys, convert_to_tensor, create_op, get_collection_ref
from ..framework.sparse_tensor import SparseTensor
from ..ops import array_ops, core_ops, sparse_ops
from .columns import (CategoricalColumn, IdsAndWeights, _Builder, _at_least_2d, _flatten_2d, check_key, sparse_input,
                      with_values)
from .parse_spec import VarLenFeature

_DEFAULT_HASH_KEY = 0xDECAFCAFFE


def _lookup(values: Any, keys: Sequence[Any], num_oov_buckets: int, default_value: int) -> Any:
    if values.dtype.is_integer and values.dtype != _dtypes.int64:
        values = core_ops.cast(values, _dtypes.int64)
    return create_op("vocab_lookup", [values], {"keys": list(keys), "num_oov_buckets": int(num_oov_buckets),
                                                "default_value": int(default_value)}, name="vocab_lookup")


class VocabularyListCategoricalColumn(CategoricalColumn, collections.namedtuple(
        "VocabularyListCategoricalColumn", ["key", "vocabulary_list", "dtype", "default_value", "num_oov_buckets"])):
    """Ids from an in-memory vocabulary (see `categorical_column_with_vocabulary_list`)."""

    @property
    def name(self) -> str:
        return self.key

    @property
    def num_buckets(self) -> int:
        return len(self.vocabulary_list) + self.num_oov_buckets

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return {self.key: VarLenFeature(self.dtype)}

    def _ids(self, builder: _Builder) -> IdsAndWeights:
        def build() -> Any:
            sp = sparse_input(builder, self.key, self.name, self.dtype)
            return with_values(sp, _lookup(sp.values, self.vocabulary_list, self.num_oov_buckets,
                                           self.default_value)), None
        return builder.cached((self, "ids"), build)


def _check_vocab_args(key: str, default_value: Any, num_oov_buckets: int) -> None:
    if num_oov_buckets is None or int(num_oov_buckets) < 0:
        raise ValueError(f"Invalid num_oov_buckets {num_oov_buckets} in {key}.")
    if default_value is not None and default_value != -1 and num_oov_buckets:
        raise ValueError(f"Can't specify both default_value {default_value} and num_oov_buckets {num_oov_buckets} "
                         f"in {key}.")


def _key_dtype(key: str, dtype: Any, what: str) -> _dtypes.DType:
    dt = _dtypes.as_dtype(dtype)
    if not (dt == _dtypes.string or dt.is_integer):
        raise ValueError(f"dtype {dt.name} of {what} {key} must be string or integer.")
    return _dtypes.string if dt == _dtypes.string else _dtypes.int64


def categorical_column_with_vocabulary_list(key: str, vocabulary_list: Sequence[Any], dtype: Any = None,
                                            default_value: int = -1,
                                            num_oov_buckets: int = 0) -> VocabularyListCategoricalColumn:
    """Maps string or integer values to their index in `vocabulary_list`
    (`tf.feature_column.categorical_column_with_vocabulary_list`).

    Out-of-vocabulary values get `default_value` (-1: dropped) or, with `num_oov_buckets > 0`,
    `len(vocabulary_list) + Fingerprint64(value) % num_oov_buckets`.

    Raises:
      ValueError: an empty or duplicated vocabulary, mixed types, a dtype that does not match the
        vocabulary, or both `default_value` and `num_oov_buckets` set.
    """
    check_key(key, "categorical_column_with_vocabulary_list")
    vocab = list(vocabulary_list) if vocabulary_list is not None else []
    if not vocab:
        raise ValueError(f"vocabulary_list {vocabulary_list} must be non-empty, column_name: {key}")
    if len(set(vocab)) != len(vocab):
        dup = sorted({str(v) for v in vocab if vocab.count(v) > 1})
        raise ValueError(f"Duplicate keys in vocabulary_list {vocabulary_list}, column_name: {key} "
                         f"(duplicates: {dup})")
    is_str = [isinstance(v, (str, bytes)) for v in vocab]
    is_int = [isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vocab]
    if all(is_str):
        vocab_dt = _dtypes.string
        vocab = [v.decode() if isinstance(v, bytes) else v for v in vocab]
    elif all(is_int):
        vocab_dt = _dtypes.int64
        vocab = [int(v) for v in vocab]
    else:
        raise ValueError(f"vocabulary_list of column {key} must be all strings or all integers, got {vocab}")
    if dtype is not None:
        dt = _key_dtype(key, dtype, "categorical_column_with_vocabulary_list")
        if dt != vocab_dt:
            raise ValueError(f"dtype {_dtypes.as_dtype(dtype).name} and vocabulary dtype {vocab_dt.name} do not "
                             f"match, column_name: {key}")
    _check_vocab_args(key, default_value, num_oov_buckets)
    return VocabularyListCategoricalColumn(key, tuple(vocab), vocab_dt, int(default_value), int(num_oov_buckets))


class VocabularyFileCategoricalColumn(CategoricalColumn, collections.namedtuple(
        "VocabularyFileCategoricalColumn", ["key", "vocabulary_file", "vocabulary_size", "num_oov_buckets",
                                            "dtype", "default_value", "file_format"])):
    """Ids from a vocabulary file, one token per line (see `categorical_column_with_vocabulary_file`)."""

    @property
    def name(self) -> str:
        return self.key

    @property
    def num_buckets(self) -> int:
        return self.vocabulary_size + self.num_oov_buckets

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return {self.key: VarLenFeature(self.dtype)}

    def _keys(self) -> list:
        lines = _read_vocab(self.key, self.vocabulary_file)
        if len(lines) < self.vocabulary_size:
            raise ValueError(f"Invalid vocabulary_size {self.vocabulary_size} for column {self.key}: the file "
                             f"{self.vocabulary_file} has only {len(lines)} lines.")
        lines = lines[:self.vocabulary_size]
        if self.dtype == _dtypes.string:
            return lines
        try:
            return [int(v) for v in lines]
        except ValueError as e:
            raise ValueError(f"Vocabulary file {self.vocabulary_file} of integer column {self.key} has a line "
                             f"that is not an integer: {e}") from None

    def _ids(self, builder: _Builder) -> IdsAndWeights:
        def build() -> Any:
            keys = self._keys()
            # As TF's table initializer: the file is an asset, so an export copies it to assets/.
            assets = get_collection_ref(GraphKeys.ASSET_FILEPATHS)
            if self.vocabulary_file not in assets:
                assets.append(self.vocabulary_file)
            sp = sparse_input(builder, self.key, self.name, self.dtype)
            return with_values(sp, _lookup(sp.values, keys, self.num_oov_buckets, self.default_value)), None
        return builder.cached((self, "ids"), build)


def _read_vocab(key: str, path: str) -> list:
    if not os.path.isfile(path):
        raise ValueError(f"Vocabulary file of column '{key}' not found: {path}")
    with open(path, "r", encoding="utf-8") as f:
        return [line.rstrip("\n").rstrip("\r") for line in f]


def categorical_column_with_vocabulary_file(key: str, vocabulary_file: str, vocabulary_size: Optional[int] = None,
                                            dtype: Any = _dtypes.string, default_value: Optional[int] = None,
                                            num_oov_buckets: int = 0,
                                            file_format: Optional[str] = None) -> VocabularyFileCategoricalColumn:
    """Maps values to their line number in `vocabulary_file`
    (`tf.feature_column.categorical_column_with_vocabulary_file`).

    The file is read when the column is built into a graph (and here, when `vocabulary_size` is
    None, to count its lines). Only the first `vocabulary_size` lines are used.

    Raises:
      ValueError: a missing file, a bad size, or both `default_value` and `num_oov_buckets` set.
    """
    check_key(key, "categorical_column_with_vocabulary_file")
    if not vocabulary_file:
        raise ValueError(f"Missing vocabulary_file in {key}.")
    if file_format not in (None, "text"):
        raise ValueError(f"file_format {file_format!r} of column {key} is not supported; use a text file.")
    if vocabulary_size is None:
        vocabulary_size = len(_read_vocab(key, vocabulary_file))
    if int(vocabulary_size) < 1:
        raise ValueError(f"Invalid vocabulary_size {vocabulary_size} in {key}.")
    _check_vocab_args(key, default_value, num_oov_buckets)
    dt = _key_dtype(key, dtype, "categorical_column_with_vocabulary_file")
    dv = -1 if default_value is None else int(default_value)
    return VocabularyFileCategoricalColumn(key, str(vocabulary_file), int(vocabulary_size), int(num_oov_buckets),
                                           dt, dv, file_format)


class IdentityCategoricalColumn(CategoricalColumn, collections.namedtuple(
        "IdentityCategoricalColumn", ["key", "number_buckets", "default_value"])):
    """Integer values used as ids (see `categorical_column_with_identity`)."""

    @property
    def name(self) -> str:
        return self.key

    @property
    def num_buckets(self) -> int:
        return self.number_buckets

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return {self.key: VarLenFeature(_dtypes.int64)}

    def _ids(self, builder: _Builder) -> IdsAndWeights:
        def build() -> Any:
            sp = sparse_input(builder, self.key, self.name, _dtypes.int64)
            v = sp.values if sp.dtype == _dtypes.int64 else core_ops.cast(sp.values, _dtypes.int64)
            n = self.number_buckets
            if self.default_value is not None:
                ok = create_op("logical_and", [create_op("greater_equal", [v, convert_to_tensor(0, _dtypes.int64)]),
                                               create_op("less", [v, convert_to_tensor(n, _dtypes.int64)])])
                v = create_op("where", [ok, v, convert_to_tensor(self.default_value, _dtypes.int64)])
            else:
                # Unlike TensorFlow (which passes such ids through), out-of-range ids fail here,
                # with the feature in the node name: "... check_<key>_ids_in_0_<n> ...".
                v = sparse_ops.gather(array_ops.range(0, n, dtype=_dtypes.int64), v,
                                      name=f"check_{_node(self.key)}_ids_in_0_{n}")
            return with_values(sp, v), None
        return builder.cached((self, "ids"), build)


def _node(key: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in key)


def categorical_column_with_identity(key: str, num_buckets: int,
                                     default_value: Optional[int] = None) -> IdentityCategoricalColumn:
    """Integer values in `[0, num_buckets)` used directly as ids
    (`tf.feature_column.categorical_column_with_identity`).

    Out-of-range values become `default_value` when it is set; otherwise the run fails with an
    InvalidArgumentError whose node name contains the feature key (TensorFlow would pass them
    through and fail later, e.g. in an embedding lookup).

    Raises:
      ValueError: num_buckets < 1 or default_value outside [0, num_buckets).
    """
    check_key(key, "categorical_column_with_identity")
    if num_buckets is None or int(num_buckets) < 1:
        raise ValueError(f"num_buckets {num_buckets} < 1, column_name {key}")
    if default_value is not None and not 0 <= int(default_value) < int(num_buckets):
        raise ValueError(f"default_value {default_value} not in range [0, {num_buckets}), column_name {key}")
    return IdentityCategoricalColumn(key, int(num_buckets), None if default_value is None else int(default_value))


class HashedCategoricalColumn(CategoricalColumn, collections.namedtuple(
        "HashedCategoricalColumn", ["key", "hash_bucket_size", "dtype"])):
    """Ids = Fingerprint64(value) % hash_bucket_size (see `categorical_column_with_hash_bucket`)."""

    @property
    def name(self) -> str:
        return self.key

    @property
    def num_buckets(self) -> int:
        return self.hash_bucket_size

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        return {self.key: VarLenFeature(self.dtype)}

    def _ids(self, builder: _Builder) -> IdsAndWeights:
        def build() -> Any:
            sp = sparse_input(builder, self.key, self.name, self.dtype)
            v = sp.values
            if v.dtype != _dtypes.string:
                v = create_op("as_string", [v], name="as_string")
            ids = create_op("string_to_hash_bucket_fast", [v], {"num_buckets": int(self.hash_bucket_size)},
                            name="hash_bucket")
            return with_values(sp, ids), None
        return builder.cached((self, "ids"), build)


def categorical_column_with_hash_bucket(key: str, hash_bucket_size: int,
                                        dtype: Any = _dtypes.string) -> HashedCategoricalColumn:
    """Hashes string (or integer, via their decimal string) values into `hash_bucket_size` ids
    (`tf.feature_column.categorical_column_with_hash_bucket`).

    Raises:
      ValueError: hash_bucket_size < 1 or a dtype that is neither string nor integer.
    """
    check_key(key, "categorical_column_with_hash_bucket")
    if hash_bucket_size is None or int(hash_bucket_size) < 1:
        raise ValueError(f"hash_bucket_size must be at least 1. hash_bucket_size: {hash_bucket_size}, key: {key}")
    dt = _dtypes.as_dtype(dtype)
    if not (dt == _dtypes.string or dt.is_integer):
        raise ValueError(f"dtype must be string or integer. dtype: {dt.name}, column_name: {key}")
    return HashedCategoricalColumn(key, int(hash_bucket_size), dt)


class CrossedColumn(CategoricalColumn, collections.namedtuple("CrossedColumn",
                                                              ["keys", "hash_bucket_size", "hash_key"])):
    """Hashed Cartesian product of several categorical features (see `crossed_column`)."""

    @property
    def name(self) -> str:
        return "_X_".join(sorted(k if isinstance(k, str) else k.name for k in self.keys))

    @property
    def num_buckets(self) -> int:
        return self.hash_bucket_size

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        spec: Dict[str, Any] = {}
        for k in self.keys:
            if isinstance(k, str):
                spec[k] = VarLenFeature(_dtypes.string)
            else:
                spec.update(k.parse_example_spec)
        return spec

    def _leaves(self) -> list:
        out = []
        for k in self.keys:
            out.extend(k._leaves() if isinstance(k, CrossedColumn) else [k])
        return out

    def _ids(self, builder: _Builder) -> IdsAndWeights:
        def build() -> Any:
            from ..ops import feature_ops
            inputs = []
            for k in self._leaves():
                if isinstance(k, str):
                    # Raw features cross as given: a dense one counts every entry ('' too), as TF.
                    x = builder.raw(k, self.name)
                    if not isinstance(x, SparseTensor):
                        x = _flatten_2d(_at_least_2d(x, k, self.name))
                    inputs.append(x)
                else:
                    sp, _ = k._ids(builder)
                    inputs.append(sp)
            for i, x in enumerate(inputs):
                v = x.values if isinstance(x, SparseTensor) else x
                if v.dtype.is_integer and v.dtype != _dtypes.int64:
                    if isinstance(x, SparseTensor):
                        inputs[i] = SparseTensor(x.indices, core_ops.cast(v, _dtypes.int64), x.dense_shape)
                    else:
                        inputs[i] = core_ops.cast(x, _dtypes.int64)
            # SparseTensors are crossed first and dense inputs after them, as TensorFlow does.
            return feature_ops.sparse_cross_hashed(
                inputs, num_buckets=int(self.hash_bucket_size),
                hash_key=int(self.hash_key if self.hash_key is not None else _DEFAULT_HASH_KEY),
                name="sparse_cross"), None
        return builder.cached((self, "ids"), build)


def crossed_column(keys: Sequence[Any], hash_bucket_size: int, hash_key: Optional[int] = None) -> CrossedColumn:
    """Crosses categorical features: per example the hashed Cartesian product of their values
    (`tf.feature_column.crossed_column`).

    Args:
      keys: at least two feature names (string or integer features) or categorical columns
        (not hash-bucket columns: cross the raw feature instead).
      hash_bucket_size: number of ids.
      hash_key: the hash seed (TensorFlow's default 0xDECAFCAFFE when None).

    Raises:
      ValueError: fewer than two keys, a bad key or hash_bucket_size < 1.
    """
    if hash_bucket_size is None or int(hash_bucket_size) < 1:
        raise ValueError(f"hash_bucket_size must be > 1. hash_bucket_size: {hash_bucket_size}")
    keys = tuple(keys) if keys is not None else ()
    if len(keys) < 2:
        raise ValueError(f"keys must be a list with length > 1. Given: {keys}")
    for k in keys:
        if not isinstance(k, (str, CategoricalColumn)):
            raise ValueError(f"Unsupported key type. All keys must be either string, or categorical column "
                             f"except HashedCategoricalColumn. Given: {k}")
        if isinstance(k, HashedCategoricalColumn):
            raise ValueError("categorical_column_with_hash_bucket is not supported for crossing. Hashing before "
                             f"crossing will increase probability of collision. Instead, use the feature name "
                             f"as a key. Given: {k}")
    return CrossedColumn(keys, int(hash_bucket_size), hash_key)


class WeightedCategoricalColumn(CategoricalColumn, collections.namedtuple(
        "WeightedCategoricalColumn", ["categorical_column", "weight_feature_key", "dtype"])):
    """A categorical column whose ids carry weights from another feature."""

    @property
    def name(self) -> str:
        return f"{self.categorical_column.name}_weighted_by_{self.weight_feature_key}"

    @property
    def num_buckets(self) -> int:
        return self.categorical_column.num_buckets

    @property
    def parse_example_spec(self) -> Dict[str, Any]:
        spec = dict(self.categorical_column.parse_example_spec)
        if self.weight_feature_key in spec:
            raise ValueError(f"Parse config {spec[self.weight_feature_key]} already exists for "
                             f"{self.weight_feature_key}.")
        spec[self.weight_feature_key] = VarLenFeature(self.dtype)
        return spec

    def _ids(self, builder: _Builder) -> IdsAndWeights:
        def build() -> Any:
            ids, _ = self.categorical_column._ids(builder)
            w = builder.raw(self.weight_feature_key, self.name)
            if w.dtype == _dtypes.string:
                raise ValueError(f"Weight feature '{self.weight_feature_key}' of column '{self.name}' must be "
                                 f"numeric, got string")
            from ..framework.sparse_tensor import SparseTensor
            if isinstance(w, SparseTensor):
                vals = w.values
            else:
                # Dense weights: take the entries at the ids' positions.
                w2 = _flatten_2d(_at_least_2d(w, self.weight_feature_key, self.name))
                ncols = core_ops.cast(core_ops.shape(w2)[1], _dtypes.int64)
                rows = sparse_ops.gather(ids.indices, 0, axis=1)
                cols = sparse_ops.gather(ids.indices, 1, axis=1)
                flat = create_op("add", [create_op("multiply", [rows, ncols]), cols])
                vals = sparse_ops.gather(core_ops.reshape(w2, [-1]), flat, name="weights")
            if vals.dtype != _dtypes.float32:
                vals = core_ops.cast(vals, _dtypes.float32)
            return ids, with_values(ids, vals)
        return builder.cached((self, "ids"), build)


def weighted_categorical_column(categorical_column: CategoricalColumn, weight_feature_key: str,
                                dtype: Any = _dtypes.float32) -> WeightedCategoricalColumn:
    """Gives each id of `categorical_column` the weight from feature `weight_feature_key`
    (`tf.feature_column.weighted_categorical_column`).

    Raises:
      ValueError: a non-categorical column or a non-float dtype.
    """
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(f"categorical_column must be a CategoricalColumn, given: {categorical_column}")
    check_key(weight_feature_key, "weighted_categorical_column")
    dt = _dtypes.as_dtype(dtype)
    if not dt.is_floating:
        raise ValueError(f"dtype {dt.name} is not convertible to float.")
    return WeightedCategoricalColumn(categorical_column, weight_feature_key, dt)
