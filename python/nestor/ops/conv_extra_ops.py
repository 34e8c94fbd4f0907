"""1-D convolution and pooling over NWC sequences and the transposed 2-D convolution
(`tf.nn.conv1d`, `tf.nn.max_pool1d`, `tf.nn.avg_pool1d`, `tf.nn.conv2d_transpose`).

All are composites of the native NHWC ops in `conv_ops`: the 1-D ops view [batch, width,
channels] as [batch, 1, width, channels] (TensorFlow's own lowering), and `conv2d_transpose`
is `conv2d_backprop_input`, the gradient of a conv2d with respect to its input. Gradients come
from those ops' registered gradients.
"""
from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, create_op
from . import array_ops, conv_ops, core_ops

__all__: list = []
__nn__ = ["conv1d", "max_pool1d", "avg_pool1d", "conv2d_transpose"]


def _window3(value: Any, what: str) -> int:
    """An int, or a list of 1 or 3 ints ([1, w, 1]), as the width entry."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        v = [int(value)]
    else:
        try:
            v = [int(x) for x in value]
        except TypeError:
            raise TypeError(f"{what} must be an int or a list of 1 or 3 ints, got {value!r}") from None
    if len(v) == 3:
        if v[0] != 1 or v[2] != 1:
            raise ValueError(f"{what} {v}: the batch and channel entries must be 1 (NWC), got {v[0]} and {v[2]}")
        v = [v[1]]
    if len(v) != 1:
        raise ValueError(f"{what} must be an int or a list of 1 or 3 ints, got {value!r}")
    if v[0] < 1:
        raise ValueError(f"{what} must be >= 1, got {value!r}")
    return v[0]


def _nwc(data_format: Optional[str]) -> None:
    if data_format not in (None, "NWC", "NHWC"):
        if data_format in ("NCW", "NCHW"):
            raise NotImplementedError(f"data_format={data_format!r} is not supported: only \"NWC\" "
                                      "(channels last) is implemented; transpose the input to NWC")
        raise ValueError(f"data_format must be \"NWC\", got {data_format!r}")


def _rank3(x: Tensor, what: str) -> None:
    r = x.shape.ndims
    if r is not None and r != 3:
        raise ValueError(f"{what} must be 3-D [batch, width, channels], got shape {x.shape}")


def conv1d(value: Any = None, filters: Any = None, stride: Any = None, padding: Any = None,
           use_cudnn_on_gpu: Any = None, data_format: Optional[str] = None, name: Optional[str] = None,
           input: Any = None, dilations: Any = None) -> Tensor:  # noqa: A002
    """1-D convolution of NWC `value` with `filters` (`tf.nn.conv1d`, TF1 and TF2 argument names).

    `output[b, i, k] = sum_{dw, q} value[b, stride * i + dw - pad_left, q] * filters[dw, q, k]`,
    computed as a conv2d over [batch, 1, width, channels].

    Args:
      value: a float32 or float64 `Tensor` [batch, in_width, in_channels] (TF2's keyword `input`).
      filters: a `Tensor` of the same dtype, [filter_width, in_channels, out_channels].
      stride: an int or a list of 1 or 3 ints ([1, stride, 1]).
      padding: "SAME" or "VALID".
      use_cudnn_on_gpu: accepted for TensorFlow 1's signature; no effect.
      data_format: "NWC" (or None) only.
      name: a name for the operation (optional).
      input: TensorFlow 2's name for `value`.
      dilations: None, 1 or all ones.

    Returns:
      A `Tensor` of `value`'s dtype, [batch, out_width, out_channels].

    Raises:
      ValueError: malformed stride/padding, operands of the wrong rank, channel mismatch.
      NotImplementedError: data_format "NCW", dilations above 1.
    """
    if value is not None and input is not None:
        raise ValueError("give the input as `value` or `input`, not both")
    value = input if value is None else value
    if value is None or filters is None or stride is None or padding is None:
        raise TypeError("conv1d() needs `input` (or `value`), `filters`, `stride` and `padding`")
    del use_cudnn_on_gpu
    _nwc(data_format)
    if dilations is not None and _window3(dilations, "dilations") != 1:
        raise NotImplementedError(f"dilations {dilations!r}: only dilation 1 is implemented")
    s = _window3(stride, "stride")
    p = conv_ops._padding(padding)
    x = convert_to_tensor(value, name="input")
    f = convert_to_tensor(filters, dtype=x.dtype, name="filters")
    _rank3(x, "input")
    if f.shape.ndims is not None and f.shape.ndims != 3:
        raise ValueError(f"filters must be 3-D [width, in_channels, out_channels], got shape {f.shape}")
    y = conv_ops.conv2d(array_ops.expand_dims(x, 1), array_ops.expand_dims(f, 0), [1, 1, s, 1], p)
    return array_ops.squeeze(y, [1], name=name or "conv1d")


def _pool1d(pool: Any, input: Any, ksize: Any, strides: Any, padding: Any,  # noqa: A002
            data_format: Optional[str], name: Optional[str], default: str) -> Tensor:
    _nwc(data_format)
    k = _window3(ksize, "ksize")
    s = _window3(strides, "strides")
    x = convert_to_tensor(input, name="input")
    _rank3(x, "input")
    y = pool(array_ops.expand_dims(x, 1), [1, 1, k, 1], [1, 1, s, 1], padding)
    return array_ops.squeeze(y, [1], name=name or default)


def max_pool1d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NWC",  # noqa: A002
               name: Optional[str] = None) -> Tensor:
    """Maximum over windows of NWC `input` (`tf.nn.max_pool1d`).

    Args:
      input: a float32 or float64 `Tensor` [batch, width, channels].
      ksize: an int or a list of 1 or 3 ints ([1, k, 1]).
      strides: an int or a list of 1 or 3 ints ([1, s, 1]).
      padding: "SAME" or "VALID".
      data_format: "NWC" only.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of `input`'s dtype, [batch, out_width, channels].
    """
    return _pool1d(conv_ops.max_pool, input, ksize, strides, padding, data_format, name, "MaxPool1d")


def avg_pool1d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NWC",  # noqa: A002
               name: Optional[str] = None) -> Tensor:
    """Mean over windows of NWC `input` (`tf.nn.avg_pool1d`); with SAME padding each window is
    divided by its number of elements inside the input.

    Args: as `max_pool1d`.

    Returns:
      A `Tensor` of `input`'s dtype, [batch, out_width, channels].
    """
    return _pool1d(conv_ops.avg_pool, input, ksize, strides, padding, data_format, name, "AvgPool1D")


def _static_dims(output_shape: Any) -> Optional[List[Optional[int]]]:
    """output_shape's entries where they are known at graph-build time (None where not); None when
    not even its length is known."""
    if isinstance(output_shape, (list, tuple)):
        out: List[Optional[int]] = []
        for d in output_shape:
            c = array_ops._const_value(d)
            out.append(None if c is None or np.ndim(c) != 0 else int(c))
        return out
    v = array_ops._const_value(output_shape)
    if v is not None:
        return [int(d) for d in np.asarray(v).reshape(-1)]
    t = convert_to_tensor(output_shape)
    if t.op.type == "stack" and all(i.shape.ndims == 0 for i in t.op.inputs):  # tf.stack([n, h, w, c])
        return _static_dims(list(t.op.inputs))
    n = t.shape.as_list()[0] if t.shape.ndims == 1 else None
    return None if n is None else [None] * n


def _shape_vector(output_shape: Any) -> Tensor:
    if isinstance(output_shape, (list, tuple)) and any(array_ops._is_tensor(d) for d in output_shape):
        return array_ops.stack([core_ops.cast(d, _dtypes.int32) for d in output_shape])
    return array_ops._shape_tensor(output_shape)


def _deconv_check(dims: List[Optional[int]], x: Tensor, f: Tensor, s: List[int], p: str) -> None:
    """Raises ValueError unless a conv2d of an output_shape-sized image gives `x`'s shape."""
    if len(dims) != 4:
        raise ValueError(f"output_shape must have 4 elements [batch, height, width, channels], got {dims}")
    if any(d is not None and d < 0 for d in dims):
        raise ValueError(f"output_shape must be non-negative, got {dims}")
    xs, fs = x.shape.as_list(), f.shape.as_list()
    if fs[2] is not None and dims[3] is not None and fs[2] != dims[3]:
        raise ValueError(f"output_shape {dims} has {dims[3]} channels but filters (shape {fs}, "
                         f"[height, width, output_channels, in_channels]) produce {fs[2]}")
    if fs[3] is not None and xs[3] is not None and fs[3] != xs[3]:
        raise ValueError(f"input has {xs[3]} channels (shape {xs}) but filters (shape {fs}, "
                         f"[height, width, output_channels, in_channels]) expect {fs[3]}")
    if xs[0] is not None and dims[0] is not None and xs[0] != dims[0]:
        raise ValueError(f"output_shape {dims} has batch {dims[0]} but input (shape {xs}) has batch {xs[0]}")
    for i, axis in ((1, "height"), (2, "width")):
        o, k, st = dims[i], fs[i - 1], s[i]
        if o is None or k is None or xs[i] is None:
            continue
        if p == "SAME":
            want = -(-o // st)
        else:
            want = max((o - k) // st + 1, 0)
        if want != xs[i]:
            raise ValueError(f"conv2d_transpose: output_shape {dims} does not match the input: a conv2d with "
                             f"filter {axis} {k}, stride {st} and {p} padding maps an output {axis} of {o} to "
                             f"{want}, but the input's {axis} is {xs[i]} (input shape {xs})")


def conv2d_transpose(input: Any = None, filters: Any = None, output_shape: Any = None,  # noqa: A002
                     strides: Any = None, padding: str = "SAME", data_format: str = "NHWC",
                     dilations: Any = None, name: Optional[str] = None, value: Any = None,
                     filter: Any = None) -> Tensor:  # noqa: A002
    """The transpose (gradient) of `conv2d` (`tf.nn.conv2d_transpose`; TF1's `value`/`filter` too).

    `output` is the image whose conv2d gradient is `input`: `conv2d(output_shaped_x, filters)`
    has the shape of `input`, and `output = d/dx sum(conv2d(x, filters) * input)`.

    Args:
      input: a float32 or float64 `Tensor` [batch, height, width, in_channels] (TF1: `value`).
      filters: [filter_height, filter_width, output_channels, in_channels] (TF1: `filter`).
      output_shape: a 1-D int tensor or list [batch, out_height, out_width, output_channels].
      strides: an int or a list of 1, 2 or 4 ints ([1, stride_h, stride_w, 1]).
      padding: "SAME" or "VALID".
      data_format: "NHWC" only.
      dilations: None, 1 or all ones.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of `input`'s dtype with shape `output_shape`.

    Raises:
      ValueError: `output_shape` is not what a conv2d with these strides/padding maps back to
        `input`'s shape, channel or batch mismatches, malformed strides/padding.
      NotImplementedError: data_format "NCHW", dilations above 1, explicit paddings.
    """
    if input is not None and value is not None:
        raise ValueError("give the input as `input` or `value`, not both")
    if filters is not None and filter is not None:
        raise ValueError("give the filter as `filters` or `filter`, not both")
    input = value if input is None else input
    filters = filter if filters is None else filters
    if input is None or filters is None or output_shape is None or strides is None:
        raise TypeError("conv2d_transpose() needs `input` (or `value`), `filters` (or `filter`), "
                        "`output_shape` and `strides`")
    conv_ops._nhwc(data_format)
    if dilations is not None and conv_ops._window4(dilations, "dilations") != [1, 1, 1, 1]:
        raise NotImplementedError(f"dilations {dilations!r}: only dilation 1 is implemented")
    s = conv_ops._window4(strides, "strides")
    p = conv_ops._padding(padding)
    dy = convert_to_tensor(input, name="input")
    f = convert_to_tensor(filters, dtype=dy.dtype, name="filters")
    conv_ops._rank4(dy, "input")
    if f.shape.ndims is not None and f.shape.ndims != 4:
        raise ValueError(f"filters must be 4-D [height, width, output_channels, in_channels], got shape {f.shape}")
    dims = _static_dims(output_shape)
    if dims is None:
        dims = [None] * 4
    if dy.shape.ndims == 4 and f.shape.ndims == 4:
        _deconv_check(dims, dy, f, s, p)
    # conv2d_backprop_input(x, f, dy) reads only x's shape and dtype (its CPU and CUDA kernels
    # never touch x's data), so x is the cheapest tensor of output_shape there is: a fill of
    # zeros. With a constant output_shape of up to 64 KiB the fill is folded when the session
    # compiles the graph (no run-time cost); otherwise it is one memset-speed fill per run.
    x = array_ops.fill(_shape_vector(output_shape), convert_to_tensor(np.zeros((), dy.dtype.as_numpy_dtype)))
    if sum(d is None for d in dims) <= 1 and not all(d is not None for d in dims):
        # Give x (and so the result) the static shape of output_shape's known entries; reshape is a view.
        x = core_ops.reshape(x, [-1 if d is None else d for d in dims])
    return create_op("conv2d_backprop_input", [x, f, dy], {"strides": s, "padding": p},
                     name=name or "conv2d_transpose")
