"""TFRecord files: `tf.io.TFRecordWriter`, `tf.io.TFRecordOptions` and
`tf.compat.v1.io.tf_record_iterator` (`tf.data.TFRecordDataset` is in `nestor.data.tfrecord`).

A record is its length (uint64, little-endian), the masked CRC-32C of those 8 bytes, the data
and the masked CRC-32C of the data. A file may be compressed as a whole, as a zlib stream
("ZLIB") or a gzip stream ("GZIP"); offsets in errors count bytes of the uncompressed stream,
as TensorFlow's do. Files written here are read by TensorFlow and the other way round.
"""
from __future__ import annotations

import os
import struct
import zlib
from typing import Any, BinaryIO, Iterator, Optional, Union

from .. import _native
from .. import errors

__all__ = ["TFRecordCompressionType", "TFRecordOptions", "TFRecordWriter", "compression_name", "encode_record",
           "read_chunks", "read_records", "tf_record_iterator"]

_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_READ_SIZE = 1 << 20


class TFRecordCompressionType:
    """The compression of a TFRecord file (`tf.compat.v1.io.TFRecordCompressionType`)."""
    NONE = 0
    ZLIB = 1
    GZIP = 2


class TFRecordOptions:
    """How a TFRecord file is compressed (`tf.io.TFRecordOptions`).

    Args:
      compression_type: "ZLIB", "GZIP", "" / None (no compression) or a
        `TFRecordCompressionType`.
      flush_mode: the zlib flush mode of every write (default `zlib.Z_NO_FLUSH`).
      input_buffer_size, output_buffer_size: accepted for compatibility; reads and writes
        are buffered by the Python runtime.
      window_bits: zlib window bits, 8-15 (default 15).
      compression_level: 0-9, or -1 for zlib's default (the default).
      compression_method: only `zlib.DEFLATED`.
      mem_level: zlib memory level 1-9 (default 9, as TensorFlow).
      compression_strategy: a zlib strategy (default `zlib.Z_DEFAULT_STRATEGY`).
    """

    compression_type_map = {TFRecordCompressionType.ZLIB: "ZLIB", TFRecordCompressionType.GZIP: "GZIP",
                            TFRecordCompressionType.NONE: ""}

    def __init__(self, compression_type: Optional[Union[str, int]] = None, flush_mode: Optional[int] = None,
                 input_buffer_size: Optional[int] = None, output_buffer_size: Optional[int] = None,
                 window_bits: Optional[int] = None, compression_level: Optional[int] = None,
                 compression_method: Optional[int] = None, mem_level: Optional[int] = None,
                 compression_strategy: Optional[int] = None):
        if isinstance(compression_type, int) and not isinstance(compression_type, bool):
            if compression_type not in self.compression_type_map:
                raise ValueError(f'Not a valid compression_type: "{compression_type}"')
            compression_type = self.compression_type_map[compression_type]
        self.compression_type = compression_name(compression_type)
        self.flush_mode = flush_mode
        self.input_buffer_size = input_buffer_size
        self.output_buffer_size = output_buffer_size
        self.window_bits = window_bits
        self.compression_level = compression_level
        self.compression_method = compression_method
        self.mem_level = mem_level
        self.compression_strategy = compression_strategy
        if compression_method not in (None, zlib.DEFLATED):
            raise ValueError(f"compression_method must be zlib.DEFLATED ({zlib.DEFLATED}), got {compression_method}")
        if window_bits is not None and not 8 <= window_bits <= 15:
            raise ValueError(f"window_bits must be in [8, 15], got {window_bits}")

    @classmethod
    def get_compression_type_string(cls, options: Any) -> str:
        """The compression name ("", "ZLIB" or "GZIP") of `options`, a `TFRecordOptions`, a
        name or a `TFRecordCompressionType`."""
        if options is None:
            return ""
        if isinstance(options, TFRecordOptions):
            return options.compression_type
        return TFRecordOptions(options).compression_type

    def _wbits(self) -> int:
        bits = self.window_bits if self.window_bits is not None else zlib.MAX_WBITS
        return bits + 16 if self.compression_type == "GZIP" else bits


def compression_name(compression_type: Any) -> str:
    """ "", "ZLIB" or "GZIP" for a compression type given as a name (any case) or None."""
    name = "" if compression_type is None else str(compression_type).upper()
    if name not in ("", "ZLIB", "GZIP"):
        raise ValueError(f'Not a valid compression_type: "{compression_type}"')
    return name


def _options(options: Any) -> TFRecordOptions:
    return options if isinstance(options, TFRecordOptions) else TFRecordOptions(options)


def encode_record(data: bytes) -> bytes:
    """One record: length, masked CRC of the length bytes, data, masked CRC of the data."""
    length = struct.pack("<Q", len(data))
    return b"".join((length, _FOOTER.pack(_native.masked_crc32c(length)), data,
                     _FOOTER.pack(_native.masked_crc32c(data))))


class TFRecordWriter:
    """Writes records to a TFRecord file (`tf.io.TFRecordWriter`).

        with tf.io.TFRecordWriter("train.tfrecord", options="GZIP") as w:
            w.write(example_bytes)

    Args:
      path: the file to (over)write.
      options: a `TFRecordOptions`, or a compression name ("", "ZLIB", "GZIP").

    Raises:
      ValueError: for an unknown compression type.
    """

    def __init__(self, path: Union[str, os.PathLike], options: Any = None):
        self._opts = _options(options)
        self._path = os.fspath(path)
        self._file: Optional[BinaryIO] = open(self._path, "wb")
        self._z: Any = None
        if self._opts.compression_type:
            o = self._opts
            level = o.compression_level if o.compression_level is not None else zlib.Z_DEFAULT_COMPRESSION
            self._z = zlib.compressobj(level, zlib.DEFLATED, o._wbits(), o.mem_level or 9,
                                       o.compression_strategy or zlib.Z_DEFAULT_STRATEGY)

    def _put(self, raw: bytes) -> None:
        if self._file is None:
            raise errors.FailedPreconditionError(None, None, f"TFRecordWriter for {self._path} is closed.")
        if self._z is None:
            self._file.write(raw)
            return
        out = self._z.compress(raw)
        if self._opts.flush_mode not in (None, zlib.Z_NO_FLUSH):
            out += self._z.flush(self._opts.flush_mode)
        self._file.write(out)

    def write(self, record: Union[bytes, str]) -> None:
        """Appends one record (bytes, or a str written as UTF-8)."""
        self._put(encode_record(record.encode() if isinstance(record, str) else bytes(record)))

    def flush(self) -> None:
        """Writes what is buffered to the file (a compressed stream is sync-flushed, so the
        records written so far can be read back while the file stays open)."""
        if self._file is None:
            raise errors.FailedPreconditionError(None, None, f"TFRecordWriter for {self._path} is closed.")
        if self._z is not None:
            self._file.write(self._z.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()

    def close(self) -> None:
        """Finishes the stream and closes the file (again: nothing happens)."""
        f, self._file = self._file, None
        if f is None:
            return
        try:
            if self._z is not None:
                f.write(self._z.flush(zlib.Z_FINISH))
        finally:
            f.close()

    def __enter__(self) -> "TFRecordWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def read_chunks(path: str, compression: str) -> Iterator[bytes]:
    """The uncompressed bytes of `path` in pieces; `compression` is "", "ZLIB" or "GZIP".
    Concatenated gzip members are read on."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise errors.NotFoundError(None, None, f"{path}; No such file or directory") from None
    with f:
        if not compression:
            while True:
                b = f.read(_READ_SIZE)
                if not b:
                    return
                yield b
        wbits = zlib.MAX_WBITS + (16 if compression == "GZIP" else 0)
        z = zlib.decompressobj(wbits)
        while True:
            b = f.read(_READ_SIZE)
            if not b:
                break
            while b:
                try:
                    out = z.decompress(b)
                except zlib.error as e:
                    raise errors.DataLossError(None, None, f"{path}: not a valid {compression} stream ({e})") from None
                if out:
                    yield out
                if z.eof and z.unused_data:  # another gzip member follows
                    b, z = z.unused_data, zlib.decompressobj(wbits)
                else:
                    b = b""
        tail = z.flush()
        if tail:
            yield tail
        if not z.eof:
            raise errors.DataLossError(None, None, f"{path}: the {compression} stream ends early (truncated file)")


def read_records(path: Union[str, os.PathLike], compression_type: Optional[str] = None) -> Iterator[bytes]:
    """The records of one TFRecord file, checked against their CRCs.

    Raises:
      DataLossError: "corrupted record at N" (a CRC mismatch) or "truncated record at N" (the
        file ends inside a record); N is the byte offset TensorFlow reports.
      NotFoundError: no such file.
    """
    path = os.fspath(path)
    buf = b""
    pos = 0      # read position in buf
    base = 0     # stream offset of buf[0]
    mcrc = _native.masked_crc32c
    chunks = read_chunks(path, compression_name(compression_type))
    done = False
    while True:
        if len(buf) - pos < 12 and not done:
            more = next(chunks, None)
            if more is None:
                done = True
            else:
                base += pos
                buf, pos = buf[pos:] + more, 0
                continue
        avail = len(buf) - pos
        if avail == 0 and done:
            return
        start = base + pos
        if avail < 12:
            raise errors.DataLossError(None, None, f"truncated record at {start}: the file ends inside its header")
        length, length_crc = _HEADER.unpack_from(buf, pos)
        if mcrc(buf[pos:pos + 8]) != length_crc:
            raise errors.DataLossError(None, None, f"corrupted record at {start}")
        need = 12 + length + 4
        if avail < need and not done:  # gather the pieces, then join once (records may be large)
            parts, have = [buf[pos:]], avail
            while have < need:
                more = next(chunks, None)
                if more is None:
                    done = True
                    break
                parts.append(more)
                have += len(more)
            base += pos
            buf, pos = b"".join(parts), 0
            avail = len(buf)
        if avail < need:
            raise errors.DataLossError(None, None, f"truncated record at {start}: the file ends inside a record "
                                                   f"of {length} bytes")
        data = buf[pos + 12:pos + 12 + length]
        if mcrc(data) != _FOOTER.unpack_from(buf, pos + 12 + length)[0]:
            raise errors.DataLossError(None, None, f"corrupted record at {start + 12}")
        pos += need
        yield data


def tf_record_iterator(path: Union[str, os.PathLike], options: Any = None) -> Iterator[bytes]:
    """Yields the records of a TFRecord file (`tf.compat.v1.io.tf_record_iterator`).

    Args:
      path: the file.
      options: a `TFRecordOptions` or a compression name.

    Raises:
      DataLossError: a record is corrupted or truncated.
      NotFoundError: no such file.
    """
    return read_records(path, _options(options).compression_type)
