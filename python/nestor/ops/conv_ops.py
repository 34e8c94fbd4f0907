"""2-D convolution and pooling over NHWC images (`tf.nn.conv2d`, `tf.nn.max_pool`, `tf.nn.avg_pool`).

Padding follows TensorFlow exactly: "VALID" keeps whole windows only; "SAME" gives
`ceil(size / stride)` outputs per axis with `max((out - 1) * stride + k - size, 0)` padding, of
which `total // 2` goes before (top, left) and the rest after. Pooling ignores the padding.
"""
from __future__ import annotations

from typing import Any, List, Optional

from ..framework.graph import Tensor, convert_to_tensor, create_op

__all__: list = []
__nn__ = ["conv2d", "max_pool", "max_pool2d", "avg_pool", "avg_pool2d"]


def _window4(value: Any, what: str) -> List[int]:
    """An int, or a list of 1, 2 or 4 ints, as [1, h, w, 1] (TensorFlow's accepted forms)."""
    if isinstance(value, int) and not isinstance(value, bool):
        v = [value]
    else:
        try:
            v = [int(x) for x in value]
        except TypeError:
            raise TypeError(f"{what} must be an int or a list of 1, 2 or 4 ints, got {value!r}") from None
    if len(v) == 1:
        v = [1, v[0], v[0], 1]
    elif len(v) == 2:
        v = [1, v[0], v[1], 1]
    elif len(v) != 4:
        raise ValueError(f"{what} must have 1, 2 or 4 elements, got {len(v)}: {list(value)}")
    if v[0] != 1 or v[3] != 1:
        raise ValueError(f"{what} {v}: the batch and channel entries must be 1 (NHWC), got {v[0]} and {v[3]}")
    if v[1] < 1 or v[2] < 1:
        raise ValueError(f"{what} {v}: the height and width entries must be >= 1")
    return v


def _padding(padding: Any) -> str:
    if not isinstance(padding, str):
        raise NotImplementedError(f"padding must be \"SAME\" or \"VALID\"; explicit paddings ({padding!r}) "
                                  "are not supported")
    p = padding.upper()
    if p not in ("SAME", "VALID"):
        raise ValueError(f"padding must be \"SAME\" or \"VALID\", got {padding!r}")
    return p


def _nhwc(data_format: Optional[str]) -> None:
    if data_format not in (None, "NHWC"):
        if data_format in ("NCHW", "NCHW_VECT_C"):
            raise NotImplementedError(f"data_format={data_format!r} is not supported: only \"NHWC\" "
                                      "(channels last) is implemented; transpose the input to NHWC")
        raise ValueError(f"data_format must be \"NHWC\", got {data_format!r}")


def _rank4(x: Tensor, what: str) -> None:
    r = x.shape.ndims
    if r is not None and r != 4:
        raise ValueError(f"{what} must be 4-D [batch, height, width, channels], got shape {x.shape}")


def conv2d(input: Any, filters: Any = None, strides: Any = None, padding: Any = None,  # noqa: A002
           use_cudnn_on_gpu: bool = True, data_format: str = "NHWC", dilations: Any = None,
           name: Optional[str] = None, filter: Any = None) -> Tensor:  # noqa: A002
    """2-D convolution of NHWC `input` with `filters` (`tf.nn.conv2d`).

    `output[b, i, j, k] = sum_{di, dj, q} input[b, strides[1] * i + di - pad_top,
    strides[2] * j + dj - pad_left, q] * filters[di, dj, q, k]`, zero outside the input.

    Args:
      input: a float32 or float64 `Tensor` of shape [batch, in_height, in_width, in_channels].
      filters: a `Tensor` of the same dtype, shape [filter_height, filter_width, in_channels,
        out_channels]. TensorFlow 1's keyword `filter` is accepted too.
      strides: an int or a list of 1, 2 or 4 ints; as 4 ints [1, stride_h, stride_w, 1].
      padding: "SAME" or "VALID".
      use_cudnn_on_gpu: accepted for TensorFlow 1's signature; no effect.
      data_format: "NHWC" only.
      dilations: None, 1 or all ones (dilated convolutions are not implemented).
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of `input`'s dtype, shape [batch, out_height, out_width, out_channels].

    Raises:
      ValueError: malformed strides/padding/dilations, non-4-D operands, or channel counts
        that differ.
      NotImplementedError: data_format "NCHW", dilations above 1, explicit paddings.
    """
    if filters is not None and filter is not None:
        raise ValueError("give the filter as `filters` or `filter`, not both")
    filters = filter if filters is None else filters
    if filters is None:
        raise TypeError("conv2d() missing the filter: pass `filters` (or TF1's `filter`)")
    if strides is None or padding is None:
        raise TypeError("conv2d() needs `strides` and `padding`")
    del use_cudnn_on_gpu
    _nhwc(data_format)
    if dilations is not None:
        d = _window4(dilations, "dilations")
        if d != [1, 1, 1, 1]:
            raise NotImplementedError(f"dilations {d}: only dilation 1 is implemented")
    s = _window4(strides, "strides")
    p = _padding(padding)
    x = convert_to_tensor(input, name="input")
    f = convert_to_tensor(filters, dtype=x.dtype, name="filters")
    _rank4(x, "input")
    if f.shape.ndims is not None and f.shape.ndims != 4:
        raise ValueError(f"filters must be 4-D [height, width, in_channels, out_channels], got shape {f.shape}")
    return create_op("conv2d", [x, f], {"strides": s, "padding": p}, name=name or "Conv2D")


def _pool(op: str, default: str, input: Any, ksize: Any, strides: Any, padding: Any,  # noqa: A002
          data_format: Optional[str], name: Optional[str]) -> Tensor:
    _nhwc(data_format)
    k = _window4(ksize, "ksize")
    s = _window4(strides, "strides")
    p = _padding(padding)
    x = convert_to_tensor(input, name="input")
    _rank4(x, "input")
    return create_op(op, [x], {"ksize": k, "strides": s, "padding": p}, name=name or default)


def max_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None,
             data_format: str = "NHWC", name: Optional[str] = None, input: Any = None) -> Tensor:  # noqa: A002
    """Maximum over windows of NHWC `value` (`tf.nn.max_pool`, `tf.nn.max_pool2d`).

    Args:
      value: a float32 or float64 `Tensor` [batch, height, width, channels] (TF2's keyword
        `input` is accepted too).
      ksize: window size: an int or a list of 1, 2 or 4 ints ([1, h, w, 1]).
      strides: an int or a list of 1, 2 or 4 ints ([1, h, w, 1]).
      padding: "SAME" or "VALID"; SAME padding never wins the maximum.
      data_format: "NHWC" only.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of `value`'s dtype, [batch, out_height, out_width, channels]. Its gradient goes
      to the first maximum of each window in row-major window order, as TensorFlow's.
    """
    if ksize is None or strides is None or padding is None:
        raise TypeError("max_pool() needs `ksize`, `strides` and `padding`")
    return _pool("max_pool", "MaxPool", value if input is None else input, ksize, strides, padding,
                 data_format, name)


def max_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",  # noqa: A002
               name: Optional[str] = None) -> Tensor:
    """`tf.nn.max_pool2d`: `max_pool` with TensorFlow 2's argument names."""
    return _pool("max_pool", "MaxPool2d", input, ksize, strides, padding, data_format, name)


def avg_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None,
             data_format: str = "NHWC", name: Optional[str] = None, input: Any = None) -> Tensor:  # noqa: A002
    """Mean over windows of NHWC `value` (`tf.nn.avg_pool`, `tf.nn.avg_pool2d`).

    Args:
      value: a float32 or float64 `Tensor` [batch, height, width, channels] (TF2's keyword
        `input` is accepted too).
      ksize: window size: an int or a list of 1, 2 or 4 ints ([1, h, w, 1]).
      strides: an int or a list of 1, 2 or 4 ints ([1, h, w, 1]).
      padding: "SAME" or "VALID"; with SAME each window's sum is divided by the number of its
        elements inside the input (padding is not counted), as TensorFlow does.
      data_format: "NHWC" only.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of `value`'s dtype, [batch, out_height, out_width, channels].
    """
    if ksize is None or strides is None or padding is None:
        raise TypeError("avg_pool() needs `ksize`, `strides` and `padding`")
    return _pool("avg_pool", "AvgPool", value if input is None else input, ksize, strides, padding,
                 data_format, name)


def avg_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",  # noqa: A002
               name: Optional[str] = None) -> Tensor:
    """`tf.nn.avg_pool2d`: `avg_pool` with TensorFlow 2's argument names."""
    return _pool("avg_pool", "AvgPool2D", input, ksize, strides, padding, data_format, name)
