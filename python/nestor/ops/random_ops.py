"""Seeded random tensors and dropout (`tf.random_uniform`, `tf.random_normal`, `tf.nn.dropout`, ...).

Seeds follow TF1: `tf.set_random_seed` sets the graph seed, `seed=` the op seed (see
`nestor.framework.graph.get_seed`). Every run of a random op draws new values; a fresh
session over the same graph with the same seeds reproduces them.
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.graph import Tensor, TensorShape, convert_to_tensor, create_op

__all__ = ["random_uniform", "random_normal", "truncated_normal"]
__nn__ = ["dropout"]


def _seeds(seed: Optional[int]) -> Tuple[int, int]:
    """(seed, seed2) attributes; (0, 0) means "not seeded" to the kernels."""
    s1, s2 = _g.get_seed(seed)
    if s1 is None and s2 is None:
        return 0, 0
    s1, s2 = int(s1 or 0), int(s2 or 0)
    if s1 == 0 and s2 == 0:  # an explicit seed of 0 must stay deterministic
        s2 = 2**31 - 1
    return s1, s2


def _shape_tensor(shape: Any) -> Tensor:
    if isinstance(shape, TensorShape):
        if not shape.is_fully_defined():
            raise ValueError(f"Shape {shape} must be fully defined for a random tensor")
        shape = shape.as_list()
    if isinstance(shape, (list, tuple)):
        if any(d is None for d in shape):
            raise ValueError(f"Shape {list(shape)} must be fully defined for a random tensor")
        shape = [int(d) for d in shape]
        return _const(shape, _dtypes.int32 if all(d < 2**31 for d in shape) else _dtypes.int64, "shape")
    return convert_to_tensor(shape, dtype_hint=_dtypes.int32)  # the op checks its dtype


def _op_names(name: Optional[str], default: str) -> Tuple[str, Any]:
    """(final, scope): `scope` opens `name/` for helper ops; the last op, created after
    leaving it with name `final`, is then `name:0` as in TF."""
    g = _g.get_default_graph()
    full = g.unique_name(name or default, mark_as_used=False)
    stack = g.get_name_scope()
    return (full[len(stack) + 1:] if stack else full), g.name_scope(full + "/")


def _const(value: Any, dt: _dtypes.DType, name: str = "Const") -> Tensor:
    """A Python/numpy value as a constant of dtype `dt` and exactly its shape (0-d stays 0-d)."""
    if not isinstance(value, (numbers.Number, list, tuple, np.ndarray, np.generic)):
        return convert_to_tensor(value)  # a Tensor keeps its dtype; the op checks it
    arr = np.array(value, dtype=dt.as_numpy_dtype)
    return create_op("const", [], {"value": arr, "dtype": dt}, name=name)


def _is_const(x: Any, v: float) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool) and float(x) == v


def _float_dtype(dtype: Any, what: str) -> _dtypes.DType:
    dt = _dtypes.as_dtype(dtype)
    if not dt.is_floating:
        raise ValueError(f"Invalid dtype {dt.name} for {what}: expected float32 or float64")
    return dt


def random_uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = _dtypes.float32,
                   seed: Optional[int] = None, name: Optional[str] = None) -> Tensor:
    """Uniform values in [minval, maxval) (`tf.random_uniform`).

    Args:
      shape: 1-D shape of the result (list or int tensor).
      minval, maxval: bounds; maxval defaults to 1 for floats and is required for integers.
      dtype: float32, float64, int32 or int64.
      seed: op seed, combined with the graph seed (`tf.set_random_seed`).
    """
    dt = _dtypes.as_dtype(dtype)
    s1, s2 = _seeds(seed)
    shp = _shape_tensor(shape)
    if dt.is_integer:
        if maxval is None:
            raise ValueError(f"Must specify maxval for integer dtype {dt.name}")
        lo = _const(minval, dt)
        hi = _const(maxval, dt)
        return create_op("random_uniform_int", [shp, lo, hi], {"seed": s1, "seed2": s2},
                         name=name or "random_uniform")
    dt = _float_dtype(dt, "random_uniform")
    if maxval is None:
        maxval = 1
    attrs = {"dtype": dt, "seed": s1, "seed2": s2}
    if _is_const(minval, 0.0) and _is_const(maxval, 1.0):
        return create_op("random_uniform", [shp], attrs, name=name or "random_uniform")
    from . import math_ops
    final, scope = _op_names(name, "random_uniform")
    with scope:
        rnd = create_op("random_uniform", [shp], attrs, name="RandomUniform")
        lo = _const(minval, dt)
        hi = _const(maxval, dt)
        scaled = math_ops.multiply(rnd, math_ops.subtract(hi, lo))
    return math_ops.add(scaled, lo, name=final)


def _normal(op: str, default: str, shape: Any, mean: Any, stddev: Any, dtype: Any, seed: Optional[int],
            name: Optional[str]) -> Tensor:
    dt = _float_dtype(dtype, default)
    s1, s2 = _seeds(seed)
    shp = _shape_tensor(shape)
    attrs = {"dtype": dt, "seed": s1, "seed2": s2}
    if _is_const(mean, 0.0) and _is_const(stddev, 1.0):
        return create_op(op, [shp], attrs, name=name or default)
    from . import math_ops
    final, scope = _op_names(name, default)
    with scope:
        rnd = create_op(op, [shp], attrs, name="RandomStandardNormal" if op == "random_normal" else "TruncatedNormal")
        sd = _const(stddev, dt)
        mu = None if _is_const(mean, 0.0) else _const(mean, dt)
        if mu is not None:
            rnd = math_ops.multiply(rnd, sd, name="mul")
    if mu is None:
        return math_ops.multiply(rnd, sd, name=final)
    return math_ops.add(rnd, mu, name=final)


def random_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dtypes.float32,
                  seed: Optional[int] = None, name: Optional[str] = None) -> Tensor:
    """Normal values with the given mean and standard deviation (`tf.random_normal`)."""
    return _normal("random_normal", "random_normal", shape, mean, stddev, dtype, seed, name)


def truncated_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dtypes.float32,
                     seed: Optional[int] = None, name: Optional[str] = None) -> Tensor:
    """Normal values more than 2 standard deviations from the mean are redrawn
    (`tf.truncated_normal`)."""
    return _normal("truncated_normal", "truncated_normal", shape, mean, stddev, dtype, seed, name)


def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: Optional[int] = None,
            name: Optional[str] = None, rate: Any = None) -> Tensor:
    """Zeroes elements of `x` with probability `rate` (= 1 - keep_prob) and scales the
    others by 1 / (1 - rate) (`tf.nn.dropout`).

    Args:
      x: a float tensor.
      keep_prob: probability of keeping an element (deprecated in TF in favour of `rate`).
      noise_shape: shape of the random keep/drop mask, broadcast against x's shape.
      seed: op seed.
      rate: probability of dropping an element; exactly one of keep_prob and rate.

    Raises:
      ValueError: when both or neither of keep_prob/rate are given, or a Python rate is
        outside [0, 1).
    """
    if (keep_prob is None) == (rate is None):
        raise ValueError("Exactly one of keep_prob and rate must be given to dropout"
                         if keep_prob is None else "Cannot specify both keep_prob and rate")
    x = convert_to_tensor(x)
    if not x.dtype.is_floating:
        raise ValueError(f"x has to be a floating point tensor since it's going to be scaled. "
                         f"Got a {x.dtype.name} tensor instead.")
    from . import core_ops, math_ops
    if keep_prob is not None:
        if isinstance(keep_prob, numbers.Number):
            rate = 1.0 - float(keep_prob)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"keep_prob must be a scalar tensor or a float in the range (0, 1], "
                                 f"got {keep_prob}")
    if isinstance(rate, numbers.Number):
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), got {rate}")
        if float(rate) == 0.0:
            return x
    s1, s2 = _seeds(seed)
    final, scope = _op_names(name, "dropout")
    with scope:
        if rate is None:
            r = math_ops.subtract(_const(1.0, x.dtype),
                                  _const(keep_prob, x.dtype), name="rate")
        else:
            r = _const(rate, x.dtype)
        shp = core_ops.shape(x) if noise_shape is None else _shape_tensor(noise_shape)
        mask = create_op("dropout_mask", [shp, r], {"seed": s1, "seed2": s2}, name="mask")
    return math_ops.multiply(x, mask, name=final)
