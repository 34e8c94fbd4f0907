"""TF1 2-D convolution and pooling layers (`tf.compat.v1.layers.conv2d`, `max_pooling2d`,
`average_pooling2d` and their classes), channels-last only."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import numpy as np

from ..framework.graph import Tensor, TensorShape
from .base import Layer
from .core import _KernelBiasLayer

__all__ = ["Conv2D", "Convolution2D", "conv2d", "MaxPooling2D", "MaxPool2D", "max_pooling2d",
           "AveragePooling2D", "AvgPool2D", "average_pooling2d"]


def _pair(value: Any, what: str) -> Tuple[int, int]:
    """An int or a tuple/list of 2 positive ints, as (height, width)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        v = (int(value), int(value))
    else:
        try:
            v = tuple(int(x) for x in value)
        except TypeError:
            raise TypeError(f"{what} must be an int or a tuple of 2 ints, got {value!r}") from None
        if len(v) != 2:
            raise ValueError(f"{what} must be an int or a tuple of 2 ints, got {value!r}")
    if v[0] < 1 or v[1] < 1:
        raise ValueError(f"{what} must be positive, got {value!r}")
    return v  # type: ignore[return-value]


def _padding(padding: Any) -> str:
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return p.upper()


def _channels_last(data_format: str) -> None:
    if data_format == "channels_first":
        raise NotImplementedError("data_format='channels_first' is not supported: only 'channels_last' (NHWC) "
                                  "is implemented")
    if data_format != "channels_last":
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")


def _out_size(size: Optional[int], k: int, s: int, padding: str) -> Optional[int]:
    if size is None:
        return None
    return -(-size // s) if padding == "SAME" else max((size - k) // s + 1, 0)


class Conv2D(_KernelBiasLayer):
    """2-D convolution layer: `outputs = activation(conv2d(inputs, kernel) + bias)`.

    Variables `<scope>/kernel` [kernel_h, kernel_w, in_channels, filters] and `<scope>/bias`
    [filters].

    Args:
      filters: number of output channels.
      kernel_size: an int or a tuple of 2 ints (height, width).
      strides: an int or a tuple of 2 ints.
      padding: 'valid' or 'same' (case-insensitive).
      data_format: 'channels_last' only.
      dilation_rate: 1 or (1, 1) (dilated convolutions are not implemented).
      activation: fn applied to the output, or None for linear.
      use_bias: whether to add a bias.
      kernel_initializer: default glorot_uniform (get_variable's default).
      bias_initializer: default zeros.
      kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
        bias_constraint, trainable, name: as for `Dense`.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = (1, 1),
                 activation: Optional[Callable[[Tensor], Tensor]] = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: Optional[str] = None, **kwargs: Any):
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or int(filters) <= 0:
            raise ValueError(f"filters must be a positive integer, got {filters!r}")
        _channels_last(data_format)
        if _pair(dilation_rate, "dilation_rate") != (1, 1):
            raise NotImplementedError(f"dilation_rate {dilation_rate!r}: only dilation 1 is implemented")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.padding = _padding(padding)
        self.data_format = data_format
        self.dilation_rate = (1, 1)
        self._init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                               bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape: TensorShape) -> None:
        if input_shape.rank != 4 or input_shape.as_list()[-1] is None:
            raise ValueError(f"Conv2D needs 4-D inputs [batch, height, width, channels] with a known channel "
                             f"dimension, got shape {input_shape}")
        self._build_kernel_bias([*self.kernel_size, int(input_shape.as_list()[-1]), self.filters], self.filters)

    def call(self, inputs: Tensor) -> Tensor:
        from ..ops import conv_ops
        outputs = conv_ops.conv2d(self._cast_input(inputs), self.kernel, [1, *self.strides, 1], self.padding)
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        n, h, w, _ = TensorShape(input_shape).as_list()
        return TensorShape([n, _out_size(h, self.kernel_size[0], self.strides[0], self.padding),
                            _out_size(w, self.kernel_size[1], self.strides[1], self.padding), self.filters])


Convolution2D = Conv2D


def conv2d(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = (1, 1),
           activation: Optional[Callable[[Tensor], Tensor]] = None, use_bias: bool = True,
           kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
           bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
           bias_constraint: Any = None, trainable: bool = True, name: Optional[str] = None,
           reuse: Any = None) -> Tensor:
    """Functional interface of `Conv2D` (`tf.compat.v1.layers.conv2d`).

    Returns:
      `activation(conv2d(inputs, kernel) + bias)`, shape [batch, out_h, out_w, filters].

    Raises:
      ValueError: inputs not 4-D or of unknown channels, bad sizes, or variable reuse violations.
      NotImplementedError: channels_first, dilation_rate above 1.
    """
    layer = Conv2D(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable, name=name, _reuse=reuse)
    return layer.apply(inputs)


class _Pooling2D(Layer):
    _op = ""

    def __init__(self, pool_size: Any, strides: Any, padding: str = "valid", data_format: str = "channels_last",
                 name: Optional[str] = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        _channels_last(data_format)
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = _pair(strides, "strides")
        self.padding = _padding(padding)
        self.data_format = data_format

    def call(self, inputs: Tensor) -> Tensor:
        from ..ops import conv_ops
        op = conv_ops.max_pool if self._op == "max" else conv_ops.avg_pool
        return op(inputs, [1, *self.pool_size, 1], [1, *self.strides, 1], self.padding)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        n, h, w, c = TensorShape(input_shape).as_list()
        return TensorShape([n, _out_size(h, self.pool_size[0], self.strides[0], self.padding),
                            _out_size(w, self.pool_size[1], self.strides[1], self.padding), c])


class MaxPooling2D(_Pooling2D):
    """Max pooling over windows of NHWC inputs (`tf.compat.v1.layers.MaxPooling2D`).

    Args:
      pool_size: an int or a tuple of 2 ints.
      strides: an int or a tuple of 2 ints.
      padding: 'valid' or 'same'.
      data_format: 'channels_last' only.
      name: layer name.
    """
    _op = "max"


class AveragePooling2D(_Pooling2D):
    """Average pooling over windows of NHWC inputs (`tf.compat.v1.layers.AveragePooling2D`); with
    'same' padding each window is divided by its number of elements inside the input.

    Args: as `MaxPooling2D`.
    """
    _op = "avg"


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


def max_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: Optional[str] = None) -> Tensor:
    """Functional interface of `MaxPooling2D` (`tf.compat.v1.layers.max_pooling2d`)."""
    return MaxPooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name).apply(inputs)


def average_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: Optional[str] = None) -> Tensor:
    """Functional interface of `AveragePooling2D` (`tf.compat.v1.layers.average_pooling2d`)."""
    return AveragePooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name).apply(inputs)
