"""TF1 1-D convolution/pooling and transposed 2-D convolution layers (`tf.compat.v1.layers.conv1d`,
`max_pooling1d`, `average_pooling1d`, `conv2d_transpose` and their classes), channels-last only."""
from __future__ import annotations

from typing import Any, Callable, List, Optional

import numpy as np

from ..framework.graph import Tensor, TensorShape
from .base import Layer
from .convolutional import _channels_last, _pair, _padding
from .core import _KernelBiasLayer

__all__ = ["Conv1D", "Convolution1D", "conv1d", "MaxPooling1D", "MaxPool1D", "max_pooling1d",
           "AveragePooling1D", "AvgPool1D", "average_pooling1d", "Conv2DTranspose", "Convolution2DTranspose",
           "conv2d_transpose"]


def _single(value: Any, what: str) -> int:
    """An int or a tuple/list of 1 positive int."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        v = int(value)
    else:
        try:
            vs = [int(x) for x in value]
        except TypeError:
            raise TypeError(f"{what} must be an int or a tuple of 1 int, got {value!r}") from None
        if len(vs) != 1:
            raise ValueError(f"{what} must be an int or a tuple of 1 int, got {value!r}")
        v = vs[0]
    if v < 1:
        raise ValueError(f"{what} must be positive, got {value!r}")
    return v


def _filters(filters: Any) -> int:
    if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or int(filters) <= 0:
        raise ValueError(f"filters must be a positive integer, got {filters!r}")
    return int(filters)


def _out_len(size: Optional[int], k: int, s: int, padding: str) -> Optional[int]:
    """Keras' conv_output_length for 'VALID', 'SAME' and 'CAUSAL' (dilation 1)."""
    if size is None:
        return None
    n = size - k + 1 if padding == "VALID" else size
    return max(-(-n // s), 0)


def _deconv_len(size: Optional[int], k: int, s: int, padding: str) -> Optional[int]:
    """Keras' deconv_output_length (no output_padding, dilation 1)."""
    if size is None:
        return None
    return size * s if padding == "SAME" else size * s + max(k - s, 0)


class Conv1D(_KernelBiasLayer):
    """1-D convolution layer over [batch, width, channels]:
    `outputs = activation(conv1d(inputs, kernel) + bias)`.

    Variables `<scope>/kernel` [kernel_size, in_channels, filters] and `<scope>/bias` [filters].

    Args:
      filters: number of output channels.
      kernel_size: an int or a tuple of 1 int.
      strides: an int or a tuple of 1 int.
      padding: 'valid', 'same' or 'causal' (left padding by kernel_size - 1, case-insensitive).
      data_format: 'channels_last' only.
      dilation_rate: 1 (dilated convolutions are not implemented).
      activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, trainable,
        name: as for `Conv2D`.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = 1,
                 activation: Optional[Callable[[Tensor], Tensor]] = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: Optional[str] = None, **kwargs: Any):
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        self.filters = _filters(filters)
        _channels_last(data_format)
        if _single(dilation_rate, "dilation_rate") != 1:
            raise NotImplementedError(f"dilation_rate {dilation_rate!r}: only dilation 1 is implemented")
        self.kernel_size = (_single(kernel_size, "kernel_size"),)
        self.strides = (_single(strides, "strides"),)
        self.padding = "CAUSAL" if str(padding).lower() == "causal" else _padding(padding)
        self.data_format = data_format
        self.dilation_rate = (1,)
        self._init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                               bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape: TensorShape) -> None:
        if input_shape.rank != 3 or input_shape.as_list()[-1] is None:
            raise ValueError(f"Conv1D needs 3-D inputs [batch, width, channels] with a known channel dimension, "
                             f"got shape {input_shape}")
        self._build_kernel_bias([self.kernel_size[0], int(input_shape.as_list()[-1]), self.filters], self.filters)

    def call(self, inputs: Tensor) -> Tensor:
        from ..ops import array_ops, conv_extra_ops
        x = self._cast_input(inputs)
        padding = self.padding
        if padding == "CAUSAL":
            x = array_ops.pad(x, [[0, 0], [self.kernel_size[0] - 1, 0], [0, 0]])
            padding = "VALID"
        outputs = conv_extra_ops.conv1d(x, self.kernel, self.strides[0], padding)
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        n, w, _ = TensorShape(input_shape).as_list()
        return TensorShape([n, _out_len(w, self.kernel_size[0], self.strides[0], self.padding), self.filters])


Convolution1D = Conv1D


def conv1d(inputs: Any, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = 1,
           activation: Optional[Callable[[Tensor], Tensor]] = None, use_bias: bool = True,
           kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
           bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
           bias_constraint: Any = None, trainable: bool = True, name: Optional[str] = None,
           reuse: Any = None) -> Tensor:
    """Functional interface of `Conv1D` (`tf.compat.v1.layers.conv1d`).

    Returns:
      `activation(conv1d(inputs, kernel) + bias)`, shape [batch, out_width, filters].

    Raises:
      ValueError: inputs not 3-D or of unknown channels, bad sizes, or variable reuse violations.
      NotImplementedError: channels_first, dilation_rate above 1.
    """
    layer = Conv1D(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable, name=name, _reuse=reuse)
    return layer.apply(inputs)


class _Pooling1D(Layer):
    _op = ""

    def __init__(self, pool_size: Any, strides: Any, padding: str = "valid", data_format: str = "channels_last",
                 name: Optional[str] = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        _channels_last(data_format)
        self.pool_size = (_single(pool_size, "pool_size"),)
        self.strides = (_single(strides, "strides"),)
        self.padding = _padding(padding)
        self.data_format = data_format

    def call(self, inputs: Tensor) -> Tensor:
        from ..ops import conv_extra_ops
        op = conv_extra_ops.max_pool1d if self._op == "max" else conv_extra_ops.avg_pool1d
        return op(inputs, self.pool_size[0], self.strides[0], self.padding)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        n, w, c = TensorShape(input_shape).as_list()
        return TensorShape([n, _out_len(w, self.pool_size[0], self.strides[0], self.padding), c])


class MaxPooling1D(_Pooling1D):
    """Max pooling over windows of [batch, width, channels] inputs (`tf.compat.v1.layers.MaxPooling1D`).

    Args:
      pool_size: an int or a tuple of 1 int.
      strides: an int or a tuple of 1 int.
      padding: 'valid' or 'same'.
      data_format: 'channels_last' only.
      name: layer name.
    """
    _op = "max"


class AveragePooling1D(_Pooling1D):
    """Average pooling over windows of [batch, width, channels] inputs
    (`tf.compat.v1.layers.AveragePooling1D`); 'same' windows are divided by their size inside the input.

    Args: as `MaxPooling1D`.
    """
    _op = "avg"


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D


def max_pooling1d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: Optional[str] = None) -> Tensor:
    """Functional interface of `MaxPooling1D` (`tf.compat.v1.layers.max_pooling1d`)."""
    return MaxPooling1D(pool_size, strides, padding=padding, data_format=data_format, name=name).apply(inputs)


def average_pooling1d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: Optional[str] = None) -> Tensor:
    """Functional interface of `AveragePooling1D` (`tf.compat.v1.layers.average_pooling1d`)."""
    return AveragePooling1D(pool_size, strides, padding=padding, data_format=data_format, name=name).apply(inputs)


class Conv2DTranspose(_KernelBiasLayer):
    """Transposed 2-D convolution layer ("deconvolution"):
    `outputs = activation(conv2d_transpose(inputs, kernel) + bias)`.

    Variables `<scope>/kernel` [kernel_h, kernel_w, filters, in_channels] (output channels before
    input channels, as TensorFlow's) and `<scope>/bias` [filters]. Each output spatial size is
    `in * stride` for 'same' and `in * stride + max(kernel - stride, 0)` for 'valid'.

    Args:
      filters: number of output channels.
      kernel_size: an int or a tuple of 2 ints (height, width).
      strides: an int or a tuple of 2 ints.
      padding: 'valid' or 'same' (case-insensitive).
      data_format: 'channels_last' only.
      activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, trainable,
        name: as for `Conv2D`.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str = "channels_last", activation: Optional[Callable[[Tensor], Tensor]] = None,
                 use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = None,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
                 name: Optional[str] = None, **kwargs: Any):
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        self.filters = _filters(filters)
        _channels_last(data_format)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.padding = _padding(padding)
        self.data_format = data_format
        self._init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                               bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape: TensorShape) -> None:
        if input_shape.rank != 4 or input_shape.as_list()[-1] is None:
            raise ValueError(f"Conv2DTranspose needs 4-D inputs [batch, height, width, channels] with a known "
                             f"channel dimension, got shape {input_shape}")
        self._build_kernel_bias([*self.kernel_size, self.filters, int(input_shape.as_list()[-1])], self.filters)

    def call(self, inputs: Tensor) -> Tensor:
        from ..ops import conv_extra_ops, core_ops
        x = self._cast_input(inputs)
        static = x.shape.as_list()
        dynamic = None
        out: List[Any] = []
        for i in range(3):
            if static[i] is not None:
                v: Any = static[i] if i == 0 else _deconv_len(static[i], self.kernel_size[i - 1],
                                                               self.strides[i - 1], self.padding)
            else:
                dynamic = core_ops.shape(x) if dynamic is None else dynamic
                v = dynamic[i]
                if i > 0:
                    k, s = self.kernel_size[i - 1], self.strides[i - 1]
                    v = v * s + (0 if self.padding == "SAME" else max(k - s, 0))
            out.append(v)
        outputs = conv_extra_ops.conv2d_transpose(x, self.kernel, out + [self.filters], [1, *self.strides, 1],
                                                  self.padding)
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        n, h, w, _ = TensorShape(input_shape).as_list()
        return TensorShape([n, _deconv_len(h, self.kernel_size[0], self.strides[0], self.padding),
                            _deconv_len(w, self.kernel_size[1], self.strides[1], self.padding), self.filters])


Convolution2DTranspose = Conv2DTranspose


def conv2d_transpose(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                     data_format: str = "channels_last", activation: Optional[Callable[[Tensor], Tensor]] = None,
                     use_bias: bool = True, kernel_initializer: Any = None, bias_initializer: Any = None,
                     kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                     kernel_constraint: Any = None, bias_constraint: Any = None, trainable: bool = True,
                     name: Optional[str] = None, reuse: Any = None) -> Tensor:
    """Functional interface of `Conv2DTranspose` (`tf.compat.v1.layers.conv2d_transpose`).

    Returns:
      `activation(conv2d_transpose(inputs, kernel) + bias)`, shape [batch, out_h, out_w, filters].

    Raises:
      ValueError: inputs not 4-D or of unknown channels, bad sizes, or variable reuse violations.
      NotImplementedError: channels_first.
    """
    layer = Conv2DTranspose(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                            trainable=trainable, name=name, _reuse=reuse)
    return layer.apply(inputs)
