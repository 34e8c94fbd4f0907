"""Reductions over axes (`tf.reduce_sum`, `tf.reduce_mean`, ...), argmax / argmin and count_nonzero."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, create_op

__all__ = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_any", "reduce_all",
           "reduce_logsumexp", "argmax", "argmin", "count_nonzero"]
__nn__: list = []


def _pick(new: Any, old: Any, new_name: str, old_name: str) -> Any:
    """TF1's deprecated argument aliases: at most one of the two may be given."""
    if old is not None:
        if new is not None:
            raise ValueError(f"Cannot specify both '{new_name}' and '{old_name}'.")
        return old
    return new


def _axes(x: Tensor, axis: Any) -> Tensor:
    """The axes tensor of a reduction: every axis when `axis` is None (built at run time
    when the rank is unknown)."""
    if axis is None:
        rank = x.shape.rank
        if rank is None:
            return create_op("range_of_rank", [x], name="ReductionIndices")
        return convert_to_tensor(np.arange(rank, dtype=np.int32), name="ReductionIndices")
    if isinstance(axis, Tensor) or hasattr(axis, "_as_graph_element"):
        return convert_to_tensor(axis)
    arr = np.asarray(axis)
    if arr.dtype.kind not in "iu" and arr.size:
        raise TypeError(f"axis must be an integer or a list of integers, got {axis!r}")
    return convert_to_tensor(arr.astype(np.int32), name="ReductionIndices")


def _reduce(op: str, default_name: str, input_tensor: Any, axis: Any, keepdims: Any, name: Optional[str],
            reduction_indices: Any, keep_dims: Any, dtype: Any = None) -> Tensor:
    axis = _pick(axis, reduction_indices, "axis", "reduction_indices")
    keepdims = _pick(keepdims, keep_dims, "keepdims", "keep_dims")
    x = convert_to_tensor(input_tensor, dtype=dtype)
    return create_op(op, [x, _axes(x, axis)], {"keepdims": bool(keepdims)}, name=name or default_name)


def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None) -> Tensor:
    """Sum of elements across `axis` (all axes when None); reduced dims are dropped unless `keepdims`."""
    return _reduce("sum", "Sum", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
                reduction_indices: Any = None, keep_dims: Optional[bool] = None) -> Tensor:
    """Mean across `axis`; integer inputs give the truncated integer mean, as TensorFlow."""
    return _reduce("mean", "Mean", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None) -> Tensor:
    """Maximum across `axis`; the gradient is split equally among tied maxima."""
    return _reduce("max", "Max", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_min(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None) -> Tensor:
    """Minimum across `axis`; the gradient is split equally among tied minima."""
    return _reduce("min", "Min", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_prod(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
                reduction_indices: Any = None, keep_dims: Optional[bool] = None) -> Tensor:
    """Product across `axis`."""
    return _reduce("prod", "Prod", input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_any(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None) -> Tensor:
    """Logical or across `axis` of a bool tensor."""
    return _reduce("any", "Any", input_tensor, axis, keepdims, name, reduction_indices, keep_dims,
                   dtype=_dtypes.bool)


def reduce_all(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, name: Optional[str] = None,
               reduction_indices: Any = None, keep_dims: Optional[bool] = None) -> Tensor:
    """Logical and across `axis` of a bool tensor."""
    return _reduce("all", "All", input_tensor, axis, keepdims, name, reduction_indices, keep_dims,
                   dtype=_dtypes.bool)


def reduce_logsumexp(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None,
                     name: Optional[str] = None, reduction_indices: Any = None,
                     keep_dims: Optional[bool] = None) -> Tensor:
    """log(sum(exp(x))) across `axis`, computed stably (shifted by the maximum)."""
    return _reduce("logsumexp", "ReduceLogSumExp", input_tensor, axis, keepdims, name, reduction_indices,
                   keep_dims)


def _arg(op: str, default_name: str, input: Any, axis: Any, name: Optional[str], dimension: Any,  # noqa: A002
         output_type: Any) -> Tensor:
    axis = _pick(axis, dimension, "axis", "dimension")
    if axis is None:
        axis = 0
    x = convert_to_tensor(input)
    a = convert_to_tensor(axis, dtype_hint=_dtypes.int32)
    return create_op(op, [x, a], {"output_type": _dtypes.as_dtype(output_type)}, name=name or default_name)


def argmax(input: Any, axis: Any = None, name: Optional[str] = None, dimension: Any = None,  # noqa: A002
           output_type: Any = _dtypes.int64) -> Tensor:
    """Index of the largest value along `axis` (default 0); ties give the first index."""
    return _arg("argmax", "ArgMax", input, axis, name, dimension, output_type)


def argmin(input: Any, axis: Any = None, name: Optional[str] = None, dimension: Any = None,  # noqa: A002
           output_type: Any = _dtypes.int64) -> Tensor:
    """Index of the smallest value along `axis` (default 0); ties give the first index."""
    return _arg("argmin", "ArgMin", input, axis, name, dimension, output_type)


def count_nonzero(input_tensor: Any, axis: Any = None, keepdims: Optional[bool] = None, dtype: Any = _dtypes.int64,
                  name: Optional[str] = None, reduction_indices: Any = None,
                  keep_dims: Optional[bool] = None) -> Tensor:
    """Number of nonzero (or True) elements across `axis`, as `dtype`."""
    from .core_ops import cast
    x = convert_to_tensor(input_tensor)
    nz = cast(cast(x, _dtypes.bool), _dtypes.int64)
    return cast(_reduce("sum", name or "count_nonzero", nz, axis, keepdims, None, reduction_indices, keep_dims),
                dtype)
