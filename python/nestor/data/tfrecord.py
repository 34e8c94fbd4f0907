"""`tf.data.TFRecordDataset`: the records of TFRecord files (see `nestor.framework.tf_record` for
the format, the writer and the reader)."""
from __future__ import annotations

import os
from typing import Any, Iterator, List, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.tf_record import compression_name, read_records
from . import structure as st
from .blocks import Block
from .dataset import Dataset

__all__ = ["TFRecordDataset"]

_BLOCK_RECORDS = 4096


def _filenames(filenames: Any) -> List[str]:
    if isinstance(filenames, Dataset):
        return [os.fsdecode(v.item() if isinstance(v, np.ndarray) else v) for v in filenames.as_numpy_iterator()]
    if isinstance(filenames, (str, bytes, os.PathLike)):
        return [os.fsdecode(filenames)]
    arr = np.asarray(filenames, dtype=object).reshape(-1) if not isinstance(filenames, (list, tuple)) else filenames
    out = []
    for f in arr:
        if not isinstance(f, (str, bytes, os.PathLike)):
            raise TypeError(f"`filenames` must be a string, a list of strings or a Dataset of strings; "
                            f"got an element {f!r}")
        out.append(os.fsdecode(f))
    return out


class TFRecordDataset(Dataset):
    """The records of TFRecord files, as scalar string elements (`tf.data.TFRecordDataset`).

        ds = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(256)
        serialized = tf.compat.v1.data.make_one_shot_iterator(ds).get_next()
        features = tf.io.parse_example(serialized, feature_spec)

    Args:
      filenames: a file name, a list of them, or a Dataset of file names.
      compression_type: "", "ZLIB" or "GZIP" (None: "").
      buffer_size: accepted for compatibility (files are read in 1 MiB pieces).
      num_parallel_reads: read this many files at once, taking one record from each in turn
        (TensorFlow's order, as `interleave(cycle_length=num_parallel_reads)`); None or 1:
        one file after the other.
      name: unused.

    Raises:
      ValueError: an unknown compression type or a bad `num_parallel_reads`.
    """

    def __init__(self, filenames: Any, compression_type: Optional[str] = None, buffer_size: Optional[int] = None,
                 num_parallel_reads: Optional[int] = None, name: Optional[str] = None):
        self._files = _filenames(filenames)
        self._compression = compression_name(compression_type)
        if num_parallel_reads is not None and num_parallel_reads != -1 and num_parallel_reads < 1:
            raise ValueError(f"num_parallel_reads must be positive or AUTOTUNE (-1), got {num_parallel_reads}")
        n = num_parallel_reads or 1
        self._cycle = len(self._files) if n == -1 else n

    def _records(self) -> Iterator[bytes]:
        if self._cycle <= 1:
            for f in self._files:
                yield from read_records(f, self._compression)
            return
        # TensorFlow's interleave order: one record per open file in turn; an exhausted file's slot
        # is passed over once, then refilled with the next file, which is read from at once.
        files = iter(self._files)
        slots: List[Optional[Iterator[bytes]]] = [None] * self._cycle
        i, n_open, end = 0, 0, False
        while not end or n_open:
            it = slots[i]
            if it is not None:
                rec = next(it, None)
                if rec is not None:
                    yield rec
                else:
                    slots[i] = None
                    n_open -= 1
                i = (i + 1) % self._cycle
            elif not end:
                f = next(files, None)
                if f is None:
                    end = True
                else:
                    slots[i] = read_records(f, self._compression)
                    n_open += 1
            else:
                i = (i + 1) % self._cycle

    def _blocks(self) -> Iterator[Block]:
        batch: List[bytes] = []
        for rec in self._records():
            batch.append(rec)
            if len(batch) == _BLOCK_RECORDS:
                yield [_objects(batch)]
                batch = []
        if batch:
            yield [_objects(batch)]

    def _spec(self) -> Any:
        return st.TensorSpec([], _dtypes.string)


def _objects(items: List[bytes]) -> np.ndarray:
    a = np.empty(len(items), dtype=object)
    a[:] = items
    return a
