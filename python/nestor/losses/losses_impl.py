"""TF1 loss functions (`tf.compat.v1.losses`), with TensorFlow's weighting and reductions.

Each loss computes per-element losses, weights them (`weights` must be a scalar or have
the rank of the losses with every dimension 1 or equal), reduces them per `reduction` and
adds the result to `loss_collection` (default `GraphKeys.LOSSES`).

Difference from TF: TF casts losses to float32 before weighting; nestor keeps float64
inputs in float64 (float32 inputs give TF's float32 results).
"""
from __future__ import annotations

from typing import Any, Optional

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.graph import GraphKeys, Tensor, convert_to_tensor
from .util import add_loss

__all__ = ["Reduction", "compute_weighted_loss", "absolute_difference", "cosine_distance", "hinge_loss",
           "huber_loss", "log_loss", "mean_squared_error", "mean_pairwise_squared_error",
           "sigmoid_cross_entropy", "softmax_cross_entropy", "sparse_softmax_cross_entropy"]


class Reduction:
    """How `compute_weighted_loss` reduces the weighted losses.

    NONE: the unreduced weighted losses. SUM: their sum. MEAN: sum / sum of the weights.
    SUM_OVER_BATCH_SIZE: sum / number of loss elements. SUM_BY_NONZERO_WEIGHTS (default):
    sum / number of nonzero weights (broadcast to the losses). Divisions by 0 give 0.
    """

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_OVER_NONZERO_WEIGHTS,
                cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: Any) -> None:
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key}.")


def _float_dtype(t: Tensor) -> _dtypes.DType:
    return t.dtype if t.dtype.is_floating else _dtypes.float32


def _div_no_nan(x: Tensor, y: Tensor, name: str = "value") -> Tensor:
    """x / y, 0 where y == 0 (and a zero gradient there)."""
    from ..ops import core_ops, math_ops
    zero = math_ops.equal(y, 0.0)
    safe = math_ops.where_v2(zero, core_ops.ones_like(y), y)
    return math_ops.where_v2(zero, core_ops.zeros_like(x * y), x / safe, name=name)


def _assert_broadcastable(weights: Tensor, values: Tensor) -> None:
    """TF's rule: weights are a scalar, or have values' rank with each dim 1 or equal."""
    ws, vs = weights.shape, values.shape
    if ws.rank is None or vs.rank is None or ws.rank == 0:
        return
    bad = ws.rank != vs.rank
    if not bad:
        for a, b in zip(ws.as_list(), vs.as_list()):
            if a is not None and b is not None and a != 1 and a != b:
                bad = True
    if bad:
        raise ValueError(f"weights can not be broadcast to values. values.rank={vs.rank}. weights.rank={ws.rank}. "
                         f"values.shape={vs}. weights.shape={ws}.")


def _num_elements(losses: Tensor) -> Tensor:
    from ..ops import core_ops
    with _g.name_scope("num_elements"):
        return core_ops.cast(core_ops.size(losses), losses.dtype)


def _num_present(losses: Tensor, weights: Any, per_batch: bool = False) -> Tensor:
    """Number of elements of `losses` whose (broadcast) weight is nonzero."""
    from ..ops import core_ops, math_ops, reduction_ops
    if isinstance(weights, float) and weights != 0.0:
        return _num_elements(losses)
    with _g.name_scope("num_present"):
        w = core_ops.cast(convert_to_tensor(weights, dtype_hint=losses.dtype), losses.dtype)
        present = math_ops.where_v2(math_ops.equal(w, 0.0), core_ops.zeros_like(w), core_ops.ones_like(w))
        present = present * core_ops.ones_like(losses)
        if per_batch:
            rank = present.shape.rank
            if rank is None:
                raise ValueError("mean_pairwise_squared_error needs inputs of known rank")
            return reduction_ops.reduce_sum(present, list(range(1, rank)), keepdims=True)
        return reduction_ops.reduce_sum(present)


def compute_weighted_loss(losses: Any, weights: Any = 1.0, scope: Optional[str] = None,
                          loss_collection: Optional[str] = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weights `losses` and reduces them (`tf.compat.v1.losses.compute_weighted_loss`).

    Args:
      losses: Tensor of per-element losses.
      weights: scalar, or a Tensor of the losses' rank whose dims are 1 or equal to theirs.
      scope: name scope.
      loss_collection: collection the result is added to (None: none).
      reduction: a `Reduction` key.

    Returns:
      The weighted loss: a scalar, or the losses' shape for `Reduction.NONE`.

    Raises:
      ValueError: invalid reduction or weights not broadcastable to the losses.
    """
    from ..ops import core_ops, reduction_ops
    Reduction.validate(reduction)
    with _g.name_scope(scope if scope is not None else "weighted_loss"):
        losses = convert_to_tensor(losses)
        input_dtype = losses.dtype
        dt = _float_dtype(losses)
        losses = core_ops.cast(losses, dt)
        w = core_ops.cast(convert_to_tensor(weights, dtype_hint=dt), dt)
        _assert_broadcastable(w, losses)
        weighted = losses * w
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            loss = reduction_ops.reduce_sum(weighted)
            if reduction == Reduction.MEAN:
                loss = _div_no_nan(loss, reduction_ops.reduce_sum(core_ops.ones_like(losses) * w))
            elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
                loss = _div_no_nan(loss, _num_present(losses, weights))
            elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                loss = _div_no_nan(loss, _num_elements(losses))
        loss = core_ops.cast(loss, input_dtype)
        add_loss(loss, loss_collection)
        return loss


def _check_args(a: Any, a_name: str, b: Any, b_name: str) -> None:
    if a is None:
        raise ValueError(f"{a_name} must not be None.")
    if b is None:
        raise ValueError(f"{b_name} must not be None.")


def _pair(labels: Any, predictions: Any) -> tuple:
    """Converts predictions (float) and labels (cast to the predictions' dtype); checks shapes."""
    from ..ops import core_ops
    p = convert_to_tensor(predictions)
    if not p.dtype.is_floating:
        p = core_ops.cast(p, _dtypes.float32)
    lab = core_ops.cast(convert_to_tensor(labels, dtype_hint=p.dtype), p.dtype)
    if not p.shape.is_compatible_with(lab.shape):
        raise ValueError(f"Shapes {p.shape} and {lab.shape} are incompatible")
    return lab, p


def absolute_difference(labels: Any, predictions: Any, weights: Any = 1.0, scope: Optional[str] = None,
                        loss_collection: Optional[str] = GraphKeys.LOSSES,
                        reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weighted |predictions - labels|."""
    from ..ops import math_ops
    _check_args(labels, "labels", predictions, "predictions")
    with _g.name_scope(scope or "absolute_difference") as sc:
        lab, p = _pair(labels, predictions)
        losses = math_ops.abs(math_ops.subtract(p, lab))
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction=reduction)


def cosine_distance(labels: Any, predictions: Any, axis: Optional[int] = None, weights: Any = 1.0,
                    scope: Optional[str] = None, loss_collection: Optional[str] = GraphKeys.LOSSES,
                    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS, dim: Optional[int] = None) -> Tensor:
    """Weighted 1 - sum(labels * predictions, axis) (inputs assumed unit-normalized along `axis`);
    the per-example losses keep `axis` as a size-1 dimension.

    Raises:
      ValueError: `axis` (or the deprecated `dim`) is not given.
    """
    from ..ops import reduction_ops
    if axis is None and dim is not None:
        axis = dim
    elif axis is not None and dim is not None and axis != dim:
        raise ValueError("Cannot specify both 'axis' and 'dim'")
    if axis is None:
        raise ValueError("You must specify 'axis'.")
    _check_args(labels, "labels", predictions, "predictions")
    with _g.name_scope(scope or "cosine_distance_loss") as sc:
        lab, p = _pair(labels, predictions)
        losses = 1.0 - reduction_ops.reduce_sum(p * lab, axis=[axis], keepdims=True)
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction=reduction)


def hinge_loss(labels: Any, logits: Any, weights: Any = 1.0, scope: Optional[str] = None,
               loss_collection: Optional[str] = GraphKeys.LOSSES,
               reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weighted max(0, 1 - (2 * labels - 1) * logits) for 0/1 labels."""
    from ..ops import activation_ops, core_ops
    _check_args(labels, "labels", logits, "logits")
    with _g.name_scope(scope or "hinge_loss") as sc:
        lab, x = _pair(labels, logits)
        ones = core_ops.ones_like(lab)
        signed = 2.0 * lab - ones
        losses = activation_ops.relu(ones - signed * x)
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction=reduction)


def huber_loss(labels: Any, predictions: Any, weights: Any = 1.0, delta: float = 1.0, scope: Optional[str] = None,
               loss_collection: Optional[str] = GraphKeys.LOSSES,
               reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weighted Huber loss: 0.5 * e^2 for |e| <= delta, else delta * (|e| - 0.5 * delta)."""
    from ..ops import math_ops
    _check_args(labels, "labels", predictions, "predictions")
    with _g.name_scope(scope or "huber_loss") as sc:
        lab, p = _pair(labels, predictions)
        abs_error = math_ops.abs(p - lab)
        quadratic = math_ops.minimum(abs_error, delta)
        linear = abs_error - quadratic
        losses = 0.5 * quadratic * quadratic + delta * linear
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction=reduction)


def log_loss(labels: Any, predictions: Any, weights: Any = 1.0, epsilon: float = 1e-7, scope: Optional[str] = None,
             loss_collection: Optional[str] = GraphKeys.LOSSES,
             reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weighted -labels * log(p + eps) - (1 - labels) * log(1 - p + eps) for probabilities p."""
    from ..ops import math_ops
    _check_args(labels, "labels", predictions, "predictions")
    with _g.name_scope(scope or "log_loss") as sc:
        lab, p = _pair(labels, predictions)
        losses = -(lab * math_ops.log(p + epsilon)) - (1.0 - lab) * math_ops.log(1.0 - p + epsilon)
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction=reduction)


def mean_squared_error(labels: Any, predictions: Any, weights: Any = 1.0, scope: Optional[str] = None,
                       loss_collection: Optional[str] = GraphKeys.LOSSES,
                       reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weighted (predictions - labels)^2."""
    from ..ops import math_ops
    _check_args(labels, "labels", predictions, "predictions")
    with _g.name_scope(scope or "mean_squared_error") as sc:
        lab, p = _pair(labels, predictions)
        losses = math_ops.squared_difference(p, lab)
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction=reduction)


def mean_pairwise_squared_error(labels: Any, predictions: Any, weights: Any = 1.0, scope: Optional[str] = None,
                                loss_collection: Optional[str] = GraphKeys.LOSSES) -> Tensor:
    """Sum over the batch of weights[i] * the mean of (d_j - d_k)^2 over pairs j != k of
    example i's present elements, d = predictions - labels (TF's formula:
    2 * sum(d^2) / (n - 1) - 2 * sum(d)^2 / (n * (n - 1)), n the count of nonzero weights).
    """
    from ..ops import core_ops, math_ops, reduction_ops
    _check_args(labels, "labels", predictions, "predictions")
    with _g.name_scope(scope or "mean_pairwise_squared_error"):
        lab, p = _pair(labels, predictions)
        w = core_ops.cast(convert_to_tensor(weights, dtype_hint=p.dtype), p.dtype)
        diffs = p - lab
        rank = diffs.shape.rank
        if rank is None or rank < 2:
            raise ValueError(f"mean_pairwise_squared_error needs inputs of rank >= 2 (batch first), got {diffs.shape}")
        axis = list(range(1, rank))
        sum_sq = reduction_ops.reduce_sum(math_ops.square(diffs), axis, keepdims=True)
        n = _num_present(diffs, w, per_batch=True)
        term1 = 2.0 * _div_no_nan(sum_sq, math_ops.maximum(n - 1.0, 0.0))
        sum_diff = reduction_ops.reduce_sum(diffs, axis, keepdims=True)
        term2 = 2.0 * _div_no_nan(math_ops.square(sum_diff), math_ops.maximum(n * (n - 1.0), 0.0))
        loss = reduction_ops.reduce_sum((term1 - term2) * w)
        mean_loss = math_ops.where_v2(reduction_ops.reduce_sum(n) > 0.0, loss, core_ops.zeros_like(loss),
                                      name="value")
        add_loss(mean_loss, loss_collection)
        return mean_loss


def sigmoid_cross_entropy(multi_class_labels: Any, logits: Any, weights: Any = 1.0, label_smoothing: float = 0,
                          scope: Optional[str] = None, loss_collection: Optional[str] = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weighted sigmoid cross entropy; with label_smoothing s, labels become
    labels * (1 - s) + 0.5 * s."""
    from ..ops import nn_ops
    _check_args(multi_class_labels, "multi_class_labels", logits, "logits")
    with _g.name_scope(scope or "sigmoid_cross_entropy_loss") as sc:
        lab, x = _pair(multi_class_labels, logits)
        if label_smoothing > 0:
            lab = lab * (1.0 - label_smoothing) + 0.5 * label_smoothing
        losses = nn_ops.sigmoid_cross_entropy_with_logits(labels=lab, logits=x, name="xentropy")
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction=reduction)


def softmax_cross_entropy(onehot_labels: Any, logits: Any, weights: Any = 1.0, label_smoothing: float = 0,
                          scope: Optional[str] = None, loss_collection: Optional[str] = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weighted softmax cross entropy over the last axis; with label_smoothing s and C
    classes, labels become labels * (1 - s) + s / C. No gradient flows into the labels."""
    from ..ops import core_ops, nn_ops
    _check_args(onehot_labels, "onehot_labels", logits, "logits")
    with _g.name_scope(scope or "softmax_cross_entropy_loss") as sc:
        lab, x = _pair(onehot_labels, logits)
        if label_smoothing > 0:
            num_classes = core_ops.cast(core_ops.shape(lab)[-1], x.dtype)
            lab = lab * (1.0 - label_smoothing) + label_smoothing / num_classes
        lab = core_ops.stop_gradient(lab, name="labels_stop_gradient")
        losses = nn_ops.softmax_cross_entropy_with_logits_v2(labels=lab, logits=x, name="xentropy")
        return compute_weighted_loss(losses, weights, sc, loss_collection, reduction=reduction)


def _remove_squeezable_dimensions(labels: Tensor, logits: Tensor, weights: Any) -> tuple:
    """Squeezes a trailing size-1 label dim ([N, 1] labels with [N, C] logits), and weights
    one rank above the labels, as TF does."""
    from ..ops import array_ops
    lr, pr = labels.shape.rank, logits.shape.rank
    if lr is not None and pr is not None and pr - lr == 0:
        last = labels.shape.as_list()[-1]
        if last in (None, 1):
            labels = array_ops.squeeze(labels, [-1])
    w = convert_to_tensor(weights, dtype_hint=logits.dtype)
    lr = labels.shape.rank
    if lr is not None and w.shape.rank is not None and w.shape.rank - lr == 1:
        w = array_ops.squeeze(w, [-1])
    return labels, logits, w


def sparse_softmax_cross_entropy(labels: Any, logits: Any, weights: Any = 1.0, scope: Optional[str] = None,
                                 loss_collection: Optional[str] = GraphKeys.LOSSES,
                                 reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weighted cross entropy of softmax(logits) [..., C] against int class ids `labels` [...]
    ([..., 1] labels are squeezed)."""
    _check_args(labels, "labels", logits, "logits")
    from ..ops import nn_ops
    with _g.name_scope(scope or "sparse_softmax_cross_entropy_loss") as sc:
        lab = convert_to_tensor(labels)
        x = convert_to_tensor(logits)
        lab, x, w = _remove_squeezable_dimensions(lab, x, weights)
        losses = nn_ops.sparse_softmax_cross_entropy_with_logits(labels=lab, logits=x, name="xentropy")
        if isinstance(weights, float):
            w = weights
        return compute_weighted_loss(losses, w, sc, loss_collection, reduction=reduction)
