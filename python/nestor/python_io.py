"""`tf.python_io` / `tf.compat.v1.python_io`: TensorFlow 1's names for the TFRecord writer and reader."""
from __future__ import annotations

from .framework.tf_record import (TFRecordCompressionType, TFRecordOptions, TFRecordWriter,  # noqa: F401
                                  tf_record_iterator)

__all__ = ["TFRecordCompressionType", "TFRecordOptions", "TFRecordWriter", "tf_record_iterator"]
