"""`nestor.io`: parsing serialized `tf.train.Example` protos (`tf.io.parse_example`,
`tf.io.parse_single_example`) and their feature specs (`tf.io.FixedLenFeature`, `tf.io.VarLenFeature`),
CSV records (`tf.io.decode_csv`) and TFRecord files (`tf.io.TFRecordWriter`, `tf.io.TFRecordOptions`,
`tf.compat.v1.io.tf_record_iterator`; read them in pipelines with `tf.data.TFRecordDataset`)."""
from __future__ import annotations

from .feature_column.parse_spec import FixedLenFeature, VarLenFeature  # noqa: F401
from .ops.csv_ops import decode_csv  # noqa: F401
from .framework.tf_record import (TFRecordCompressionType, TFRecordOptions, TFRecordWriter,  # noqa: F401
                                  tf_record_iterator)
from .ops.parsing_ops import parse_example, parse_single_example  # noqa: F401

__all__ = ["FixedLenFeature", "TFRecordCompressionType", "TFRecordOptions", "TFRecordWriter", "VarLenFeature",
           "decode_csv", "parse_example", "parse_single_example", "tf_record_iterator"]
