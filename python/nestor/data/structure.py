"""Element structures and specs for `nestor.data`.

An element is a (possibly nested) tuple, namedtuple or dict of leaves; a list is one leaf
(converted to an array), as in `tf.data`. Leaves are numpy values following nestor's dtype
rules: numpy arrays keep their dtype (float64 stays float64), Python floats become float32,
Python ints int32 (int64 if they don't fit), strings become object arrays.
"""
from __future__ import annotations

from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, TensorShape, as_shape


class TensorSpec:
    """The type of one leaf of an element (`tf.TensorSpec`): shape and dtype."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape: Any, dtype: Any = _dtypes.float32, name: Optional[str] = None):
        self.shape = as_shape(shape)
        self.dtype = _dtypes.as_dtype(dtype)
        self.name = name

    def is_compatible_with(self, value: Any) -> bool:
        if isinstance(value, TensorSpec):
            return self.dtype == value.dtype and self.shape.is_compatible_with(value.shape)
        arr = np.asarray(value)
        return _dtypes.as_dtype(arr.dtype) == self.dtype and self.shape.is_compatible_with(arr.shape)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TensorSpec) and self.dtype == other.dtype
                and _dims(self.shape) == _dims(other.shape))

    def __hash__(self) -> int:
        return hash((self.dtype.name, self.shape.rank))

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype!r}, name={self.name!r})"


def _dims(shape: TensorShape) -> Any:
    return None if shape.rank is None else tuple(shape.as_list())


# ---------------------------------------------------------------- nest helpers
def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def flatten(structure: Any) -> List[Any]:
    """The leaves of `structure` in a fixed order (dicts in key insertion order)."""
    out: List[Any] = []
    _flatten_into(structure, out)
    return out


def _flatten_into(s: Any, out: List[Any]) -> None:
    if isinstance(s, dict):
        for k in s:
            _flatten_into(s[k], out)
    elif isinstance(s, tuple):
        for v in s:
            _flatten_into(v, out)
    else:
        out.append(s)


def pack_as(template: Any, leaves: Sequence[Any]) -> Any:
    """Rebuilds `template`'s structure with `leaves` (the inverse of `flatten`)."""
    it = iter(leaves)
    return _pack(template, it)


def _pack(t: Any, it: Iterator[Any]) -> Any:
    if isinstance(t, dict):
        out = type(t)() if type(t) is not dict else {}
        for k in t:
            out[k] = _pack(t[k], it)
        return out
    if _is_namedtuple(t):
        return type(t)(*[_pack(v, it) for v in t])
    if isinstance(t, tuple):
        return tuple(_pack(v, it) for v in t)
    return next(it)


def map_structure(fn: Any, structure: Any) -> Any:
    return pack_as(structure, [fn(x) for x in flatten(structure)])


def assert_same_structure(a: Any, b: Any, what: str) -> None:
    if _signature(a) != _signature(b):
        raise ValueError(f"{what}: the structures don't match: {_describe(a)} vs {_describe(b)}")


def _signature(s: Any) -> Any:
    if isinstance(s, dict):
        return ("dict", tuple((k, _signature(v)) for k, v in s.items()))
    if isinstance(s, tuple):
        return ("tuple", tuple(_signature(v) for v in s))
    return "leaf"


def _describe(s: Any) -> str:
    return str(map_structure(lambda _: "*", s))


# ---------------------------------------------------------------- values
_NARROW_INT = (np.int8, np.int16, np.uint8, np.uint16)


def to_array(value: Any, dtype: Optional[_dtypes.DType] = None, what: str = "value") -> np.ndarray:
    """Converts one leaf to a numpy array with nestor's dtype rules (or to `dtype`)."""
    if isinstance(value, Tensor):
        raise TypeError(
            f"nestor.data works on numpy values, but the {what} is the graph tensor {value.name}. Pass numpy "
            "arrays or Python values (a Dataset is built from data, not from graph ops), or compute the values "
            "with numpy first.")
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):  # pandas Series / Index
        value = value.to_numpy()
    if not isinstance(value, np.ndarray) and hasattr(type(value), "__dlpack_device__"):
        kind = value.__dlpack_device__()[0]
        if kind not in (1, 3):  # DLPack's kDLCPU and kDLCUDAHost: memory numpy can read
            raise TypeError(
                f"nestor.data works on host arrays, but the {what} is a {type(value).__module__}."
                f"{type(value).__name__} in device memory (DLPack device type {kind}). To train on device arrays "
                "without a copy, return them from the input_fn directly as (features, labels); or copy them to the "
                "host first (cupy.asnumpy(a), tensor.cpu()).")
    if dtype is not None:
        if dtype is _dtypes.string:
            arr = np.asarray(value)
            return arr if arr.dtype == object else arr.astype(object)
        arr = np.asarray(value)
        if arr.dtype.kind in "OUS":
            raise TypeError(f"Expected {dtype.name} for the {what}, got {_short(value)} of dtype {arr.dtype}.")
        return arr if arr.dtype == dtype.as_numpy_dtype else arr.astype(dtype.as_numpy_dtype)
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
    else:
        arr = np.asarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        elif arr.dtype == np.int64 and (arr.size == 0 or (arr.max() <= 2**31 - 1 and arr.min() >= -2**31)):
            arr = arr.astype(np.int32)
    kind = arr.dtype.kind
    if kind in "US":
        return arr.astype(object)
    if kind == "O" or arr.dtype in (np.float32, np.float64, np.int32, np.int64, np.bool_):
        return arr
    if kind == "f":
        return arr.astype(np.float32)
    if arr.dtype in _NARROW_INT:
        return arr.astype(np.int32)
    if kind in "iu":
        return arr.astype(np.int64)
    raise TypeError(f"Unsupported {what} of dtype {arr.dtype}: nestor has float32, float64, int32, int64, bool "
                    "and string.")


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) < 60 else s[:57] + "..."


def normalize(value: Any, what: str = "value") -> Any:
    """Converts an element structure to (template, flat list of arrays).

    DataFrames become dicts of columns; lists are leaves (converted to one array).
    """
    value = _frames_to_dicts(value)
    leaves = flatten(value)
    return value, [to_array(v, what=what) for v in leaves]


def _frames_to_dicts(value: Any) -> Any:
    if _is_dataframe(value):
        return {str(k) if not isinstance(k, str) else k: value[k] for k in value.columns}
    if isinstance(value, dict):
        out = type(value)() if type(value) is not dict else {}
        for k, v in value.items():
            out[k] = _frames_to_dicts(v)
        return out
    if _is_namedtuple(value):
        return type(value)(*[_frames_to_dicts(v) for v in value])
    if isinstance(value, tuple):
        return tuple(_frames_to_dicts(v) for v in value)
    return value


def _is_dataframe(v: Any) -> bool:
    return type(v).__name__ == "DataFrame" and hasattr(v, "columns") and hasattr(v, "to_numpy")


def spec_of(arr: np.ndarray, batch_dims: int = 0) -> TensorSpec:
    """The spec of a column array whose first `batch_dims` axes are element axes."""
    dt = _dtypes.string if arr.dtype == object else _dtypes.as_dtype(arr.dtype)
    return TensorSpec(TensorShape(list(arr.shape[batch_dims:])), dt)


def specs_structure(template: Any, specs: Sequence[TensorSpec]) -> Any:
    return pack_as(template, list(specs))


def leaf_specs(spec_structure: Any) -> List[TensorSpec]:
    return flatten(spec_structure)


def spec_from_types(template: Any, types: Any, shapes: Any) -> Tuple[Any, List[TensorSpec]]:
    """Builds specs from `output_types` / `output_shapes` (structures or single values)."""
    tl = flatten(types)
    if shapes is None:
        sl: List[Any] = [None] * len(tl)
    else:
        sl = [None] * len(tl) if shapes is None else _flatten_shapes(shapes, types)
    if len(sl) != len(tl):
        raise ValueError(f"`output_shapes` {shapes!r} doesn't match the structure of `output_types` {types!r}.")
    return types, [TensorSpec(TensorShape(s) if s is not None else TensorShape(None), t) for s, t in zip(sl, tl)]


def _flatten_shapes(shapes: Any, types: Any) -> List[Any]:
    # A shape is a TensorShape, a list of dims, or a tuple of ints/None (a tuple of tuples is a structure).
    if isinstance(types, dict):
        return [x for k in types for x in _flatten_shapes(shapes[k], types[k])]
    if isinstance(types, tuple):
        if len(shapes) != len(types):
            raise ValueError(f"`output_shapes` {shapes!r} doesn't match `output_types` {types!r}.")
        return [x for s, t in zip(shapes, types) for x in _flatten_shapes(s, t)]
    return [shapes]
