"""Batch normalization (`tf.compat.v1.layers.batch_normalization` / `BatchNormalization`)."""
from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from .. import dtypes as _dtypes
from .. import initializers as _init
from ..framework import graph as _g
from ..framework.graph import Tensor, TensorShape
from .base import Layer
from .core import _training_value

__all__ = ["BatchNormalization", "batch_normalization"]


class BatchNormalization(Layer):
    """Normalizes `inputs` over every axis but `axis`, then scales by `gamma` and shifts by `beta`.

    Training (`training=True`): uses the batch mean and (biased) variance, and adds two
    update ops to `tf.GraphKeys.UPDATE_OPS`:
    `moving -= (moving - batch_stat) * (1 - momentum)`. Run them with the train op:
    `with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)): train_op = ...`.
    As in TF1, when the fused kernel applies (rank-4 inputs, channel axis 1 or 3, `fused`
    not False) the moving variance is updated with the unbiased batch variance
    (times n / (n - 1)); otherwise with the biased one.
    Inference (`training=False`): uses `moving_mean` and `moving_variance`. A bool Tensor
    `training` selects the statistics with `tf.where` (updates then use decay 0 when false).

    Variables: `<scope>/gamma`, `<scope>/beta` (trainable), `<scope>/moving_mean`,
    `<scope>/moving_variance` (non-trainable, GLOBAL_VARIABLES only).

    Not supported (ValueError): renorm=True, virtual_batch_size, adjustment.
    """

    def __init__(self, axis: Any = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = None, gamma_initializer: Any = None,
                 moving_mean_initializer: Any = None, moving_variance_initializer: Any = None,
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, renorm: bool = False, renorm_clipping: Any = None,
                 renorm_momentum: float = 0.99, fused: Optional[bool] = None, trainable: bool = True,
                 virtual_batch_size: Optional[int] = None, adjustment: Any = None, name: Optional[str] = None,
                 **kwargs: Any):
        super().__init__(trainable=trainable, name=name, **kwargs)
        if renorm:
            raise ValueError("BatchNormalization: renorm=True is not supported by nestor")
        if virtual_batch_size is not None or adjustment is not None:
            raise ValueError("BatchNormalization: virtual_batch_size and adjustment are not supported by nestor")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = beta_initializer if beta_initializer is not None else _init.zeros_initializer()
        self.gamma_initializer = gamma_initializer if gamma_initializer is not None else _init.ones_initializer()
        self.moving_mean_initializer = moving_mean_initializer if moving_mean_initializer is not None \
            else _init.zeros_initializer()
        self.moving_variance_initializer = moving_variance_initializer if moving_variance_initializer is not None \
            else _init.ones_initializer()
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        self.renorm = False
        self.fused = fused
        self.gamma: Any = None
        self.beta: Any = None
        self.moving_mean: Any = None
        self.moving_variance: Any = None

    def _axes(self, ndims: int) -> List[int]:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        out = []
        for a in axes:
            b = a + ndims if a < 0 else a
            if not 0 <= b < ndims:
                raise ValueError(f"Invalid axis: {a} for inputs of rank {ndims}")
            out.append(b)
        if len(set(out)) != len(out):
            raise ValueError(f"Duplicate axis: {axes}")
        return sorted(out)

    def build(self, input_shape: TensorShape) -> None:
        ndims = input_shape.rank
        if ndims is None:
            raise ValueError(f"Input has undefined rank: {input_shape}")
        axes = self._axes(ndims)
        dims = input_shape.as_list()
        for a in axes:
            if dims[a] is None:
                raise ValueError(f"Input has undefined `axis` dimension. Input shape: {input_shape}")
        self._ndims, self._norm_axes = ndims, axes
        self._fused_used = self.fused is not False and ndims == 4 and axes in ([1], [3])
        param_shape = [dims[a] for a in axes] if len(axes) > 1 else [dims[axes[0]]]
        dt = self._dtype or _dtypes.float32
        if self.scale:
            self.gamma = self.add_weight("gamma", param_shape, dt, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", param_shape, dt, self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", param_shape, dt, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", param_shape, dt,
                                               self.moving_variance_initializer, trainable=False)
        self.built = True

    def call(self, inputs: Tensor, training: Any = False) -> Tensor:
        from ..ops import core_ops, math_ops, nn_ops
        tr = _training_value(training)
        ndims, axes = self._ndims, self._norm_axes
        reduction = [i for i in range(ndims) if i not in axes]
        bshape = [1] * ndims
        for a in axes:
            bshape[a] = inputs.shape.as_list()[a]
        needs_reshape = axes != [ndims - 1]

        def bcast(v: Any) -> Any:
            return core_ops.reshape(v, bshape) if needs_reshape and v is not None else v

        gamma = bcast(self.gamma.value()) if self.scale else None
        beta = bcast(self.beta.value()) if self.center else None
        moving_mean, moving_var = bcast(self.moving_mean.value()), bcast(self.moving_variance.value())
        if tr is False:
            mean, var = moving_mean, moving_var
        else:
            batch_mean, batch_var = nn_ops.moments(inputs, reduction, keep_dims=True)
            if tr is True:
                mean, var = batch_mean, batch_var
            else:
                mean = math_ops.where_v2(tr, batch_mean, moving_mean)
                var = math_ops.where_v2(tr, batch_var, moving_var)
        inv = math_ops.rsqrt(var + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        offset = beta - mean * inv if beta is not None else -mean * inv
        outputs = inputs * inv + offset
        if tr is not False:
            self._add_moving_updates(inputs, batch_mean, batch_var, reduction, tr)
        return outputs

    def _add_moving_updates(self, inputs: Tensor, batch_mean: Tensor, batch_var: Tensor, reduction: List[int],
                            tr: Any) -> None:
        from ..ops import core_ops, math_ops, state_ops
        pshape = self.moving_mean.shape.as_list()
        mean = core_ops.reshape(batch_mean, pshape)
        var = core_ops.reshape(batch_var, pshape)
        if self._fused_used:  # TF's fused kernel reports the unbiased variance for the moving average
            dims = inputs.shape.as_list()
            red = [dims[i] for i in reduction]
            if all(d is not None for d in red):
                n: Any = float(np.prod(red))
                factor: Any = n / max(n - 1.0, 1.0)
            else:
                n = core_ops.cast(core_ops.size(inputs) // core_ops.size(self.moving_mean.value()), var.dtype)
                factor = n / math_ops.maximum(n - 1.0, 1.0)
            var = var * factor
        decay: Any = 1.0 - self.momentum
        if tr is not True:
            decay = math_ops.where_v2(tr, core_ops.constant(decay, var.dtype), core_ops.constant(0.0, var.dtype))
        for v, value in ((self.moving_mean, mean), (self.moving_variance, var)):
            with _g.name_scope("AssignMovingAvg"):
                delta = (v.value() - value) * decay
                self.add_update(state_ops.assign_sub(v, delta))

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        return TensorShape(input_shape)


def batch_normalization(inputs: Any, axis: Any = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                        center: bool = True, scale: bool = True, beta_initializer: Any = None,
                        gamma_initializer: Any = None, moving_mean_initializer: Any = None,
                        moving_variance_initializer: Any = None, beta_regularizer: Any = None,
                        gamma_regularizer: Any = None, beta_constraint: Any = None, gamma_constraint: Any = None,
                        training: Any = False, trainable: bool = True, name: Optional[str] = None,
                        reuse: Any = None, renorm: bool = False, renorm_clipping: Any = None,
                        renorm_momentum: float = 0.99, fused: Optional[bool] = None,
                        virtual_batch_size: Optional[int] = None, adjustment: Any = None) -> Tensor:
    """Functional interface of `BatchNormalization` (`tf.compat.v1.layers.batch_normalization`).

    Note: the moving-average updates are added to `tf.GraphKeys.UPDATE_OPS` and must be run
    with the train op, e.g.

        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_op = optimizer.minimize(loss)
    """
    layer = BatchNormalization(axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale,
                               beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                               moving_mean_initializer=moving_mean_initializer,
                               moving_variance_initializer=moving_variance_initializer,
                               beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                               beta_constraint=beta_constraint, gamma_constraint=gamma_constraint, renorm=renorm,
                               renorm_clipping=renorm_clipping, renorm_momentum=renorm_momentum, fused=fused,
                               trainable=trainable, virtual_batch_size=virtual_batch_size, adjustment=adjustment,
                               name=name, _reuse=reuse)
    return layer.apply(inputs, training=training)
