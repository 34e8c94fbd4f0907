"""`nestor.image`: image resizing (`tf.image.resize`, `tf.compat.v1.image.resize_bilinear`,
`resize_nearest_neighbor`, `resize_images`), NHWC or HWC images.

Resizing is a composite of gathers and linear interpolation, so gradients flow to the images.
Source coordinates follow TensorFlow's kernels, in float32 arithmetic: with `half_pixel_centers`
output pixel `x` samples `(x + 0.5) * scale - 0.5` (bilinear) or `floor((x + 0.5) * scale)`
(nearest); legacy mode samples `x * scale`; `align_corners` uses
`scale = (in - 1) / (out - 1)` (and rounds half away from zero for nearest), otherwise
`scale = in / out`. Bilinear interpolates along the width first, then the height, in float32.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from . import dtypes as _dtypes
from .framework.graph import Tensor, convert_to_tensor, name_scope
from .ops import array_ops, core_ops, math_ops, sparse_ops

__all__ = ["ResizeMethod", "resize", "resize_images", "resize_bilinear", "resize_nearest_neighbor"]


class ResizeMethod:
    """Resize methods of `tf.image.resize` (only BILINEAR and NEAREST_NEIGHBOR are implemented)."""
    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    BICUBIC = "bicubic"
    AREA = "area"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    GAUSSIAN = "gaussian"
    MITCHELLCUBIC = "mitchellcubic"


class ResizeMethodV1:
    """TensorFlow 1's integer resize methods (`tf.compat.v1.image.ResizeMethod`)."""
    BILINEAR = 0
    NEAREST_NEIGHBOR = 1
    BICUBIC = 2
    AREA = 3


_V1_METHODS = {0: "bilinear", 1: "nearest", 2: "bicubic", 3: "area"}
_ALL_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")


def _method(method: Any) -> str:
    if isinstance(method, (int, np.integer)) and not isinstance(method, bool):
        m = _V1_METHODS.get(int(method))
    else:
        m = str(method).lower() if isinstance(method, str) else None
    if m not in _ALL_METHODS:
        raise ValueError(f"Resize method is not implemented: {method!r}")
    if m not in ("bilinear", "nearest"):
        raise NotImplementedError(f"resize method {m!r} is not supported: nestor implements 'bilinear' and "
                                  "'nearest' only")
    return m


def _images4(images: Any) -> Tuple[Tensor, bool]:
    x = convert_to_tensor(images, name="images")
    r = x.shape.ndims
    if r is None:
        raise ValueError("'images' contains no shape.")
    if r not in (3, 4):
        raise ValueError(f"'images' must have either 3 or 4 dimensions, got shape {x.shape}")
    return (array_ops.expand_dims(x, 0), False) if r == 3 else (x, True)


def _size(size: Any) -> Tuple[Tensor, list]:
    """size as an int32 [2] tensor and its static entries (None where unknown)."""
    if isinstance(size, (list, tuple)) and any(array_ops._is_tensor(d) for d in size):
        if len(size) != 2:
            raise ValueError(f"'size' must be a 1-D Tensor of 2 elements: new_height, new_width; got {size!r}")
        static = [array_ops._const_value(d) for d in size]
        t = array_ops.stack([core_ops.cast(d, _dtypes.int32) for d in size])
    else:
        v = array_ops._const_value(size)
        if v is not None:
            arr = np.asarray(v)
            if arr.shape != (2,) or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
                raise ValueError(f"'size' must be a 1-D Tensor of 2 integer elements: new_height, new_width; "
                                 f"got {v!r}")
            static = [int(a) for a in arr]
            t = convert_to_tensor(np.asarray(static, np.int32))
        else:
            t = convert_to_tensor(size, name="size")
            if not t.dtype.is_integer:
                raise ValueError(f"'size' must be a 1-D int32 Tensor, got dtype {t.dtype.name}")
            if t.shape.ndims is not None and t.shape.as_list() not in ([2], [None]):
                raise ValueError(f"'size' must be a 1-D Tensor of 2 elements: new_height, new_width; got shape "
                                 f"{t.shape}")
            t = core_ops.cast(t, _dtypes.int32)
            static = [None, None]
    static = [None if s is None else int(s) for s in static]
    for s in static:
        if s is not None and s <= 0:
            raise ValueError(f"'size' must be positive (new_height, new_width), got {static}")
    return t, static


def _dims(x: Tensor, size_t: Tensor, size_s: list) -> list:
    """[(in_size, out_size)] for height and width: Python ints where static, else scalar tensors."""
    shape = x.shape.as_list()
    dyn = None
    out = []
    for i in (1, 2):
        if shape[i] is not None:
            n_in: Any = shape[i]
        else:
            dyn = core_ops.shape(x) if dyn is None else dyn
            n_in = dyn[i]
        out.append((n_in, size_s[i - 1] if size_s[i - 1] is not None else size_t[i - 1]))
    return out


def _f32(v: Any) -> Any:
    return np.float32(v) if isinstance(v, int) else core_ops.cast(v, _dtypes.float32)


def _scale(n_in: Any, n_out: Any, align_corners: bool) -> Any:
    """TensorFlow's CalculateResizeScale, in float32."""
    if isinstance(n_in, int) and isinstance(n_out, int):
        if align_corners and n_out > 1:
            return np.float32(n_in - 1) / np.float32(n_out - 1)
        return np.float32(n_in) / np.float32(n_out)
    plain = _f32(n_in) / _f32(n_out)
    if not align_corners:
        return plain
    aligned = (_f32(n_in) - 1.0) / math_ops.maximum(_f32(n_out) - 1.0, 1.0)
    return math_ops.where(math_ops.greater(_f32(n_out), 1.0), aligned, plain)


def _positions(n_out: Any) -> Any:
    """Output pixel indices 0..n_out-1 as float32: a constant when n_out is static."""
    if isinstance(n_out, int):
        return convert_to_tensor(np.arange(n_out, dtype=np.float32))
    return core_ops.cast(array_ops.range(n_out), _dtypes.float32)


def _linear_axis(n_in: Any, n_out: Any, align_corners: bool, half_pixel: bool) -> Tuple[Tensor, Tensor, Tensor]:
    """(lower, upper, lerp) source indices and weights along one axis (TensorFlow's
    compute_interpolation_weights)."""
    scale = _scale(n_in, n_out, align_corners)
    x = _positions(n_out)
    src = (x + 0.5) * scale - 0.5 if half_pixel else x * scale
    fl = math_ops.floor(src)
    lower = math_ops.maximum(core_ops.cast(fl, _dtypes.int32), 0)
    upper = math_ops.minimum(core_ops.cast(math_ops.ceil(src), _dtypes.int32), n_in - 1)
    return lower, upper, src - fl


def _nearest_axis(n_in: Any, n_out: Any, align_corners: bool, half_pixel: bool) -> Tensor:
    scale = _scale(n_in, n_out, align_corners)
    x = _positions(n_out)
    src = (x + 0.5) * scale if half_pixel else x * scale
    if align_corners:  # roundf: half away from zero (src >= 0); exact in float64
        idx = math_ops.floor(core_ops.cast(src, _dtypes.float64) + 0.5)
    else:
        idx = math_ops.floor(src)
    idx = math_ops.minimum(core_ops.cast(idx, _dtypes.int32), n_in - 1)
    return math_ops.maximum(idx, 0) if half_pixel else idx


def _resize4(x: Tensor, size: Any, method: str, align_corners: bool, half_pixel: bool,
             compute_dtype: Any = _dtypes.float32) -> Tensor:
    """Resizes 4-D `x`. Bilinear computes (and returns) `compute_dtype`; nearest keeps x's dtype."""
    if align_corners and half_pixel:
        raise ValueError("If half_pixel_centers is True, align_corners must be False.")
    size_t, size_s = _size(size)
    (h_in, h_out), (w_in, w_out) = _dims(x, size_t, size_s)
    if method == "nearest":
        rows = sparse_ops.gather(x, _nearest_axis(h_in, h_out, align_corners, half_pixel), axis=1)
        return sparse_ops.gather(rows, _nearest_axis(w_in, w_out, align_corners, half_pixel), axis=2)
    dt = _dtypes.as_dtype(compute_dtype)
    if x.dtype != dt:
        x = core_ops.cast(x, dt)
    ylo, yhi, ylerp = _linear_axis(h_in, h_out, align_corners, half_pixel)
    xlo, xhi, xlerp = _linear_axis(w_in, w_out, align_corners, half_pixel)
    if dt != _dtypes.float32:
        ylerp, xlerp = core_ops.cast(ylerp, dt), core_ops.cast(xlerp, dt)
    xlerp = core_ops.reshape(xlerp, [1, 1, -1, 1])
    ylerp = core_ops.reshape(ylerp, [1, -1, 1, 1])
    top_rows, bottom_rows = sparse_ops.gather(x, ylo, axis=1), sparse_ops.gather(x, yhi, axis=1)
    tl, tr = sparse_ops.gather(top_rows, xlo, axis=2), sparse_ops.gather(top_rows, xhi, axis=2)
    bl, br = sparse_ops.gather(bottom_rows, xlo, axis=2), sparse_ops.gather(bottom_rows, xhi, axis=2)
    top = tl + (tr - tl) * xlerp
    bottom = bl + (br - bl) * xlerp
    return top + (bottom - top) * ylerp


def _finish(y: Tensor, batched: bool, name: str) -> Tensor:
    return core_ops.identity(y, name=name) if batched else array_ops.squeeze(y, [0], name=name)


def _aspect_size(x: Tensor, size: Any) -> Any:
    """The largest size within `size` with x's height:width ratio (TensorFlow's float32 arithmetic)."""
    size_t, size_s = _size(size)
    h, w = x.shape.as_list()[1:3]
    if h is not None and w is not None and None not in size_s:
        f = min(np.float32(size_s[0]) / np.float32(h), np.float32(size_s[1]) / np.float32(w))
        return [int(np.round(np.float32(f) * np.float32(h))), int(np.round(np.float32(f) * np.float32(w)))]
    cur = core_ops.cast(core_ops.shape(x)[1:3], _dtypes.float32)
    sz = core_ops.cast(size_t, _dtypes.float32)
    f = math_ops.minimum(sz[0] / cur[0], sz[1] / cur[1])
    return core_ops.cast(math_ops.round(f * cur), _dtypes.int32)


def resize(images: Any, size: Any, method: Any = ResizeMethod.BILINEAR, preserve_aspect_ratio: bool = False,
           antialias: bool = False, name: Optional[str] = None) -> Tensor:
    """Resizes `images` to `size` (TensorFlow 2's `tf.image.resize`, half-pixel centres).

    Args:
      images: a 4-D `Tensor` [batch, height, width, channels] or 3-D [height, width, channels].
      size: 2 ints or a 1-D int32 `Tensor` [new_height, new_width].
      method: `ResizeMethod.BILINEAR` ('bilinear') or `ResizeMethod.NEAREST_NEIGHBOR` ('nearest').
      preserve_aspect_ratio: resize to the largest size within `size` that keeps the aspect ratio.
      antialias: must be False (anti-aliased resizing is not implemented).
      name: a name for the operation (optional).

    Returns:
      The resized images, 4-D or 3-D as `images`: float32 for bilinear, `images`' dtype for nearest.

    Raises:
      ValueError: `images` not 3-D or 4-D, malformed `size`, an unknown method.
      NotImplementedError: methods other than bilinear/nearest, or antialias=True.
    """
    m = _method(method)
    if antialias:
        raise NotImplementedError("antialias=True is not supported: nestor implements plain bilinear and nearest "
                                  "resizing only")
    with name_scope(name, "resize"):
        x, batched = _images4(images)
        if preserve_aspect_ratio:
            size = _aspect_size(x, size)
        return _finish(_resize4(x, size, m, False, True), batched, "resize")


def resize_images(images: Any, size: Any, method: Any = ResizeMethodV1.BILINEAR, align_corners: bool = False,
                  preserve_aspect_ratio: bool = False, name: Optional[str] = None) -> Tensor:
    """TensorFlow 1's `tf.compat.v1.image.resize_images` / `tf.compat.v1.image.resize` (legacy,
    not half-pixel, coordinates); returns `images` unchanged when the size already matches.

    Args:
      images: a 4-D `Tensor` [batch, height, width, channels] or 3-D [height, width, channels].
      size: 2 ints or a 1-D int32 `Tensor` [new_height, new_width].
      method: `ResizeMethodV1.BILINEAR` (0) or `NEAREST_NEIGHBOR` (1), or 'bilinear' / 'nearest'.
      align_corners: align the centres of the corner pixels of input and output.
      preserve_aspect_ratio: resize to the largest size within `size` that keeps the aspect ratio.
      name: a name for the operation (optional).

    Returns:
      The resized images: float32 for bilinear, `images`' dtype for nearest.

    Raises:
      ValueError / NotImplementedError: as `resize`.
    """
    m = _method(method)
    with name_scope(name, "resize"):
        x, batched = _images4(images)
        if preserve_aspect_ratio:
            size = _aspect_size(x, size)
        _, size_s = _size(size)
        if size_s == x.shape.as_list()[1:3]:
            return images if batched else core_ops.identity(images)
        return _finish(_resize4(x, size, m, align_corners, False), batched, "resize")


def resize_bilinear(images: Any, size: Any, align_corners: bool = False, name: Optional[str] = None,
                    half_pixel_centers: bool = False) -> Tensor:
    """Bilinear resizing of 4-D `images` (`tf.compat.v1.image.resize_bilinear`).

    Args:
      images: a 4-D `Tensor` [batch, height, width, channels] (3-D is accepted too).
      size: 2 ints or a 1-D int32 `Tensor` [new_height, new_width].
      align_corners: align the centres of the corner pixels of input and output.
      name: a name for the operation (optional).
      half_pixel_centers: sample at pixel centres (TensorFlow 2's convention).

    Returns:
      A float32 `Tensor` [batch, new_height, new_width, channels].

    Raises:
      ValueError: align_corners and half_pixel_centers both True, malformed images or size.
    """
    with name_scope(name, "ResizeBilinear"):
        x, batched = _images4(images)
        return _finish(_resize4(x, size, "bilinear", align_corners, half_pixel_centers), batched, "ResizeBilinear")


def resize_nearest_neighbor(images: Any, size: Any, align_corners: bool = False, name: Optional[str] = None,
                            half_pixel_centers: bool = False) -> Tensor:
    """Nearest-neighbour resizing of 4-D `images` (`tf.compat.v1.image.resize_nearest_neighbor`).

    Args: as `resize_bilinear`.

    Returns:
      A `Tensor` of `images`' dtype [batch, new_height, new_width, channels].

    Raises:
      ValueError: align_corners and half_pixel_centers both True, malformed images or size.
    """
    with name_scope(name, "ResizeNearestNeighbor"):
        x, batched = _images4(images)
        y = _resize4(x, size, "nearest", align_corners, half_pixel_centers)
        return _finish(y, batched, "ResizeNearestNeighbor")
