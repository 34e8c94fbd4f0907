"""TensorBoard event files: TFRecord framing with masked CRC-32C, `FileWriter`, `FileWriterCache`.

A file is a sequence of records `u64 length | u32 masked_crc(length) | data | u32 masked_crc(data)`
(little-endian), each holding a serialized `Event`; the first is `file_version: "brain.Event:2"`.
Records are appended whole to a buffered file that is flushed every `flush_secs` (by a background
thread), after `max_queue` unflushed records, on `flush()` and on `close()`: a killed process
leaves a file whose complete records all read back (a reader stops at a torn last record).
"""
from __future__ import annotations

import atexit
import os
import socket
import threading
import time
import weakref
from typing import Any, Dict, Optional, Union

import numpy as np

from .. import _native
from ..framework.tf_record import encode_record
from .proto import Event, Summary


# ---------------------------------------------------------------- CRC-32C (Castagnoli)
def crc32c(data: bytes) -> int:
    """CRC-32C of `data` (reflected polynomial 0x82F63B78): crc32c(b"123456789") == 0xE3069283."""
    return _native.crc32c(bytes(data))


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8, mod 2^32."""
    return _native.masked_crc32c(bytes(data))




# ---------------------------------------------------------------- the writer
_open_writers: "weakref.WeakSet[FileWriter]" = weakref.WeakSet()


@atexit.register
def _flush_open_writers() -> None:
    for w in list(_open_writers):
        try:
            w.flush()
        except Exception:  # pragma: no cover - best effort at interpreter exit
            pass


def _as_summary_bytes(summary: Any) -> bytes:
    if isinstance(summary, np.ndarray):
        if summary.size != 1:
            raise ValueError(f"add_summary expects one serialized Summary, got an array of shape {summary.shape}")
        summary = summary.reshape(()).item()
    if isinstance(summary, (bytes, bytearray, np.bytes_)):
        return bytes(summary)
    if hasattr(summary, "SerializeToString"):
        return summary.SerializeToString()
    raise TypeError(f"add_summary expects a serialized Summary (bytes) or a Summary, got {type(summary).__name__}")


class FileWriter:
    """Writes `Summary` protos and events to an event file in `logdir` (`tf.summary.FileWriter`).

    Args:
      logdir: the directory, created if missing.
      graph, graph_def, session: accepted for compatibility; graphs are not written.
      max_queue: flush after this many unflushed records.
      flush_secs: flush at least this often (seconds) while records are pending.
      filename_suffix: appended to the event file's name.
    """

    def __init__(self, logdir: str, graph: Any = None, max_queue: int = 10, flush_secs: float = 120,
                 graph_def: Any = None, filename_suffix: Optional[str] = None, session: Any = None):
        self._logdir = str(logdir)
        self._max_queue = max(1, int(max_queue))
        self._flush_secs = float(flush_secs)
        self._suffix = filename_suffix or ""
        self._lock = threading.Lock()
        self._file: Any = None
        self._closed = True
        self._stop: Optional[threading.Event] = None
        self._open()

    # -- file life cycle
    def _open(self) -> None:
        os.makedirs(self._logdir, exist_ok=True)
        host = socket.gethostname()
        t = int(time.time())
        while True:  # a second writer in the same second gets the next free (later-sorting) name
            path = os.path.join(self._logdir, f"events.out.tfevents.{t:010d}.{host}{self._suffix}")
            try:
                self._file = open(path, "xb")
                break
            except FileExistsError:
                t += 1
        self._path = path
        self._pending = 0
        self._closed = False
        self._write(Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
        self._flush_locked()
        self._stop = threading.Event()
        thread = threading.Thread(target=self._flush_loop, args=(weakref.ref(self), self._stop, self._flush_secs),
                                  name="nestor-summary-flush", daemon=True)
        thread.start()
        self._thread = thread
        _open_writers.add(self)

    @staticmethod
    def _flush_loop(ref: "weakref.ref[FileWriter]", stop: threading.Event, secs: float) -> None:
        while not stop.wait(secs):
            w = ref()
            if w is None:
                return
            w.flush()
            del w

    def _write(self, data: bytes) -> None:
        self._file.write(encode_record(data))
        self._pending += 1

    def _flush_locked(self) -> None:
        if self._file is not None and not self._closed:
            self._file.flush()
            self._pending = 0

    # -- public API
    def get_logdir(self) -> str:
        """The directory the event file is written to."""
        return self._logdir

    @property
    def event_file_path(self) -> str:
        """The path of the current event file."""
        return self._path

    def add_event(self, event: Union[Event, bytes]) -> None:
        """Appends an `Event` (or its serialized bytes) to the file."""
        data = event if isinstance(event, bytes) else event.SerializeToString()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"FileWriter for {self._logdir} is closed; call reopen() first")
            self._write(data)
            if self._pending >= self._max_queue:
                self._flush_locked()

    def add_summary(self, summary: Any, global_step: Optional[int] = None) -> None:
        """Appends a Summary (serialized bytes, as `Session.run` returns them, or a `Summary`)."""
        step = 0 if global_step is None else int(np.asarray(global_step).reshape(()))
        self.add_event(Event(wall_time=time.time(), step=step, summary=_as_summary_bytes(summary)))

    def add_graph(self, graph: Any = None, global_step: Optional[int] = None, graph_def: Any = None) -> None:
        """Accepted for compatibility; graphs are not written to event files."""

    def add_meta_graph(self, meta_graph_def: Any = None, global_step: Optional[int] = None) -> None:
        """Accepted for compatibility; meta graphs are not written to event files."""

    def add_run_metadata(self, run_metadata: Any = None, tag: str = "", global_step: Optional[int] = None) -> None:
        """Accepted for compatibility; run metadata is not recorded."""

    def add_session_log(self, session_log: Any = None, global_step: Optional[int] = None) -> None:
        """Accepted for compatibility; session logs are not written."""

    def flush(self) -> None:
        """Pushes every record written so far to the file."""
        with self._lock:
            self._flush_locked()

    def close(self) -> None:
        """Flushes and closes the file; `reopen()` starts a new one."""
        with self._lock:
            if self._closed:
                return
            self._flush_locked()
            self._file.close()
            self._closed = True
            if self._stop is not None:
                self._stop.set()
        _open_writers.discard(self)

    def reopen(self) -> None:
        """Opens a new event file in the same directory after `close()`."""
        with self._lock:
            if not self._closed:
                return
            self._open()

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover
            pass


class FileWriterCache:
    """One `FileWriter` per directory (`tf.compat.v1.summary.FileWriterCache`)."""

    _cache: Dict[str, FileWriter] = {}
    _lock = threading.Lock()

    @staticmethod
    def get(logdir: str) -> FileWriter:
        """The writer for `logdir`, created on first use (reopened if it was closed)."""
        key = os.path.abspath(str(logdir))
        with FileWriterCache._lock:
            w = FileWriterCache._cache.get(key)
            if w is None:
                w = FileWriter(logdir)
                FileWriterCache._cache[key] = w
            else:
                w.reopen()
            return w

    @staticmethod
    def clear() -> None:
        """Closes and forgets every cached writer."""
        with FileWriterCache._lock:
            for w in FileWriterCache._cache.values():
                w.close()
            FileWriterCache._cache.clear()


def write_scalars(writer: FileWriter, scalars: Dict[str, Any], step: Optional[int] = None) -> None:
    """Writes Python/numpy scalars as one Summary event, e.g. `{"loss": 0.5, "accuracy": 0.9}`."""
    values = [Summary.Value(tag=str(k), simple_value=float(np.asarray(v).reshape(()))) for k, v in scalars.items()]
    writer.add_summary(Summary(value=values), global_step=step)


def write_text(writer: FileWriter, tag: str, text: str, step: Optional[int] = None) -> None:
    """Writes a text summary (TensorBoard's "text" plugin), e.g. the eval `checkpoint_path`."""
    writer.add_summary(Summary(value=[Summary.Value(tag=tag, text=text)]), global_step=step)
