"""Columnar blocks: the internal representation of a `nestor.data` pipeline.

A dataset produces *blocks*: lists of numpy arrays (one per leaf of the element structure)
that share a leading axis of n >= 1 consecutive elements. Transformations work on whole
blocks with numpy (slicing, concatenation, fancy indexing), so the common chains
`from_tensor_slices(...).shuffle(n).repeat().batch(b)` never run Python per element.

`BlockPump` runs a block generator in a daemon thread with a bounded queue: exceptions
are re-raised in the consumer, and `close()` (or garbage collection) stops the producer.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterator, List, Optional, Tuple

import numpy as np

from .. import errors

Block = List[np.ndarray]


def block_len(block: Block) -> int:
    return len(block[0])


def concat_blocks(pieces: List[Block]) -> Block:
    if len(pieces) == 1:
        return pieces[0]
    out = []
    for i in range(len(pieces[0])):
        parts = [p[i] for p in pieces]
        try:
            out.append(np.concatenate(parts))
        except ValueError:
            shapes = [tuple(p.shape[1:]) for p in parts]
            bad = next(j for j, s in enumerate(shapes) if s != shapes[0])
            raise errors.InvalidArgumentError(
                None, None, f"Cannot batch tensors with different shapes in component {i}. First element had "
                f"shape {list(shapes[0])} and element {bad} had shape {list(shapes[bad])}. Make the shapes equal "
                "(e.g. pad in a map before batching).") from None
    return out


class RowReader:
    """Reads rows from a block iterator in chunks of a requested size."""

    __slots__ = ("_it", "_cur", "_pos", "_len")

    def __init__(self, blocks: Iterator[Block]):
        self._it = blocks
        self._cur: Optional[Block] = None
        self._pos = 0
        self._len = 0

    def _fill(self) -> bool:
        while self._cur is None:
            try:
                blk = next(self._it)
            except StopIteration:
                return False
            n = block_len(blk)
            if n:
                self._cur, self._pos, self._len = blk, 0, n
        return True

    def _advance(self, k: int) -> None:
        self._pos += k
        if self._pos >= self._len:
            self._cur = None

    def read(self, n: int) -> Optional[Block]:
        """Up to `n` rows (fewer only at the end); None when exhausted."""
        pieces: List[Block] = []
        need = n
        while need > 0 and self._fill():
            k = min(self._len - self._pos, need)
            cur, p = self._cur, self._pos
            pieces.append(cur if (p == 0 and k == self._len) else [c[p:p + k] for c in cur])  # type: ignore
            self._advance(k)
            need -= k
        return concat_blocks(pieces) if pieces else None

    def read_block(self, limit: Optional[int] = None) -> Optional[Block]:
        """The rest of the current block (at most `limit` rows); None when exhausted."""
        if not self._fill():
            return None
        k = self._len - self._pos if limit is None else min(limit, self._len - self._pos)
        cur, p = self._cur, self._pos
        out = cur if (p == 0 and k == self._len) else [c[p:p + k] for c in cur]  # type: ignore
        self._advance(k)
        return out  # type: ignore

    def read_batches(self, b: int) -> Tuple[Optional[Block], bool]:
        """Either k >= 1 whole batches stacked as [k, b, ...] views (True), or one batch of <= b rows (False)."""
        if not self._fill():
            return None, False
        k = (self._len - self._pos) // b
        if k >= 1:
            p = self._pos
            out = [c[p:p + k * b].reshape((k, b) + c.shape[1:]) for c in self._cur]  # type: ignore
            self._advance(k * b)
            return out, True
        return self.read(b), False

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if close is not None:
            close()


# ---------------------------------------------------------------- shuffling
def _resolve_slots(j: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """For inputs k = 0..m-1 that in turn take buffer slot j[k]: prev[k], the latest earlier
    input that took the same slot (-1 if none), and `last`, the inputs that stay in the buffer."""
    m = len(j)
    order = np.argsort(j, kind="stable")
    js = j[order]
    same = js[1:] == js[:-1]
    prev_sorted = np.full(m, -1, dtype=np.int64)
    prev_sorted[1:][same] = order[:-1][same]
    prev = np.empty(m, dtype=np.int64)
    prev[order] = prev_sorted
    last = order[np.append(~same, True)]
    return prev, last


def shuffle_orders(n: int, buffer_size: int, epochs: int, rng: np.random.Generator) -> np.ndarray:
    """The orders in which `epochs` independent passes of TF's shuffle buffer emit the rows
    0..n-1 of an in-memory dataset: an int64 array [epochs, n].

    Each pass is the rule of `shuffle_blocks`: the buffer holds rows 0..b-1, row k >= b takes
    a uniformly random slot whose element is emitted, and the buffer left at the end is
    emitted in random order (b >= n: a uniform permutation). All passes are computed at
    once on indices: the slots of pass e are numbered e*b .. e*b+b-1.
    """
    b = min(buffer_size, n)
    rows = np.arange(n, dtype=np.int64)
    if b == n:
        return rng.permuted(np.broadcast_to(rows, (epochs, n)), axis=1)
    m = n - b
    j = rng.integers(0, b, size=(epochs, m))
    slot = (j + np.arange(epochs, dtype=np.int64)[:, None] * b).reshape(-1)
    x = np.broadcast_to(rows[b:], (epochs, m)).reshape(-1)
    buf = np.tile(rows[:b], epochs)  # the buffers of all passes, one after another
    prev, last = _resolve_slots(slot)
    emitted = buf[slot]
    from_new = prev >= 0
    emitted[from_new] = x[prev[from_new]]
    buf[slot[last]] = x[last]
    rest = rng.permuted(buf.reshape(epochs, b), axis=1)
    return np.concatenate([emitted.reshape(epochs, m), rest], axis=1)


def shuffle_blocks(blocks: Iterator[Block], buffer_size: int, rng: np.random.Generator,
                   chunk: int = 65536) -> Iterator[Block]:
    """TF's shuffle-buffer semantics, vectorized, for a stream of blocks.

    The buffer is filled with the first `buffer_size` elements; then each new element x_k
    takes a uniformly random buffer slot j_k, the slot's element is emitted and x_k takes its
    place. The sequential rule is computed for a chunk of inputs at once: an emitted element
    comes from the buffer unless an earlier input of the same chunk went to the same slot.
    At the end the remaining buffer is emitted in random order, so with `buffer_size` >= the
    data size each pass is a uniform permutation.
    """
    reader = RowReader(blocks)
    try:
        buf: Optional[Block] = None
        filled = 0
        while filled < buffer_size:
            blk = reader.read_block(buffer_size - filled)
            if blk is None:
                break
            if buf is None:
                if block_len(blk) == buffer_size:
                    buf = [np.array(c) for c in blk]
                    filled = buffer_size
                    break
                buf = [np.empty((buffer_size,) + c.shape[1:], c.dtype) for c in blk]
            n = block_len(blk)
            for dst, src in zip(buf, blk):
                dst[filled:filled + n] = src
            filled += n
        if buf is None:
            return
        if filled < buffer_size:
            perm = rng.permutation(filled)
            yield [c[perm] for c in buf]
            return
        while True:
            x = reader.read_block(chunk)
            if x is None:
                break
            j = rng.integers(0, buffer_size, size=block_len(x))
            prev, last = _resolve_slots(j)
            from_new = prev >= 0
            out = []
            for bc, xc in zip(buf, x):
                o = bc[j]
                if from_new.any():
                    o[from_new] = xc[prev[from_new]]
                bc[j[last]] = xc[last]
                out.append(o)
            yield out
        perm = rng.permutation(buffer_size)
        for s in range(0, buffer_size, chunk):
            idx = perm[s:s + chunk]
            yield [c[idx] for c in buf]
    finally:
        reader.close()


# ---------------------------------------------------------------- background producer
class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException):
        self.exc = exc


_END = object()


def _put(q: "queue.Queue[Any]", item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _pump(make: Callable[[], Iterator[Any]], q: "queue.Queue[Any]", stop: threading.Event) -> None:
    item: Any = _END
    try:
        gen = make()
        try:
            for blk in gen:
                if not _put(q, blk, stop):
                    return
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                close()
    except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
        item = _Raised(e)
    _put(q, item, stop)


class BlockPump:
    """Runs `make()` (a generator factory) in a daemon thread, `capacity` items ahead."""

    def __init__(self, make: Callable[[], Iterator[Any]], capacity: int, name: str = "nestor.data.prefetch"):
        self._q: "queue.Queue[Any]" = queue.Queue(maxsize=max(1, int(capacity)))
        self._stop = threading.Event()
        self._done = False
        self.thread = threading.Thread(target=_pump, args=(make, self._q, self._stop), name=name, daemon=True)
        self.thread.start()

    def __iter__(self) -> "BlockPump":
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        item = self._q.get()
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, _Raised):
            self._done = True
            raise item.exc
        return item

    def close(self, timeout: Optional[float] = None) -> None:
        """Stops the producer; with `timeout`, waits that long for its thread to end."""
        self._done = True
        self._stop.set()
        if timeout is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def __del__(self) -> None:
        self._stop.set()
