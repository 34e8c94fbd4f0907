"""`tf.math.bincount`, `tf.histogram_fixed_width` and `tf.histogram_fixed_width_bins`, composed
of nestor's native ops (counts are an `unsorted_segment_sum` of ones or of the weights).

TensorFlow 2's signatures and semantics (checked against TF 2.15); the differences are stated
in the docstrings.
"""
from __future__ import annotations

from typing import Any, Optional

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, control_dependencies, convert_to_tensor, name_scope
from . import array_ops, clip_ops, core_ops, math_ops, reduction_ops
from .check_ops import Assert
from .sparse_ops import unsorted_segment_sum

__all__ = ["bincount", "histogram_fixed_width", "histogram_fixed_width_bins"]
__math__ = ["bincount"]
__nn__: list = []


def bincount(arr: Any, weights: Any = None, minlength: Any = None, maxlength: Any = None,
             dtype: Any = _dtypes.int32, name: Optional[str] = None, axis: Optional[int] = None,
             binary_output: bool = False) -> Tensor:
    """Counts the occurrences of each value in an integer tensor (`tf.math.bincount`).

    `out[i]` is the number of entries of `arr` equal to `i` (or, with `weights`, the sum of
    their weights), for `i` in `[0, size)` where `size = max(arr) + 1` (0 for an empty `arr`),
    raised to `minlength` and lowered to `maxlength`; values `>= maxlength` are skipped.
    `tf.bincount` (TensorFlow 1's name) is the same function.

    Args:
      arr: an integer tensor (other dtypes are cast to int32, as TensorFlow) of non-negative values.
      weights: None, or a tensor of `arr`'s shape; the output takes its dtype.
      minlength: None or an int scalar, the minimum output length.
      maxlength: None or an int scalar, the maximum output length.
      dtype: the output dtype when `weights` is None.
      name: a name scope for the operations (optional).
      axis: None or 0 counts over all of `arr`; -1 (for a 2-D `arr`) counts each row separately.
      binary_output: output 1 for every value present instead of its count.

    Returns:
      A 1-D tensor of length `size`, or for `axis=-1` a `[rows, size]` tensor.

    Raises:
      ValueError: `axis` is not None, 0 or -1; `axis=-1` with an `arr` not 2-D; both
        `weights` and `binary_output`.
      InvalidArgumentError: `arr` holds a negative value (when run).
    """
    if axis is None:
        axis = 0
    if axis not in (0, -1):
        raise ValueError(f"Unsupported value for argument axis={axis}. Only 0 and -1 are currently supported.")
    if weights is not None and binary_output:
        raise ValueError("Arguments `binary_output` and `weights` are mutually exclusive. Please specify only one.")
    with name_scope(name, "bincount"):
        arr = convert_to_tensor(arr, name="arr")
        if not arr.dtype.is_integer:
            arr = core_ops.cast(arr, _dtypes.int32)
        w = None if weights is None else convert_to_tensor(weights, name="weights")
        out_dt = w.dtype if w is not None else _dtypes.as_dtype(dtype)
        if axis == -1 and arr.shape.rank is not None and arr.shape.rank != 2:
            raise ValueError(f"bincount: axis=-1 needs a 2-D arr, got shape {arr.shape}")
        dt = arr.dtype
        nonempty = core_ops.cast(math_ops.greater(core_ops.size(arr), 0), dt)
        size = math_ops.multiply(nonempty, math_ops.add(reduction_ops.reduce_max(arr), convert_to_tensor(1, dtype=dt)))
        if minlength is not None:
            size = math_ops.maximum(convert_to_tensor(minlength, dtype=dt, name="minlength"), size)
        if maxlength is not None:
            size = math_ops.minimum(convert_to_tensor(maxlength, dtype=dt, name="maxlength"), size)
        zero = convert_to_tensor(0, dtype=dt)
        check = Assert(reduction_ops.reduce_all(math_ops.greater_equal(arr, zero)),
                       ["bincount: Input arr must be non-negative!"])
        with control_dependencies([check]):
            arr = core_ops.identity(arr)
        data = w if w is not None else core_ops.ones_like(arr, dtype=out_dt)
        if axis == 0:
            arr, data = core_ops.reshape(arr, [-1]), core_ops.reshape(data, [-1])
            ids, num = arr, size
        else:
            rows = core_ops.cast(core_ops.shape(arr)[0], dt)
            ids = math_ops.add(arr, math_ops.multiply(array_ops.expand_dims(array_ops.range(rows), 1), size))
            num = math_ops.multiply(rows, size)
        # values >= size go to the dropped segment -1
        ids = math_ops.where_v2(math_ops.less(arr, size), ids, convert_to_tensor(-1, dtype=dt))
        out = unsorted_segment_sum(data, ids, num)
        if axis == -1:
            out = core_ops.reshape(out, array_ops.stack([core_ops.cast(rows, _dtypes.int32),
                                                         core_ops.cast(size, _dtypes.int32)]))
        if binary_output:
            out = core_ops.cast(math_ops.greater(out, convert_to_tensor(0, dtype=out_dt)), out_dt)
        return out


def _bins(values: Tensor, value_range: Any, nbins: Any) -> Tensor:
    """The int32 bin of each element of `values`, flattened, and the checked `nbins`."""
    v = values if values.dtype.is_floating else core_ops.cast(values, _dtypes.float64)
    rng = convert_to_tensor(value_range, dtype=v.dtype, name="value_range")
    if rng.shape.rank is not None and rng.shape.as_list() not in ([2], [None]):
        raise ValueError(f"value_range must be a 2-element vector [min, max], got shape {rng.shape}")
    lo, hi = rng[0], rng[1]
    n = convert_to_tensor(nbins, dtype=_dtypes.int32, name="nbins")
    nf = core_ops.cast(n, v.dtype)
    scaled = math_ops.divide(math_ops.subtract(v, lo), math_ops.subtract(hi, lo))
    idx = math_ops.floor(math_ops.multiply(nf, scaled))
    idx = clip_ops.clip_by_value(idx, convert_to_tensor(0, dtype=v.dtype),
                                 math_ops.subtract(nf, convert_to_tensor(1, dtype=v.dtype)))
    return core_ops.cast(idx, _dtypes.int32)


def _checked_nbins(nbins: Any) -> Tensor:
    n = convert_to_tensor(nbins, dtype=_dtypes.int32, name="nbins")
    c = array_ops._const_value(n)
    if c is not None and int(c) <= 0:
        raise ValueError(f"histogram: nbins must be > 0, got {int(c)}")
    check = Assert(math_ops.greater(n, 0), ["histogram: nbins must be > 0"])
    with control_dependencies([check]):
        return core_ops.identity(n)


def histogram_fixed_width_bins(values: Any, value_range: Any, nbins: Any = 100, dtype: Any = _dtypes.int32,
                               name: Optional[str] = None) -> Tensor:
    """The bin of each of `values` in a histogram of `nbins` equal bins over `value_range`
    (`tf.histogram_fixed_width_bins`).

    `bin = floor(nbins * (v - min) / (max - min))` clipped to `[0, nbins - 1]`: values below
    `min` go to bin 0, values at or above `max` to bin `nbins - 1`. Integer values are binned
    in float64.

    Args:
      values: a numeric tensor.
      value_range: `[min, max]`, a 2-element tensor of `values`' dtype, `min < max`.
      nbins: a Python int or int32 scalar > 0.
      dtype: int32 or int64, the output dtype.
      name: a name scope for the operations (optional).

    Returns:
      A `dtype` tensor of `values`' shape.

    Raises:
      ValueError: a constant `nbins <= 0`, or `value_range` not of 2 elements.
      InvalidArgumentError: `nbins <= 0` (when run).
    """
    with name_scope(name, "histogram_fixed_width_bins"):
        v = convert_to_tensor(values, name="values")
        idx = _bins(v, value_range, _checked_nbins(nbins))
        out_dt = _dtypes.as_dtype(dtype)
        return idx if out_dt == _dtypes.int32 else core_ops.cast(idx, out_dt)


def histogram_fixed_width(values: Any, value_range: Any, nbins: Any = 100, dtype: Any = _dtypes.int32,
                          name: Optional[str] = None) -> Tensor:
    """The counts of `values` in `nbins` equal bins over `value_range` (`tf.histogram_fixed_width`).

    Values below `min` count in the first bin and values at or above `max` in the last (unlike
    `np.histogram`, which drops values outside the range); the bins are those of
    `histogram_fixed_width_bins`.

    Args:
      values: a numeric tensor.
      value_range: `[min, max]`, a 2-element tensor of `values`' dtype, `min < max`.
      nbins: a Python int or int32 scalar > 0.
      dtype: int32 or int64, the output dtype.
      name: a name scope for the operations (optional).

    Returns:
      A 1-D `dtype` tensor of `nbins` counts.

    Raises:
      ValueError: a constant `nbins <= 0`, or `value_range` not of 2 elements.
      InvalidArgumentError: `nbins <= 0` (when run).
    """
    with name_scope(name, "histogram_fixed_width"):
        v = convert_to_tensor(values, name="values")
        n = _checked_nbins(nbins)
        idx = core_ops.reshape(_bins(v, value_range, n), [-1])
        out_dt = _dtypes.as_dtype(dtype)
        return unsorted_segment_sum(core_ops.ones_like(idx, dtype=out_dt), idx, n)
