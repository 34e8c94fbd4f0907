"""Clipping by value and by norm (`tf.clip_by_value`, `tf.clip_by_norm`, `tf.clip_by_global_norm`,
`tf.global_norm`)."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.graph import IndexedSlices, Tensor, convert_to_tensor, create_op
from .random_ops import _const

__all__ = ["clip_by_value", "clip_by_norm", "clip_by_global_norm", "global_norm"]
__nn__: list = []


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: Optional[str] = None) -> Any:
    """Clamps `t` to [clip_value_min, clip_value_max] (`tf.clip_by_value`).

    The bounds broadcast to t's shape. The gradient flows to t where min <= t <= max and
    to the bound that was applied elsewhere (as in TensorFlow).
    """
    if isinstance(t, IndexedSlices):
        return IndexedSlices(clip_by_value(t.values, clip_value_min, clip_value_max, name), t.indices,
                             t.dense_shape)
    t = convert_to_tensor(t)
    lo = _const(clip_value_min, t.dtype)
    hi = _const(clip_value_max, t.dtype)
    return create_op("clip_by_value", [t, lo, hi], name=name or "clip_by_value")


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: Optional[str] = None) -> Any:
    """Scales `t` so that its L2 norm (over `axes`, default all) is at most `clip_norm`:
    t * clip_norm / max(l2norm(t), clip_norm) (`tf.clip_by_norm`)."""
    from . import math_ops
    if isinstance(t, IndexedSlices):
        return IndexedSlices(clip_by_norm(t.values, clip_norm, axes, name), t.indices, t.dense_shape)
    t = convert_to_tensor(t)
    if not t.dtype.is_floating:
        raise ValueError(f"clip_by_norm needs a floating point tensor, got {t.dtype.name}")
    c = _const(clip_norm, t.dtype)
    attrs = {}
    if axes is not None:
        attrs["axes"] = [int(a) for a in ([axes] if isinstance(axes, int) else list(axes))]
    with _g.name_scope(name, "clip_by_norm"):
        norm = create_op("clip_l2_norm", [t], attrs, name="l2norm")
        scale = create_op("clip_scale", [norm, c], name="scale")
        return math_ops.multiply(t, scale, name="clipped")


def _values(t: Any) -> Any:
    return t.values if isinstance(t, IndexedSlices) else t


def global_norm(t_list: Sequence[Any], name: Optional[str] = None) -> Tensor:
    """sqrt(sum of the squares of all entries of all tensors); None entries are skipped
    (`tf.global_norm`).

    Raises:
      TypeError: if t_list is not a sequence or holds nothing but None.
    """
    if isinstance(t_list, (str, bytes)) or not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    ts = [convert_to_tensor(_values(t)) for t in t_list if t is not None]
    if not ts:
        raise TypeError("global_norm needs at least one tensor that is not None")
    return create_op("global_norm", ts, name=name or "global_norm")


def clip_by_global_norm(t_list: Sequence[Any], clip_norm: Any, use_norm: Any = None,
                        name: Optional[str] = None) -> Tuple[List[Any], Tensor]:
    """Scales every tensor of t_list by clip_norm / max(global_norm, clip_norm)
    (`tf.clip_by_global_norm`).

    Returns:
      (clipped list, global norm). None entries stay None; IndexedSlices stay sparse. If the
      norm is inf or NaN every entry becomes NaN, as in TensorFlow.
    """
    from . import core_ops, math_ops
    if isinstance(t_list, (str, bytes)) or not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    t_list = list(t_list)
    with _g.name_scope(name, "clip_by_global_norm"):
        if use_norm is None:
            norm = global_norm(t_list, name="global_norm")
        elif isinstance(use_norm, (int, float)):
            first = next((convert_to_tensor(_values(t)) for t in t_list if t is not None), None)
            norm = _const(use_norm, first.dtype if first is not None else _dtypes.float32)
        else:
            norm = convert_to_tensor(use_norm)
        c = _const(clip_norm, norm.dtype)
        scale = create_op("clip_scale", [norm, c], name="scale")
        out: List[Any] = []
        for i, t in enumerate(t_list):
            if t is None:
                out.append(None)
                continue
            v = convert_to_tensor(_values(t))
            s = scale if v.dtype == scale.dtype else core_ops.cast(scale, v.dtype)
            clipped = math_ops.multiply(v, s, name=f"clipped_{i}")
            out.append(IndexedSlices(clipped, t.indices, t.dense_shape) if isinstance(t, IndexedSlices)
                       else clipped)
    return out, norm
