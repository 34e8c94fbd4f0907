"""`nestor.strings`: string ops (`tf.strings`)."""
from __future__ import annotations

from .ops import feature_ops

for _m in (feature_ops,):
    for _n in getattr(_m, "__strings__", []):
        globals()[_n] = getattr(_m, _n)
to_hash_bucket_fast = feature_ops.string_to_hash_bucket_fast  # noqa: F811
del _m, _n
