"""`SparseTensor` and `sparse_placeholder` (TF1's `tf.SparseTensor`, `tf.sparse_placeholder`).

A SparseTensor is three dense tensors: `indices` (int64 [N, rank]), `values` ([N]) and
`dense_shape` (int64 [rank]). Feed one with a `SparseTensorValue` or an
`(indices, values, dense_shape)` tuple.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import dtypes as _dtypes
from .graph import Graph, Operation, Tensor, TensorShape, as_shape, convert_to_tensor
from .values import SparseTensorValue


def _const_value(t: Tensor) -> Optional[np.ndarray]:
    """The value of `t` if it is a `const` node, else None."""
    if t.op.type != "const":
        return None
    return np.asarray(t.op.get_attr("value"))


class SparseTensor:
    """A sparse tensor: `dense[indices[i]] = values[i]`, zero elsewhere (`tf.SparseTensor`).

    Args:
      indices: int64 [N, rank] coordinates of the non-zero entries (row-major order).
      values: [N] values of any dtype.
      dense_shape: int64 [rank] shape of the dense tensor.
    """

    def __init__(self, indices: Any, values: Any, dense_shape: Any):
        self._indices = convert_to_tensor(indices, dtype=_dtypes.int64, name="indices") \
            if not isinstance(indices, Tensor) else indices
        self._values = convert_to_tensor(values, name="values")
        self._dense_shape = convert_to_tensor(dense_shape, dtype=_dtypes.int64, name="dense_shape") \
            if not isinstance(dense_shape, Tensor) else dense_shape
        if self._indices.dtype != _dtypes.int64 or self._dense_shape.dtype != _dtypes.int64:
            raise ValueError(f"SparseTensor indices and dense_shape must be int64, got "
                             f"{self._indices.dtype.name} and {self._dense_shape.dtype.name}")
        self._indices.shape.with_rank(2)
        self._values.shape.with_rank(1)
        self._dense_shape.shape.with_rank(1)
        self._static_shape = self._infer_shape()

    @classmethod
    def from_value(cls, sparse_tensor_value: Any) -> "SparseTensor":
        """A constant SparseTensor from a `SparseTensorValue` (or a SparseTensor, returned as is)."""
        if isinstance(sparse_tensor_value, SparseTensor):
            return sparse_tensor_value
        v = sparse_tensor_value
        return cls(np.asarray(v.indices, dtype=np.int64), np.asarray(v.values),
                   np.asarray(v.dense_shape, dtype=np.int64))

    def _infer_shape(self) -> TensorShape:
        known = _const_value(self._dense_shape)
        if known is not None:
            return TensorShape([int(d) for d in known])
        n = self._dense_shape.shape
        return TensorShape([None] * n[0]) if n.rank == 1 and isinstance(n[0], int) else TensorShape(None)

    @property
    def indices(self) -> Tensor:
        return self._indices

    @property
    def values(self) -> Tensor:
        return self._values

    @property
    def dense_shape(self) -> Tensor:
        return self._dense_shape

    @property
    def dtype(self) -> _dtypes.DType:
        return self._values.dtype

    @property
    def shape(self) -> TensorShape:
        return self._static_shape

    def get_shape(self) -> TensorShape:
        return self._static_shape

    @property
    def graph(self) -> Graph:
        return self._values.graph

    @property
    def op(self) -> Operation:
        return self._values.op

    def eval(self, feed_dict: Optional[Dict[Any, Any]] = None, session: Any = None) -> SparseTensorValue:
        """Runs the three component tensors; returns a `SparseTensorValue`."""
        from .session import get_default_session
        sess = session or get_default_session()
        ind, val, shp = sess.run([self._indices, self._values, self._dense_shape], feed_dict)
        return SparseTensorValue(ind, val, shp)

    def _feed_tensors(self, value: Any) -> List[Tuple[Tensor, Any]]:
        """The (tensor, array) feeds for `value`: a SparseTensorValue or (indices, values, dense_shape)."""
        if isinstance(value, SparseTensorValue):
            ind, val, shp = value.indices, value.values, value.dense_shape
        elif isinstance(value, (tuple, list)) and len(value) == 3:
            ind, val, shp = value
        else:
            raise TypeError(f"A SparseTensor must be fed a SparseTensorValue or an (indices, values, dense_shape) "
                            f"tuple, got {type(value).__name__}")
        ind = np.asarray(ind, dtype=np.int64)
        shp = np.asarray(shp, dtype=np.int64)
        if ind.ndim == 1 and ind.size == 0:
            ind = ind.reshape(0, shp.size)
        feeds: List[Tuple[Tensor, Any]] = [(self._indices, ind), (self._values, val)]
        known = _const_value(self._dense_shape)
        if known is None:
            feeds.append((self._dense_shape, shp))
        elif not np.array_equal(known, shp):
            raise ValueError(f"Cannot feed a SparseTensorValue of dense_shape {shp.tolist()} for a SparseTensor "
                             f"of shape {known.tolist()}")
        return feeds

    def consumers(self) -> List[Operation]:
        return self._values.consumers() + self._indices.consumers() + self._dense_shape.consumers()

    def __repr__(self) -> str:
        return f"SparseTensor(indices={self._indices}, values={self._values}, dense_shape={self._dense_shape})"


def sparse_placeholder(dtype: Any, shape: Any = None, name: Optional[str] = None) -> SparseTensor:
    """A SparseTensor of placeholders, to be fed a `SparseTensorValue` (`tf.sparse_placeholder`).

    Args:
      dtype: the type of the values.
      shape: the dense shape; a fully known shape becomes a constant dense_shape.
      name: prefix of the placeholders' names.
    """
    from ..ops import core_ops
    dt = _dtypes.as_dtype(dtype)
    s = as_shape(shape) if shape is not None else TensorShape(None)
    rank = s.rank
    sub = (lambda suffix: f"{name}/{suffix}") if name else (lambda suffix: None)
    if s.is_fully_defined():
        dense_shape = core_ops.constant(np.asarray(s.as_list(), dtype=np.int64), name=sub("shape") or "Const")
    else:
        dense_shape = core_ops.placeholder(_dtypes.int64, [rank], name=sub("shape"))
    values = core_ops.placeholder(dt, [None], name=sub("values"))
    indices = core_ops.placeholder(_dtypes.int64, [None, rank], name=sub("indices"))
    st = SparseTensor(indices, values, dense_shape)
    if rank is not None:
        st._static_shape = s
    return st
