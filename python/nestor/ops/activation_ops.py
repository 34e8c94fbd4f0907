"""Activation functions (`tf.nn.relu`, ...)."""
from __future__ import annotations

from typing import Any, Optional

from ..framework.graph import Tensor, create_op

__all__ = ["relu"]
__nn__ = ["relu"]


def relu(features: Any, name: Optional[str] = None) -> Tensor:
    """max(features, 0)."""
    return create_op("relu", [features], name=name or "Relu")
