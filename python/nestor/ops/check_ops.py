"""Run-time checks: `tf.Assert` and `tf.debugging.assert_*` (TF1 signatures).

Each returns an Operation that fails with InvalidArgumentError when run and the condition
does not hold; make other ops depend on it with `control_dependencies`.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Operation, Tensor, convert_to_tensor, create_op, name_scope

__all__ = ["Assert", "assert_equal", "assert_none_equal", "assert_less", "assert_less_equal", "assert_greater",
           "assert_greater_equal", "assert_non_negative", "assert_positive", "assert_negative",
           "assert_non_positive", "assert_rank"]


def Assert(condition: Any, data: Sequence[Any], summarize: Optional[int] = None,  # noqa: N802 - TF's name
           name: Optional[str] = None) -> Operation:
    """Fails with `data` printed when `condition` (a bool tensor; every element) is false."""
    cond = convert_to_tensor(condition, dtype=_dtypes.bool)
    message = ""
    tensors = []
    for d in data:
        if isinstance(d, (str, bytes)):
            message += (d.decode() if isinstance(d, bytes) else d) + " "
        else:
            tensors.append(convert_to_tensor(d))
    return create_op("assert", [cond] + tensors, {"message": message.strip(),
                                                  "summarize": int(summarize if summarize is not None else 3)},
                     name=name or "Assert")


def _binary_assert(op: Any, default: str) -> Any:
    def f(x: Any, y: Any, data: Optional[Sequence[Any]] = None, summarize: Optional[int] = None,
          message: Optional[str] = None, name: Optional[str] = None) -> Operation:
        from . import math_ops, reduction_ops
        with name_scope(name or default):
            x = convert_to_tensor(x)
            y = convert_to_tensor(y, dtype_hint=x.dtype)
            cond = reduction_ops.reduce_all(op(math_ops, x, y))
            if data is None:
                data = [message or "", f"Condition x {default} y did not hold element-wise: x =", x, "y =", y]
            return Assert(cond, data, summarize=summarize)
    f.__name__ = "assert_" + default
    f.__doc__ = f"Asserts the condition `x {default} y` holds for every element."
    return f


assert_equal = _binary_assert(lambda m, x, y: m.equal(x, y), "equal")
assert_none_equal = _binary_assert(lambda m, x, y: m.not_equal(x, y), "none_equal")
assert_less = _binary_assert(lambda m, x, y: m.less(x, y), "less")
assert_less_equal = _binary_assert(lambda m, x, y: m.less_equal(x, y), "less_equal")
assert_greater = _binary_assert(lambda m, x, y: m.greater(x, y), "greater")
assert_greater_equal = _binary_assert(lambda m, x, y: m.greater_equal(x, y), "greater_equal")


def _sign_assert(cmp: Any, default: str) -> Any:
    def f(x: Any, data: Optional[Sequence[Any]] = None, summarize: Optional[int] = None,
          message: Optional[str] = None, name: Optional[str] = None) -> Operation:
        x = convert_to_tensor(x)
        return cmp(x, np.zeros((), x.dtype.as_numpy_dtype), data=data, summarize=summarize, message=message,
                   name=name or default)
    f.__name__ = default
    return f


assert_non_negative = _sign_assert(assert_greater_equal, "assert_non_negative")
assert_positive = _sign_assert(assert_greater, "assert_positive")
assert_negative = _sign_assert(assert_less, "assert_negative")
assert_non_positive = _sign_assert(assert_less_equal, "assert_non_positive")


def assert_rank(x: Any, rank: int, message: Optional[str] = None, name: Optional[str] = None) -> Operation:
    """Asserts `x` has rank `rank`; a known rank is checked when the graph is built."""
    x = convert_to_tensor(x)
    if x.shape.rank is not None:
        if x.shape.rank != rank:
            raise ValueError(f"{message or ''} Tensor {x.name} must have rank {rank}. Received rank "
                             f"{x.shape.rank}, shape {x.shape}".strip())
        from .core_ops import no_op
        return no_op(name=name or "assert_rank")
    from . import core_ops
    return assert_equal(core_ops.rank(x), rank, message=message, name=name or "assert_rank")
