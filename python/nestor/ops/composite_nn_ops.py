"""`tf.nn` ops composed of nestor's native ops: `tf.nn.batch_normalization` and
`tf.nn.weighted_cross_entropy_with_logits`; also TensorFlow's `tf.math` spellings of
`log_softmax` and `softplus`."""
from __future__ import annotations

from typing import Any, Optional

from ..framework.graph import Tensor, convert_to_tensor, name_scope
from . import activation_ops, core_ops, math_ops, nn_ops

__all__: list = []
__nn__ = ["batch_normalization", "weighted_cross_entropy_with_logits"]
__math__ = ["log_softmax", "softplus"]

log_softmax = nn_ops.log_softmax
softplus = activation_ops.softplus


def batch_normalization(x: Any, mean: Any, variance: Any, offset: Any, scale: Any, variance_epsilon: float,
                        name: Optional[str] = None) -> Tensor:
    """Normalizes `x` with given moments: `scale * (x - mean) / sqrt(variance + variance_epsilon)
    + offset` (`tf.nn.batch_normalization`).

    Computed as TensorFlow does: `inv = rsqrt(variance + variance_epsilon) * scale`, then
    `x * inv + (offset - mean * inv)`, both terms cast to `x`'s dtype. `mean`, `variance`,
    `offset` and `scale` broadcast against `x` (e.g. shape [C] for channels last, or
    `moments(..., keepdims=True)` results). Python numbers are converted to `x`'s dtype (TF
    makes them float32).

    Args:
      x: the input tensor.
      mean: the mean.
      variance: the variance.
      offset: the offset (beta) added after normalizing, or None.
      scale: the scale (gamma) applied after normalizing, or None.
      variance_epsilon: a small float added to the variance to avoid dividing by zero.
      name: a name scope for the operations (optional).

    Returns:
      The normalized, scaled, offset tensor, of `x`'s dtype and the broadcast shape.

    Raises:
      InvalidArgumentError: the moments' dtypes differ from each other, or their shapes do not
        broadcast against `x`.
    """
    with name_scope(name, "batchnorm"):
        x = convert_to_tensor(x, name="x")
        variance = convert_to_tensor(variance, name="variance", dtype_hint=x.dtype)
        mean = convert_to_tensor(mean, name="mean", dtype_hint=variance.dtype)
        inv = math_ops.rsqrt(math_ops.add(variance, convert_to_tensor(variance_epsilon, dtype=variance.dtype)))
        if scale is not None:
            inv = math_ops.multiply(inv, convert_to_tensor(scale, name="scale", dtype_hint=inv.dtype))
        shift = math_ops.negative(math_ops.multiply(mean, inv)) if offset is None else \
            math_ops.subtract(convert_to_tensor(offset, name="offset", dtype_hint=inv.dtype), math_ops.multiply(mean, inv))
        return math_ops.add(math_ops.multiply(x, core_ops.cast(inv, x.dtype)), core_ops.cast(shift, x.dtype))


def weighted_cross_entropy_with_logits(labels: Any = None, logits: Any = None, pos_weight: Any = None,
                                       name: Optional[str] = None, targets: Any = None) -> Tensor:
    """Sigmoid cross entropy with the positive term weighted by `pos_weight`
    (`tf.nn.weighted_cross_entropy_with_logits`).

    `loss = labels * -log(sigmoid(logits)) * pos_weight + (1 - labels) * -log(1 - sigmoid(logits))`,
    computed with TensorFlow's overflow-free form
    `(1 - labels) * logits + (1 + (pos_weight - 1) * labels) * (log1p(exp(-|logits|)) + max(-logits, 0))`.
    At logits == 0 exactly, the gradient w.r.t. logits uses the subgradient 0 of |x| and
    max(-x, 0), as in TensorFlow.

    Takes TensorFlow 2's positional arguments `(labels, logits, pos_weight, name)` and TensorFlow
    1's deprecated keyword `targets` (an alias of `labels`).

    Args:
      labels: a tensor of the type and shape of `logits`, the targets in [0, 1].
      logits: a float tensor.
      pos_weight: the weight of the positive examples; broadcasts against `logits`.
      name: a name scope for the operations (optional).
      targets: TensorFlow 1's deprecated name of `labels`.

    Returns:
      The elementwise weighted logistic losses, of the shape and dtype of `logits`.

    Raises:
      ValueError: `labels` and `logits` have incompatible shapes, or both `labels` and
        `targets` are given.
      TypeError: `labels`, `logits` or `pos_weight` is missing.
    """
    if targets is not None:
        if labels is not None:
            raise ValueError("Cannot specify both 'targets' and 'labels'.")
        labels = targets
    for what, v in (("labels", labels), ("logits", logits), ("pos_weight", pos_weight)):
        if v is None:
            raise TypeError(f"weighted_cross_entropy_with_logits() missing required argument: '{what}'")
    with name_scope(name, "logistic_loss"):
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels", dtype_hint=logits.dtype)
        if not labels.shape.is_compatible_with(logits.shape):
            raise ValueError(f"`logits` and `labels` must have the same shape, received ({logits.shape} vs "
                             f"{labels.shape}).")
        pos_weight = convert_to_tensor(pos_weight, name="pos_weight", dtype_hint=logits.dtype)
        one = convert_to_tensor(1, dtype=logits.dtype)
        log_weight = math_ops.add(one, math_ops.multiply(math_ops.subtract(pos_weight, one), labels))
        soft = math_ops.add(math_ops.log1p(math_ops.exp(math_ops.negative(math_ops.abs(logits)))),
                            activation_ops.relu(math_ops.negative(logits)))
        return math_ops.add(math_ops.multiply(math_ops.subtract(one, labels), logits),
                            math_ops.multiply(log_weight, soft))
