"""`nestor.io`: feature specs for parsing (`tf.io.FixedLenFeature`, `tf.io.VarLenFeature`)."""
from __future__ import annotations

from .feature_column.parse_spec import FixedLenFeature, VarLenFeature  # noqa: F401
from .ops.csv_ops import decode_csv  # noqa: F401
