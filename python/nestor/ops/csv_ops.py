"""`tf.io.decode_csv` for host values: CSV records (numpy/bytes/str) into typed columns.

nestor's `Dataset.map` hands its function numpy values, so the tutorials' CSV pipelines
(`TextLineDataset(path).skip(1).map(lambda line: tf.io.decode_csv(line, defaults))`) parse here,
vectorized per column, with TensorFlow's rules and error messages: a field that is empty (or
equals `na_value`) takes its column's default, or fails if the column has none; quoted fields may
hold the delimiter and `""` for a quote. Graph tensors are not accepted: parse before the graph.
"""
from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence

import numpy as np

from .. import errors
from ..framework.graph import Tensor

__all__ = ["decode_csv"]

_NP = {"float32": np.float32, "float64": np.float64, "int32": np.int32, "int64": np.int64}
_INT = re.compile(r"\s*[+-]?\d+\s*\Z")


def _default_spec(d: Any, i: int) -> tuple:
    """(dtype name, default or None) of record_defaults[i]: [value], [] (required) or a 1-element array."""
    dtype = None
    if isinstance(d, Tensor):
        raise TypeError(f"record_defaults[{i}] is a graph tensor; decode_csv works on host values: "
                        "give a list such as [0.0], [0], [''] or a numpy array")
    arr = np.asarray(d)
    if arr.size > 1:
        raise ValueError(f"record_defaults[{i}] must have at most one element, got shape {arr.shape}")
    if arr.dtype == object or arr.dtype.kind in "US":
        dtype = "string"
    elif arr.dtype.kind == "f":
        dtype = "float64" if arr.dtype == np.float64 and not isinstance(d, list) else "float32"
    elif arr.dtype.kind in "iu":
        dtype = "int64" if arr.dtype == np.int64 and not isinstance(d, list) else "int32"
    elif arr.size == 0:
        raise ValueError(f"record_defaults[{i}] is empty without a dtype: use an empty numpy array of the "
                         "column's dtype (e.g. np.array([], np.float32)) for a required column")
    else:
        raise TypeError(f"record_defaults[{i}] has unsupported dtype {arr.dtype}; "
                        "expected float32, float64, int32, int64 or string")
    if arr.size == 0:
        return dtype, None
    v = arr.reshape(-1)[0]
    return dtype, (v.decode() if isinstance(v, bytes) else str(v)) if dtype == "string" else v


def _split_quoted(rec: str, delim: str, r: int) -> List[str]:
    fields, cur, i, n = [], [], 0, len(rec)
    while True:
        if i < n and rec[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise errors.InvalidArgumentError(None, None, f"Quoted field has to end with quote followed by "
                                                                  f"delim or end in record {r}")
                if rec[i] == '"':
                    if i + 1 < n and rec[i + 1] == '"':
                        cur.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                cur.append(rec[i])
                i += 1
            if i < n and rec[i] != delim:
                raise errors.InvalidArgumentError(None, None, f"Quoted field has to end with quote followed by "
                                                              f"delim or end in record {r}")
        else:
            j = rec.find(delim, i)
            j = n if j < 0 else j
            cur.append(rec[i:j])
            i = j
        fields.append("".join(cur))
        cur = []
        if i >= n:
            return fields
        i += 1  # the delimiter


def decode_csv(records: Any, record_defaults: Sequence[Any], field_delim: str = ",", use_quote_delim: bool = True,
               na_value: str = "", select_cols: Optional[Sequence[int]] = None,
               name: Optional[str] = None) -> List[np.ndarray]:
    """Converts CSV records to one array per column (`tf.io.decode_csv`).

    Args:
      records: a string, bytes, or an array of them (any shape): one CSV line each.
      record_defaults: one entry per output column: a one-element list or array whose type gives
        the column's dtype (float -> float32, int -> int32, str -> string; numpy float64/int64
        arrays keep their type) and whose value fills empty fields; an empty numpy array of the
        column's dtype makes the column required.
      field_delim: the one-character field delimiter.
      use_quote_delim: whether double-quoted fields may contain the delimiter (`""` is a quote).
      na_value: a field equal to this string is treated as empty.
      select_cols: sorted indices of the record's columns to keep (one per record_defaults entry).
      name: unused (TensorFlow's op name).

    Returns:
      A list of numpy arrays of `records`' shape, one per column.

    Raises:
      InvalidArgumentError: a record with the wrong number of fields, a required field missing, or
        a field that does not convert to its column's type (the message names field and record).
    """
    if isinstance(records, Tensor):
        raise TypeError("decode_csv works on host values (numpy arrays, bytes, str), as Dataset.map passes them; "
                        "got a graph tensor")
    if len(field_delim) != 1:
        raise ValueError(f"field_delim must be one character, got {field_delim!r}")
    specs = [_default_spec(d, i) for i, d in enumerate(record_defaults)]
    if select_cols is not None:
        select_cols = [int(c) for c in select_cols]
        if len(select_cols) != len(specs):
            raise ValueError(f"Length of select_cols ({len(select_cols)}) and record_defaults ({len(specs)}) "
                             "should match.")
        if any(b <= a for a, b in zip(select_cols, select_cols[1:])) or (select_cols and select_cols[0] < 0):
            raise ValueError(f"select_cols must be non-negative and strictly increasing, got {select_cols}")
    arr = np.asarray(records, dtype=object)
    shape = arr.shape
    recs = [r.decode() if isinstance(r, bytes) else str(r) for r in arr.reshape(-1)]
    rows = [(_split_quoted(r, field_delim, i) if use_quote_delim and '"' in r else r.split(field_delim))
            for i, r in enumerate(recs)]
    cols = select_cols if select_cols is not None else range(len(specs))
    for i, fields in enumerate(rows):
        if select_cols is None and len(fields) != len(specs):
            raise errors.InvalidArgumentError(None, None, f"Expect {len(specs)} fields but have {len(fields)} "
                                                          f"in record {i}")
        if select_cols is not None and len(fields) <= select_cols[-1]:
            raise errors.InvalidArgumentError(None, None, f"Expect at least {select_cols[-1] + 1} fields but have "
                                                          f"{len(fields)} in record {i}")
    out = []
    for k, (c, (dtype, default)) in enumerate(zip(cols, specs)):
        raw = [fields[c] for fields in rows]
        missing = [not f or f == na_value for f in raw]
        if any(missing) and default is None:
            r = missing.index(True)
            raise errors.InvalidArgumentError(None, None, f"Field {k} is required but missing in record {r}!")
        vals = [default if m else f for f, m in zip(raw, missing)]
        if dtype == "string":
            col = np.empty(len(vals), dtype=object)
            col[:] = [v.encode() if isinstance(v, str) else v for v in vals]
        else:
            col = _convert(vals, missing, dtype, k)
        out.append(col.reshape(shape))
    return out


def _convert(vals: List[Any], missing: List[bool], dtype: str, k: int) -> np.ndarray:
    np_type = _NP[dtype]
    if dtype.startswith("int"):
        for r, (v, m) in enumerate(zip(vals, missing)):
            if not m and not _INT.match(v):
                raise errors.InvalidArgumentError(None, None, f"Field {k} in record {r} is not a valid {dtype}: {v}")
        ints = np.array([int(v) for v in vals], dtype=np.int64)
        info = np.iinfo(np_type)
        bad = np.nonzero((ints < info.min) | (ints > info.max))[0]
        if bad.size:
            r = int(bad[0])
            raise errors.InvalidArgumentError(None, None, f"Field {k} in record {r} is not a valid {dtype}: {vals[r]}")
        return ints.astype(np_type)
    try:
        return np.array(vals, dtype=np.float64).astype(np_type)
    except ValueError:
        for r, v in enumerate(vals):
            try:
                float(v)
            except ValueError:
                raise errors.InvalidArgumentError(None, None, f"Field {k} in record {r} is not a valid float: "
                                                              f"{v}") from None
        raise

