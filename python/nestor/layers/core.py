"""Core TF1 layers: `dense`, `dropout`, `flatten` and an `Embedding` layer (`tf.compat.v1.layers`)."""
from __future__ import annotations

import numbers
from typing import Any, Callable, Optional

import numpy as np

from .. import dtypes as _dtypes
from .. import initializers as _init
from ..framework.graph import Tensor, TensorShape, convert_to_tensor
from .base import Layer, get_initializer

__all__ = ["Dense", "dense", "Dropout", "dropout", "Flatten", "flatten", "Embedding"]


def _training_value(training: Any) -> Any:
    """Python bool for a Python/numpy bool, else the bool Tensor."""
    if isinstance(training, (bool, np.bool_, int)) and not isinstance(training, Tensor):
        return bool(training)
    t = convert_to_tensor(training)
    if t.dtype != _dtypes.bool:
        raise TypeError(f"training must be a Python bool or a bool Tensor, got a {t.dtype.name} Tensor")
    if t.shape.rank not in (None, 0):
        raise ValueError(f"training must be a scalar, got shape {t.shape}")
    return t


class _KernelBiasLayer(Layer):
    """A layer with a `kernel`, an optional `bias` and an activation: `activation(f(x, kernel) + bias)`.

    Holds the arguments the kernel layers share, makes the two variables and applies the
    bias and activation; subclasses give the kernel's shape and `f`.
    """

    def _init_kernel_bias(self, activation: Optional[Callable[[Tensor], Tensor]], use_bias: bool,
                          kernel_initializer: Any, bias_initializer: Any, kernel_regularizer: Any,
                          bias_regularizer: Any, kernel_constraint: Any, bias_constraint: Any) -> None:
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer if bias_initializer is not None else _init.zeros_initializer()
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.kernel: Any = None
        self.bias: Any = None

    def _build_kernel_bias(self, kernel_shape: Any, units: int) -> None:
        if self._dtype is None:  # integer inputs: float32 variables, inputs cast in call()
            self._dtype = _dtypes.float32
        self.kernel = self.add_weight("kernel", shape=list(kernel_shape), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=[units], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def _cast_input(self, inputs: Tensor) -> Tensor:
        from ..ops import core_ops
        return core_ops.cast(inputs, self._dtype) if inputs.dtype != self._dtype else inputs

    def _bias_and_activation(self, outputs: Tensor) -> Tensor:
        from ..ops import nn_ops
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


class Dense(_KernelBiasLayer):
    """Densely-connected layer: `outputs = activation(inputs @ kernel + bias)`.

    Variables `<scope>/kernel` [in, units] and `<scope>/bias` [units]. Inputs of rank > 2
    are multiplied over their last axis.

    Args:
      units: output size.
      activation: fn applied to the output, or None for linear.
      use_bias: whether to add a bias.
      kernel_initializer: default glorot_uniform (get_variable's default).
      bias_initializer: default zeros.
      kernel_regularizer, bias_regularizer: fn(variable) -> scalar loss, added to
        `REGULARIZATION_LOSSES`.
      activity_regularizer: fn(outputs) -> scalar loss (divided by the batch size).
      kernel_constraint, bias_constraint: projections stored on the variables.
      trainable: add the variables to `TRAINABLE_VARIABLES`.
      name: variable scope name.
    """

    def __init__(self, units: int, activation: Optional[Callable[[Tensor], Tensor]] = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = None,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
                 name: Optional[str] = None, **kwargs: Any):
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or int(units) <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = int(units)
        self._init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                               bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape: TensorShape) -> None:
        if input_shape.rank is None or input_shape.rank < 1 or input_shape.as_list()[-1] is None:
            raise ValueError(f"The last dimension of the inputs to `Dense` should be defined. Found `None`. "
                             f"(input shape {input_shape})")
        self._build_kernel_bias([int(input_shape.as_list()[-1]), self.units], self.units)

    def call(self, inputs: Tensor) -> Tensor:
        from ..ops import core_ops, math_ops
        inputs = self._cast_input(inputs)
        rank = inputs.shape.rank
        if rank == 2:
            outputs = math_ops.matmul(inputs, self.kernel)
        else:
            from ..ops import array_ops
            flat = core_ops.reshape(inputs, [-1, int(self.kernel.shape.as_list()[0])])
            prod = math_ops.matmul(flat, self.kernel)
            lead = core_ops.shape(inputs)[:-1]
            outputs = core_ops.reshape(prod, array_ops.concat([lead, [self.units]], 0), name="Tensordot")
            if rank is not None:
                outputs.set_shape(inputs.shape.as_list()[:-1] + [self.units])
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        s = TensorShape(input_shape)
        return TensorShape(s.as_list()[:-1] + [self.units])


def dense(inputs: Any, units: int, activation: Optional[Callable[[Tensor], Tensor]] = None, use_bias: bool = True,
          kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
          bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
          bias_constraint: Any = None, trainable: bool = True, name: Optional[str] = None,
          reuse: Any = None) -> Tensor:
    """Functional interface of `Dense` (`tf.compat.v1.layers.dense`).

    Returns:
      `activation(inputs @ kernel + bias)`, shape `inputs.shape[:-1] + [units]`.

    Raises:
      ValueError: the last dimension of `inputs` is unknown, or variable reuse violations
        (same `name` twice without `reuse=True`, or `reuse=True` with no existing variables).
    """
    layer = Dense(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                  bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                  bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                  kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, trainable=trainable,
                  name=name, _reuse=reuse)
    return layer.apply(inputs)


class Dropout(Layer):
    """Randomly zeroes inputs with probability `rate` while training, scaling the kept ones
    by 1 / (1 - rate); identity when not training.

    `training` may be a Python bool or a scalar bool Tensor. With a Tensor both branches are
    built and the output is `tf.where(training, dropped, inputs)` (TF uses `tf.cond`; the
    result is the same).
    """

    def __init__(self, rate: float = 0.5, noise_shape: Any = None, seed: Optional[int] = None,
                 name: Optional[str] = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if isinstance(rate, numbers.Real) and not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"rate must be a float in the range [0, 1), got {rate}")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed

    def call(self, inputs: Tensor, training: Any = False) -> Tensor:
        from ..ops import core_ops, math_ops, random_ops
        tr = _training_value(training)
        if tr is False:
            return core_ops.identity(inputs)
        if isinstance(self.rate, numbers.Real) and float(self.rate) == 0.0:
            return core_ops.identity(inputs)
        dropped = random_ops.dropout(inputs, noise_shape=self.noise_shape, seed=self.seed, rate=self.rate)
        if tr is True:
            return dropped
        return math_ops.where_v2(tr, dropped, inputs)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        return TensorShape(input_shape)


def dropout(inputs: Any, rate: float = 0.5, noise_shape: Any = None, seed: Optional[int] = None,
            training: Any = False, name: Optional[str] = None) -> Tensor:
    """Functional interface of `Dropout` (`tf.compat.v1.layers.dropout`).

    Args:
      inputs: float tensor.
      rate: fraction of the inputs dropped (0.1 drops 10%).
      noise_shape: shape of the keep/drop mask, broadcast against the inputs.
      seed: op seed.
      training: Python bool or scalar bool Tensor; when false, returns the inputs unchanged.
      name: layer name.
    """
    return Dropout(rate, noise_shape=noise_shape, seed=seed, name=name).apply(inputs, training=training)


class Flatten(Layer):
    """Flattens every dimension but the first: [N, d1, d2, ...] -> [N, d1*d2*...]; [N] -> [N, 1]."""

    def __init__(self, data_format: str = "channels_last", name: Optional[str] = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
        self.data_format = data_format

    def call(self, inputs: Tensor) -> Tensor:
        from ..ops import array_ops, core_ops
        rank = inputs.shape.rank
        if rank is None:
            raise ValueError("Flatten needs inputs of known rank")
        if rank == 0:
            raise ValueError("Flatten needs inputs of rank >= 1, got a scalar")
        if self.data_format == "channels_first" and rank > 2:
            inputs = array_ops.transpose(inputs, [0] + list(range(2, rank)) + [1])
        if rank == 1:
            return array_ops.expand_dims(inputs, 1)
        dims = inputs.shape.as_list()
        rest = dims[1:]
        if all(d is not None for d in rest):
            return core_ops.reshape(inputs, [-1 if dims[0] is None else dims[0], int(np.prod(rest))])
        batch = dims[0] if dims[0] is not None else core_ops.shape(inputs)[0]
        return core_ops.reshape(inputs, array_ops.stack([batch, -1]))

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        dims = TensorShape(input_shape).as_list()
        rest = dims[1:]
        return TensorShape([dims[0], int(np.prod(rest)) if all(d is not None for d in rest) else None])


def flatten(inputs: Any, name: Optional[str] = None, data_format: str = "channels_last") -> Tensor:
    """Functional interface of `Flatten` (`tf.compat.v1.layers.flatten`)."""
    return Flatten(data_format=data_format, name=name).apply(inputs)


class Embedding(Layer):
    """Maps integer ids to rows of the trainable table `<scope>/embeddings` [input_dim, output_dim]
    (Keras' `Embedding`). The lookup is `tf.nn.embedding_lookup`, so the table's gradient is
    sparse (IndexedSlices).

    Args:
      input_dim: vocabulary size.
      output_dim: embedding width.
      embeddings_initializer: default 'uniform' = random_uniform(-0.05, 0.05).
      embeddings_regularizer, activity_regularizer, embeddings_constraint: as in Dense.
      mask_zero: kept for API compatibility (nestor layers do not propagate masks).
      input_length: kept for API compatibility.
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, activity_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False, input_length: Optional[int] = None,
                 trainable: bool = True, name: Optional[str] = None, dtype: Any = None, **kwargs: Any):
        super().__init__(trainable=trainable, name=name, dtype=dtype or _dtypes.float32,
                         activity_regularizer=activity_regularizer, **kwargs)
        if int(input_dim) <= 0 or int(output_dim) <= 0:
            raise ValueError(f"Both input_dim and output_dim should be positive, found input_dim {input_dim} "
                             f"and output_dim {output_dim}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = get_initializer(embeddings_initializer)
        self.embeddings_regularizer = embeddings_regularizer
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = mask_zero
        self.input_length = input_length
        self.embeddings: Any = None

    def build(self, input_shape: TensorShape) -> None:
        self.embeddings = self.add_weight("embeddings", shape=[self.input_dim, self.output_dim],
                                          dtype=self._dtype or _dtypes.float32,
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        from ..ops import core_ops, sparse_ops
        if inputs.dtype not in (_dtypes.int32, _dtypes.int64):
            inputs = core_ops.cast(inputs, _dtypes.int32)
        return sparse_ops.embedding_lookup(self.embeddings, inputs)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        return TensorShape(TensorShape(input_shape).as_list() + [self.output_dim])
