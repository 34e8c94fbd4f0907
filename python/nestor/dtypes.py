"""Element types: `nestor.float32` and friends, mirroring `tf.dtypes`."""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from . import _native


class DType:
    """An element type of a tensor (`nestor.float32`, ...)."""

    __slots__ = ("_native", "name", "_np")

    def __init__(self, native: Any, name: str, np_type: Any):
        self._native = native
        self.name = name
        self._np = np_type

    @property
    def as_numpy_dtype(self) -> Any:
        return self._np

    @property
    def is_floating(self) -> bool:
        return self.name in ("float32", "float64")

    @property
    def is_integer(self) -> bool:
        return self.name in ("int32", "int64")

    @property
    def is_bool(self) -> bool:
        return self.name == "bool"

    @property
    def base_dtype(self) -> "DType":
        return self

    @property
    def real_dtype(self) -> "DType":
        return self

    @property
    def size(self) -> int:
        return np.dtype(self._np).itemsize if self.name != "string" else 0

    @property
    def min(self) -> Any:
        return np.finfo(self._np).min if self.is_floating else np.iinfo(self._np).min

    @property
    def max(self) -> Any:
        return np.finfo(self._np).max if self.is_floating else np.iinfo(self._np).max

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __eq__(self, other: object) -> bool:
        try:
            return self is as_dtype(other)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.name)


float32 = DType(_native.DType.float32, "float32", np.float32)
float64 = DType(_native.DType.float64, "float64", np.float64)
int32 = DType(_native.DType.int32, "int32", np.int32)
int64 = DType(_native.DType.int64, "int64", np.int64)
bool = DType(_native.DType.bool, "bool", np.bool_)  # noqa: A001 - TensorFlow's name
string = DType(_native.DType.string, "string", np.object_)
float = float32  # noqa: A001
double = float64

_ALL = (float32, float64, int32, int64, bool, string)
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"float": float32, "double": float64, "str": string, "object": string})
_BY_NATIVE = {d._native: d for d in _ALL}


def as_dtype(value: Any) -> DType:
    """Converts a `DType`, name, numpy dtype or Python type to a `DType`.

    Raises:
      TypeError: if `value` names no supported type.
    """
    if isinstance(value, DType):
        return value
    if isinstance(value, _native.DType):
        return _BY_NATIVE[value]
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    if value is builtins.float:
        return float32
    if value is builtins.int:
        return int32
    if value is builtins.bool:
        return bool
    if value is builtins.str or value is bytes:
        return string
    try:
        npd = np.dtype(value)
    except TypeError:
        raise TypeError(f"Cannot convert {value!r} to a nestor DType") from None
    if npd.kind in ("U", "S", "O"):
        return string
    name = npd.name
    if name in _BY_NAME:
        return _BY_NAME[name]
    raise TypeError(f"Unsupported dtype {value!r}: nestor has float32, float64, int32, int64, bool and string")
