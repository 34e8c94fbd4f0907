"""Loss collections: `add_loss`, `get_losses`, `get_regularization_loss(es)`, `get_total_loss`."""
from __future__ import annotations

from typing import Any, List, Optional

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.graph import GraphKeys, Tensor

__all__ = ["add_loss", "get_losses", "get_regularization_loss", "get_regularization_losses", "get_total_loss"]


def add_loss(loss: Any, loss_collection: Optional[str] = GraphKeys.LOSSES) -> None:
    """Adds `loss` to the `loss_collection` collection (nothing when the collection is None/empty)."""
    if loss_collection:
        _g.add_to_collection(loss_collection, loss)


def get_losses(scope: Optional[str] = None, loss_collection: str = GraphKeys.LOSSES) -> List[Tensor]:
    """The losses in `loss_collection` whose names match the regex `scope` (all when None)."""
    return _g.get_collection(loss_collection, scope)


def get_regularization_losses(scope: Optional[str] = None) -> List[Tensor]:
    """The tensors in `GraphKeys.REGULARIZATION_LOSSES` (filtered by the regex `scope`)."""
    return _g.get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope: Optional[str] = None, name: str = "total_regularization_loss") -> Tensor:
    """Sum of the regularization losses, or a float32 0.0 constant when there are none."""
    losses = get_regularization_losses(scope)
    if losses:
        from ..ops import math_ops
        return math_ops.add_n(losses, name=name)
    from ..ops import core_ops
    return core_ops.constant(0.0, dtype=_dtypes.float32, name=name)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss",
                   scope: Optional[str] = None) -> Tensor:
    """Sum of `get_losses(scope)` and, by default, `get_regularization_losses(scope)`.

    Raises:
      ValueError: when there are no losses to add.
    """
    losses = list(get_losses(scope=scope))
    if add_regularization_losses:
        losses += get_regularization_losses(scope=scope)
    from ..ops import math_ops
    return math_ops.add_n(losses, name=name)
