"""`nestor.data.experimental`: file readers and constants (`tf.data.experimental`)."""
from __future__ import annotations

from .dataset import AUTOTUNE
from .readers import ParquetDataset, make_csv_dataset, make_parquet_dataset

__all__ = ["AUTOTUNE", "ParquetDataset", "make_csv_dataset", "make_parquet_dataset"]
