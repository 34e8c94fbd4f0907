"""Softmax, losses with logits, l2_loss, bias_add and moments (`tf.nn.*`)."""
from __future__ import annotations

from typing import Any, Optional, Tuple

from ..framework.graph import Tensor, convert_to_tensor, create_op
from .reduction_ops import _pick, reduce_mean

__all__: list = []
__nn__ = ["softmax", "log_softmax", "sparse_softmax_cross_entropy_with_logits",
          "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
          "sigmoid_cross_entropy_with_logits", "l2_loss", "bias_add", "moments"]


def _axis(axis: Any, dim: Any) -> int:
    axis = _pick(axis, dim, "axis", "dim")
    return -1 if axis is None else int(axis)


def softmax(logits: Any, axis: Optional[int] = None, name: Optional[str] = None, dim: Optional[int] = None) -> Tensor:
    """exp(logits) / sum(exp(logits), axis) (default: the last axis), computed stably."""
    return create_op("softmax", [convert_to_tensor(logits)], {"axis": _axis(axis, dim)}, name=name or "Softmax")


def log_softmax(logits: Any, axis: Optional[int] = None, name: Optional[str] = None,
                dim: Optional[int] = None) -> Tensor:
    """logits - log(sum(exp(logits), axis)) (default: the last axis), computed stably."""
    return create_op("log_softmax", [convert_to_tensor(logits)], {"axis": _axis(axis, dim)},
                     name=name or "LogSoftmax")


def _keywords_only(fn: str, sentinel: Any, labels: Any, logits: Any) -> None:
    if sentinel is not None:
        raise ValueError(f"Only call `{fn}` with named arguments (labels=..., logits=..., ...)")
    if labels is None or logits is None:
        raise ValueError(f"Both labels and logits must be provided to `{fn}`.")


def sparse_softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                             name: Optional[str] = None) -> Tensor:
    """Cross entropy between softmax(logits) [..., C] and integer class `labels` [...] in [0, C).

    Raises:
      ValueError: when called with positional arguments.
      InvalidArgumentError: at run time, for a label outside [0, C).
    """
    _keywords_only("sparse_softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    x = convert_to_tensor(logits)
    z = convert_to_tensor(labels)
    out = create_op("sparse_softmax_cross_entropy_with_logits", [x, z],
                    name=name or "SparseSoftmaxCrossEntropyWithLogits")
    return out[0]


def softmax_cross_entropy_with_logits_v2(labels: Any, logits: Any, axis: Optional[int] = None,
                                         name: Optional[str] = None, dim: Optional[int] = None) -> Tensor:
    """sum(-labels * log_softmax(logits), axis); differentiable w.r.t. both logits and labels."""
    x = convert_to_tensor(logits)
    z = convert_to_tensor(labels, dtype_hint=x.dtype)
    out = create_op("softmax_cross_entropy_with_logits", [x, z], {"axis": _axis(axis, dim)},
                    name=name or "softmax_cross_entropy_with_logits")
    return out[0]


def softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                      dim: int = -1, name: Optional[str] = None,
                                      axis: Optional[int] = None) -> Tensor:
    """TF1's deprecated form: as the v2 op, but no gradient flows into `labels`."""
    _keywords_only("softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    from .core_ops import stop_gradient
    ax = int(axis) if axis is not None else int(dim)
    z = stop_gradient(convert_to_tensor(labels, dtype_hint=convert_to_tensor(logits).dtype))
    return softmax_cross_entropy_with_logits_v2(z, logits, axis=ax, name=name)


def sigmoid_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                      name: Optional[str] = None) -> Tensor:
    """Elementwise logistic loss max(x, 0) - x * z + log(1 + exp(-|x|)) for logits x and labels z."""
    _keywords_only("sigmoid_cross_entropy_with_logits", _sentinel, labels, logits)
    x = convert_to_tensor(logits)
    z = convert_to_tensor(labels, dtype_hint=x.dtype)
    return create_op("sigmoid_cross_entropy_with_logits", [x, z], name=name or "logistic_loss")


def l2_loss(t: Any, name: Optional[str] = None) -> Tensor:
    """sum(t ** 2) / 2."""
    return create_op("l2_loss", [convert_to_tensor(t)], name=name or "L2Loss")


def bias_add(value: Any, bias: Any, data_format: Optional[str] = None, name: Optional[str] = None) -> Tensor:
    """Adds the 1-D `bias` along the last axis of `value` (data_format "NHWC" only)."""
    v = convert_to_tensor(value)
    b = convert_to_tensor(bias, dtype_hint=v.dtype)
    fmt = data_format or "NHWC"
    if fmt not in ("NHWC", "N..C"):
        raise ValueError(f"bias_add supports data_format 'NHWC' only, got {data_format!r}")
    return create_op("bias_add", [v, b], {"data_format": "NHWC"}, name=name or "BiasAdd")


def moments(x: Any, axes: Any, shift: Any = None, name: Optional[str] = None, keep_dims: Optional[bool] = None,
            keepdims: Optional[bool] = None) -> Tuple[Tensor, Tensor]:
    """Mean and variance of `x` over `axes` (`shift` is unused, as in TF)."""
    from .core_ops import reshape, shape, stop_gradient
    keepdims = bool(_pick(keepdims, keep_dims, "keepdims", "keep_dims"))
    t = convert_to_tensor(x)
    mean = reduce_mean(t, axes, keepdims=True, name=name)
    d = t + stop_gradient(mean * -1.0)
    variance = reduce_mean(d * d, axes, keepdims=keepdims)
    if not keepdims:
        mean = reshape(mean, shape(variance))
    return mean, variance
