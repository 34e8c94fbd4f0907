"""Cumulative sums and products along an axis (`tf.math.cumsum`, `tf.math.cumprod`)."""
from __future__ import annotations

from typing import Any, Optional

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, create_op

__all__ = ["cumsum", "cumprod"]
__nn__: list = []


def _axis(axis: Any) -> Tensor:
    t = convert_to_tensor(axis, dtype_hint=_dtypes.int32, name="axis")
    if not t.dtype.is_integer:
        raise TypeError(f"axis must be an int32 or int64 scalar, got {t.dtype.name}")
    return t


def _scan(op: str, x: Any, axis: Any, exclusive: bool, reverse: bool, name: Optional[str]) -> Tensor:
    xt = convert_to_tensor(x, name="x")
    return create_op(op, [xt, _axis(axis)], {"exclusive": bool(exclusive), "reverse": bool(reverse)},
                     name=name or op.capitalize())


def cumsum(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False,
           name: Optional[str] = None) -> Tensor:
    """Cumulative sum of `x` along `axis` (`tf.math.cumsum`).

    Inclusive by default: `cumsum([a, b, c]) == [a, a + b, a + b + c]`. `exclusive=True` leaves
    out each element's own term: `[0, a, a + b]`; `reverse=True` sums from the end:
    `[a + b + c, b + c, c]`; both: `[b + c, c, 0]`. Sums accumulate in that order; integer sums
    wrap around on overflow.

    Args:
      x: a `Tensor` of float32, float64, int32 or int64, at least 1-D.
      axis: a Python int or scalar int32/int64 `Tensor` in `[-rank(x), rank(x))`.
      exclusive: if True, each output leaves out its own element.
      reverse: if True, sums run from the end of the axis.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of the shape and dtype of `x`. Its gradient is the cumsum of the incoming
      gradient with the same `exclusive` and the opposite `reverse`.

    Raises:
      InvalidArgumentError: `x` is a scalar or not numeric, or `axis` is not a scalar or is out
        of range (when the graph is built where these are known, else when it runs).
    """
    return _scan("cumsum", x, axis, exclusive, reverse, name)


def cumprod(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False,
            name: Optional[str] = None) -> Tensor:
    """Cumulative product of `x` along `axis` (`tf.math.cumprod`).

    Inclusive by default: `cumprod([a, b, c]) == [a, a * b, a * b * c]`. `exclusive=True` gives
    `[1, a, a * b]`, `reverse=True` `[a * b * c, b * c, c]`, both `[b * c, c, 1]`.

    Unlike TensorFlow's (whose gradient divides by `x` and so is wrong where `x` has zeros),
    the gradient is exact for every input, zeros included: it is computed without division
    by a recurrence along the axis. It is not itself differentiable (no second derivatives).

    Args:
      x: a `Tensor` of float32, float64, int32 or int64, at least 1-D.
      axis: a Python int or scalar int32/int64 `Tensor` in `[-rank(x), rank(x))`.
      exclusive: if True, each output leaves out its own element.
      reverse: if True, products run from the end of the axis.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of the shape and dtype of `x`.

    Raises:
      InvalidArgumentError: `x` is a scalar or not numeric, or `axis` is not a scalar or is out
        of range (when the graph is built where these are known, else when it runs).
    """
    return _scan("cumprod", x, axis, exclusive, reverse, name)
