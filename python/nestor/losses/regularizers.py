"""Weight regularizers for `kernel_regularizer=` / `get_variable(regularizer=)`.

TF1 users find the first group as `tf.contrib.layers.l1_regularizer / l2_regularizer /
l1_l2_regularizer / sum_regularizer / apply_regularization`; note the contrib L2 is
`scale * sum(w^2) / 2` (it uses `tf.nn.l2_loss`). The Keras group (`tf.keras.regularizers.l1
/ l2 / l1_l2`, class `L1L2`) uses `l * sum(w^2)` with no 1/2.
"""
from __future__ import annotations

import logging
import numbers
from typing import Any, Callable, Optional, Sequence

from ..framework import graph as _g
from ..framework.graph import GraphKeys, Tensor, convert_to_tensor

__all__ = ["l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer", "apply_regularization",
           "L1L2", "l1", "l2", "l1_l2"]

_log = logging.getLogger("nestor")


def _check_scale(scale: Any) -> bool:
    """Validates a Python scale; True when it disables the regularizer (scale == 0)."""
    if isinstance(scale, numbers.Integral) and not isinstance(scale, bool):
        raise ValueError(f"scale cannot be an integer: {scale}")
    if isinstance(scale, numbers.Real):
        if scale < 0.0:
            raise ValueError(f"Setting a scale less than 0 on a regularizer: {scale:g}.")
        if scale == 0.0:
            _log.info("Scale of 0 disables regularizer.")
            return True
    return False


def l1_regularizer(scale: float, scope: Optional[str] = None) -> Callable[[Any], Optional[Tensor]]:
    """Returns fn(weights) = scale * sum(|weights|) (`tf.contrib.layers.l1_regularizer`).

    Raises:
      ValueError: integer or negative scale. A scale of 0 returns a fn giving None.
    """
    if _check_scale(scale):
        return lambda _: None

    def l1(weights: Any) -> Tensor:
        from ..ops import math_ops, reduction_ops
        with _g.name_scope(scope or "l1_regularizer"):
            w = convert_to_tensor(weights)
            s = convert_to_tensor(scale, dtype=w.dtype, name="scale")
            return math_ops.multiply(s, reduction_ops.reduce_sum(math_ops.abs(w)))
    return l1


def l2_regularizer(scale: float, scope: Optional[str] = None) -> Callable[[Any], Optional[Tensor]]:
    """Returns fn(weights) = scale * sum(weights^2) / 2 (`tf.contrib.layers.l2_regularizer`).

    Raises:
      ValueError: integer or negative scale. A scale of 0 returns a fn giving None.
    """
    if _check_scale(scale):
        return lambda _: None

    def l2(weights: Any) -> Tensor:
        from ..ops import math_ops, nn_ops
        with _g.name_scope(scope or "l2_regularizer"):
            w = convert_to_tensor(weights)
            s = convert_to_tensor(scale, dtype=w.dtype, name="scale")
            return math_ops.multiply(s, nn_ops.l2_loss(w))
    return l2


def sum_regularizer(regularizer_list: Sequence[Callable[[Any], Any]],
                    scope: Optional[str] = None) -> Callable[[Any], Optional[Tensor]]:
    """Returns fn(weights) = the sum of the non-None results of `regularizer_list`."""
    regs = [r for r in regularizer_list if r is not None]
    if not regs:
        return lambda _: None

    def summed(weights: Any) -> Optional[Tensor]:
        from ..ops import math_ops
        with _g.name_scope(scope or "sum_regularizer"):
            parts = [p for p in (r(weights) for r in regs) if p is not None]
            if not parts:
                return None
            total = parts[0]
            for p in parts[1:]:
                total = math_ops.add(total, p)
            return total
    return summed


def l1_l2_regularizer(scale_l1: float = 1.0, scale_l2: float = 1.0,
                      scope: Optional[str] = None) -> Callable[[Any], Optional[Tensor]]:
    """Returns fn(weights) = scale_l1 * sum(|w|) + scale_l2 * sum(w^2) / 2
    (`tf.contrib.layers.l1_l2_regularizer`)."""
    if isinstance(scale_l1, numbers.Real) and isinstance(scale_l2, numbers.Real) and \
            not isinstance(scale_l1, numbers.Integral) and not isinstance(scale_l2, numbers.Integral):
        if scale_l1 == 0.0 and scale_l2 == 0.0:
            return lambda _: None
        if scale_l1 == 0.0:
            return l2_regularizer(scale_l2, scope)
        if scale_l2 == 0.0:
            return l1_regularizer(scale_l1, scope)
    return sum_regularizer([l1_regularizer(scale_l1), l2_regularizer(scale_l2)], scope=scope)


def apply_regularization(regularizer: Callable[[Any], Any], weights_list: Optional[Sequence[Any]] = None) -> Tensor:
    """Sums `regularizer(w)` over `weights_list` (default: the `GraphKeys.WEIGHTS` collection),
    adds the sum to `REGULARIZATION_LOSSES` and returns it (`tf.contrib.layers.apply_regularization`).

    Raises:
      ValueError: no weights, or the regularizer returns None for all of them.
    """
    from ..ops import math_ops
    if not weights_list:
        weights_list = _g.get_collection(GraphKeys.WEIGHTS)
    if not weights_list:
        raise ValueError("No weights to regularize.")
    with _g.name_scope("get_regularization_penalty"):
        penalties = [p for p in (regularizer(w) for w in weights_list) if p is not None]
        if not penalties:
            raise ValueError("No regularization penalties were returned.")
        total = penalties[0]
        for p in penalties[1:]:
            total = math_ops.add(total, p)
    _g.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, total)
    return total


class L1L2:
    """Keras-style regularizer: l1 * sum(|w|) + l2 * sum(w^2) (`tf.keras.regularizers.L1L2`)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):  # noqa: E741
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x: Any) -> Tensor:
        from ..ops import math_ops, reduction_ops
        w = convert_to_tensor(x)
        total: Any = convert_to_tensor(0.0, dtype=w.dtype)
        if self.l1:
            total = total + self.l1 * reduction_ops.reduce_sum(math_ops.abs(w))
        if self.l2:
            total = total + self.l2 * reduction_ops.reduce_sum(math_ops.square(w))
        return total

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


def l1(l: float = 0.01) -> L1L2:  # noqa: E741
    """Keras `tf.keras.regularizers.l1(l)`: l * sum(|w|)."""
    return L1L2(l1=l)


def l2(l: float = 0.01) -> L1L2:  # noqa: E741
    """Keras `tf.keras.regularizers.l2(l)`: l * sum(w^2)."""
    return L1L2(l2=l)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:  # noqa: E741
    """Keras `tf.keras.regularizers.l1_l2(l1, l2)`."""
    return L1L2(l1=l1, l2=l2)
