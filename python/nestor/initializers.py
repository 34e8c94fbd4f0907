"""Variable initializers (TF1's `tf.zeros_initializer`, `tf.glorot_uniform_initializer`, ...).

An initializer is called as `init(shape, dtype=None, partition_info=None)` and returns a
graph Tensor holding the initial value; random ones draw new values on every run of
that tensor, reproducibly for a fixed graph seed / op seed.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from . import dtypes as _dtypes
from .framework.graph import Tensor, TensorShape
from .ops.random_ops import _const

__all__ = ["Initializer", "zeros_initializer", "ones_initializer", "constant_initializer",
           "random_normal_initializer", "truncated_normal_initializer", "random_uniform_initializer",
           "variance_scaling_initializer", "glorot_uniform_initializer", "glorot_normal_initializer",
           "he_normal", "he_uniform", "lecun_normal", "lecun_uniform"]

# stddev of a standard normal truncated to [-2, 2]: scales truncated samples to unit variance.
_TRUNCATED_STDDEV = 0.87962566103423978


def _shape_list(shape: Any) -> list:
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    if isinstance(shape, (int, np.integer)):
        shape = [int(shape)]
    out = [int(d) for d in shape]
    if any(d < 0 for d in out):
        raise ValueError(f"Initializer shape must be non-negative, got {out}")
    return out


def _compute_fans(shape: Sequence[int]) -> Tuple[float, float]:
    """(fan_in, fan_out) as TensorFlow: vectors use their length, matrices (in, out),
    convolution kernels (..., in, out) multiply by the receptive field size."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = float(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement `__call__(shape, dtype=None, partition_info=None)`."""

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement __call__")

    def get_config(self) -> Dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Initializer":
        return cls(**config)

    def _dtype(self, dtype: Any) -> _dtypes.DType:
        return _dtypes.as_dtype(dtype if dtype is not None else getattr(self, "dtype", _dtypes.float32))


def _float(dt: _dtypes.DType, who: str) -> _dtypes.DType:
    if not dt.is_floating:
        raise ValueError(f"Expected floating point type for {who}, got {dt.name}")
    return dt


class zeros_initializer(Initializer):  # noqa: N801  (TF's name)
    """Initializes to 0."""

    def __init__(self, dtype: Any = _dtypes.float32):
        self.dtype = _dtypes.as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dt = self._dtype(dtype)
        return _const(np.zeros(_shape_list(shape), dtype=dt.as_numpy_dtype), dt, "zeros")

    def get_config(self) -> Dict[str, Any]:
        return {"dtype": self.dtype.name}


class ones_initializer(Initializer):  # noqa: N801
    """Initializes to 1."""

    def __init__(self, dtype: Any = _dtypes.float32):
        self.dtype = _dtypes.as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dt = self._dtype(dtype)
        return _const(np.ones(_shape_list(shape), dtype=dt.as_numpy_dtype), dt, "ones")

    def get_config(self) -> Dict[str, Any]:
        return {"dtype": self.dtype.name}


class constant_initializer(Initializer):  # noqa: N801
    """Initializes to `value`: a scalar (broadcast), or a list/array whose elements fill the
    tensor in row-major order, the last one repeated when it has fewer elements than the
    shape (TF1 behaviour; with verify_shape=True its shape must match exactly).

    Raises (on call):
      ValueError: more elements than the shape holds, or a shape mismatch with verify_shape.
    """

    def __init__(self, value: Any = 0, dtype: Any = _dtypes.float32, verify_shape: bool = False):
        if isinstance(value, Tensor):
            raise TypeError("constant_initializer needs a Python value or numpy array, not a Tensor")
        self.value = value
        self.dtype = _dtypes.as_dtype(dtype)
        self._verify_shape = verify_shape

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None,
                 verify_shape: Optional[bool] = None) -> Tensor:
        dt = self._dtype(dtype)
        shp = _shape_list(shape)
        arr = np.asarray(self.value)
        verify = self._verify_shape if verify_shape is None else verify_shape
        n = int(np.prod(shp))
        if verify and list(arr.shape) != shp and arr.size != 1:
            raise TypeError(f"Expected Tensor's shape: {tuple(shp)}, got {arr.shape}.")
        if arr.size == 1:
            out = np.full(shp, arr.reshape(()), dtype=dt.as_numpy_dtype)
        elif arr.size > n:
            raise ValueError(f"Too many elements provided. Needed at most {n}, but received {arr.size}")
        else:
            flat = arr.reshape(-1).astype(dt.as_numpy_dtype)
            if flat.size < n:
                flat = np.concatenate([flat, np.full(n - flat.size, flat[-1], dtype=flat.dtype)])
            out = flat.reshape(shp)
        return _const(out, dt, "Const")

    def get_config(self) -> Dict[str, Any]:
        return {"value": self.value, "dtype": self.dtype.name, "verify_shape": self._verify_shape}


class random_uniform_initializer(Initializer):  # noqa: N801
    """Uniform values in [minval, maxval); maxval defaults to 1 for floats."""

    def __init__(self, minval: Any = 0, maxval: Any = None, seed: Optional[int] = None,
                 dtype: Any = _dtypes.float32):
        self.minval, self.maxval, self.seed = minval, maxval, seed
        self.dtype = _dtypes.as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        from .ops import random_ops
        dt = self._dtype(dtype)
        maxval = self.maxval if self.maxval is not None or dt.is_integer else 1.0
        return random_ops.random_uniform(_shape_list(shape), self.minval, maxval, dt, seed=self.seed)

    def get_config(self) -> Dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed, "dtype": self.dtype.name}


class random_normal_initializer(Initializer):  # noqa: N801
    """Normal values N(mean, stddev**2)."""

    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: Optional[int] = None,
                 dtype: Any = _dtypes.float32):
        self.mean, self.stddev, self.seed = mean, stddev, seed
        self.dtype = _float(_dtypes.as_dtype(dtype), "random_normal_initializer")

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        from .ops import random_ops
        dt = _float(self._dtype(dtype), "random_normal_initializer")
        return random_ops.random_normal(_shape_list(shape), self.mean, self.stddev, dt, seed=self.seed)

    def get_config(self) -> Dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed, "dtype": self.dtype.name}


class truncated_normal_initializer(random_normal_initializer):  # noqa: N801
    """Normal values N(mean, stddev**2), redrawn when more than 2 stddev from the mean."""

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        from .ops import random_ops
        dt = _float(self._dtype(dtype), "truncated_normal_initializer")
        return random_ops.truncated_normal(_shape_list(shape), self.mean, self.stddev, dt, seed=self.seed)


class variance_scaling_initializer(Initializer):  # noqa: N801
    """Samples with variance scale / n, n = fan_in, fan_out or their mean (`mode`).

    distribution: "truncated_normal" (or its alias "normal"): a normal truncated at 2 stddev,
    rescaled by 1/0.8796 so the variance is exactly scale / n; "untruncated_normal"; or
    "uniform" in [-sqrt(3 scale / n), sqrt(3 scale / n)].
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: Optional[int] = None, dtype: Any = _dtypes.float32):
        if scale <= 0.0:
            raise ValueError(f"`scale` must be a positive float, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode!r} (expected fan_in, fan_out or fan_avg)")
        distribution = distribution.lower()
        if distribution not in ("normal", "uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed
        self.dtype = _float(_dtypes.as_dtype(dtype), "variance_scaling_initializer")

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        from .ops import random_ops
        dt = _float(self._dtype(dtype), type(self).__name__)
        shp = _shape_list(shape)
        fan_in, fan_out = _compute_fans(shp)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution in ("normal", "truncated_normal"):
            return random_ops.truncated_normal(shp, 0.0, math.sqrt(scale) / _TRUNCATED_STDDEV, dt, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(shp, 0.0, math.sqrt(scale), dt, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_ops.random_uniform(shp, -limit, limit, dt, seed=self.seed)

    def get_config(self) -> Dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "dtype": self.dtype.name}


class glorot_uniform_initializer(variance_scaling_initializer):  # noqa: N801
    """Glorot/Xavier uniform: limit sqrt(6 / (fan_in + fan_out))."""

    def __init__(self, seed: Optional[int] = None, dtype: Any = _dtypes.float32):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"seed": self.seed, "dtype": self.dtype.name}


class glorot_normal_initializer(variance_scaling_initializer):  # noqa: N801
    """Glorot/Xavier normal: truncated normal of variance 2 / (fan_in + fan_out)."""

    def __init__(self, seed: Optional[int] = None, dtype: Any = _dtypes.float32):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)

    def get_config(self) -> Dict[str, Any]:
        return {"seed": self.seed, "dtype": self.dtype.name}


def he_normal(seed: Optional[int] = None) -> variance_scaling_initializer:
    """He normal: truncated normal of variance 2 / fan_in."""
    return variance_scaling_initializer(2.0, "fan_in", "truncated_normal", seed)


def he_uniform(seed: Optional[int] = None) -> variance_scaling_initializer:
    """He uniform: limit sqrt(6 / fan_in)."""
    return variance_scaling_initializer(2.0, "fan_in", "uniform", seed)


def lecun_normal(seed: Optional[int] = None) -> variance_scaling_initializer:
    """LeCun normal: truncated normal of variance 1 / fan_in."""
    return variance_scaling_initializer(1.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed: Optional[int] = None) -> variance_scaling_initializer:
    """LeCun uniform: limit sqrt(3 / fan_in)."""
    return variance_scaling_initializer(1.0, "fan_in", "uniform", seed)


# TF1 aliases of the classes.
zeros = zeros_initializer
ones = ones_initializer
constant = constant_initializer
random_uniform = random_uniform_initializer
random_normal = random_normal_initializer
truncated_normal = truncated_normal_initializer
variance_scaling = variance_scaling_initializer
glorot_uniform = glorot_uniform_initializer
glorot_normal = glorot_normal_initializer
