"""`tf.sort`, `tf.argsort` and `tf.searchsorted`, composed of nestor's native ops.

`sort` / `argsort` run the native `top_k` with `k` the size of the sorted axis, after moving that
axis last (and back). `top_k` orders equal values by index, lower first, on every device, so
both sorts are stable. TensorFlow 2's signatures and semantics (checked against TF 2.15); the
differences are stated in the docstrings.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, name_scope
from . import array_ops, core_ops, math_ops, reduction_ops
from .top_k_ops import top_k

__all__ = ["sort", "argsort", "searchsorted"]
__nn__: list = []

_DIRECTIONS = ("ASCENDING", "DESCENDING")


def _static_axis(axis: Any, rank: Optional[int], what: str) -> int:
    v = array_ops._const_value(axis)
    if v is None or np.ndim(v) != 0 or not np.issubdtype(np.asarray(v).dtype, np.integer):
        raise ValueError(f"Argument `axis` must be a constant scalar. Received: axis={axis!r}.")
    if rank is None:
        raise ValueError(f"{what}: the rank of `values` must be known when the graph is built")
    a = int(v)
    if not -rank <= a < rank:
        raise ValueError(f"{what}: axis {a} is out of range for `values` of rank {rank}")
    return a % rank


def _signed(values: Any, what: str) -> Any:
    """A NumPy unsigned array as int32 (8/16-bit) or int64 (32/64-bit), exactly, or TypeError."""
    if isinstance(values, (np.ndarray, np.unsignedinteger)) and np.asarray(values).dtype.kind == "u":
        arr = np.asarray(values)
        if arr.dtype.itemsize == 8 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            raise TypeError(f"{what}: uint64 values above {np.iinfo(np.int64).max} are not supported (nestor has no "
                            "unsigned integer dtypes; they are sorted as int64)")
        return arr.astype(np.int32 if arr.dtype.itemsize <= 2 else np.int64)
    return values


def _sort_last(values: Any, axis: Any, direction: str, what: str) -> Tuple[Tensor, Tensor, List[int]]:
    """top_k over `axis` (moved last) of the order key of `values`: (keys sorted, indices, perm)."""
    if direction not in _DIRECTIONS:
        raise ValueError(f"Argument `direction` should be one of ASCENDING, DESCENDING. Received: "
                         f"direction={direction}")
    x = convert_to_tensor(_signed(values, what), name="values")
    if x.dtype not in (_dtypes.float32, _dtypes.float64, _dtypes.int32, _dtypes.int64):
        raise TypeError(f"{what}: values must be float32, float64, int32 or int64, got {x.dtype.name} (nestor has "
                        "no unsigned integer dtypes)")
    rank = x.shape.rank
    if rank == 0:
        raise ValueError(f"{what}: values must be at least 1-D, got a scalar")
    ax = _static_axis(axis, rank, what)
    perm = list(range(rank))
    perm[ax], perm[-1] = perm[-1], perm[ax]
    if ax != rank - 1:
        x = array_ops.transpose(x, perm)
    if direction == "ASCENDING":
        # -x - 1 (= ~x) maps an integer's minimum to its maximum without overflow, as TensorFlow.
        x = math_ops.negative(x) if x.dtype.is_floating else \
            math_ops.subtract(math_ops.negative(x), convert_to_tensor(1, dtype=x.dtype))
    n = x.shape.as_list()[-1]
    k = n if n is not None else core_ops.shape(x)[-1]
    keys, idx = top_k(x, k)
    return keys, idx, perm


def _unsort(t: Tensor, perm: List[int], ax_last: bool) -> Tensor:
    return t if ax_last else array_ops.transpose(t, perm)


def sort(values: Any, axis: Any = -1, direction: str = "ASCENDING", name: Optional[str] = None) -> Tensor:
    """Sorts `values` along `axis` (`tf.sort`).

    Equal values keep their order (the sort is stable); `+0.0` equals `-0.0`. NaNs come first
    in both directions: 'DESCENDING' ranks NaN above every number, and 'ASCENDING' is the
    descending sort of `-values`, as in TensorFlow (whose order with NaN is unspecified; NumPy
    puts NaN last). The gradient w.r.t. `values` routes each output's gradient to the element
    it came from.

    Args:
      values: a 1-D or higher float32, float64, int32 or int64 tensor. nestor has no unsigned
        dtypes: a NumPy unsigned array is sorted as int32 (uint8/16) or int64 (uint32/64), with
        its values kept exactly (uint64 values above int64's maximum raise TypeError).
      axis: a Python int or constant int scalar, the axis to sort along (default the last).
      direction: 'ASCENDING' or 'DESCENDING'.
      name: a name scope for the operations (optional).

    Returns:
      A tensor of `values`' (nestor) dtype and shape, sorted along `axis`.

    Raises:
      ValueError: `direction` is invalid, `axis` is not a constant scalar within the rank, or
        `values` is a scalar or has unknown rank.
      TypeError: `values` has another dtype, or is a uint64 array beyond int64's range.
    """
    with name_scope(name, "sort"):
        keys, _, perm = _sort_last(values, axis, direction, "sort")
        if direction == "ASCENDING":
            keys = math_ops.negative(keys) if keys.dtype.is_floating else \
                math_ops.subtract(math_ops.negative(keys), convert_to_tensor(1, dtype=keys.dtype))
        return _unsort(keys, perm, perm == sorted(perm))


def argsort(values: Any, axis: Any = -1, direction: str = "ASCENDING", stable: bool = False,
            name: Optional[str] = None) -> Tensor:
    """The indices that sort `values` along `axis` (`tf.argsort`).

    `gather` of `values` along `axis` with the result gives `sort(values, axis, direction)`.
    Equal values are always ordered by index, lower first, whatever `stable` says (so it equals
    `np.argsort(values, kind='stable')` for 'ASCENDING'); NaN ranks first in both directions
    (see `sort`).

    Args:
      values: a 1-D or higher float32, float64, int32 or int64 tensor.
      axis: a Python int or constant int scalar, the axis to sort along (default the last).
      direction: 'ASCENDING' or 'DESCENDING'.
      stable: accepted for TensorFlow's signature; the order is stable either way.
      name: a name scope for the operations (optional).

    Returns:
      An int32 tensor of `values`' shape.

    Raises:
      ValueError: as `sort`.
      TypeError: as `sort`.
    """
    del stable  # always stable
    with name_scope(name, "argsort"):
        _, idx, perm = _sort_last(values, axis, direction, "argsort")
        return _unsort(idx, perm, perm == sorted(perm))


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left", out_type: Any = _dtypes.int32,
                 name: Optional[str] = None) -> Tensor:
    """Where `values` would be inserted into `sorted_sequence` to keep it sorted (`tf.searchsorted`).

    Over the last axis: `out[..., j]` is the number of entries of `sorted_sequence[..., :]`
    less than (`side='left'`) or not greater than (`side='right'`) `values[..., j]`, i.e.
    `np.searchsorted` row by row. The leading dimensions of both must be equal. Computed by
    comparing every value with every entry, `O(len(values) * len(sorted_sequence))` per row
    (TensorFlow bisects). A NaN value counts no entry as less or not greater, so it gets 0.

    Args:
      sorted_sequence: an N-D tensor sorted ascending along its last axis.
      values: an N-D tensor of the same dtype and leading dimensions.
      side: 'left' or 'right'.
      out_type: int32 or int64.
      name: a name scope for the operations (optional).

    Returns:
      An `out_type` tensor of `values`' shape.

    Raises:
      ValueError: `side` is invalid, or the ranks or leading dimensions differ (when known).
      TypeError: `out_type` is not an integer dtype.
    """
    if side not in ("left", "right"):
        raise ValueError(f"Argument `side` must be either 'right' or 'left'. Received: `side` = '{side}'.")
    out_dt = _dtypes.as_dtype(out_type)
    if out_dt not in (_dtypes.int32, _dtypes.int64):
        raise TypeError(f"searchsorted: out_type must be int32 or int64, got {out_dt.name}")
    with name_scope(name, "searchsorted"):
        seq = convert_to_tensor(sorted_sequence, name="sorted_sequence")
        v = convert_to_tensor(values, dtype=seq.dtype, name="values")
        rs, rv = seq.shape.rank, v.shape.rank
        if rs is not None and rv is not None:
            if rs != rv or rs == 0:
                raise ValueError(f"searchsorted: sorted_sequence (shape {seq.shape}) and values (shape {v.shape}) must "
                                 "have the same rank, at least 1")
            for i, (a, b) in enumerate(zip(seq.shape.as_list()[:-1], v.shape.as_list()[:-1])):
                if a is not None and b is not None and a != b:
                    raise ValueError(f"searchsorted: leading dimension {i} differs: {a} in sorted_sequence (shape "
                                     f"{seq.shape}), {b} in values (shape {v.shape})")
        cmp = math_ops.less if side == "left" else math_ops.less_equal
        # [..., len(values), 1] against [..., 1, len(sorted_sequence)]
        hit = cmp(array_ops.expand_dims(seq, -2), array_ops.expand_dims(v, -1))
        return reduction_ops.reduce_sum(core_ops.cast(hit, out_dt), -1)
