"""Parsing serialized `tf.train.Example` protos (`tf.io.parse_example`, `tf.io.parse_single_example`).

One `parse_example` graph node parses every key of a spec in one pass over each serialized
Example (cpp/src/ops/parse_example.cc), so exports that take serialized Examples run in the
C++ runtime without Python.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from .. import dtypes as _dtypes
from ..feature_column.parse_spec import FixedLenFeature, VarLenFeature
from ..framework.graph import Tensor, TensorShape, convert_to_tensor, create_op, name_scope
from ..framework.sparse_tensor import SparseTensor

__all__ = ["parse_example", "parse_single_example"]

_SUPPORTED = (_dtypes.float32, _dtypes.int64, _dtypes.string)


def _check_dtype(key: str, dtype: _dtypes.DType) -> None:
    if dtype not in _SUPPORTED:
        raise ValueError(f"Feature '{key}': parsing supports dtypes float32, int64 and string, got {dtype.name}")


def _dense_shape(key: str, f: FixedLenFeature) -> List[int]:
    shape = f.shape
    if isinstance(shape, int):
        shape = [shape]
    dims = TensorShape(shape).as_list() if not isinstance(shape, TensorShape) else shape.as_list()
    if dims is None or any(d is None or d < 0 for d in dims):
        raise ValueError(f"First dimension of shape for feature {key} unknown. Consider using "
                         f"FixedLenSequenceFeature. Received feature={f}.")
    return [int(d) for d in dims]


def _default(key: str, f: FixedLenFeature, dims: List[int]) -> Tensor:
    """The default as a constant of exactly prod(dims) elements, or an empty one (required)."""
    from . import core_ops
    n = int(np.prod(dims, dtype=np.int64))
    if f.default_value is None:
        arr = np.zeros([0], dtype=object if f.dtype == _dtypes.string else f.dtype.as_numpy_dtype)
    elif f.dtype == _dtypes.string:
        arr = np.asarray(f.default_value, dtype=object).reshape(-1)
        arr = np.array([v.encode() if isinstance(v, str) else v for v in arr], dtype=object)
        if any(not isinstance(v, bytes) for v in arr):
            raise ValueError(f"Feature '{key}': a string default_value must hold strings, got {f.default_value!r}")
    else:
        try:
            arr = np.asarray(f.default_value, dtype=f.dtype.as_numpy_dtype).reshape(-1)
        except (TypeError, ValueError) as e:
            raise ValueError(f"Feature '{key}': default_value {f.default_value!r} is not {f.dtype.name} "
                             f"({e})") from None
    if f.default_value is not None and arr.size != n:
        raise ValueError(f"Feature '{key}': default_value has {arr.size} values, but shape {dims} needs {n} "
                         "(it is reshaped to the shape, as in TensorFlow)")
    return core_ops.constant(arr, dtype=f.dtype, name="default_value")


def _split_spec(features: Dict[str, Any]) -> Tuple[List[str], List[str]]:
    if not isinstance(features, dict) or not features:
        raise ValueError(f"features must be a non-empty dict of key -> FixedLenFeature/VarLenFeature, "
                         f"got {features!r}")
    dense, sparse = [], []
    for key, f in features.items():
        if not isinstance(key, str):
            raise ValueError(f"feature keys must be strings, got {key!r}")
        if isinstance(f, FixedLenFeature):
            dense.append(key)
        elif isinstance(f, VarLenFeature):
            sparse.append(key)
        else:
            raise ValueError(f"Unsupported feature type for key '{key}': {f!r} (use FixedLenFeature or "
                             "VarLenFeature)")
        _check_dtype(key, f.dtype)
    return sorted(dense), sorted(sparse)


def _parse(serialized: Any, features: Dict[str, Any], name: Optional[str], example_names: Any,
           want_rank: int) -> Dict[str, Union[Tensor, SparseTensor]]:
    dense, sparse = _split_spec(features)
    with name_scope(name or ("ParseExample" if want_rank == 1 else "ParseSingleExample")):
        ser = convert_to_tensor(serialized, dtype=_dtypes.string, name="serialized")
        rank = ser.shape.rank
        if rank is not None and rank != want_rank:
            what = "a vector (one serialized Example per row)" if want_rank == 1 else "a scalar (one Example)"
            raise ValueError(f"serialized must be {what}, got shape {ser.shape}")
        inputs = [ser]
        if example_names is not None:
            inputs.append(convert_to_tensor(example_names, dtype=_dtypes.string, name="example_names"))
        ranks, dims = [], []
        for key in dense:
            d = _dense_shape(key, features[key])
            ranks.append(len(d))
            dims += d
            inputs.append(_default(key, features[key], d))
        out = create_op("parse_example", inputs, {
            "dense_keys": dense, "dense_ranks": ranks, "dense_dims": dims, "sparse_keys": sparse,
            "sparse_types": [features[k].dtype.name for k in sparse], "has_names": example_names is not None},
            name="ParseExample")
    out = out if isinstance(out, list) else [out]
    ns = len(sparse)
    result: Dict[str, Union[Tensor, SparseTensor]] = {}
    for j, key in enumerate(sparse):
        result[key] = SparseTensor(out[j], out[ns + j], out[2 * ns + j])
    for i, key in enumerate(dense):
        result[key] = out[3 * ns + i]
    return result


def parse_example(serialized: Any, features: Dict[str, Any], name: Optional[str] = None,
                  example_names: Any = None) -> Dict[str, Union[Tensor, SparseTensor]]:
    """Parses a batch of serialized `tf.train.Example` protos (`tf.io.parse_example`, TF1 argument order).

    Args:
      serialized: string vector [batch] of serialized Examples.
      features: dict of feature key -> `FixedLenFeature` (dense: float32, int64 or string values of
        `shape`, `default_value` used when the key is missing) or `VarLenFeature` (a SparseTensor).
      name: name scope of the op.
      example_names: optional string vector [batch] naming the examples in error messages.

    Returns:
      dict of key -> Tensor of shape [batch] + shape (FixedLenFeature), or SparseTensor with
      indices int64 [n, 2], values [n] and dense_shape [batch, max values in one example].

    Raises:
      ValueError: a bad spec (unsupported dtype, unknown shape, default_value of the wrong size).
      InvalidArgumentError (when run): a malformed Example, a missing feature without default, a
        wrong number of values, or values of another type than the spec's; the message names the
        example and the key.
    """
    return _parse(serialized, features, name, example_names, 1)


def parse_single_example(serialized: Any, features: Dict[str, Any], name: Optional[str] = None,
                         example_names: Any = None) -> Dict[str, Union[Tensor, SparseTensor]]:
    """Parses one serialized `tf.train.Example` (`tf.io.parse_single_example`): as `parse_example`
    on a scalar, without the batch dimension (dense Tensors of `shape`, SparseTensors of rank 1)."""
    return _parse(serialized, features, name, example_names, 0)
