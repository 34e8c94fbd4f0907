"""`nestor.gradients`: symbolic differentiation, computed by the native autodiff."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Union

from .graph import IndexedSlices, Tensor, convert_to_tensor, get_default_graph


def _as_list(x: Any) -> List[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients",
              colocate_gradients_with_ops: bool = False, gate_gradients: bool = False,
              aggregation_method: Any = None, stop_gradients: Any = None,
              unconnected_gradients: str = "none") -> List[Optional[Union[Tensor, IndexedSlices]]]:
    """Symbolic derivatives of sum(ys) with respect to each of xs (`tf.gradients`).

    Args:
      ys: a Tensor or list of Tensors to differentiate.
      xs: Tensors or Variables to differentiate with respect to.
      grad_ys: optional initial gradients, one per y (default: ones).
      stop_gradients: tensors held constant: no gradient flows back through them.
      name: name scope of the gradient ops.
      unconnected_gradients: "none" (None for unconnected xs) or "zero".

    Returns:
      One entry per x: a Tensor, an `IndexedSlices` (gradients of gathers and embedding
      lookups stay sparse), or None when x does not affect ys.

    Raises:
      LookupError: an op on the path has no gradient.
    """
    ys_l = [convert_to_tensor(y) for y in _as_list(ys)]
    xs_l = [convert_to_tensor(x) for x in _as_list(xs)]
    gys = _as_list(grad_ys) if grad_ys is not None else []
    g = ys_l[0].graph
    gy_keys = []
    for i, gy in enumerate(gys):
        if gy is None:
            gy_keys.append((-1, 0))
        else:
            gy_keys.append(convert_to_tensor(gy, dtype=ys_l[i].dtype)._key())
    stops = [convert_to_tensor(t)._key() for t in _as_list(stop_gradients)] if stop_gradients is not None else []
    from ..errors import NotFoundError
    try:
        res = g._native.gradients([y._key() for y in ys_l], [x._key() for x in xs_l], gy_keys, name, stops)
    except NotFoundError as e:
        raise LookupError(str(e)) from None
    out: List[Optional[Union[Tensor, IndexedSlices]]] = []
    for x, r in zip(xs_l, res):
        if r is None:
            if unconnected_gradients == "zero":
                from ..ops import core_ops
                out.append(core_ops.zeros_like(x))
            else:
                out.append(None)
        elif r[0] == "dense":
            out.append(Tensor(g, *r[1]))
        else:
            out.append(IndexedSlices(Tensor(g, *r[2]), Tensor(g, *r[1]), Tensor(g, *r[3])))
    return out
