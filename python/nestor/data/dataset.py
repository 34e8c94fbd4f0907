"""`nestor.data.Dataset`: tf.data's API over columnar numpy blocks.

Differences from TensorFlow, by design:
  * elements are numpy values, and `map` / `filter` functions receive numpy values (not graph
    tensors): write them with numpy or plain Python. A `map` function that builds nestor ops
    instead (e.g. `tf.io.parse_example`) is traced once into a graph and run in a CPU session
    per element or batch, as tf.data does; a `filter` predicate must be numpy.
  * `map` runs Python once per element; after `batch` that is once per batch, so batch before
    map when the function can work on batches (it is much faster).
"""
from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, List, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, TensorShape
from . import structure as st
from .blocks import Block, BlockPump, RowReader, block_len, concat_blocks, shuffle_blocks, shuffle_orders

AUTOTUNE = -1
_CHUNK = 65536
# In-memory datasets up to this many rows are shuffled on row indices, many epochs at once.
_INDEX_SHUFFLE_ROWS = 1 << 20


class DatasetIterator:
    """The Python iterator over a dataset's elements (`iter(dataset)`)."""

    def __init__(self, dataset: "Dataset"):
        self._dataset = dataset
        self._gen = dataset._elements()

    def __iter__(self) -> "DatasetIterator":
        return self

    def __next__(self) -> Any:
        return next(self._gen)

    def get_next(self) -> Any:
        return next(self._gen)

    @property
    def element_spec(self) -> Any:
        return self._dataset.element_spec

    def close(self) -> None:
        self._gen.close()

    def __del__(self) -> None:
        try:
            self._gen.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class Dataset:
    """A sequence of elements, each a structure of numpy values (`tf.data.Dataset`)."""

    # -- to implement: _blocks() -> iterator of blocks; _spec() -> element spec structure
    def _blocks(self) -> Iterator[Block]:
        raise NotImplementedError

    def _spec(self) -> Any:
        raise NotImplementedError

    def _template(self) -> Any:
        """The structure used to pack a block row into an element."""
        return self.element_spec

    # -- properties
    @property
    def element_spec(self) -> Any:
        """The structure of `TensorSpec`s of one element (batch dimensions are None unless fixed)."""
        cached = getattr(self, "_spec_cache", None)
        if cached is None:
            cached = self._spec()
            self._spec_cache = cached
        return cached

    @property
    def output_types(self) -> Any:
        return st.map_structure(lambda s: s.dtype, self.element_spec)

    @property
    def output_shapes(self) -> Any:
        return st.map_structure(lambda s: s.shape, self.element_spec)

    @property
    def output_classes(self) -> Any:
        return st.map_structure(lambda s: Tensor, self.element_spec)

    # -- iteration
    def __iter__(self) -> DatasetIterator:
        return DatasetIterator(self)

    def as_numpy_iterator(self) -> DatasetIterator:
        return DatasetIterator(self)

    def _elements(self) -> Iterator[Any]:
        gen = self._blocks()
        try:
            rows = None
            for blk in gen:
                if rows is None:
                    rows = row_iterator(self._template())
                yield from rows(blk)
        finally:
            gen.close()

    def make_one_shot_iterator(self) -> Any:
        """A TF1 iterator whose `get_next()` tensors are fed by `Session.run` (no initializer needed)."""
        from .iterator import Iterator as _It
        return _It(self, initializable=False)

    def make_initializable_iterator(self, shared_name: Optional[str] = None) -> Any:
        """A TF1 iterator that must be initialized by running `iterator.initializer`."""
        from .iterator import Iterator as _It
        return _It(self, initializable=True)

    # -- sources
    @staticmethod
    def from_tensor_slices(tensors: Any, name: Optional[str] = None) -> "Dataset":
        """Slices `tensors` (arrays, lists, tuples, dicts, DataFrames, Series) along their first axis."""
        return _SlicesDataset(tensors)

    @staticmethod
    def from_tensors(tensors: Any, name: Optional[str] = None) -> "Dataset":
        """A dataset of the single element `tensors`."""
        template, leaves = st.normalize(tensors, "element")
        return _BlocksDataset(template, [[a[None] for a in leaves]], batch_dims=1)

    @staticmethod
    def from_generator(generator: Callable[..., Any], output_types: Any = None, output_shapes: Any = None,
                       args: Any = None, output_signature: Any = None, name: Optional[str] = None) -> "Dataset":
        """Elements yielded by `generator(*args)` (called anew for each pass).

        Give `output_signature` (a structure of `TensorSpec`) or `output_types` (+ `output_shapes`);
        nestor also accepts neither and infers the structure from the first element.
        """
        from .sources import GeneratorDataset
        return GeneratorDataset(generator, output_types, output_shapes, args, output_signature)

    @staticmethod
    def range(*args: int, output_type: Any = _dtypes.int64, name: Optional[str] = None) -> "Dataset":
        """`Dataset.range(stop)`, `range(start, stop[, step])`: like Python's range, int64 elements."""
        from .sources import RangeDataset
        return RangeDataset(*args, dtype=_dtypes.as_dtype(output_type))

    @staticmethod
    def zip(datasets: Any, name: Optional[str] = None) -> "Dataset":
        """Elements are structures (like `datasets`) of the elements of the given datasets."""
        from .sources import ZipDataset
        return ZipDataset(datasets)

    # -- transformations
    def shuffle(self, buffer_size: int, seed: Optional[int] = None, reshuffle_each_iteration: Optional[bool] = None,
                name: Optional[str] = None) -> "Dataset":
        """Randomly shuffles with a buffer of `buffer_size` elements (a full permutation when it's >= the size)."""
        return _ShuffleDataset(self, buffer_size, seed, True if reshuffle_each_iteration is None
                               else reshuffle_each_iteration)

    def repeat(self, count: Optional[int] = None, name: Optional[str] = None) -> "Dataset":
        """Repeats the dataset `count` times (forever if None or -1)."""
        return _RepeatDataset(self, count)

    def batch(self, batch_size: int, drop_remainder: bool = False, num_parallel_calls: Any = None,
              deterministic: Any = None, name: Optional[str] = None) -> "Dataset":
        """Stacks `batch_size` consecutive elements; the last batch is smaller unless `drop_remainder`."""
        return _BatchDataset(self, batch_size, drop_remainder)

    def map(self, map_func: Callable[..., Any], num_parallel_calls: Optional[int] = None,
            deterministic: Any = None, name: Optional[str] = None) -> "Dataset":
        """Applies `map_func` to each element (tuples are unpacked into arguments).

        `map_func` receives numpy values, not graph tensors. If it builds nestor ops instead
        (`tf.io.parse_single_example`, `tf.cast`, ...), it is traced once into a graph over
        placeholders of the input element and that graph runs for each element. Either way it
        runs once per element, so put `map` after `batch` whenever the function works on a
        batch (`.batch(256).map(lambda s: tf.io.parse_example(s, spec))`).
        """
        from .sources import MapDataset
        return MapDataset(self, map_func, num_parallel_calls)

    def filter(self, predicate: Callable[..., Any], name: Optional[str] = None) -> "Dataset":
        """Keeps the elements for which `predicate` (numpy values in, bool out) is true."""
        from .sources import FilterDataset
        return FilterDataset(self, predicate)

    def prefetch(self, buffer_size: int, name: Optional[str] = None) -> "Dataset":
        """Produces elements in a background thread, up to `buffer_size` blocks ahead."""
        return _PrefetchDataset(self, buffer_size)

    def take(self, count: int, name: Optional[str] = None) -> "Dataset":
        """The first `count` elements (all if -1)."""
        return _TakeSkipDataset(self, int(count), take=True)

    def skip(self, count: int, name: Optional[str] = None) -> "Dataset":
        """All but the first `count` elements (none if -1)."""
        return _TakeSkipDataset(self, int(count), take=False)

    def cache(self, filename: str = "", name: Optional[str] = None) -> "Dataset":
        """Keeps the elements in memory after the first complete pass (`filename` is ignored)."""
        return _CacheDataset(self)

    def concatenate(self, dataset: "Dataset", name: Optional[str] = None) -> "Dataset":
        """The elements of this dataset followed by those of `dataset`."""
        from .sources import ConcatenateDataset
        return ConcatenateDataset(self, dataset)

    def unbatch(self, name: Optional[str] = None) -> "Dataset":
        """Splits each element into its rows along the first axis."""
        from .sources import UnbatchDataset
        return UnbatchDataset(self)

    def apply(self, transformation_func: Callable[["Dataset"], "Dataset"]) -> "Dataset":
        return transformation_func(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} element_spec={self.element_spec}>"


def row_iterator(template: Any) -> Callable[[Block], Iterator[Any]]:
    """A function that yields the elements (packed like `template`) of one block."""
    leaves = st.flatten(template)
    if len(leaves) == 1 and not isinstance(template, (tuple, dict)):
        return lambda blk: iter(blk[0])
    if isinstance(template, tuple) and not st._is_namedtuple(template) and \
            all(not isinstance(t, (tuple, dict)) for t in template):
        return lambda blk: zip(*blk)
    if type(template) is dict and all(not isinstance(t, (tuple, dict)) for t in template.values()):
        keys = list(template)
        return lambda blk: (dict(zip(keys, row)) for row in zip(*blk))
    return lambda blk: (st.pack_as(template, row) for row in zip(*blk))


class _BlocksDataset(Dataset):
    """Fixed blocks held in memory."""

    def __init__(self, template: Any, blocks: List[Block], batch_dims: int = 1):
        self._struct = template
        self._data = [b for b in blocks if block_len(b)]
        self._leaf_specs = [st.spec_of(a, batch_dims) for a in blocks[0]] if blocks else []

    def _blocks(self) -> Iterator[Block]:
        yield from self._data

    def _memory_block(self) -> Optional[Block]:
        """All rows as one block (None when empty)."""
        if not self._data:
            return None
        if len(self._data) > 1:
            self._data = [concat_blocks(self._data)]
        return self._data[0]

    def _spec(self) -> Any:
        return st.pack_as(self._struct, self._leaf_specs)


class _SlicesDataset(_BlocksDataset):
    def __init__(self, tensors: Any):
        template, leaves = st.normalize(tensors, "input of from_tensor_slices")
        if not leaves:
            raise ValueError("from_tensor_slices needs at least one component.")
        for a in leaves:
            if a.ndim == 0:
                raise ValueError(f"Unbatching a tensor is only supported for rank >= 1, got a scalar {a!r} in "
                                 "from_tensor_slices.")
        n = {len(a) for a in leaves}
        if len(n) != 1:
            lens = st.pack_as(template, [len(a) for a in leaves])
            raise ValueError(f"Dimensions of the components of from_tensor_slices differ: the first dimensions "
                             f"are {lens}. All components must have the same number of rows.")
        super().__init__(template, [leaves], batch_dims=1)


class _ShuffleDataset(Dataset):
    def __init__(self, input_ds: Dataset, buffer_size: int, seed: Optional[int], reshuffle: bool):
        buffer_size = int(buffer_size)
        if buffer_size == AUTOTUNE:
            buffer_size = 10000
        if buffer_size <= 0:
            raise ValueError(f"shuffle buffer_size must be greater than zero, got {buffer_size}.")
        self._input, self._buffer, self._reshuffle = input_ds, buffer_size, reshuffle
        self._seed = seed if seed is not None else int(np.random.SeedSequence().entropy % (2**63))
        self._count = itertools.count()

    def _rng(self) -> np.random.Generator:
        """The generator of the next pass (or group of passes): a new one per call when reshuffling."""
        it = 0 if not self._reshuffle else next(self._count)
        return np.random.default_rng([int(self._seed), it])

    def _memory(self) -> Optional[Block]:
        """The input's rows when it is a small in-memory dataset (shuffled on indices), else None."""
        if not isinstance(self._input, _BlocksDataset):
            return None
        blk = self._input._memory_block()
        return blk if blk is not None and block_len(blk) <= _INDEX_SHUFFLE_ROWS else None

    def _epoch_blocks(self, blk: Block, epochs: Optional[int]) -> Iterator[Block]:
        """`epochs` passes (forever if None) over the in-memory rows `blk`, each in its own
        shuffled order; the orders of many passes are drawn at once and gathered ~_CHUNK rows
        a block."""
        n = block_len(blk)
        group = max(1, _CHUNK // n)
        fixed = None if self._reshuffle else shuffle_orders(n, self._buffer, 1, self._rng())
        done = 0
        while epochs is None or done < epochs:
            e = group if epochs is None else min(group, epochs - done)
            orders = np.broadcast_to(fixed, (e, n)) if fixed is not None else \
                shuffle_orders(n, self._buffer, e, self._rng())
            idx = orders.reshape(-1)
            for s in range(0, len(idx), _CHUNK):
                part = idx[s:s + _CHUNK]
                yield [c[part] for c in blk]
            done += e

    def _blocks(self) -> Iterator[Block]:
        blk = self._memory()
        if blk is not None:
            return self._epoch_blocks(blk, 1)
        return shuffle_blocks(self._input._blocks(), self._buffer, self._rng())

    def _spec(self) -> Any:
        return self._input.element_spec

    def _template(self) -> Any:
        return self._input._template()


class _RepeatDataset(Dataset):
    def __init__(self, input_ds: Dataset, count: Optional[int]):
        self._input = input_ds
        self._count = None if count is None or int(count) < 0 else int(count)

    def _blocks(self) -> Iterator[Block]:
        blk = self._input._memory() if isinstance(self._input, _ShuffleDataset) else None
        if blk is not None:
            yield from self._input._epoch_blocks(blk, self._count)  # many shuffled epochs per block
            return
        epochs = itertools.count() if self._count is None else range(self._count)
        for _ in epochs:
            produced = False
            gen = self._input._blocks()
            try:
                for blk in gen:
                    produced = True
                    yield blk
            finally:
                close = getattr(gen, "close", None)
                if close:
                    close()
            if not produced:  # an empty dataset repeated forever is empty (as in TF)
                return

    def _spec(self) -> Any:
        return self._input.element_spec

    def _template(self) -> Any:
        return self._input._template()


class _BatchDataset(Dataset):
    def __init__(self, input_ds: Dataset, batch_size: int, drop_remainder: bool):
        batch_size = int(batch_size)
        if batch_size <= 0:
            raise ValueError(f"batch_size must be greater than zero, got {batch_size}.")
        self._input, self._b, self._drop = input_ds, batch_size, bool(drop_remainder)

    def _blocks(self) -> Iterator[Block]:
        reader = RowReader(self._input._blocks())
        try:
            while True:
                blk, stacked = reader.read_batches(self._b)
                if blk is None:
                    return
                if stacked:
                    yield blk
                elif block_len(blk) == self._b or not self._drop:
                    yield [a[None] for a in blk]
                else:
                    return
        finally:
            reader.close()

    def _spec(self) -> Any:
        dim = self._b if self._drop else None
        return st.map_structure(lambda s: st.TensorSpec(TensorShape([dim]).concatenate(s.shape)
                                                        if s.shape.rank is not None else TensorShape(None), s.dtype),
                                self._input.element_spec)

    def _template(self) -> Any:
        return self._input._template()


class _PrefetchDataset(Dataset):
    def __init__(self, input_ds: Dataset, buffer_size: int):
        self._input = input_ds
        bs = int(buffer_size) if buffer_size is not None else AUTOTUNE
        self._capacity = max(2, os.cpu_count() or 2) if bs == AUTOTUNE else max(1, bs)

    def _blocks(self) -> Iterator[Block]:
        pump = BlockPump(self._input._blocks, self._capacity)
        try:
            yield from pump
        finally:
            pump.close()

    def _spec(self) -> Any:
        return self._input.element_spec

    def _template(self) -> Any:
        return self._input._template()


class _TakeSkipDataset(Dataset):
    def __init__(self, input_ds: Dataset, count: int, take: bool):
        self._input, self._n, self._take = input_ds, count, take

    def _blocks(self) -> Iterator[Block]:
        if self._take and self._n == 0 or not self._take and self._n < 0:
            return
        reader = RowReader(self._input._blocks())
        try:
            if self._take:
                left = self._n if self._n >= 0 else None
                while left is None or left > 0:
                    blk = reader.read_block(left if left is not None else None)
                    if blk is None:
                        return
                    if left is not None:
                        left -= block_len(blk)
                    yield blk
            else:
                left = self._n
                while left > 0:
                    blk = reader.read_block(left)
                    if blk is None:
                        return
                    left -= block_len(blk)
                while True:
                    blk = reader.read_block()
                    if blk is None:
                        return
                    yield blk
        finally:
            reader.close()

    def _spec(self) -> Any:
        return self._input.element_spec

    def _template(self) -> Any:
        return self._input._template()


class _CacheDataset(Dataset):
    def __init__(self, input_ds: Dataset):
        self._input = input_ds
        self._cached: Optional[List[Block]] = None

    def _blocks(self) -> Iterator[Block]:
        if self._cached is not None:
            yield from self._cached
            return
        kept: List[Block] = []
        for blk in self._input._blocks():
            kept.append(blk)
            yield blk
        self._cached = kept

    def _spec(self) -> Any:
        return self._input.element_spec

    def _template(self) -> Any:
        return self._input._template()


class _RestructureDataset(Dataset):
    """Re-packs the columns of each block: `template` has input leaf indices as leaves (no per-row work)."""

    def __init__(self, input_ds: Dataset, template: Any):
        self._input, self._struct = input_ds, template
        self._idx = st.flatten(template)

    def _blocks(self) -> Iterator[Block]:
        idx = self._idx
        for blk in self._input._blocks():
            yield [blk[i] for i in idx]

    def _spec(self) -> Any:
        specs = st.flatten(self._input.element_spec)
        return st.pack_as(self._struct, [specs[i] for i in self._idx])


def restructure(ds: Dataset, template: Any) -> Dataset:
    """A dataset whose elements are `template` filled with the flat leaves of `ds`'s elements (by index)."""
    return _RestructureDataset(ds, template)


def _pool(n: Optional[int]) -> Optional[ThreadPoolExecutor]:
    if n is None or n == 1:
        return None
    workers = os.cpu_count() or 2 if n == AUTOTUNE else int(n)
    return ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="nestor.data.map") \
        if workers > 1 else None


def _chunked(it: Iterator[Any], n: int) -> Iterator[List[Any]]:
    while True:
        part = list(itertools.islice(it, n))
        if not part:
            return
        yield part

