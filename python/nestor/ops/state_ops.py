"""Variable updates: `assign`, `assign_add`, `assign_sub`."""
from __future__ import annotations

from typing import Any, Optional

from ..framework.graph import Tensor, convert_to_tensor, create_op, get_default_graph

__all__ = ["assign", "assign_add", "assign_sub"]


def _ref(ref: Any) -> Tensor:
    t = ref._as_graph_element() if hasattr(ref, "_as_graph_element") else ref
    if not isinstance(t, Tensor) or t.op.type != "variable":
        raise TypeError(f"{ref!r} is not a Variable: assign ops need a variable as their first argument")
    return t


def assign(ref: Any, value: Any, validate_shape: Optional[bool] = None, use_locking: Optional[bool] = None,
           name: Optional[str] = None) -> Tensor:
    """Stores `value` in the variable `ref`; returns the new value."""
    r = _ref(ref)
    v = convert_to_tensor(value, dtype=r.dtype)
    return create_op("assign", [r, v], {"validate_shape": True if validate_shape is None else validate_shape},
                     name=name or "Assign")


def assign_add(ref: Any, value: Any, use_locking: Optional[bool] = None, name: Optional[str] = None) -> Tensor:
    r = _ref(ref)
    return create_op("assign_add", [r, convert_to_tensor(value, dtype=r.dtype)], name=name or "AssignAdd")


def assign_sub(ref: Any, value: Any, use_locking: Optional[bool] = None, name: Optional[str] = None) -> Tensor:
    r = _ref(ref)
    return create_op("assign_sub", [r, convert_to_tensor(value, dtype=r.dtype)], name=name or "AssignSub")
