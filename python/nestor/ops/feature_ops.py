"""String hashing, vocabulary lookups, bucketizing and hashed crosses: the ops behind
feature columns, bit-exact with TensorFlow's (FarmHash Fingerprint64).

Top-level (TF1) names are in `__all__`; the names TensorFlow has under `tf.strings` are in
`__strings__`. `vocab_lookup`, `bucketize` and `sparse_cross_hashed` serve
`nestor.feature_column` (TF: `StaticVocabularyTable`, `Bucketize`, `tf.sparse.cross_hashed`).
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, create_op, name_scope
from ..framework.sparse_tensor import SparseTensor

__all__ = ["string_to_hash_bucket_fast", "as_string", "fingerprint"]
__strings__ = ["to_hash_bucket_fast", "as_string"]

DEFAULT_HASH_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's key when hash_key is None or 0


def _string_input(x: Any, what: str = "input") -> Tensor:
    t = convert_to_tensor(x, dtype_hint=_dtypes.string, name=what)
    if t.dtype != _dtypes.string:
        raise TypeError(f"{what} must be a string tensor, got {t.dtype.name}")
    return t


def _num_buckets(n: Any, what: str = "num_buckets") -> int:
    if isinstance(n, bool) or not isinstance(n, int) and not hasattr(n, "__index__"):
        raise TypeError(f"{what} must be an int, got {n!r}")
    n = int(n)
    if n < 1:
        raise ValueError(f"{what} must be >= 1, got {n}")
    return n


def string_to_hash_bucket_fast(input: Any, num_buckets: int, name: Optional[str] = None) -> Tensor:  # noqa: A002
    """Hashes each string to `Fingerprint64(s) % num_buckets` (`tf.strings.to_hash_bucket_fast`).

    Args:
      input: string Tensor of any shape.
      num_buckets: number of buckets, >= 1.

    Returns:
      int64 Tensor of the same shape, values in [0, num_buckets).
    """
    return create_op("string_to_hash_bucket_fast", [_string_input(input)],
                     {"num_buckets": _num_buckets(num_buckets)}, name=name or "StringToHashBucketFast")


to_hash_bucket_fast = string_to_hash_bucket_fast


def fingerprint(data: Any, method: str = "farmhash64", name: Optional[str] = None) -> Tensor:
    """FarmHash64 fingerprints of a 1-D string tensor (`tf.fingerprint`).

    Unlike TensorFlow, which returns the 8 little-endian bytes as uint8 [n, 8], this returns
    the fingerprints as int64 [n] (the same 64 bits: `np.asarray(x).view(np.uint64)` gives
    the unsigned values). Only strings of rank 1 and the 'farmhash64' method are supported.
    """
    if method != "farmhash64":
        raise ValueError(f"fingerprint method must be 'farmhash64', got {method!r}")
    t = _string_input(data, "data")
    if t.shape.ndims is not None and t.shape.ndims != 1:
        raise ValueError(f"fingerprint supports 1-D string data, got shape {t.shape}")
    return create_op("fingerprint64", [t], name=name or "Fingerprint")


def as_string(input: Any, precision: int = -1, scientific: bool = False, shortest: bool = False,  # noqa: A002
              width: int = -1, fill: str = "", name: Optional[str] = None) -> Tensor:
    """Converts each entry to its text (`tf.as_string`): ints in decimal, bools as
    'true'/'false', floats as printf '%f'. Formatting options other than the defaults are
    not supported (ValueError)."""
    if precision != -1 or scientific or shortest or width != -1 or fill:
        raise ValueError("as_string supports only the default formatting (precision=-1, scientific=False, "
                         "shortest=False, width=-1, fill='')")
    t = convert_to_tensor(input, name="input")
    return create_op("as_string", [t], name=name or "AsString")


def vocab_lookup(input: Any, keys: Sequence[Any], num_oov_buckets: int = 0, default_value: int = -1,  # noqa: A002
                 name: Optional[str] = None) -> Tensor:
    """Index of each entry of `input` in `keys` (strings, or ints for an int input).

    A key not in the vocabulary maps to `len(keys) + Fingerprint64(key) % num_oov_buckets`
    when num_oov_buckets > 0 (ints hashed through their decimal text, as TensorFlow's
    StaticVocabularyTable), else to `default_value`. Returns int64 of input's shape.
    """
    t = convert_to_tensor(input, name="input")
    if t.dtype == _dtypes.string:
        kl: List[Any] = [k.decode() if isinstance(k, bytes) else str(k) for k in keys]
    elif t.dtype.is_integer:
        kl = [int(k) for k in keys]
    else:
        raise TypeError(f"vocab_lookup input must be string or int, got {t.dtype.name}")
    if int(num_oov_buckets) < 0:
        raise ValueError(f"num_oov_buckets must be >= 0, got {num_oov_buckets}")
    return create_op("vocab_lookup", [t], {"keys": kl, "num_oov_buckets": int(num_oov_buckets),
                                           "default_value": int(default_value)}, name=name or "vocab_lookup")


def bucketize(input: Any, boundaries: Sequence[float], name: Optional[str] = None) -> Tensor:  # noqa: A002
    """Bucket index of each entry (`tf.raw_ops.Bucketize`): the number of boundaries <= x, so
    x < b[0] -> 0 and x >= b[-1] -> len(b). Boundaries are float32 as in TensorFlow; NaN
    goes to the last bucket. Returns int32 of input's shape."""
    t = convert_to_tensor(input, name="input")
    return create_op("bucketize", [t], {"boundaries": [float(b) for b in boundaries]}, name=name or "Bucketize")


def _dense_as_sparse(x: Tensor) -> SparseTensor:
    """Every entry of a 2-D dense tensor as a SparseTensor entry (TF's dense cross inputs)."""
    from . import array_ops, core_ops
    if x.shape.ndims is not None and x.shape.ndims != 2:
        raise ValueError(f"dense inputs of a cross must be 2-D, got shape {x.shape}")
    shp = core_ops.cast(core_ops.shape(x), _dtypes.int64)
    rows = array_ops.range(shp[0], dtype=_dtypes.int64)
    cols = array_ops.range(shp[1], dtype=_dtypes.int64)
    r = array_ops.tile(array_ops.expand_dims(rows, 1), array_ops.stack([1, shp[1]]))
    c = array_ops.tile(array_ops.expand_dims(cols, 0), array_ops.stack([shp[0], 1]))
    ind = core_ops.reshape(array_ops.stack([r, c], axis=2), [-1, 2])
    return SparseTensor(ind, core_ops.reshape(x, [-1]), shp)


def sparse_cross_hashed(inputs: Sequence[Any], num_buckets: int = 0, hash_key: Optional[int] = None,
                        name: Optional[str] = None) -> SparseTensor:
    """Hashed cross of 2-D SparseTensors (and dense Tensors) of strings or ints
    (`tf.sparse.cross_hashed`).

    For each example, every combination of one value per input (the last input varying
    fastest) hashes to `h % num_buckets` (`% (2**63 - 1)` when num_buckets is 0), where
    `h = hash_key; h = FingerprintCat64(h, Fingerprint64(v) or int64(v))` over the inputs.
    As in TensorFlow, SparseTensor inputs are crossed first and dense ones after them (all
    their entries count), whatever their order in `inputs`.
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError("inputs must be a non-empty list of SparseTensors or Tensors")
    if int(num_buckets) < 0:
        raise ValueError(f"num_buckets must be >= 0, got {num_buckets}")
    with name_scope(name or "SparseCross"):
        sparse = [x for x in inputs if isinstance(x, SparseTensor)]
        dense = [_dense_as_sparse(convert_to_tensor(x)) for x in inputs if not isinstance(x, SparseTensor)]
        cols = sparse + dense
        args: List[Tensor] = []
        for i, st in enumerate(cols):
            v = st.values
            if v.dtype != _dtypes.string and not v.dtype.is_integer:
                raise TypeError(f"cross input {i} must hold strings or ints, got {v.dtype.name}")
            args += [st.indices, v]
        args.append(cols[0].dense_shape)
        out = create_op("sparse_cross_hashed", args,
                        {"num_columns": len(cols), "num_buckets": int(num_buckets),
                         "hash_key": int(hash_key) if hash_key else DEFAULT_HASH_KEY})
    return SparseTensor(out[0], out[1], out[2])
