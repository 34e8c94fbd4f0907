"""Elementwise math with numpy broadcasting, and matmul (`tf.math`)."""
from __future__ import annotations

from typing import Any, Optional

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, create_op

__all__ = ["add", "subtract", "multiply", "divide", "truediv", "matmul"]
__nn__: list = []


def _binary_inputs(x: Any, y: Any) -> tuple:
    """Converts both operands, giving Python values the dtype of the Tensor operand."""
    if isinstance(x, Tensor) or hasattr(x, "_as_graph_element"):
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


_install_operators()
