"""What an input_fn returned, as placeholders for the model_fn and batches to feed them.

A Dataset becomes one placeholder per leaf of its element structure (batch dimension
None); its batches are produced by a background thread and can be handed out one at a
time or K at a time stacked on a new leading axis (for `Session.run_steps`). Tensors
returned directly are used as they are (nothing to feed). Arrays returned directly that
live outside numpy (`cupy.ndarray`, `torch.Tensor`, `nestor.experimental.dlpack.DeviceTensor`:
anything with `__dlpack__` and `__dlpack_device__`) become placeholders of their full
shape, fed with the same memory at every step through DLPack: GPU features stay on the
GPU, with no host round trip and no copy.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import _native
from .. import dtypes as _dtypes
from ..framework.graph import Tensor
from ..ops import core_ops


from ..data.structure import flatten, pack_as as _pack_as  # noqa: E402  (the data module's leaf order)


def pack(structure: Any, leaves: List[Any]) -> Any:
    return _pack_as(structure, leaves)


def _paths(structure: Any, prefix: str) -> List[str]:
    if isinstance(structure, dict):
        return [p for k in structure for p in _paths(structure[k], f"{prefix}/{k}" if prefix else str(k))]
    if isinstance(structure, (list, tuple)):
        return [p for i, s in enumerate(structure) for p in _paths(s, f"{prefix}_{i}")]
    return [prefix]


def _clean(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_./-" else "_" for c in name) or "input"


class InputSource:
    """Placeholders and feeding for one input_fn result.

    Args:
      result: a `nestor.data.Dataset`, a `(features, labels)` tuple or features alone.
      with_labels: False in PREDICT mode (labels of a 2-tuple element are dropped).
    """

    def __init__(self, result: Any, with_labels: bool = True):
        from ..data import Dataset
        self._dataset: Optional[Any] = None
        self._iter: Any = None
        self._block: Optional[List[np.ndarray]] = None
        self._pos = 0
        if isinstance(result, Dataset):
            self._dataset = result
            spec = result.element_spec
            self._pair = isinstance(spec, tuple) and len(spec) == 2 and not hasattr(spec, "_fields")
            feats_spec = spec[0] if self._pair else spec
            labels_spec = spec[1] if self._pair else None
            self._element_structure = spec
            leaves = flatten(spec)
            names = [n or "features" for n in _paths(feats_spec, "")]
            if labels_spec is not None:
                names += [("labels/" + n) if n else "labels" for n in _paths(labels_spec, "")]
            ragged = _ragged_leaves(result, len(leaves))
            self.placeholders: List[Any] = []
            self._ragged: List[Optional[_dtypes.DType]] = []
            for i, (s, n) in enumerate(zip(leaves, names)):
                if ragged.get(i) is not None:
                    from ..framework.sparse_tensor import sparse_placeholder
                    self.placeholders.append(sparse_placeholder(ragged[i], [None, None], name=_clean(n)))
                    self._ragged.append(ragged[i])
                else:
                    self.placeholders.append(core_ops.placeholder(_dtypes.as_dtype(s.dtype), s.shape, name=_clean(n)))
                    self._ragged.append(None)
            packed = pack(spec, self.placeholders)
            self.features = packed[0] if self._pair else packed
            self.labels = packed[1] if self._pair and with_labels else None
            self._signature = tuple((s.dtype.name if hasattr(s.dtype, "name") else str(s.dtype),
                                     tuple(s.shape.as_list()) if s.shape.rank is not None else None)
                                    for s in leaves) + (("pair", self._pair, repr(_structure_key(spec))),)
        else:
            features, labels = _split(result, with_labels)
            self.placeholders = []
            self._ragged = []
            self._signature = None
            leaves = flatten((features, labels))
            self._fixed_index = [i for i, v in enumerate(leaves) if _is_device_array(v)]
            self._fixed: Optional[Dict[Any, Any]] = None  # placeholder -> DeviceTensor, fed every step
            if self._fixed_index:
                names = _leaf_names((features, labels))
                for i in self._fixed_index:
                    x = _import(leaves[i], names[i])
                    ph = core_ops.placeholder(x.dtype, x.shape, name=_clean(names[i]))
                    self.placeholders.append(ph)
                    leaves[i] = ph
                features, labels = pack((features, labels), leaves)
                self._with_labels = with_labels
                self._bind(result)
            self.features, self.labels = features, labels

    @property
    def feeds_data(self) -> bool:
        return self._dataset is not None

    @property
    def can_stack(self) -> bool:
        """Whether K steps of input can be fed at once (not with variable-length features)."""
        return self._dataset is not None and not any(r is not None for r in self._ragged)

    def _feed(self, arrays: List[np.ndarray], index: Optional[int]) -> Dict[Any, Any]:
        feed: Dict[Any, Any] = {}
        for p, a, r in zip(self.placeholders, arrays, self._ragged):
            v = a[index] if index is not None else a
            if r is None:
                feed[p] = v
            else:
                for t, arr in p._feed_tensors(ragged_to_sparse(v, r)):
                    feed[t] = arr
        return feed

    @property
    def signature(self) -> Optional[tuple]:
        """Hashable description of the placeholders (None: not cacheable)."""
        return self._signature

    def _bind(self, result: Any) -> None:
        """Takes the device arrays of `result` (same structure, dtypes and shapes as the one
        the placeholders were made for) as the values fed at every step."""
        leaves = flatten(_split(result, self._with_labels))
        self._fixed = {p: _import(leaves[i], p.op.name) for i, p in zip(self._fixed_index, self.placeholders)}

    def start(self, dataset: Any = None) -> None:
        """Starts producing batches from `dataset` (default: the one given at construction).

        The dataset's internal blocks (its elements stacked on a leading axis) are produced
        by a background thread; a feed for K steps is a slice of a block, without copies.
        For an input_fn that returned device arrays, `dataset` is its new result, whose
        arrays are fed from now on.
        """
        from ..data.blocks import BlockPump
        self.close()
        if self._dataset is None:
            if self.placeholders:
                self._bind(dataset)
            return
        ds = dataset if dataset is not None else self._dataset
        self._iter = BlockPump(ds._blocks, capacity=4, name="nestor.estimator.input")
        self._block: Optional[List[np.ndarray]] = None
        self._pos = 0

    def close(self) -> None:
        """Stops the producer thread; drops the device arrays (the caller's memory is not
        held after the Estimator call that used it)."""
        if self._dataset is None:
            self._fixed = None
        it, self._iter = self._iter, None
        if it is not None:
            it.close()

    def _take(self, k: int) -> Tuple[Optional[List[np.ndarray]], int]:
        """Up to k consecutive elements of the current block, stacked: (arrays, n)."""
        if self._block is None or self._pos >= len(self._block[0]):
            if self._iter is None:
                return None, 0
            try:
                self._block = next(self._iter)
            except StopIteration:
                self._iter = None
                self._block = None
                return None, 0
            self._pos = 0
        n = min(k, len(self._block[0]) - self._pos)
        out = [a[self._pos:self._pos + n] for a in self._block]
        self._pos += n
        return out, n

    def next_feed(self) -> Optional[Dict[Tensor, np.ndarray]]:
        """The next batch as a feed dict, or None at the end of the data. Input that is not a
        Dataset never ends: its feed (the device arrays, or nothing) is the same every step."""
        if self._dataset is None:
            return self._fixed if self._fixed is not None else {}  # callers copy before adding to it
        arrays, n = self._take(1)
        if arrays is None:
            return None
        return self._feed(arrays, 0)

    def next_stacked(self, k: int, max_bytes: int = 32 << 20) -> Tuple[Optional[Dict[Tensor, np.ndarray]], int]:
        """Up to k batches stacked on a new leading axis: (feed, n), n <= k.

        Slices of one block are fed without copies; when a block ends early, following
        blocks of the same batch shape are appended (one small copy) so that a native call
        covers many steps. Fewer are taken when k batches would exceed `max_bytes`, or at a
        change of batch shape (the last, smaller batch)."""
        if not self.can_stack:
            raise ValueError("variable-length features cannot be fed K steps at once")
        pieces: List[List[np.ndarray]] = []
        got = 0
        while got < k:
            if self._block is not None and self._pos < len(self._block[0]):
                if not pieces:
                    row = sum(a[0].nbytes for a in self._block)
                    k = max(1, min(k, max_bytes // max(row, 1)))
                elif any(a.shape[1:] != b.shape[1:] for a, b in zip(self._block, pieces[0])):
                    break  # a different batch shape: it goes in its own call
            arrays, n = self._take(k - got)
            if arrays is None:
                break
            if pieces and any(a.shape[1:] != b.shape[1:] for a, b in zip(arrays, pieces[0])):
                self._pos -= n  # give it back
                break
            pieces.append(arrays)
            got += n
        if not pieces:
            return None, 0
        stacked = pieces[0] if len(pieces) == 1 else [np.concatenate(col) for col in zip(*pieces)]
        return dict(zip(self.placeholders, stacked)), got


def _structure_key(spec: Any) -> Any:
    if isinstance(spec, dict):
        return tuple((k, _structure_key(spec[k])) for k in spec)
    if isinstance(spec, (list, tuple)):
        return tuple(_structure_key(s) for s in spec)
    return "leaf"


def dataset_signature(result: Any) -> Optional[tuple]:
    """The cache key of an input_fn result: its element structure, dtypes and shapes
    (None when the result is not a Dataset and so cannot share a graph)."""
    from ..data import Dataset
    from ..data.structure import flatten as _flat
    if not isinstance(result, Dataset):
        leaves = _flat(result)
        if not leaves or not all(_is_device_array(v) for v in leaves):
            return None  # graph tensors or constants: built anew by each call
        views = [_import(v, n) for v, n in zip(leaves, _leaf_names(_split(result, True)))]
        return ("dlpack", repr(_structure_key(result))) + tuple((x.dtype.name, x.shape, x.device) for x in views)
    spec = result.element_spec
    leaves = _flat(spec)
    return tuple((s.dtype.name, tuple(s.shape.as_list()) if s.shape.rank is not None else None)
                 for s in leaves) + (repr(_structure_key(spec)),)


def _split(result: Any, with_labels: bool) -> Tuple[Any, Any]:
    """An input_fn's non-Dataset result as (features, labels): labels are None without a
    2-tuple, or when not `with_labels` (PREDICT)."""
    if isinstance(result, tuple) and len(result) == 2:
        return result[0], (result[1] if with_labels else None)
    return result, None


def _is_device_array(v: Any) -> bool:
    """An array to feed as it is through DLPack: a cupy/torch/JAX array or a DeviceTensor
    (numpy arrays and Python values are constants, graph tensors are used as they are)."""
    return (not isinstance(v, (np.ndarray, np.generic, Tensor)) and hasattr(type(v), "__dlpack__")
            and hasattr(type(v), "__dlpack_device__"))


def _import(value: Any, name: str) -> Any:
    """`value` as a DeviceTensor viewing its memory; errors name the input_fn's leaf."""
    from .. import errors
    try:
        return _native.from_dlpack(value)
    except errors.OpError as e:
        raise type(e)(None, None, f"input_fn returned {type(value).__module__}.{type(value).__name__} "
                                  f"'{name}', which cannot be fed: {e.message}") from None


def _leaf_names(features_and_labels: Tuple[Any, Any]) -> List[str]:
    """Placeholder names for the leaves of `flatten((features, labels))`, in that order and
    as a Dataset's placeholders are named: the feature keys, "features", "labels[/key]"."""
    def names(s: Any, prefix: str) -> List[str]:
        if isinstance(s, dict):
            return [n for k in s for n in names(s[k], f"{prefix}/{k}" if prefix else str(k))]
        if isinstance(s, tuple):
            return [n for i, v in enumerate(s) for n in names(v, f"{prefix}_{i}")]
        return [prefix]
    features, labels = features_and_labels
    return [n or "features" for n in names(features, "")] + names(labels, "labels")


def _is_seq(v: Any) -> bool:
    return isinstance(v, (list, tuple, np.ndarray))


def _ragged_leaves(dataset: Any, n: int) -> Dict[int, _dtypes.DType]:
    """Leaves of the dataset's first block holding per-example lists (variable-length
    features), with the dtype of their values: index -> dtype."""
    gen = dataset._blocks()
    try:
        first = next(iter(gen), None)
    finally:
        close = getattr(gen, "close", None)
        if close:
            close()
    out: Dict[int, _dtypes.DType] = {}
    if first is None:
        return out
    for i, a in enumerate(first[:n]):
        if a.dtype != object:
            continue
        flat = a.reshape(-1)
        sample = [v for v in flat[:256] if v is not None]
        if not sample or not any(_is_seq(v) for v in sample):
            continue
        items = [x for v in sample if _is_seq(v) for x in v if x is not None]
        if not items or isinstance(items[0], (str, bytes, np.str_, np.bytes_)):
            out[i] = _dtypes.string
        elif isinstance(items[0], (bool, np.bool_)):
            out[i] = _dtypes.bool
        elif isinstance(items[0], (int, np.integer)):
            out[i] = _dtypes.int64
        else:
            out[i] = _dtypes.float32
    return out


def ragged_to_sparse(column: np.ndarray, dtype: _dtypes.DType) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of per-example lists (None or missing entries dropped) as SparseTensor parts
    (indices [n, 2], values [n], dense_shape [batch, max_len]). Vectorized through pyarrow
    when it is installed."""
    col = column.reshape(-1)
    b = len(col)
    try:
        import pyarrow as pa
        arr = pa.array([None if v is None else (list(v) if isinstance(v, np.ndarray) else v) for v in col]
                       if col.dtype == object else col, from_pandas=True)
        offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        values_pa = arr.values.slice(offsets[0], offsets[-1] - offsets[0])
        offsets = offsets - offsets[0]
        lens = np.diff(offsets)
        rows = np.repeat(np.arange(b, dtype=np.int64), lens)
        cols = np.arange(len(rows), dtype=np.int64) - offsets[rows]
        valid = np.asarray(values_pa.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        vals = values_pa.to_numpy(zero_copy_only=False)
    except ImportError:
        lens = np.fromiter((0 if v is None else len(v) for v in col), dtype=np.int64, count=b)
        rows = np.repeat(np.arange(b, dtype=np.int64), lens)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        cols = np.arange(len(rows), dtype=np.int64) - starts[rows]
        vals = np.array([x for v in col if v is not None for x in v], dtype=object)
        valid = np.array([x is not None for x in vals], dtype=bool)
    rows, cols, vals = rows[valid], cols[valid], vals[valid]
    if dtype is _dtypes.string:
        vals = np.asarray(vals, dtype=object)
    else:
        vals = np.asarray(vals).astype(dtype.as_numpy_dtype)
    width = int(lens.max()) if len(lens) and lens.max() > 0 else 1
    return np.stack([rows, cols], axis=1).reshape(-1, 2), vals, np.array([b, width], dtype=np.int64)
