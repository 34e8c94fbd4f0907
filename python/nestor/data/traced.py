"""Dataset functions written with nestor ops (`ds.map(lambda s: tf.io.parse_example(s, spec))`):
traced once into a private graph over placeholders of the input element, then run in a CPU
session for each element (or batch), as tf.data runs its traced functions."""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, List

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Graph, Tensor
from ..framework.values import SparseTensorValue
from . import structure as st


def builds_graph(value: Any) -> bool:
    """Whether a function's result holds graph values (Tensors, SparseTensors)."""
    from ..framework.sparse_tensor import SparseTensor
    if isinstance(value, dict):
        return any(builds_graph(v) for v in value.values())
    if isinstance(value, (tuple, list)) and not isinstance(value, SparseTensorValue):
        return any(builds_graph(v) for v in value)
    return isinstance(value, (Tensor, SparseTensor))


class TracedFunction:
    """`fn` built over placeholders of `input_spec` (a structure of TensorSpecs) and run per call.

    Outputs come back as numpy values; a SparseTensor output of rank 1 becomes an object scalar
    holding its values (one element's variable-length list), of rank 2 an object array of each
    row's values (a batch of lists): how nestor.data carries variable-length features.

    Raises:
      TypeError: `fn` returned something other than Tensors (and nested dicts/tuples of them).
    """

    def __init__(self, fn: Callable[..., Any], input_spec: Any, call: Callable[[Callable[..., Any], Any], Any]):
        from ..framework.session import ConfigProto, Session
        from ..ops import core_ops
        self._graph = Graph()
        with self._graph.as_default():
            phs = st.map_structure(lambda s: core_ops.placeholder(s.dtype, s.shape), input_spec)
            out = call(fn, phs)
        self._inputs: List[Tensor] = st.flatten(phs)
        self._outputs = _check_outputs(out)
        self._fetches: List[Tensor] = []
        _collect(self._outputs, self._fetches)
        self._session = Session(graph=self._graph, config=ConfigProto(device="cpu"))
        self._run = self._session.make_callable(self._fetches, self._inputs)  # ~5x less overhead than run()
        self._lock = threading.Lock()  # one run at a time (map's worker threads share the session)

    def __call__(self, elem: Any) -> Any:
        args = [_feedable(v, p) for p, v in zip(self._inputs, st.flatten(elem))]
        with self._lock:
            values = self._run(*args)
        return _rebuild(self._outputs, iter(values))


def _check_outputs(out: Any) -> Any:
    from ..framework.sparse_tensor import SparseTensor
    if isinstance(out, dict):
        return {k: _check_outputs(v) for k, v in out.items()}
    if isinstance(out, (tuple, list)):
        return tuple(_check_outputs(v) for v in out)
    if isinstance(out, (Tensor, SparseTensor)):
        return out
    raise TypeError(f"A function built with nestor ops must return Tensors (or dicts/tuples of them); it returned "
                    f"{type(out).__name__} {out!r:.80}")


def _feedable(v: Any, p: Tensor) -> Any:
    if p.dtype is _dtypes.string and isinstance(v, np.ndarray) and v.dtype != object:
        return v.astype(object)
    return v


def _collect(out: Any, fetches: List[Tensor]) -> None:
    """The tensors to fetch for a checked output structure (a SparseTensor's three parts)."""
    if isinstance(out, dict):
        for v in out.values():
            _collect(v, fetches)
    elif isinstance(out, tuple):
        for v in out:
            _collect(v, fetches)
    elif isinstance(out, Tensor):
        fetches.append(out)
    else:
        fetches.extend([out.indices, out.values, out.dense_shape])


def _rebuild(out: Any, values: Iterator[Any]) -> Any:
    """`out`'s structure with the fetched numpy values (sparse ones as per-example lists)."""
    if isinstance(out, dict):
        return {k: _rebuild(v, values) for k, v in out.items()}
    if isinstance(out, tuple):
        return tuple(_rebuild(v, values) for v in out)
    if isinstance(out, Tensor):
        return next(values)
    return _sparse_rows(SparseTensorValue(next(values), next(values), next(values)))


def _sparse_rows(v: SparseTensorValue) -> np.ndarray:
    shape = np.asarray(v.dense_shape)
    values = np.asarray(v.values)
    if len(shape) == 1:  # one element's list: an object scalar holding it, batched as a ragged column
        one = np.empty((), dtype=object)
        one[()] = values
        return one
    if len(shape) != 2:
        raise ValueError(f"nestor.data carries variable-length features as one list per example: a SparseTensor "
                         f"of rank {len(shape)} (dense_shape {shape.tolist()}) can't be an element's feature")
    rows = np.asarray(v.indices)[:, 0]
    if len(rows) > 1 and np.any(np.diff(rows) < 0):
        order = np.argsort(rows, kind="stable")
        rows, values = rows[order], values[order]
    bounds = np.searchsorted(rows, np.arange(int(shape[0]) + 1))
    out = np.empty(int(shape[0]), dtype=object)
    for i in range(int(shape[0])):
        out[i] = values[bounds[i]:bounds[i + 1]]
    return out
