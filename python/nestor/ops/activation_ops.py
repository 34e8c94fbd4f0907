"""Activation functions (`tf.nn.relu`, ...)."""
from __future__ import annotations

from typing import Any, Optional

from ..framework.graph import Tensor, convert_to_tensor, create_op

__all__ = ["relu", "sigmoid", "tanh"]
__nn__ = ["relu", "relu6", "elu", "selu", "leaky_relu", "gelu", "sigmoid", "tanh", "softplus", "softsign",
          "swish", "silu"]


def relu(features: Any, name: Optional[str] = None) -> Tensor:
    """max(features, 0)."""
    return create_op("relu", [features], name=name or "Relu")


def relu6(features: Any, name: Optional[str] = None) -> Tensor:
    """min(max(features, 0), 6) (`tf.nn.relu6`)."""
    return create_op("relu6", [features], name=name or "Relu6")


def elu(features: Any, name: Optional[str] = None) -> Tensor:
    """features if > 0, else exp(features) - 1 (`tf.nn.elu`)."""
    return create_op("elu", [features], name=name or "Elu")


def selu(features: Any, name: Optional[str] = None) -> Tensor:
    """scale * elu(features) with alpha and scale of Klambauer et al. (`tf.nn.selu`)."""
    return create_op("selu", [features], name=name or "Selu")


def leaky_relu(features: Any, alpha: float = 0.2, name: Optional[str] = None) -> Tensor:
    """features if > 0, else alpha * features (`tf.nn.leaky_relu`)."""
    return create_op("leaky_relu", [features], {"alpha": float(alpha)}, name=name or "LeakyRelu")


def gelu(features: Any, approximate: bool = False, name: Optional[str] = None) -> Tensor:
    """0.5 * x * (1 + erf(x / sqrt(2))); with `approximate`, the tanh form (`tf.nn.gelu`)."""
    return create_op("gelu", [features], {"approximate": bool(approximate)}, name=name or "Gelu")


def sigmoid(x: Any, name: Optional[str] = None) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow (`tf.sigmoid`)."""
    return create_op("sigmoid", [x], name=name or "Sigmoid")


def tanh(x: Any, name: Optional[str] = None) -> Tensor:
    """Hyperbolic tangent (`tf.tanh`)."""
    return create_op("tanh", [x], name=name or "Tanh")


def softplus(features: Any, name: Optional[str] = None) -> Tensor:
    """log(1 + exp(features)), computed without overflow (`tf.nn.softplus`)."""
    return create_op("softplus", [features], name=name or "Softplus")


def softsign(features: Any, name: Optional[str] = None) -> Tensor:
    """features / (1 + |features|) (`tf.nn.softsign`)."""
    return create_op("softsign", [features], name=name or "Softsign")


def swish(features: Any, beta: float = 1.0, name: Optional[str] = None) -> Tensor:
    """features * sigmoid(beta * features) (`tf.nn.swish`)."""
    if beta == 1.0:
        return create_op("swish", [features], name=name or "swish")
    from .math_ops import multiply
    x = convert_to_tensor(features)
    return multiply(x, sigmoid(multiply(x, beta)), name=name or "swish")


def silu(features: Any, beta: float = 1.0, name: Optional[str] = None) -> Tensor:
    """features * sigmoid(beta * features) (`tf.nn.silu`)."""
    return swish(features, beta=beta, name=name or "silu")
