"""Gather, segment reductions, embedding lookups and SparseTensor ops.

Gradients of `gather` (axis 0), `embedding_lookup`, `sparse_segment_*` and
`embedding_lookup_sparse` w.r.t. the table are `IndexedSlices`: only the looked-up rows,
so a huge embedding table is never densified.
"""
from __future__ import annotations

import types
from typing import Any, List, Optional, Union

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import IndexedSlices, Tensor, convert_to_tensor, create_op
from ..framework.sparse_tensor import SparseTensor, sparse_placeholder
from ..framework.values import SparseTensorValue

__all__ = ["gather", "segment_sum", "segment_mean", "segment_sqrt_n", "unsorted_segment_sum",
           "sparse_segment_sum", "sparse_segment_mean", "sparse_segment_sqrt_n", "sparse_tensor_dense_matmul",
           "sparse_tensor_to_dense", "sparse_reorder", "SparseTensor", "SparseTensorValue", "sparse_placeholder",
           "sparse"]
__nn__ = ["embedding_lookup", "embedding_lookup_sparse"]
# Names TensorFlow also has under tf.math (nestor/math.py does not collect them yet).
__math__ = ["segment_sum", "segment_mean", "segment_sqrt_n", "unsorted_segment_sum"]


def _static_int(x: Any, what: str) -> int:
    """A Python int from an int, numpy scalar or constant Tensor."""
    if isinstance(x, Tensor):
        if x.op.type != "const":
            raise ValueError(f"{what} must be known when the graph is built, got {x.name}")
        x = np.asarray(x.op.get_attr("value"))
    a = np.asarray(x)
    if a.size != 1 or a.dtype.kind not in "iu":
        raise TypeError(f"{what} must be an integer, got {x!r}")
    return int(a.reshape(()))


def _index(x: Any, name: str) -> Tensor:
    t = convert_to_tensor(x, name=name)
    if not t.dtype.is_integer:
        raise TypeError(f"{name} must be int32 or int64, got {t.dtype.name}")
    return t


def gather(params: Any, indices: Any, validate_indices: Any = None, name: Optional[str] = None,
           axis: Any = None, batch_dims: int = 0) -> Tensor:
    """Gathers slices of `params` along `axis` at `indices` (`tf.gather`).

    Output shape: `params.shape[:axis] + indices.shape + params.shape[axis + 1:]`. The
    gradient w.r.t. params is an `IndexedSlices` for axis 0.

    Raises:
      InvalidArgumentError: an index is outside [0, params.shape[axis]) (at run time).
    """
    if batch_dims != 0:
        raise ValueError(f"gather supports batch_dims=0 only, got {batch_dims}")
    p = convert_to_tensor(params, name="params")
    ax = 0 if axis is None else _static_int(axis, "axis")
    return create_op("gather", [p, _index(indices, "indices")], {"axis": ax, "batch_dims": 0},
                     name=name or "GatherV2")


def _single_shard(params: Any) -> Any:
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise ValueError(f"nestor embedding lookups take one table (a Variable/Tensor or a list of one); "
                             f"got a list of {len(params)} shards")
        return params[0]
    return params


def embedding_lookup(params: Any, ids: Any, partition_strategy: str = "mod", name: Optional[str] = None,
                     validate_indices: bool = True, max_norm: Optional[float] = None) -> Tensor:
    """Looks up rows `ids` of the embedding table `params` (`tf.nn.embedding_lookup`).

    Args:
      params: the table, a Variable or Tensor [vocab, dim...] (or a list of one).
      ids: int32/int64 ids of any shape.
      max_norm: if set, rows whose L2 norm exceeds it are scaled down to it.

    Returns:
      A Tensor of shape `ids.shape + params.shape[1:]`; its gradient w.r.t. params is sparse.
    """
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"Unrecognized partition strategy: {partition_strategy}")
    p = convert_to_tensor(_single_shard(params), name="params")
    out = gather(p, ids, name=name or "embedding_lookup")
    if max_norm is not None:
        p_rank = p.shape.rank
        if p_rank is None:
            raise ValueError("embedding_lookup with max_norm needs params of known rank")
        out = create_op("clip_rows_by_norm", [out, convert_to_tensor(max_norm, dtype=out.dtype)],
                        {"row_dims": p_rank - 1}, name="clip_by_norm")
    return out


def embedding_lookup_sparse(params: Any, sp_ids: SparseTensor, sp_weights: Optional[SparseTensor],
                            partition_strategy: str = "mod", name: Optional[str] = None,
                            combiner: Optional[str] = None, max_norm: Optional[float] = None) -> Tensor:
    """Combined embeddings of each row of `sp_ids` (`tf.nn.embedding_lookup_sparse`).

    Row b of the result combines `params[id]` over the ids of row b of `sp_ids`
    (weighted by `sp_weights` when given): "sum", "mean" (weighted mean, the default) or
    "sqrtn" (sum divided by sqrt of the sum of squared weights). The result has
    `sp_ids.dense_shape[0]` rows; rows without ids are zero.

    Args:
      params: the table [vocab, dim...] (a Variable/Tensor or a list of one).
      sp_ids: SparseTensor of int ids, shape [batch, max_ids], rows in order.
      sp_weights: None (all weights 1) or a SparseTensor of float weights with sp_ids' indices.
      combiner: "sum", "mean" or "sqrtn".
      max_norm: not supported together with this lookup (rows are combined in one fused op).
    """
    combiner = "mean" if combiner is None else combiner
    if combiner not in ("sum", "mean", "sqrtn"):
        raise ValueError(f"combiner must be one of 'mean', 'sqrtn' or 'sum', got {combiner!r}")
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"Unrecognized partition strategy: {partition_strategy}")
    if not isinstance(sp_ids, SparseTensor):
        raise TypeError(f"sp_ids must be a SparseTensor, got {type(sp_ids).__name__}")
    if max_norm is not None:
        raise ValueError("embedding_lookup_sparse: max_norm is not supported by nestor's fused lookup")
    p = convert_to_tensor(_single_shard(params), name="params")
    segment_ids = gather(sp_ids.indices, 0, axis=1, name="segment_ids")
    num = gather(sp_ids.dense_shape, 0, name="num_segments")
    ids = _index(sp_ids.values, "ids")
    if sp_weights is None:
        op = {"sum": "sparse_segment_sum", "mean": "sparse_segment_mean", "sqrtn": "sparse_segment_sqrt_n"}[combiner]
        return create_op(op, [p, ids, segment_ids, num], name=name or "embedding_lookup_sparse")
    if not isinstance(sp_weights, SparseTensor):
        raise TypeError(f"sp_weights must be a SparseTensor or None, got {type(sp_weights).__name__}")
    w = sp_weights.values
    if w.dtype != p.dtype:
        from .core_ops import cast
        w = cast(w, p.dtype)
    if combiner != "sum":
        w = create_op("segment_normalize_weights", [w, segment_ids, num], {"combiner": combiner})
    return create_op("sparse_segment_weighted_sum", [p, ids, w, segment_ids, num],
                     name=name or "embedding_lookup_sparse")


def _segment(op: str, data: Any, segment_ids: Any, name: Optional[str]) -> Tensor:
    return create_op(op, [convert_to_tensor(data), _index(segment_ids, "segment_ids")], name=name)


def segment_sum(data: Any, segment_ids: Any, name: Optional[str] = None) -> Tensor:
    """Sums of the rows of `data` per segment; `segment_ids` sorted, one per row (`tf.math.segment_sum`)."""
    return _segment("segment_sum", data, segment_ids, name or "SegmentSum")


def segment_mean(data: Any, segment_ids: Any, name: Optional[str] = None) -> Tensor:
    """Means of the rows of `data` per segment; `segment_ids` sorted (`tf.math.segment_mean`)."""
    return _segment("segment_mean", data, segment_ids, name or "SegmentMean")


def segment_sqrt_n(data: Any, segment_ids: Any, name: Optional[str] = None) -> Tensor:
    """Per-segment sums divided by sqrt(segment size); `segment_ids` sorted (`tf.math.segment_sqrt_n`)."""
    return _segment("segment_sqrt_n", data, segment_ids, name or "SegmentSqrtN")


def unsorted_segment_sum(data: Any, segment_ids: Any, num_segments: Any, name: Optional[str] = None) -> Tensor:
    """Per-segment sums, ids in any order (`tf.math.unsorted_segment_sum`).

    `segment_ids` has the shape of a prefix of `data`'s; negative ids are dropped. The
    result has shape `[num_segments] + data.shape[segment_ids.ndim:]`.
    """
    return create_op("unsorted_segment_sum", [convert_to_tensor(data), _index(segment_ids, "segment_ids"),
                                              _index(num_segments, "num_segments")], name=name or "UnsortedSegmentSum")


def _sparse_segment(op: str, data: Any, indices: Any, segment_ids: Any, name: Optional[str],
                    num_segments: Any) -> Tensor:
    ins = [convert_to_tensor(data), _index(indices, "indices"), _index(segment_ids, "segment_ids")]
    if num_segments is not None:
        ins.append(_index(num_segments, "num_segments"))
    return create_op(op, ins, name=name)


def sparse_segment_sum(data: Any, indices: Any, segment_ids: Any, name: Optional[str] = None,
                       num_segments: Any = None) -> Tensor:
    """out[s] = sum of data[indices[i]] over i with segment_ids[i] == s (`tf.sparse.segment_sum`).

    The gradient w.r.t. data is an `IndexedSlices` of the rows `indices`.
    """
    return _sparse_segment("sparse_segment_sum", data, indices, segment_ids, name or "SparseSegmentSum",
                           num_segments)


def sparse_segment_mean(data: Any, indices: Any, segment_ids: Any, name: Optional[str] = None,
                        num_segments: Any = None) -> Tensor:
    """Like `sparse_segment_sum`, divided by the segment sizes (`tf.sparse.segment_mean`)."""
    return _sparse_segment("sparse_segment_mean", data, indices, segment_ids, name or "SparseSegmentMean",
                           num_segments)


def sparse_segment_sqrt_n(data: Any, indices: Any, segment_ids: Any, name: Optional[str] = None,
                          num_segments: Any = None) -> Tensor:
    """Like `sparse_segment_sum`, divided by sqrt of the segment sizes (`tf.sparse.segment_sqrt_n`)."""
    return _sparse_segment("sparse_segment_sqrt_n", data, indices, segment_ids, name or "SparseSegmentSqrtN",
                           num_segments)


def _as_sparse(sp: Any) -> SparseTensor:
    if isinstance(sp, SparseTensorValue):
        return SparseTensor.from_value(sp)
    if not isinstance(sp, SparseTensor):
        raise TypeError(f"Expected a SparseTensor, got {type(sp).__name__}")
    return sp


def sparse_tensor_dense_matmul(sp_a: Any, b: Any, adjoint_a: bool = False, adjoint_b: bool = False,
                               name: Optional[str] = None) -> Tensor:
    """op(sp_a) @ op(b) for a 2-D SparseTensor `sp_a` and a dense matrix `b` (`tf.sparse.sparse_dense_matmul`).

    Differentiable w.r.t. `sp_a.values` and `b`.
    """
    sp = _as_sparse(sp_a)
    bt = convert_to_tensor(b, dtype_hint=sp.dtype)
    return create_op("sparse_tensor_dense_matmul", [sp.indices, sp.values, sp.dense_shape, bt],
                     {"adjoint_a": bool(adjoint_a), "adjoint_b": bool(adjoint_b)},
                     name=name or "SparseTensorDenseMatMul")


def sparse_tensor_to_dense(sp_input: Any, default_value: Any = None, validate_indices: bool = True,
                           name: Optional[str] = None) -> Tensor:
    """The dense tensor of `sp_input`, `default_value` where no entry is given (`tf.sparse.to_dense`).

    With `validate_indices`, entries must be in row-major order without repeats.
    """
    sp = _as_sparse(sp_input)
    if default_value is None:
        default_value = "" if sp.dtype == _dtypes.string else 0
    dv = convert_to_tensor(default_value, dtype=sp.dtype)
    return create_op("sparse_tensor_to_dense", [sp.indices, sp.values, sp.dense_shape, dv],
                     {"validate_indices": bool(validate_indices)}, name=name or "SparseToDense")


def sparse_reorder(sp_input: Any, name: Optional[str] = None) -> SparseTensor:
    """The same SparseTensor with its entries in row-major order (`tf.sparse.reorder`)."""
    sp = _as_sparse(sp_input)
    ind, val = create_op("sparse_reorder", [sp.indices, sp.values, sp.dense_shape], name=name or "SparseReorder")
    out = SparseTensor(ind, val, sp.dense_shape)
    out._static_shape = sp.shape
    return out


def _sparse_namespace() -> types.ModuleType:
    m = types.ModuleType("nestor.sparse", "`tf.sparse`: SparseTensor ops.")
    for k, v in {"SparseTensor": SparseTensor, "SparseTensorValue": SparseTensorValue,
                 "placeholder": sparse_placeholder, "to_dense": sparse_tensor_to_dense,
                 "sparse_dense_matmul": sparse_tensor_dense_matmul, "matmul": sparse_tensor_dense_matmul,
                 "reorder": sparse_reorder, "segment_sum": sparse_segment_sum, "segment_mean": sparse_segment_mean,
                 "segment_sqrt_n": sparse_segment_sqrt_n}.items():
        setattr(m, k, v)
    return m


sparse = _sparse_namespace()
