"""N-d indexing: `tf.gather_nd`, `tf.scatter_nd`, `tf.tensor_scatter_nd_update`, `tf.tensor_scatter_nd_add`.

`indices` has shape `[..., depth]`: each innermost vector addresses one slice of the indexed
tensor by its first `depth` coordinates (after `batch_dims` leading batch dimensions for
`gather_nd`), so `depth == rank` picks elements and `depth < rank` whole slices. Indices out of
range fail at run time naming the op, the index, its value and the valid range.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, TensorShape, convert_to_tensor, create_op

__all__ = ["gather_nd", "scatter_nd", "tensor_scatter_nd_update", "tensor_scatter_nd_add"]
__nn__: list = []


def _indices(x: Any) -> Tensor:
    t = convert_to_tensor(x, dtype_hint=_dtypes.int32, name="indices")
    if not t.dtype.is_integer:
        raise TypeError(f"indices must be int32 or int64, got {t.dtype.name}")
    return t


def gather_nd(params: Any, indices: Any, batch_dims: int = 0, name: Optional[str] = None) -> Tensor:
    """Gathers slices of `params` addressed by the innermost vectors of `indices` (`tf.gather_nd`).

    With `depth = indices.shape[-1]` and `b = batch_dims`, the output has shape
    `indices.shape[:-1] + params.shape[b + depth:]` and
    `out[i..., j..., :] = params[i..., *indices[i..., j..., :], :]` where `i...` runs over the
    `b` batch dimensions that `params` and `indices` share.

    Args:
      params: the `Tensor` to gather from (any dtype).
      indices: an int32 or int64 `Tensor` of shape `[..., depth]`, at least 1-D.
      batch_dims: the number of leading batch dimensions, a Python int in
        `[0, rank(indices))`; `params.shape[:batch_dims]` must equal `indices.shape[:batch_dims]`.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of `params`' dtype. Its gradient w.r.t. `params` is the dense `scatter_nd` of
      the incoming gradient (repeated indices add up).

    Raises:
      ValueError: `batch_dims` is not a Python int or is negative (as TensorFlow).
      InvalidArgumentError: `depth + batch_dims > rank(params)`, the batch dimensions differ,
        or (at run time) an index is out of range.
    """
    if isinstance(batch_dims, bool) or not isinstance(batch_dims, (int, np.integer)):
        raise ValueError(f"gather_nd: batch_dims must be a Python int, got {batch_dims!r}")
    if batch_dims < 0:
        raise ValueError(f"gather_nd does not allow negative batch_dims, got {batch_dims}")
    p = convert_to_tensor(params, name="params")
    return create_op("gather_nd", [p, _indices(indices)], {"batch_dims": int(batch_dims)}, name=name or "GatherNd")


def scatter_nd(indices: Any, updates: Any, shape: Any, name: Optional[str] = None) -> Tensor:
    """Zeros of `shape` with `updates` added at the slices addressed by `indices` (`tf.scatter_nd`).

    `updates` must have shape `indices.shape[:-1] + shape[indices.shape[-1]:]`; updates of
    repeated indices add up (in index order).

    Args:
      indices: an int32 or int64 `Tensor` of shape `[..., depth]`, `depth <= len(shape)`.
      updates: a numeric `Tensor` (float32, float64, int32, int64).
      shape: the output shape: a list of ints or a 1-D int32/int64 `Tensor`.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of `updates`' dtype and shape `shape`. Its gradient w.r.t. `updates` is
      `gather_nd` of the incoming gradient.

    Raises:
      InvalidArgumentError: `updates` has the wrong shape, `shape` has a negative entry, or (at
        run time) an index is out of range.
    """
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    s = convert_to_tensor(shape, dtype_hint=_dtypes.int32, name="shape")
    if not s.dtype.is_integer:
        raise TypeError(f"shape must be int32 or int64, got {s.dtype.name}")
    u = convert_to_tensor(updates, name="updates")
    return create_op("scatter_nd", [_indices(indices), u, s], {"batch_dims": 0}, name=name or "ScatterNd")


def _tensor_scatter(op: str, tensor: Any, indices: Any, updates: Any, name: str) -> Tensor:
    t = convert_to_tensor(tensor, name="tensor")
    u = convert_to_tensor(updates, dtype_hint=t.dtype, name="updates")
    return create_op(op, [t, _indices(indices), u], name=name)


def tensor_scatter_nd_update(tensor: Any, indices: Any, updates: Any, name: Optional[str] = None) -> Tensor:
    """A copy of `tensor` with the slices addressed by `indices` replaced by `updates`
    (`tf.tensor_scatter_nd_update`).

    `updates` must have shape `indices.shape[:-1] + tensor.shape[indices.shape[-1]:]` and
    `tensor`'s dtype. Of repeated indices the last one wins (TensorFlow leaves it undefined).

    Args:
      tensor: the `Tensor` to update (any dtype).
      indices: an int32 or int64 `Tensor` of shape `[..., depth]`, `depth <= rank(tensor)`.
      updates: the new slices.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of `tensor`'s shape and dtype. Gradients (TensorFlow's): w.r.t. `tensor`, the
      incoming gradient with the updated slices zeroed; w.r.t. `updates`, `gather_nd` of the
      incoming gradient (with repeated indices, also for the updates that were overwritten).

    Raises:
      InvalidArgumentError: `updates` has the wrong shape or dtype, or (at run time) an index
        is out of range.
    """
    return _tensor_scatter("tensor_scatter_nd_update", tensor, indices, updates, name or "TensorScatterUpdate")


def tensor_scatter_nd_add(tensor: Any, indices: Any, updates: Any, name: Optional[str] = None) -> Tensor:
    """A copy of `tensor` with `updates` added at the slices addressed by `indices`
    (`tf.tensor_scatter_nd_add`).

    `updates` must have shape `indices.shape[:-1] + tensor.shape[indices.shape[-1]:]` and
    `tensor`'s dtype; updates of repeated indices add up (in index order).

    Args:
      tensor: a numeric `Tensor` (float32, float64, int32, int64).
      indices: an int32 or int64 `Tensor` of shape `[..., depth]`, `depth <= rank(tensor)`.
      updates: the slices to add.
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of `tensor`'s shape and dtype. Gradients: w.r.t. `tensor`, the incoming
      gradient; w.r.t. `updates`, `gather_nd` of it.

    Raises:
      InvalidArgumentError: `updates` has the wrong shape or dtype, or (at run time) an index
        is out of range.
    """
    return _tensor_scatter("tensor_scatter_nd_add", tensor, indices, updates, name or "TensorScatterAdd")
