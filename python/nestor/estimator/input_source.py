"""What an input_fn returned, as placeholders for the model_fn and batches to feed them.

A Dataset becomes one placeholder per leaf of its element structure (batch dimension
None); its batches are produced by a background thread and can be handed out one at a
time or K at a time stacked on a new leading axis (for `Session.run_steps`). Tensors
returned directly are used as they are (nothing to feed).
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

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
        self._iter: Optional[Iterator[Any]] = None
        self._pending: List[List[np.ndarray]] = []
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
            self.placeholders: List[Tensor] = []
            for s, n in zip(leaves, names):
                shape = s.shape
                self.placeholders.append(core_ops.placeholder(_dtypes.as_dtype(s.dtype), shape, name=_clean(n)))
            packed = pack(spec, self.placeholders)
            self.features = packed[0] if self._pair else packed
            self.labels = packed[1] if self._pair and with_labels else None
            self._signature = tuple((s.dtype.name if hasattr(s.dtype, "name") else str(s.dtype),
                                     tuple(s.shape.as_list()) if s.shape.rank is not None else None)
                                    for s in leaves) + (("pair", self._pair, repr(_structure_key(spec))),)
        else:
            if isinstance(result, tuple) and len(result) == 2:
                self.features, self.labels = result[0], (result[1] if with_labels else None)
            else:
                self.features, self.labels = result, None
            self.placeholders = []
            self._signature = None

    @property
    def feeds_data(self) -> bool:
        return self._dataset is not None

    @property
    def signature(self) -> Optional[tuple]:
        """Hashable description of the placeholders (None: not cacheable)."""
        return self._signature

    def start(self, dataset: Any = None) -> None:
        """Starts producing batches from `dataset` (default: the one given at construction)."""
        self.close()
        ds = dataset if dataset is not None else self._dataset
        self._iter = iter(ds.prefetch(2))
        self._pending = []

    def close(self) -> None:
        it, self._iter = self._iter, None
        if it is not None and hasattr(it, "close"):
            it.close()

    def _next_flat(self) -> Optional[List[np.ndarray]]:
        if self._pending:
            return self._pending.pop(0)
        if self._iter is None:
            return None
        try:
            element = next(self._iter)
        except StopIteration:
            self._iter = None
            return None
        return [np.asarray(x) for x in flatten(element)]

    def next_feed(self) -> Optional[Dict[Tensor, np.ndarray]]:
        """The next batch as a feed dict, or None at the end of the data."""
        flat = self._next_flat()
        if flat is None:
            return None
        return dict(zip(self.placeholders, flat))

    def next_stacked(self, k: int, max_bytes: int = 32 << 20) -> Tuple[Optional[Dict[Tensor, np.ndarray]], int]:
        """Up to k batches of identical shapes stacked on a new axis: (feed, n), n <= k.

        Fewer are taken when k batches would exceed `max_bytes`."""
        batches: List[List[np.ndarray]] = []
        while len(batches) < k:
            flat = self._next_flat()
            if flat is None:
                break
            if not batches:
                size = sum(a.nbytes for a in flat)
                k = max(1, min(k, max_bytes // max(size, 1)))
            if batches and any(a.shape != b.shape for a, b in zip(flat, batches[0])):
                self._pending.insert(0, flat)  # a smaller last batch: it runs on its own
                break
            batches.append(flat)
        if not batches:
            return None, 0
        stacked = [np.stack(col) for col in zip(*batches)]
        return dict(zip(self.placeholders, stacked)), len(batches)


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
        return None
    spec = result.element_spec
    leaves = _flat(spec)
    return tuple((s.dtype.name, tuple(s.shape.as_list()) if s.shape.rank is not None else None)
                 for s in leaves) + (repr(_structure_key(spec)),)
