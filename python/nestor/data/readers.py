"""File readers: CSV (pyarrow.csv), Parquet (pyarrow.parquet, one block per row group) and text lines.

pyarrow is needed for CSV and Parquet (`pip install pyarrow`); files are parsed with its
vectorized, multithreaded readers and arrive in the pipeline as columnar blocks.
"""
from __future__ import annotations

import glob
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np

from .. import dtypes as _dtypes
from .. import errors
from ..framework.tf_record import compression_name, read_chunks
from . import structure as st
from .blocks import Block
from .dataset import _CHUNK, AUTOTUNE, Dataset


def _pyarrow(module: str) -> Any:
    try:
        import importlib
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"Reading this file format needs pyarrow ({module}): `pip install pyarrow`.") from None


def _expand(file_pattern: Any) -> List[str]:
    pats = [file_pattern] if isinstance(file_pattern, (str, bytes, os.PathLike)) else list(file_pattern)
    files: List[str] = []
    for p in pats:
        p = os.fsdecode(p)
        hits = sorted(glob.glob(p)) if glob.has_magic(p) else ([p] if os.path.exists(p) else [])
        if not hits:
            raise errors.NotFoundError(None, None, f"No files matched pattern: {p}")
        files.extend(hits)
    return files


def _compression(path: str, compression_type: Optional[str]) -> Optional[str]:
    ct = (compression_type or "").upper()
    if ct in ("", "NONE"):
        return None
    if ct in ("GZIP", "ZLIB"):
        return "gzip"
    raise ValueError(f"Unsupported compression_type {compression_type!r}: use None or 'GZIP'.")


class _TableSource(Dataset):
    """Rows of files read as column dicts; elements are `features` or `(features, label)`."""

    def __init__(self, files: List[str], read: Callable[[str], Iterator[Dict[str, np.ndarray]]],
                 specs: Dict[str, st.TensorSpec], label_name: Optional[str], shuffle_files: bool,
                 seed: Optional[int]):
        self._files, self._read, self._label = files, read, label_name
        feats = {k: v for k, v in specs.items() if k != label_name}
        self._struct = (feats, specs[label_name]) if label_name is not None else feats
        self._order = [k for k in feats] + ([label_name] if label_name is not None else [])
        self._shuffle, self._seed, self._pass = shuffle_files, seed, 0

    def _blocks(self) -> Iterator[Block]:
        files = list(self._files)
        if self._shuffle:
            seed = self._seed if self._seed is not None else np.random.SeedSequence().entropy
            np.random.default_rng([int(seed) % (2**63), self._pass]).shuffle(files)
            self._pass += 1
        for f in files:
            for cols in self._read(f):
                blk = [cols[k] for k in self._order]
                if len(blk[0]):
                    yield blk

    def _spec(self) -> Any:
        return self._struct


def _finish(ds: Dataset, batch_size: int, num_epochs: Optional[int], shuffle: bool, shuffle_buffer_size: int,
            shuffle_seed: Optional[int], prefetch_buffer_size: Optional[int], drop_remainder: bool) -> Dataset:
    if shuffle:
        ds = ds.shuffle(shuffle_buffer_size, seed=shuffle_seed)
    if num_epochs != 1:
        ds = ds.repeat(num_epochs)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(AUTOTUNE if prefetch_buffer_size is None else prefetch_buffer_size)


# ---------------------------------------------------------------- CSV
def _default_type(d: Any) -> Any:
    """(dtype, default value or None if required) for one entry of `column_defaults`."""
    if isinstance(d, (list, tuple)) and not isinstance(d, (str, bytes)):
        if len(d) > 1:
            raise ValueError(f"A column default must be a scalar or a list of at most one element, got {d!r}.")
        if not d:
            raise ValueError("An empty column default needs a dtype: give a dtype (e.g. tf.float32) for a "
                             "required column.")
        d = d[0]
    if isinstance(d, _dtypes.DType) or d in (float, int, str, bytes) or isinstance(d, type):
        dt = _dtypes.as_dtype(d)
        if dt not in (_dtypes.float32, _dtypes.float64, _dtypes.int32, _dtypes.int64, _dtypes.string):
            raise TypeError(f"Unsupported CSV column type {dt!r}: use float32, float64, int32, int64 or string.")
        return dt, None
    if isinstance(d, (str, bytes)):
        return _dtypes.string, d
    if isinstance(d, (bool, np.bool_)):
        raise TypeError("CSV columns can't be bool: use int32 or string.")
    if isinstance(d, (int, np.integer)):
        return (_dtypes.int64 if isinstance(d, np.int64) else _dtypes.int32), int(d)
    if isinstance(d, (float, np.floating)):
        return (_dtypes.float64 if isinstance(d, np.float64) else _dtypes.float32), float(d)
    raise TypeError(f"Unsupported column default {d!r}: use a float, int, string or a dtype.")


def _arrow_type(dt: _dtypes.DType) -> Any:
    pa = _pyarrow("pyarrow")
    return {"float32": pa.float32(), "float64": pa.float64(), "int32": pa.int64(), "int64": pa.int64(),
            "string": pa.string()}[dt.name]


def make_csv_dataset(file_pattern: Any, batch_size: int, column_names: Optional[Sequence[str]] = None,
                     column_defaults: Optional[Sequence[Any]] = None, label_name: Optional[str] = None,
                     select_columns: Optional[Sequence[Any]] = None, field_delim: str = ",",
                     use_quote_delim: bool = True, na_value: str = "", header: bool = True,
                     num_epochs: Optional[int] = None, shuffle: bool = True, shuffle_buffer_size: int = 10000,
                     shuffle_seed: Optional[int] = None, prefetch_buffer_size: Optional[int] = None,
                     num_parallel_reads: Optional[int] = None, sloppy: bool = False,
                     num_rows_for_inference: int = 100, compression_type: Optional[str] = None,
                     ignore_errors: bool = False, encoding: str = "utf-8", drop_remainder: bool = False) -> Dataset:
    """Batches of `(features_dict, label)` (or `features_dict`) from CSV files (`tf.data.experimental.make_csv_dataset`).

    Column types come from `column_defaults` (a value: optional column with that default; a dtype:
    required column) or are inferred like TensorFlow: int32 (int64 if too large), float32, else string.
    Missing values (`na_value`) take the column default; in a required numeric column they are an error.
    Parsing is vectorized by pyarrow; files are read anew on each epoch.
    """
    pacsv = _pyarrow("pyarrow.csv")
    pa = _pyarrow("pyarrow")
    pc = _pyarrow("pyarrow.compute")
    files = _expand(file_pattern)
    if not header and column_names is None:
        raise ValueError("Cannot infer column names without a header line.")

    def read_table(path: str, names: Optional[List[str]], types: Optional[Dict[str, Any]]) -> Any:
        src = pa.input_stream(path, compression=_compression(path, compression_type))
        ro = pacsv.ReadOptions(column_names=names, skip_rows=1 if (header and names) else 0, encoding=encoding)
        po = pacsv.ParseOptions(delimiter=field_delim, quote_char='"' if use_quote_delim else False)
        co = pacsv.ConvertOptions(column_types=types or {}, null_values=[na_value], strings_can_be_null=na_value != "",
                                  true_values=["\x00true"], false_values=["\x00false"], timestamp_parsers=["\x00"])
        try:
            return pacsv.read_csv(src, read_options=ro, parse_options=po, convert_options=co)
        except pa.ArrowInvalid as e:
            raise errors.InvalidArgumentError(None, None, f"Error parsing CSV file {path}: {e}") from None

    first = read_table(files[0], list(column_names) if column_names is not None else None, None)
    names = list(first.column_names)
    if select_columns is not None:
        sel = [names[c] if isinstance(c, (int, np.integer)) else c for c in select_columns]
        missing = [c for c in sel if c not in names]
        if missing:
            raise ValueError(f"select_columns {missing} are not among the columns {names}.")
        sel = [c for c in names if c in sel]
    else:
        sel = names
    if label_name is not None and label_name not in sel:
        raise ValueError(f"`label_name` provided must be one of the columns: {sel}. Received: {label_name}")

    if column_defaults is not None:
        if len(column_defaults) != len(sel):
            raise ValueError(f"column_defaults has {len(column_defaults)} entries, but there are {len(sel)} "
                             f"{'selected ' if select_columns is not None else ''}columns: {sel}.")
        kinds = {c: _default_type(d) for c, d in zip(sel, column_defaults)}
    else:
        kinds = {}
        for c in sel:
            t = first.column(c).type
            if pa.types.is_integer(t) or pa.types.is_null(t):
                col = first.column(c)
                mm = pc.min_max(col).as_py() if len(col) else {"min": None, "max": None}
                big = mm["min"] is not None and (mm["min"] < -2**31 or mm["max"] > 2**31 - 1)
                kinds[c] = (_dtypes.int64 if big else _dtypes.int32, None)
            elif pa.types.is_floating(t):
                kinds[c] = (_dtypes.float32, None)
            else:
                kinds[c] = (_dtypes.string, None)
    types = {c: _arrow_type(dt) for c, (dt, _) in kinds.items()}
    specs = {c: st.TensorSpec([], kinds[c][0]) for c in sel}
    read_names = list(column_names) if column_names is not None else None

    def read(path: str) -> Iterator[Dict[str, np.ndarray]]:
        tab = read_table(path, read_names, types)
        out: Dict[str, np.ndarray] = {}
        for c in sel:
            col = tab.column(c)
            dt, default = kinds[c]
            if col.null_count:
                if default is None and dt is not _dtypes.string:
                    row = int(pc.index(pc.is_null(col), True).as_py())
                    raise errors.InvalidArgumentError(
                        None, None, f"Field {names.index(c)} is required but missing in record {row} of {path} "
                        f"(column '{c}'): give it a default in column_defaults.")
                col = pc.fill_null(col, default if default is not None else "")
            a = col.to_numpy()
            if dt is _dtypes.string:
                a = a.astype(object) if a.dtype != object else a
            elif a.dtype != dt.as_numpy_dtype:
                if dt is _dtypes.int32 and len(a) and (a.min() < -2**31 or a.max() > 2**31 - 1):
                    raise errors.InvalidArgumentError(None, None, f"Column '{c}' of {path} has values that don't "
                                                      "fit int32: declare it int64 in column_defaults.")
                a = a.astype(dt.as_numpy_dtype)
            out[c] = a
        n = len(out[sel[0]])
        for s in range(0, max(n, 1), _CHUNK * 4):
            yield {k: v[s:s + _CHUNK * 4] for k, v in out.items()}

    src = _TableSource(files, read, specs, label_name, shuffle, shuffle_seed)
    return _finish(src, batch_size, num_epochs, shuffle, shuffle_buffer_size, shuffle_seed, prefetch_buffer_size,
                   drop_remainder)


# ---------------------------------------------------------------- Parquet
def _parquet_spec(name: str, t: Any) -> st.TensorSpec:
    pa = _pyarrow("pyarrow")
    types = pa.types
    if types.is_dictionary(t):
        t = t.value_type
    if types.is_fixed_size_list(t):
        inner = _parquet_spec(name, t.value_type)
        return st.TensorSpec([t.list_size] + inner.shape.as_list(), inner.dtype)
    if types.is_list(t) or types.is_large_list(t):
        inner = _parquet_spec(name, t.value_type)
        return st.TensorSpec([None] + inner.shape.as_list(), inner.dtype)
    if types.is_boolean(t):
        return st.TensorSpec([], _dtypes.bool)
    if types.is_floating(t):
        return st.TensorSpec([], _dtypes.float64 if t == pa.float64() else _dtypes.float32)
    if types.is_integer(t):
        small = t.bit_width < 32 or (t.bit_width == 32 and types.is_signed_integer(t))
        return st.TensorSpec([], _dtypes.int32 if small else _dtypes.int64)
    if types.is_string(t) or types.is_large_string(t) or types.is_binary(t) or types.is_large_binary(t):
        return st.TensorSpec([], _dtypes.string)
    raise TypeError(f"Parquet column '{name}' has type {t}, which nestor can't hold: use numbers, bool, strings "
                    "or lists of them (cast it first).")


def _arrow_column(col: Any, spec: st.TensorSpec, name: str, path: str) -> np.ndarray:
    pa = _pyarrow("pyarrow")
    pc = _pyarrow("pyarrow.compute")
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if col.null_count and not (spec.dtype.is_floating and spec.shape.rank == 0):
        raise errors.InvalidArgumentError(None, None, f"Parquet column '{name}' of {path} has {col.null_count} null "
                                          "values, which nestor tensors can't hold: fill them before reading.")
    if spec.shape.rank:
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        if len(lengths) and (lengths != lengths[0]).any():
            raise errors.InvalidArgumentError(None, None, f"Parquet column '{name}' of {path} has lists of different "
                                              f"lengths ({lengths.min()} to {lengths.max()}); nestor needs equal "
                                              "lengths in a column.")
        flat = _arrow_column(pc.list_flatten(col), st.TensorSpec(spec.shape[1:], spec.dtype), name, path)
        return flat.reshape((len(col), int(lengths[0]) if len(lengths) else 0) + flat.shape[1:])
    a = col.to_numpy(zero_copy_only=False)
    if spec.dtype is _dtypes.string:
        return a if a.dtype == object else a.astype(object)
    return a if a.dtype == spec.dtype.as_numpy_dtype else a.astype(spec.dtype.as_numpy_dtype)


class ParquetDataset(_TableSource):
    """Rows of Parquet files as dicts of column values, read one row group (block) at a time."""

    def __init__(self, filenames: Any, columns: Optional[Sequence[str]] = None, label_name: Optional[str] = None,
                 shuffle_files: bool = False, seed: Optional[int] = None):
        pq = _pyarrow("pyarrow.parquet")
        files = _expand(filenames)
        schema = pq.read_schema(files[0])
        cols = list(columns) if columns is not None else list(schema.names)
        missing = [c for c in cols if c not in schema.names]
        if missing:
            raise ValueError(f"Columns {missing} are not in {files[0]}, which has {schema.names}.")
        if label_name is not None and label_name not in cols:
            raise ValueError(f"`label_name` provided must be one of the columns: {cols}. Received: {label_name}")
        specs = {c: _parquet_spec(c, schema.field(c).type) for c in cols}

        def read(path: str) -> Iterator[Dict[str, np.ndarray]]:
            pf = pq.ParquetFile(path)
            try:
                for g in range(pf.num_row_groups):
                    tab = pf.read_row_group(g, columns=cols)
                    yield {c: _arrow_column(tab.column(c), specs[c], c, path) for c in cols}
            finally:
                pf.close()

        super().__init__(files, read, specs, label_name, shuffle_files, seed)


def make_parquet_dataset(file_pattern: Any, batch_size: int, columns: Optional[Sequence[str]] = None,
                         label_name: Optional[str] = None, num_epochs: Optional[int] = None, shuffle: bool = True,
                         shuffle_buffer_size: int = 10000, shuffle_seed: Optional[int] = None,
                         prefetch_buffer_size: Optional[int] = None, drop_remainder: bool = False) -> Dataset:
    """Batches of `(features_dict, label)` (or `features_dict`) from Parquet files (nestor extension).

    Column types follow the file: float64 stays float64, small ints become int32, strings become
    string; fixed-length list columns become vectors.
    """
    src = ParquetDataset(file_pattern, columns, label_name, shuffle_files=shuffle, seed=shuffle_seed)
    return _finish(src, batch_size, num_epochs, shuffle, shuffle_buffer_size, shuffle_seed, prefetch_buffer_size,
                   drop_remainder)


# ---------------------------------------------------------------- text lines
class TextLineDataset(Dataset):
    """The lines of text files, without line endings, as bytes (`tf.data.TextLineDataset`)."""

    def __init__(self, filenames: Any, compression_type: Optional[str] = None, buffer_size: Optional[int] = None,
                 num_parallel_reads: Optional[int] = None, name: Optional[str] = None):
        self._files = _expand(filenames)
        self._compression = compression_name(compression_type)

    def _blocks(self) -> Iterator[Block]:
        for f in self._files:
            data = b"".join(read_chunks(f, self._compression))
            if b"\r\n" in data:
                data = data.replace(b"\r\n", b"\n")
            lines = data.split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            if lines:
                arr = np.empty(len(lines), dtype=object)
                arr[:] = lines
                yield [arr]

    def _spec(self) -> Any:
        return st.TensorSpec([], _dtypes.string)
