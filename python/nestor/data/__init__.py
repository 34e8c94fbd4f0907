"""`nestor.data`: tf.data input pipelines on columnar numpy blocks.

    ds = nestor.data.Dataset.from_tensor_slices((features_dict, labels)).shuffle(1000).repeat().batch(128)
    for features, labels in ds: ...                 # numpy values
    it = ds.make_one_shot_iterator()                  # TF1: get_next() tensors fed by Session.run

Differences from tf.data: elements are numpy values, and `map`/`filter` functions receive numpy
values (write them with numpy; batch before `map` so it runs once per batch). A `map` function
built from nestor ops (`tf.io.parse_example`) is traced into a graph and run per element or batch.
"""
from __future__ import annotations

from . import experimental
from .dataset import AUTOTUNE, Dataset, DatasetIterator
from .iterator import (Iterator, get_output_shapes, get_output_types, iterator_feeds, make_initializable_iterator,
                       make_one_shot_iterator)
from .readers import TextLineDataset
from .structure import TensorSpec
from .tfrecord import TFRecordDataset

__all__ = ["AUTOTUNE", "Dataset", "DatasetIterator", "Iterator", "TFRecordDataset", "TensorSpec", "TextLineDataset",
           "experimental",
           "get_output_shapes", "get_output_types", "iterator_feeds", "make_initializable_iterator",
           "make_one_shot_iterator"]
