"""Hand-written protobuf messages for TensorBoard event files (no protobuf dependency).

Only what summaries need: `Event`, `Summary`, `Summary.Value`, `HistogramProto` and the
scalar form of `TensorProto` used by text summaries. Field numbers follow
tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto. Encoding is
proto3: plain scalar fields at their default are not written; oneof members always are.
Decoding skips unknown fields and accepts packed and unpacked repeated doubles.
"""
from __future__ import annotations

import struct
from typing import Iterator, List, Optional, Tuple

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


# ---------------------------------------------------------------- encoding
def _varint(v: int) -> bytes:
    v &= (1 << 64) - 1  # negative int64 values take 10 bytes (two's complement)
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint((field << 3) | wire_type)


def _bytes_field(field: int, data: bytes) -> bytes:
    return _key(field, _BYTES) + _varint(len(data)) + data


def _double_field(field: int, v: float, always: bool = False) -> bytes:
    if not always and v == 0.0:
        return b""
    return _key(field, _FIXED64) + struct.pack("<d", v)


def _packed_doubles(field: int, values: List[float]) -> bytes:
    if not values:
        return b""
    return _bytes_field(field, struct.pack(f"<{len(values)}d", *values))


# ---------------------------------------------------------------- decoding
def _read_varint(buf: bytes, pos: int) -> Tuple[int, int]:
    v = shift = 0
    while True:
        if pos >= len(buf) or shift >= 64:
            raise ValueError("truncated or invalid varint in protobuf message")
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[Tuple[int, int, object]]:
    """Yields (field number, wire type, value): int, or bytes for fixed/length-delimited."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wt = key >> 3, key & 7
        if wt == _VARINT:
            v, pos = _read_varint(buf, pos)
        elif wt in (_FIXED64, _FIXED32, _BYTES):
            if wt == _BYTES:
                n, pos = _read_varint(buf, pos)
            else:
                n = 8 if wt == _FIXED64 else 4
            if pos + n > len(buf):
                raise ValueError(f"field {field} runs past the end of the protobuf message")
            v, pos = bytes(buf[pos:pos + n]), pos + n
        else:
            raise ValueError(f"unsupported protobuf wire type {wt} (field {field})")
        yield field, wt, v


def _int64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _doubles(wt: int, v: object) -> List[float]:
    data = bytes(v)  # type: ignore[arg-type]
    if wt == _FIXED64:
        return [struct.unpack("<d", data)[0]]
    return list(struct.unpack(f"<{len(data) // 8}d", data))


# ---------------------------------------------------------------- messages
class HistogramProto:
    """`tensorflow.HistogramProto`: min, max, num, sum, sum_squares and bucket counts."""

    def __init__(self, min: float = 0.0, max: float = 0.0, num: float = 0.0, sum: float = 0.0,  # noqa: A002
                 sum_squares: float = 0.0, bucket_limit: Optional[List[float]] = None,
                 bucket: Optional[List[float]] = None):
        self.min, self.max, self.num, self.sum, self.sum_squares = min, max, num, sum, sum_squares
        self.bucket_limit = list(bucket_limit or [])
        self.bucket = list(bucket or [])

    def SerializeToString(self) -> bytes:
        return (_double_field(1, self.min) + _double_field(2, self.max) + _double_field(3, self.num) +
                _double_field(4, self.sum) + _double_field(5, self.sum_squares) +
                _packed_doubles(6, self.bucket_limit) + _packed_doubles(7, self.bucket))

    @classmethod
    def FromString(cls, data: bytes) -> "HistogramProto":
        h = cls()
        names = {1: "min", 2: "max", 3: "num", 4: "sum", 5: "sum_squares"}
        for f, wt, v in _fields(data):
            if f in names and wt == _FIXED64:
                setattr(h, names[f], _doubles(wt, v)[0])
            elif f == 6:
                h.bucket_limit.extend(_doubles(wt, v))
            elif f == 7:
                h.bucket.extend(_doubles(wt, v))
        return h


class SummaryValue:
    """`tensorflow.Summary.Value`: a tag with one of simple_value, histo or a string tensor.

    `text` holds a text summary (a scalar DT_STRING tensor with plugin "text" metadata);
    `raw` keeps the bytes of a value read from a file.
    """

    def __init__(self, tag: str = "", simple_value: Optional[float] = None,
                 histo: Optional[HistogramProto] = None, text: Optional[str] = None):
        self.tag, self.simple_value, self.histo, self.text = tag, simple_value, histo, text

    def SerializeToString(self) -> bytes:
        out = _bytes_field(1, self.tag.encode("utf-8"))
        if self.simple_value is not None:
            out += _key(2, _FIXED32) + struct.pack("<f", float(self.simple_value))
        elif self.histo is not None:
            out += _bytes_field(5, self.histo.SerializeToString())
        elif self.text is not None:
            plugin = _bytes_field(1, b"text")                             # PluginData.plugin_name
            out += _bytes_field(9, _bytes_field(1, plugin))               # Value.metadata.plugin_data
            tensor = _key(1, _VARINT) + _varint(7)                        # dtype DT_STRING
            tensor += _bytes_field(2, b"")                                # tensor_shape: scalar
            tensor += _bytes_field(8, self.text.encode("utf-8"))          # string_val
            out += _bytes_field(8, tensor)                                # Value.tensor
        return out

    @classmethod
    def FromString(cls, data: bytes) -> "SummaryValue":
        v = cls()
        for f, wt, x in _fields(data):
            if f == 1 and wt == _BYTES:
                v.tag = bytes(x).decode("utf-8")  # type: ignore[arg-type]
            elif f == 2 and wt == _FIXED32:
                v.simple_value = struct.unpack("<f", x)[0]  # type: ignore[arg-type]
            elif f == 5 and wt == _BYTES:
                v.histo = HistogramProto.FromString(x)  # type: ignore[arg-type]
            elif f == 8 and wt == _BYTES:
                for tf_, twt, tx in _fields(x):  # type: ignore[arg-type]
                    if tf_ == 8 and twt == _BYTES:
                        v.text = bytes(tx).decode("utf-8", "replace")  # type: ignore[arg-type]
        return v

    def __repr__(self) -> str:
        what = (f"simple_value={self.simple_value}" if self.simple_value is not None else
                "histo" if self.histo is not None else f"text={self.text!r}")
        return f"Summary.Value(tag={self.tag!r}, {what})"


class Summary:
    """`tensorflow.Summary` (`tf.Summary`): a list of tagged values."""

    Value = SummaryValue

    def __init__(self, value: Optional[List[SummaryValue]] = None):
        self.value = list(value or [])

    def SerializeToString(self) -> bytes:
        return b"".join(_bytes_field(1, v.SerializeToString()) for v in self.value)

    @classmethod
    def FromString(cls, data: bytes) -> "Summary":
        return cls([SummaryValue.FromString(x) for f, wt, x in _fields(data)  # type: ignore[arg-type]
                    if f == 1 and wt == _BYTES])

    def ParseFromString(self, data: bytes) -> None:
        self.value = Summary.FromString(data).value


class Event:
    """`tensorflow.Event`: wall_time, step and one of file_version or a serialized summary.

    `summary` may be a `Summary` or its serialized bytes (as the summary ops produce them).
    """

    def __init__(self, wall_time: float = 0.0, step: int = 0, file_version: Optional[str] = None,
                 summary: object = None):
        self.wall_time, self.step, self.file_version, self.summary = wall_time, int(step), file_version, summary

    def SerializeToString(self) -> bytes:
        out = _double_field(1, self.wall_time)
        if self.step:
            out += _key(2, _VARINT) + _varint(self.step)
        if self.file_version is not None:
            out += _bytes_field(3, self.file_version.encode("utf-8"))
        elif self.summary is not None:
            s = self.summary
            out += _bytes_field(5, s if isinstance(s, bytes) else s.SerializeToString())  # type: ignore[attr-defined]
        return out

    @classmethod
    def FromString(cls, data: bytes) -> "Event":
        e = cls()
        for f, wt, v in _fields(data):
            if f == 1 and wt == _FIXED64:
                e.wall_time = _doubles(wt, v)[0]
            elif f == 2 and wt == _VARINT:
                e.step = _int64(v)  # type: ignore[arg-type]
            elif f == 3 and wt == _BYTES:
                e.file_version = bytes(v).decode("utf-8")  # type: ignore[arg-type]
            elif f == 5 and wt == _BYTES:
                e.summary = Summary.FromString(v)  # type: ignore[arg-type]
        return e
