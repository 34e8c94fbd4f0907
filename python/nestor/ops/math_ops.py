"""Elementwise math with numpy broadcasting, and matmul (`tf.math`)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, create_op

__all__ = ["add", "add_n", "subtract", "multiply", "divide", "truediv", "matmul",
           "negative", "abs", "square", "sqrt", "rsqrt", "exp", "log", "log1p", "sign", "floor", "ceil", "round",
           "cos", "sin", "reciprocal", "pow", "maximum", "minimum", "squared_difference", "floordiv", "floor_div", "floormod",
           "mod", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
           "logical_or", "logical_xor", "logical_not", "where", "where_v2"]
__nn__: list = []


def _binary_inputs(x: Any, y: Any) -> tuple:
    """Converts both operands, giving Python values the dtype of the Tensor (or numpy) operand:
    `tf.equal(np.int64(3), 2)` compares int64s, as in TensorFlow."""
    if (isinstance(x, (Tensor, np.ndarray, np.generic)) or hasattr(x, "_as_graph_element")) and not (
            isinstance(y, Tensor) or hasattr(y, "_as_graph_element")):
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype_hint=x.dtype)
    else:
        y = convert_to_tensor(y)
        x = convert_to_tensor(x, dtype_hint=y.dtype)
    return x, y


def _binary(op: str, default_name: str) -> Any:
    def f(x: Any, y: Any, name: Optional[str] = None) -> Tensor:
        a, b = _binary_inputs(x, y)
        return create_op(op, [a, b], name=name or default_name)
    f.__name__ = default_name.lower()
    f.__doc__ = f"Elementwise `{op}` with numpy broadcasting (`tf.{op}`)."
    return f


add = _binary("add", "Add")


def add_n(inputs: Any, name: Optional[str] = None) -> Tensor:
    """Adds all input tensors element-wise (`tf.math.add_n`).

    Args:
      inputs: a list of `Tensor`s (or values convertible to one) of the same shape and dtype.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of the same shape and dtype as the elements of `inputs`.

    Raises:
      ValueError: if `inputs` is not a non-empty list, or its elements differ in dtype or in
        (statically known) shape. Unlike `add`, nothing is broadcast.
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError("inputs must be a list of at least one Tensor with the same dtype and shape, got "
                         f"{inputs!r}")
    ts = [convert_to_tensor(inputs[0])]
    ts += [convert_to_tensor(t, dtype_hint=ts[0].dtype) for t in inputs[1:]]
    for i, t in enumerate(ts[1:], 1):
        if t.dtype != ts[0].dtype:
            raise ValueError(f"add_n: inputs must have the same dtype: inputs[0] ({ts[0].name}) is "
                             f"{ts[0].dtype.name}, inputs[{i}] ({t.name}) is {t.dtype.name}")
        if not t.shape.is_compatible_with(ts[0].shape):
            raise ValueError(f"add_n: inputs must have the same shape: inputs[0] ({ts[0].name}) is {ts[0].shape}, "
                             f"inputs[{i}] ({t.name}) is {t.shape}")
    if len(ts) == 1:
        if name is None:
            return ts[0]
        from .core_ops import identity
        return identity(ts[0], name=name)
    total = ts[0]
    for t in ts[1:-1]:
        total = add(total, t)
    return add(total, ts[-1], name=name or "AddN")


subtract = _binary("subtract", "Sub")
multiply = _binary("multiply", "Mul")
_divide = _binary("divide", "RealDiv")


def divide(x: Any, y: Any, name: Optional[str] = None) -> Tensor:
    """x / y. Integer inputs are divided as floats, as Python 3's `/` (`tf.divide`)."""
    a, b = _binary_inputs(x, y)
    if a.dtype.is_integer:
        from .core_ops import cast
        a, b = cast(a, _dtypes.float64), cast(b, _dtypes.float64)
    return create_op("divide", [a, b], name=name or "truediv")


truediv = divide


def _unary(op: str, default_name: str, doc: str) -> Any:
    def f(x: Any, name: Optional[str] = None) -> Tensor:
        return create_op(op, [convert_to_tensor(x)], name=name or default_name)
    f.__name__ = op
    f.__doc__ = f"{doc} (`tf.{op}`)."
    return f


negative = _unary("negative", "Neg", "-x elementwise")
abs = _unary("abs", "Abs", "|x| elementwise")  # noqa: A001
square = _unary("square", "Square", "x * x elementwise")
sqrt = _unary("sqrt", "Sqrt", "Square root elementwise")
rsqrt = _unary("rsqrt", "Rsqrt", "1 / sqrt(x) elementwise")
exp = _unary("exp", "Exp", "e^x elementwise")
log = _unary("log", "Log", "Natural logarithm elementwise")
log1p = _unary("log1p", "Log1p", "log(1 + x) elementwise, accurate for small x")
sign = _unary("sign", "Sign", "-1, 0 or 1 elementwise, by the sign of x")
floor = _unary("floor", "Floor", "Largest integer not greater than x, elementwise")
ceil = _unary("ceil", "Ceil", "Smallest integer not less than x, elementwise")
cos = _unary("cos", "Cos", "Cosine elementwise, x in radians")
sin = _unary("sin", "Sin", "Sine elementwise, x in radians")
round = _unary("round", "Round", "Rounds half to even elementwise, as np.round")  # noqa: A001
reciprocal = _unary("reciprocal", "Reciprocal", "1 / x elementwise")
logical_not = _unary("logical_not", "LogicalNot", "NOT x elementwise for bool x")

pow = _binary("pow", "Pow")  # noqa: A001
maximum = _binary("maximum", "Maximum")
minimum = _binary("minimum", "Minimum")
squared_difference = _binary("squared_difference", "SquaredDifference")
floordiv = _binary("floor_div", "FloorDiv")
floordiv.__name__ = "floordiv"
floordiv.__doc__ = "floor(x / y) elementwise with broadcasting (`tf.floordiv`)."
floor_div = floordiv
floormod = _binary("floor_mod", "FloorMod")
floormod.__name__ = "floormod"
floormod.__doc__ = "x - floor(x / y) * y elementwise; the result has the sign of y (`tf.floormod`)."
mod = floormod
equal = _binary("equal", "Equal")
not_equal = _binary("not_equal", "NotEqual")
less = _binary("less", "Less")
less_equal = _binary("less_equal", "LessEqual")
greater = _binary("greater", "Greater")
greater_equal = _binary("greater_equal", "GreaterEqual")
logical_and = _binary("logical_and", "LogicalAnd")
logical_or = _binary("logical_or", "LogicalOr")
logical_xor = _binary("logical_xor", "LogicalXor")


def where_v2(condition: Any, x: Any = None, y: Any = None, name: Optional[str] = None) -> Tensor:
    """Elements of x where condition is true, else of y; all three broadcast (`tf.where_v2`).

    With only `condition`, returns the int64 [N, rank] coordinates of its true elements.
    """
    if x is None and y is None:
        return create_op("where_indices", [convert_to_tensor(condition)], name=name or "Where")
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    a, b = _binary_inputs(x, y)
    return create_op("where", [convert_to_tensor(condition), a, b], name=name or "SelectV2")


def where(condition: Any, x: Any = None, y: Any = None, name: Optional[str] = None) -> Tensor:
    """TF1 `tf.where`: selects from x or y by condition, or returns the coordinates of the
    true elements when x and y are None. A vector condition selects rows of x and y.
    """
    if x is None and y is None:
        return where_v2(condition, name=name or "Where")
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    a, b = _binary_inputs(x, y)
    c = convert_to_tensor(condition)
    cr, xr = c.shape.rank, a.shape.rank
    if cr == 1 and xr is not None and xr > 1:
        from .core_ops import reshape
        c = reshape(c, [-1] + [1] * (xr - 1))
    return create_op("where", [c, a, b], name=name or "Select")


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False, adjoint_a: bool = False,
           adjoint_b: bool = False, a_is_sparse: bool = False, b_is_sparse: bool = False,
           output_type: Any = None, name: Optional[str] = None) -> Tensor:
    """Matrix product of the last two dimensions, batched over leading ones (`tf.linalg.matmul`)."""
    a = convert_to_tensor(a)
    b = convert_to_tensor(b, dtype_hint=a.dtype)
    return create_op("matmul", [a, b], {"transpose_a": bool(transpose_a or adjoint_a),
                                        "transpose_b": bool(transpose_b or adjoint_b)}, name=name or "MatMul")


def _install_operators() -> None:
    def r(f: Any) -> Any:
        return lambda self, other: f(other, self)

    Tensor.__add__ = lambda self, other: add(self, other)  # type: ignore[assignment]
    Tensor.__radd__ = r(add)  # type: ignore[assignment]
    Tensor.__sub__ = lambda self, other: subtract(self, other)  # type: ignore[assignment]
    Tensor.__rsub__ = r(subtract)  # type: ignore[assignment]
    Tensor.__mul__ = lambda self, other: multiply(self, other)  # type: ignore[assignment]
    Tensor.__rmul__ = r(multiply)  # type: ignore[assignment]
    Tensor.__truediv__ = lambda self, other: divide(self, other)  # type: ignore[assignment]
    Tensor.__rtruediv__ = r(divide)  # type: ignore[assignment]
    Tensor.__matmul__ = lambda self, other: matmul(self, other)  # type: ignore[assignment]
    Tensor.__rmatmul__ = r(matmul)  # type: ignore[assignment]
    Tensor.__neg__ = lambda self: negative(self)  # type: ignore[assignment]
    Tensor.__abs__ = lambda self: abs(self)  # type: ignore[assignment]
    Tensor.__pow__ = lambda self, other: pow(self, other)  # type: ignore[assignment]
    Tensor.__rpow__ = r(pow)  # type: ignore[assignment]
    Tensor.__floordiv__ = lambda self, other: floordiv(self, other)  # type: ignore[assignment]
    Tensor.__rfloordiv__ = r(floordiv)  # type: ignore[assignment]
    Tensor.__mod__ = lambda self, other: floormod(self, other)  # type: ignore[assignment]
    Tensor.__rmod__ = r(floormod)  # type: ignore[assignment]
    Tensor.__lt__ = lambda self, other: less(self, other)  # type: ignore[assignment]
    Tensor.__le__ = lambda self, other: less_equal(self, other)  # type: ignore[assignment]
    Tensor.__gt__ = lambda self, other: greater(self, other)  # type: ignore[assignment]
    Tensor.__ge__ = lambda self, other: greater_equal(self, other)  # type: ignore[assignment]
    Tensor.__and__ = lambda self, other: logical_and(self, other)  # type: ignore[assignment]
    Tensor.__rand__ = r(logical_and)  # type: ignore[assignment]
    Tensor.__or__ = lambda self, other: logical_or(self, other)  # type: ignore[assignment]
    Tensor.__ror__ = r(logical_or)  # type: ignore[assignment]
    Tensor.__xor__ = lambda self, other: logical_xor(self, other)  # type: ignore[assignment]
    Tensor.__rxor__ = r(logical_xor)  # type: ignore[assignment]
    Tensor.__invert__ = lambda self: logical_not(self)  # type: ignore[assignment]


_install_operators()
