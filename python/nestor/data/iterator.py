"""TF1 iterators over a `Dataset` and the feeds they give `Session.run`.

`get_next()` returns placeholders (dtype/shape from the dataset's `element_spec`) bound to
the iterator. Before a `Session.run`, `iterator_feeds(graph, fetches)` finds the bound
placeholders the fetches depend on and returns `{placeholder: next value}`; the pipeline
itself runs in a background thread, a few blocks ahead of the session.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .. import errors
from ..framework.graph import Graph, Operation, Tensor, get_default_graph
from . import structure as st
from .blocks import BlockPump, block_len

_NOT_INITIALIZED = ("GetNext() failed because the iterator has not been initialized. Ensure that you have run the "
                    "initializer operation for this iterator before getting the next element.")


class _GraphIterators:
    def __init__(self) -> None:
        self.bound: Dict[int, Tuple["Iterator", int]] = {}   # placeholder node -> (iterator, component)
        self.inits: Dict[int, Tuple["Iterator", Any]] = {}   # initializer node -> (iterator, dataset)
        self.walks: Dict[Any, Tuple[List[Tuple["Iterator", List[Tuple[int, Tensor]]]], List[Tuple[Any, Any]]]] = {}


_LOCK = threading.Lock()
_ATTR = "_nestor_data_iterators"  # the registry lives on the Graph, so it goes away with it


def _registry(graph: Graph) -> _GraphIterators:
    with _LOCK:
        reg = getattr(graph, _ATTR, None)
        if reg is None:
            reg = _GraphIterators()
            setattr(graph, _ATTR, reg)
        return reg


class _Source:
    """Flat elements of a dataset, produced in a background thread (a few blocks ahead)."""

    def __init__(self, dataset: Any, capacity: int = 4):
        self._pump = BlockPump(dataset._blocks, capacity, name="nestor.data.iterator")
        self._blk: Optional[List[Any]] = None
        self._i = 0
        self._n = 0

    def next_flat(self) -> List[Any]:
        if self._i >= self._n:
            blk = next(self._pump)  # StopIteration at the end; errors re-raised
            self._blk, self._i, self._n = blk, 0, block_len(blk)
        i = self._i
        self._i += 1
        return [c[i] for c in self._blk]  # type: ignore[union-attr]

    def close(self) -> None:
        self._pump.close()


class Iterator:
    """A TF1 iterator (`tf.compat.v1.data.Iterator`): `get_next()` gives tensors fed by `Session.run`.

    The iterator's position lives in this Python object (shared by the sessions of its graph).
    """

    def __init__(self, dataset: Any, initializable: bool, output_types: Any = None, output_shapes: Any = None):
        self._reg = _registry(get_default_graph())
        if dataset is not None:
            spec = dataset.element_spec
        else:
            _, specs = st.spec_from_types(None, output_types, output_shapes)
            spec = st.pack_as(output_types, specs)
        self._spec = spec
        self._dataset = dataset
        self._lock = threading.Lock()
        self._source: Optional[_Source] = None
        self._done = False
        self._initializable = initializable
        from ..ops.core_ops import no_op, placeholder
        phs = [placeholder(s.dtype, None if s.shape.rank is None else s.shape, name="IteratorGetNext")
               for s in st.flatten(spec)]
        self._placeholders = phs
        self._next = st.pack_as(spec, phs)
        for i, p in enumerate(phs):
            self._reg.bound[p._node] = (self, i)
        self._initializer: Optional[Operation] = None
        if initializable and dataset is not None:
            self._initializer = no_op(name="MakeIterator")
            self._reg.inits[self._initializer._id] = (self, dataset)

    # -- TF1 API
    @staticmethod
    def from_structure(output_types: Any, output_shapes: Any = None, shared_name: Optional[str] = None,
                       output_classes: Any = None) -> "Iterator":
        """A reinitializable iterator: initialize it with `make_initializer(dataset)`."""
        return Iterator(None, True, output_types, output_shapes)

    def make_initializer(self, dataset: Any, name: Optional[str] = None) -> Operation:
        """An op that (re)starts this iterator on `dataset` when run."""
        from ..ops.core_ops import no_op
        for a, b in zip(st.flatten(self._spec), st.flatten(dataset.element_spec)):
            if a.dtype != b.dtype or not a.shape.is_compatible_with(b.shape):
                raise TypeError(f"Expected output types {self.output_types} and shapes {self.output_shapes}, got a "
                                f"dataset with types {dataset.output_types} and shapes {dataset.output_shapes}.")
        op = no_op(name=name or "MakeIterator")
        self._reg.inits[op._id] = (self, dataset)
        return op

    @property
    def initializer(self) -> Operation:
        if self._initializer is None:
            raise ValueError("This iterator has no initializer: a one-shot iterator starts by itself; a "
                             "reinitializable one uses make_initializer(dataset).")
        return self._initializer

    def get_next(self, name: Optional[str] = None) -> Any:
        """The next element as tensors: each `Session.run` that needs them advances the iterator."""
        return self._next

    @property
    def element_spec(self) -> Any:
        return self._spec

    @property
    def output_types(self) -> Any:
        return st.map_structure(lambda s: s.dtype, self._spec)

    @property
    def output_shapes(self) -> Any:
        return st.map_structure(lambda s: s.shape, self._spec)

    # -- runtime
    def _start(self, dataset: Any) -> None:
        with self._lock:
            if self._source is not None:
                self._source.close()
            self._dataset = dataset
            self._source = _Source(dataset)
            self._done = False

    def _next_flat(self) -> List[Any]:
        with self._lock:
            if self._source is None:
                if self._initializable:
                    raise errors.FailedPreconditionError(None, None, _NOT_INITIALIZED)
                self._source = _Source(self._dataset)
            if self._done:
                raise errors.OutOfRangeError(None, None, "End of sequence")
            try:
                return self._source.next_flat()
            except StopIteration:
                self._done = True
                raise errors.OutOfRangeError(None, None, "End of sequence") from None

    def close(self) -> None:
        with self._lock:
            if self._source is not None:
                self._source.close()
                self._source = None

    def __del__(self) -> None:
        src = getattr(self, "_source", None)
        if src is not None:
            src.close()


def make_one_shot_iterator(dataset: Any) -> Iterator:
    """`tf.compat.v1.data.make_one_shot_iterator`."""
    return Iterator(dataset, initializable=False)


def make_initializable_iterator(dataset: Any, shared_name: Optional[str] = None) -> Iterator:
    """`tf.compat.v1.data.make_initializable_iterator`."""
    return Iterator(dataset, initializable=True)


def get_output_types(dataset_or_iterator: Any) -> Any:
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator: Any) -> Any:
    return dataset_or_iterator.output_shapes


def _node_of(f: Any) -> int:
    if isinstance(f, Tensor):
        return f._node
    if isinstance(f, Operation):
        return f._id
    if isinstance(f, int):
        return f
    if hasattr(f, "op") and isinstance(getattr(f, "op"), Operation):
        return f.op._id
    raise TypeError(f"iterator_feeds: can't interpret fetch {f!r} as a Tensor or Operation.")


def iterator_feeds(graph: Graph, fetch_tensors_and_ops: Iterable[Any],
                   feed_dict: Optional[Dict[Any, Any]] = None) -> Dict[Tensor, Any]:
    """The feeds an upcoming `Session.run(fetches)` needs from the graph's dataset iterators.

    Runs the initializers among the fetches' dependencies, then advances each iterator whose
    `get_next()` placeholders the fetches depend on, once, and returns `{placeholder: value}`.
    Placeholders in `feed_dict` are left alone (and cut the walk like any fed tensor).

    Raises:
      OutOfRangeError: an iterator reached its end ("End of sequence").
      FailedPreconditionError: an initializable iterator was used before its initializer ran.
    """
    reg = getattr(graph, _ATTR, None)
    if reg is None:
        return {}
    fed = tuple(sorted(k._key() for k in feed_dict if isinstance(k, Tensor))) if feed_dict else ()
    key = (tuple(sorted({_node_of(f) for f in fetch_tensors_and_ops})), fed)
    walk = reg.walks.get(key)
    if walk is None:
        walk = reg.walks[key] = _walk(graph, reg, key[0], set(fed))
    uses, inits = walk
    for it, ds in inits:
        it._start(ds)
    feeds: Dict[Tensor, Any] = {}
    for it, comps in uses:
        flat = it._next_flat()
        for i, ph in comps:
            feeds[ph] = flat[i]
    return feeds


def _walk(graph: Graph, reg: _GraphIterators, roots: Tuple[int, ...], fed: set) -> Any:
    g = graph._native
    seen = set(roots)
    stack = list(roots)
    found: Dict[Iterator, List[Tuple[int, Tensor]]] = {}
    inits: List[Tuple[Any, Any]] = []
    while stack:
        n = stack.pop()
        b = reg.bound.get(n)
        if b is not None and (n, 0) not in fed:
            found.setdefault(b[0], []).append((b[1], b[0]._placeholders[b[1]]))
        ini = reg.inits.get(n)
        if ini is not None:
            inits.append(ini)
        for src, idx in g.node_inputs(n):
            if src not in seen and (src, idx) not in fed:
                seen.add(src)
                stack.append(src)
        for src in g.node_control_inputs(n):
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return list(found.items()), inits


__all__ = ["Iterator", "make_one_shot_iterator", "make_initializable_iterator", "iterator_feeds",
           "get_output_types", "get_output_shapes"]
