"""Constants, placeholders and graph plumbing (`tf.constant`, `tf.placeholder`, `tf.group`, ...)."""
from __future__ import annotations

import numbers
from typing import Any, List, Optional, Sequence

import numpy as np

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.graph import Operation, Tensor, TensorShape, as_shape, convert_to_tensor, create_op

__all__ = ["constant", "placeholder", "placeholder_with_default", "identity", "stop_gradient", "no_op",
           "group", "tuple_", "shape", "shape_n", "size", "rank", "reshape", "zeros_like", "ones_like", "cast",
           "to_float", "to_int32", "to_int64", "to_double", "indexed_slices_to_dense"]


def _python_to_numpy(value: Any, dtype: Optional[_dtypes.DType]) -> np.ndarray:
    if dtype is not None:
        if dtype is _dtypes.string:
            return np.asarray(value, dtype=object)
        arr = np.asarray(value)
        if arr.dtype.kind in "OUS":
            raise TypeError(f"Expected {dtype.name}, got {value!r} of type '{type(value).__name__}' instead.")
        if dtype.is_integer and arr.dtype.kind == "f" and not np.all(np.equal(np.mod(arr, 1), 0)):
            raise TypeError(f"Expected {dtype.name}, got {value!r} of type '{type(value).__name__}' instead.")
        return arr.astype(dtype.as_numpy_dtype)
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
    else:
        arr = np.asarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        elif arr.dtype == np.int64 and (arr.size == 0 or (arr.max() <= 2**31 - 1 and arr.min() >= -2**31)):
            arr = arr.astype(np.int32)
    if arr.dtype.kind in "US":
        arr = arr.astype(object)
    if arr.dtype.kind == "O":
        return arr
    if arr.dtype not in (np.float32, np.float64, np.int32, np.int64, np.bool_):
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64 if arr.dtype.itemsize > 4 else np.int32)
        else:
            raise TypeError(f"Unsupported value of dtype {arr.dtype} for a constant")
    return arr


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str = "Const",
             verify_shape: bool = False, _hint: Any = None) -> Tensor:
    """Creates a constant tensor (`tf.constant`).

    Args:
      value: a Python value or numpy array; a scalar is broadcast to `shape` if given.
      dtype: the element type; inferred if None (Python float -> float32, int -> int32).
      shape: optional shape of the result.
      name: the op name.
    """
    dt = _dtypes.as_dtype(dtype) if dtype is not None else None
    if dt is None and _hint is not None:
        hint = _dtypes.as_dtype(_hint)
        arr0 = np.asarray(value) if not isinstance(value, np.ndarray) else value
        if not isinstance(value, (np.ndarray, np.generic)) and arr0.dtype.kind in "biuf":
            if hint.is_floating or (hint.is_integer and arr0.dtype.kind in "iu") or \
               (hint.is_integer and arr0.dtype.kind == "f" and np.all(np.mod(arr0, 1) == 0)):
                dt = hint
    arr = _python_to_numpy(value, dt)
    if shape is not None:
        shp = [int(d) for d in as_shape(shape).as_list()]
        if arr.size == 1:
            arr = np.broadcast_to(arr.reshape(()), shp).copy()
        elif arr.size == int(np.prod(shp)) and not verify_shape:
            arr = arr.reshape(shp)
        else:
            raise TypeError(f"Expected Tensor's shape: {tuple(shp)}, got {arr.shape}.")
    arr = np.array(arr, order="C", copy=True) if arr.dtype != object else arr
    out_dt = _dtypes.as_dtype(arr.dtype) if arr.dtype != object else _dtypes.string
    return create_op("const", [], {"value": arr, "dtype": out_dt}, name=name)


def placeholder(dtype: Any, shape: Any = None, name: Optional[str] = None) -> Tensor:
    """A value fed at run time (`tf.compat.v1.placeholder`). `shape=None` accepts any shape."""
    attrs = {"dtype": _dtypes.as_dtype(dtype)}
    if shape is not None:
        attrs["shape"] = as_shape(shape)
    return create_op("placeholder", [], attrs, name=name or "Placeholder")


def placeholder_with_default(input: Any, shape: Any, name: Optional[str] = None) -> Tensor:  # noqa: A002
    """A placeholder that yields `input` when not fed."""
    return create_op("placeholder_with_default", [input], {"shape": as_shape(shape)},
                     name=name or "PlaceholderWithDefault")


def identity(input: Any, name: Optional[str] = None) -> Tensor:  # noqa: A002
    if isinstance(input, _g.IndexedSlices):
        return input
    return create_op("identity", [input], name=name or "Identity")


def stop_gradient(input: Any, name: Optional[str] = None) -> Tensor:  # noqa: A002
    """Passes `input` through; no gradient flows back through it."""
    return create_op("stop_gradient", [input], name=name or "StopGradient")


def no_op(name: Optional[str] = None) -> Operation:
    return create_op("no_op", [], name=name or "NoOp")


def group(*inputs: Any, name: Optional[str] = None) -> Operation:
    """An op that runs all `inputs` (ops or tensors) and produces nothing (`tf.group`)."""
    flat: List[Any] = []

    def add(x: Any) -> None:
        if x is None:
            return
        if isinstance(x, (list, tuple)):
            for y in x:
                add(y)
        elif isinstance(x, dict):
            for y in x.values():
                add(y)
        else:
            flat.append(x)

    add(inputs)
    g = _g.get_default_graph()
    ids = []
    for x in flat:
        ids.extend(_g._control_ids(x))
    op = g.create_op("no_op", [], name=name or "group_deps", control_inputs=ids)
    return op


def tuple_(tensors: Sequence[Any], name: Optional[str] = None, control_inputs: Any = None) -> List[Any]:
    """`tf.tuple`: each output waits for all inputs."""
    gate = group(*tensors, *(control_inputs or []))
    out = []
    with _g.control_dependencies([gate]):
        for t in tensors:
            out.append(identity(t) if t is not None else None)
    return out


def shape(input: Any, name: Optional[str] = None, out_type: Any = _dtypes.int32) -> Tensor:  # noqa: A002
    return create_op("shape", [input], {"out_type": _dtypes.as_dtype(out_type)}, name=name or "Shape")


def shape_n(inputs: Sequence[Any], out_type: Any = _dtypes.int32, name: Optional[str] = None) -> List[Tensor]:
    return [shape(x, out_type=out_type) for x in inputs]


def size(input: Any, name: Optional[str] = None, out_type: Any = _dtypes.int32) -> Tensor:  # noqa: A002
    from . import reduction_ops
    return reduction_ops.reduce_prod(shape(input, out_type=out_type), name=name or "Size")


def rank(input: Any, name: Optional[str] = None) -> Tensor:  # noqa: A002
    t = convert_to_tensor(input)
    if t.shape.rank is not None:
        return constant(t.shape.rank, dtype=_dtypes.int32, name=name or "Rank")
    return _rank_dynamic(t, name)


def _rank_dynamic(t: Tensor, name: Optional[str]) -> Tensor:
    s = shape(shape(t))
    return reshape(s, [], name=name or "Rank")


def reshape(tensor: Any, shape: Any, name: Optional[str] = None) -> Tensor:  # noqa: A002
    """Reshapes `tensor`; one dimension of `shape` may be -1 (`tf.reshape`)."""
    t = convert_to_tensor(tensor)
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    s = convert_to_tensor(shape, dtype_hint=_dtypes.int32)
    return create_op("reshape", [t, s], name=name or "Reshape")


def zeros_like(tensor: Any, dtype: Any = None, name: Optional[str] = None, optimize: bool = True) -> Tensor:
    t = convert_to_tensor(tensor)
    out = create_op("zeros_like", [t], name=name or "zeros_like")
    return cast(out, dtype) if dtype is not None else out


def ones_like(tensor: Any, dtype: Any = None, name: Optional[str] = None, optimize: bool = True) -> Tensor:
    t = convert_to_tensor(tensor)
    out = create_op("ones_like", [t], name=name or "ones_like")
    return cast(out, dtype) if dtype is not None else out


def cast(x: Any, dtype: Any, name: Optional[str] = None) -> Any:
    """Casts `x` to `dtype` (`tf.cast`); floats to ints truncate toward zero."""
    dt = _dtypes.as_dtype(dtype)
    if isinstance(x, _g.IndexedSlices):
        return _g.IndexedSlices(cast(x.values, dt), x.indices, x.dense_shape)
    if hasattr(x, "_sparse_cast"):
        return x._sparse_cast(dt)
    t = convert_to_tensor(x)
    if t.dtype == dt:
        return t
    return create_op("cast", [t], {"DstT": dt}, name=name or "Cast")


def to_float(x: Any, name: str = "ToFloat") -> Tensor:
    return cast(x, _dtypes.float32, name=name)


def to_double(x: Any, name: str = "ToDouble") -> Tensor:
    return cast(x, _dtypes.float64, name=name)


def to_int32(x: Any, name: str = "ToInt32") -> Tensor:
    return cast(x, _dtypes.int32, name=name)


def to_int64(x: Any, name: str = "ToInt64") -> Tensor:
    return cast(x, _dtypes.int64, name=name)


def indexed_slices_to_dense(s: _g.IndexedSlices, name: Optional[str] = None) -> Tensor:
    dense_shape = s.dense_shape if s.dense_shape is not None else shape(s.values)
    return create_op("indexed_slices_to_dense", [s.indices, s.values, dense_shape],
                     name=name or "IndexedSlicesToDense")
