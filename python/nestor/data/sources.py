"""Datasets that run user Python (generators, map, filter) and the structural ones (range, zip, ...)."""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, List, Optional

import numpy as np

from .. import errors
from ..framework.graph import Tensor, TensorShape
from . import structure as st
from .blocks import Block, RowReader, block_len
from .dataset import _CHUNK, Dataset, _chunked, _pool, row_iterator

_GRAPH_TENSOR_HELP = (
    "In nestor.data, {what} receives numpy values and runs in Python, so it can't build nestor ops (they make "
    "graph tensors). Write it with numpy / plain Python, or compute what it needs with nestor ops in a `map` "
    "before it (map functions may build nestor ops), or apply the ops to the tensors in the model_fn.")


def stack_rows(rows: Iterator[List[np.ndarray]], max_rows: int, max_bytes: int = 1 << 20) -> Iterator[Block]:
    """Groups consecutive per-element leaf lists into blocks (stacking rows of equal shapes)."""
    pending: List[List[np.ndarray]] = []
    sig = None
    nbytes = 0

    def flush() -> Block:
        if len(pending) == 1:
            return [a[None] for a in pending[0]]
        return [np.stack(col) for col in zip(*pending)]

    for leaves in rows:
        s = tuple((a.shape, a.dtype) for a in leaves)
        if pending and s != sig:
            yield flush()
            pending = []
            nbytes = 0
        sig = s
        pending.append(leaves)
        nbytes += sum(a.nbytes for a in leaves)
        if len(pending) >= max_rows or nbytes >= max_bytes:
            yield flush()
            pending = []
            nbytes = 0
    if pending:
        yield flush()


def _call(fn: Callable[..., Any], elem: Any) -> Any:
    return fn(*elem) if type(elem) is tuple else fn(elem)


class GeneratorDataset(Dataset):
    def __init__(self, generator: Callable[..., Any], output_types: Any, output_shapes: Any, args: Any,
                 output_signature: Any):
        if not callable(generator):
            raise TypeError("`generator` must be a Python callable.")
        if output_signature is not None:
            if output_types is not None or output_shapes is not None:
                raise TypeError("The `output_types` and `output_shapes` arguments can not be used together with "
                                "the `output_signature` argument.")
            for s in st.flatten(output_signature):
                if not isinstance(s, st.TensorSpec):
                    raise TypeError(f"`output_signature` must contain TensorSpec objects, got {s!r}.")
            self._sig = output_signature
        elif output_types is not None:
            _, specs = st.spec_from_types(None, output_types, output_shapes)
            self._sig = st.pack_as(output_types, specs)
        else:
            if output_shapes is not None:
                raise TypeError("`output_shapes` needs `output_types` (or use `output_signature`).")
            self._sig = None
        self._gen, self._args = generator, tuple(args) if args is not None else ()
        self._seen_template: Any = None

    def _flat(self, value: Any, specs: Optional[List[st.TensorSpec]]) -> List[np.ndarray]:
        tmpl = self._sig if self._sig is not None else self._seen_template
        if tmpl is None:
            self._seen_template = tmpl = st._frames_to_dicts(value)
        if isinstance(tmpl, tuple) and isinstance(value, list) and len(value) == len(tmpl):
            value = tuple(value)
        try:
            st.assert_same_structure(tmpl, value, "`generator` yielded an element that did not match the "
                                                  "expected structure")
        except ValueError as e:
            raise TypeError(str(e)) from None
        leaves = st.flatten(value)
        if specs is None:
            return [st.to_array(v, what="element yielded by `generator`") for v in leaves]
        out = []
        for v, sp in zip(leaves, specs):
            try:
                a = st.to_array(v, sp.dtype, what="element yielded by `generator`")
            except (TypeError, ValueError):
                raise TypeError(f"`generator` yielded an element that could not be converted to the expected type. "
                                f"The expected type was {sp.dtype.name}, but the yielded element was {v!r}.") from None
            if not sp.shape.is_compatible_with(a.shape):
                raise errors.InvalidArgumentError(
                    None, None, f"`generator` yielded an element of shape {a.shape} where an element of shape "
                    f"{sp.shape} was expected.")
            out.append(a)
        return out

    def _blocks(self) -> Iterator[Block]:
        specs = st.flatten(self._sig) if self._sig is not None else None
        args = [st.to_array(a, what="generator argument") for a in self._args]
        gen = self._gen(*args)
        try:
            yield from stack_rows((self._flat(v, specs) for v in gen), max_rows=64)
        finally:
            close = getattr(gen, "close", None)
            if close:
                close()

    def _spec(self) -> Any:
        if self._sig is not None:
            return self._sig
        gen = self._gen(*[st.to_array(a) for a in self._args])
        try:
            first = next(iter(gen))
        except StopIteration:
            raise ValueError("Can't infer the element_spec of an empty generator: pass `output_signature`.") from None
        tmpl = st._frames_to_dicts(first)
        return st.pack_as(tmpl, [st.spec_of(a) for a in (st.to_array(v) for v in st.flatten(tmpl))])

    def _template(self) -> Any:
        return self._sig if self._sig is not None else (self._seen_template or self.element_spec)


class RangeDataset(Dataset):
    def __init__(self, *args: int, dtype: Any):
        if not 1 <= len(args) <= 3:
            raise TypeError(f"Dataset.range takes 1 to 3 positional arguments (start, stop, step), got {args}.")
        r = range(*[int(a) for a in args])
        if r.step == 0:
            raise ValueError("Dataset.range: step must not be 0.")
        self._r, self._dtype = r, dtype

    def _blocks(self) -> Iterator[Block]:
        r, npd = self._r, self._dtype.as_numpy_dtype
        for i in range(0, len(r), _CHUNK):
            sub = r[i:i + _CHUNK]
            yield [np.arange(sub.start, sub.stop, sub.step, dtype=npd)]

    def _spec(self) -> Any:
        return st.TensorSpec([], self._dtype)


class ZipDataset(Dataset):
    def __init__(self, datasets: Any):
        self._struct = datasets
        self._ds = st.flatten(datasets)
        for d in self._ds:
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip expects a (nested) tuple or dict of Datasets, got {type(d).__name__}.")

    def _blocks(self) -> Iterator[Block]:
        readers = [RowReader(d._blocks()) for d in self._ds]
        try:
            while True:
                first = readers[0].read_block(_CHUNK)
                if first is None:
                    return
                parts = [first] + [r.read(block_len(first)) for r in readers[1:]]
                if any(p is None for p in parts):
                    return
                m = min(block_len(p) for p in parts)  # type: ignore[arg-type]
                yield [c[:m] for p in parts for c in p]  # type: ignore[union-attr]
                if m < block_len(first):
                    return
        finally:
            for r in readers:
                r.close()

    def _spec(self) -> Any:
        return st.pack_as(self._struct, [d.element_spec for d in self._ds])

    def _template(self) -> Any:
        return st.pack_as(self._struct, [d._template() for d in self._ds])


class MapDataset(Dataset):
    def __init__(self, input_ds: Dataset, fn: Callable[..., Any], num_parallel_calls: Optional[int]):
        if not callable(fn):
            raise TypeError(f"map_func must be callable, got {fn!r}.")
        self._input, self._fn, self._npc = input_ds, fn, num_parallel_calls
        self._out_template: Any = None
        self._run: Optional[Callable[[Any], Any]] = None  # how map_func runs, decided on the first element
        self._decide = threading.Lock()

    def _choose(self, elem: Any) -> Any:
        """Calls map_func on numpy values; if it builds nestor ops instead (e.g. tf.io.parse_example),
        traces it once into a graph (see traced.py) and runs that from then on. Returns the output."""
        from ..framework.graph import Graph
        from .traced import TracedFunction, builds_graph
        try:
            with Graph().as_default():  # ops it may build on numpy input go to a scratch graph
                out = _call(self._fn, elem)
            numpy_error = None
        except Exception as e:  # noqa: BLE001 - it may be written for tensors only: tried traced below
            out, numpy_error = None, e
        if numpy_error is None and not builds_graph(out):
            self._run = lambda e: _call(self._fn, e)
            return out
        try:
            traced = TracedFunction(self._fn, self._input.element_spec, _call)
        except Exception:
            if numpy_error is not None:
                raise numpy_error
            raise
        self._run = traced
        return traced(elem)

    def _apply(self, elem: Any) -> List[np.ndarray]:
        if self._run is None:
            with self._decide:
                out = self._choose(elem) if self._run is None else self._run(elem)
        else:
            out = self._run(elem)
        tmpl, leaves = st.normalize(out, "output of map_func")
        if self._out_template is None:
            self._out_template = tmpl
        else:
            st.assert_same_structure(self._out_template, tmpl, "map_func returned elements of different structures")
        return leaves

    def _blocks(self) -> Iterator[Block]:
        pool = _pool(self._npc)
        elems = self._input._elements()
        try:
            if pool is None:
                rows = (self._apply(e) for e in elems)
            else:
                rows = (r for chunk in _chunked(elems, 4 * pool._max_workers) for r in pool.map(self._apply, chunk))
            yield from stack_rows(rows, max_rows=64)
        finally:
            elems.close()
            if pool is not None:
                pool.shutdown(wait=False)

    def _spec(self) -> Any:
        elems = self._input._elements()
        try:
            first = next(elems)
        except StopIteration:
            raise ValueError("Can't infer the element_spec of `map` over an empty dataset.") from None
        finally:
            elems.close()
        leaves = self._apply(first)
        in_specs = st.flatten(self._input.element_spec)
        in_leaves = [np.asarray(v) for v in st.flatten(first)]
        batch = {a.shape[0] for a, s in zip(in_leaves, in_specs)
                 if s.shape.rank and s.shape.as_list()[0] is None and a.ndim}
        specs = []
        for a in leaves:
            sp = st.spec_of(a)
            if a.ndim and a.shape[0] in batch:
                sp = st.TensorSpec([None] + list(a.shape[1:]), sp.dtype)
            specs.append(sp)
        return st.pack_as(self._out_template, specs)

    def _template(self) -> Any:
        return self._out_template if self._out_template is not None else self.element_spec


class FilterDataset(Dataset):
    def __init__(self, input_ds: Dataset, predicate: Callable[..., Any]):
        if not callable(predicate):
            raise TypeError(f"predicate must be callable, got {predicate!r}.")
        self._input, self._pred = input_ds, predicate

    def _keep(self, elem: Any) -> bool:
        r = _call(self._pred, elem)
        if isinstance(r, Tensor):
            raise TypeError(f"The filter predicate returned a nestor graph Tensor. "
                            f"{_GRAPH_TENSOR_HELP.format(what='the predicate')}")
        a = np.asarray(r)
        if a.shape != () or a.dtype != np.bool_:
            raise ValueError(f"The filter predicate must return a scalar bool, got {r!r}.")
        return bool(a)

    def _blocks(self) -> Iterator[Block]:
        gen = self._input._blocks()
        try:
            rows = None
            for blk in gen:
                if rows is None:
                    rows = row_iterator(self._input._template())
                mask = np.fromiter((self._keep(e) for e in rows(blk)), dtype=np.bool_, count=block_len(blk))
                if mask.all():
                    yield blk
                elif mask.any():
                    yield [c[mask] for c in blk]
        finally:
            gen.close()

    def _spec(self) -> Any:
        return self._input.element_spec

    def _template(self) -> Any:
        return self._input._template()


class ConcatenateDataset(Dataset):
    def __init__(self, a: Dataset, b: Dataset):
        self._a, self._b = a, b
        sa, sb = a.element_spec, b.element_spec
        st.assert_same_structure(sa, sb, "concatenate")
        for x, y in zip(st.flatten(sa), st.flatten(sb)):
            if x.dtype != y.dtype:
                raise TypeError(f"Two datasets to concatenate have different types {x.dtype!r} and {y.dtype!r}.")

    def _blocks(self) -> Iterator[Block]:
        yield from self._a._blocks()
        yield from self._b._blocks()

    def _spec(self) -> Any:
        def merge(x: st.TensorSpec, y: st.TensorSpec) -> st.TensorSpec:
            if x.shape.rank is None or y.shape.rank is None or x.shape.rank != y.shape.rank:
                return st.TensorSpec(TensorShape(None), x.dtype)
            return st.TensorSpec([d if d == e else None for d, e in zip(x.shape.as_list(), y.shape.as_list())],
                                 x.dtype)
        return st.pack_as(self._a.element_spec, [merge(x, y) for x, y in
                                                 zip(st.flatten(self._a.element_spec),
                                                     st.flatten(self._b.element_spec))])

    def _template(self) -> Any:
        return self._a._template()


class UnbatchDataset(Dataset):
    def __init__(self, input_ds: Dataset):
        self._input = input_ds

    def _blocks(self) -> Iterator[Block]:
        for blk in self._input._blocks():
            if any(c.ndim < 2 for c in blk):
                raise ValueError("unbatch needs elements of rank >= 1.")
            if len({c.shape[1] for c in blk}) != 1:
                raise errors.InvalidArgumentError(
                    None, None, f"unbatch: the components have different batch sizes {[c.shape[1] for c in blk]}.")
            if blk[0].shape[1]:
                yield [c.reshape((-1,) + c.shape[2:]) for c in blk]

    def _spec(self) -> Any:
        return st.map_structure(lambda s: st.TensorSpec(s.shape[1:] if s.shape.rank else TensorShape(None), s.dtype),
                                self._input.element_spec)

    def _template(self) -> Any:
        return self._input._template()
