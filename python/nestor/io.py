"""`nestor.io`: parsing serialized `tf.train.Example` protos (`tf.io.parse_example`,
`tf.io.parse_single_example`) and their feature specs (`tf.io.FixedLenFeature`, `tf.io.VarLenFeature`),
and CSV records (`tf.io.decode_csv`)."""
from __future__ import annotations

from .feature_column.parse_spec import FixedLenFeature, VarLenFeature  # noqa: F401
from .ops.csv_ops import decode_csv  # noqa: F401
from .ops.parsing_ops import parse_example, parse_single_example  # noqa: F401

__all__ = ["FixedLenFeature", "VarLenFeature", "decode_csv", "parse_example", "parse_single_example"]
