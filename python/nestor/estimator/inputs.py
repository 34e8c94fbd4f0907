"""`tf.compat.v1.estimator.inputs`: `numpy_input_fn` and `pandas_input_fn`, on `nestor.data`.

TensorFlow built these on queue runners (which starved the device); here the returned
`input_fn()` returns a `nestor.data.Dataset` of `(features, labels)` batches (`features`
alone when `y` is None) that the Estimator runs in a background thread. With `shuffle=True`
each epoch is a full random permutation of the rows. With a finite `num_epochs` the last
partial batch is kept, as in TensorFlow.
"""
from __future__ import annotations

import collections
from typing import Any, Callable, Dict, Optional

import numpy as np

from ..data.dataset import Dataset, restructure

_DIRECT_NP_INPUT = "__direct_np_input"
_TARGET_KEY = "__target_key__"


def _check_shuffle(shuffle: Any) -> None:
    if not isinstance(shuffle, bool):
        raise ValueError("shuffle must be provided and explicitly set as boolean (it is recommended to set it as "
                         "True for training); got {}".format(shuffle))


def _unique_target_key(features: Dict[str, Any], target_key: str = _TARGET_KEY) -> str:
    while target_key in features:
        target_key += "_n"
    return target_key


def _pipeline(columns: "collections.OrderedDict[str, np.ndarray]", batch_size: int, num_epochs: Optional[int],
              shuffle: bool, seed: Optional[int] = None) -> Dataset:
    if int(batch_size) <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
    if num_epochs is not None and int(num_epochs) <= 0:
        raise ValueError(f"num_epochs must be None or a positive integer, got {num_epochs}.")
    ds = Dataset.from_tensor_slices(dict(columns))
    n = len(next(iter(columns.values())))
    if shuffle:
        ds = ds.shuffle(max(n, 1), seed=seed)
    if num_epochs != 1:
        ds = ds.repeat(num_epochs)
    return ds.batch(int(batch_size))


def _split(ds: Dataset, keys: list, feature_keys: list, target: Any, direct: bool) -> Dataset:
    """Re-structures each batch (all columns, in `keys` order) into `(features, labels)`; no per-row work."""
    pos = {k: i for i, k in enumerate(keys)}
    feats: Any = pos[_DIRECT_NP_INPUT] if direct else {k: pos[k] for k in feature_keys}
    if target is None:
        return restructure(ds, feats)
    if isinstance(target, list):
        return restructure(ds, (feats, {k: pos[k] for k in target}))
    return restructure(ds, (feats, pos[target]))


def numpy_input_fn(x: Any, y: Any = None, batch_size: int = 128, num_epochs: Optional[int] = 1,
                   shuffle: Optional[bool] = None, queue_capacity: int = 1000,
                   num_threads: int = 1) -> Callable[[], Dataset]:
    """Returns an input_fn feeding dicts of numpy arrays (`tf.compat.v1.estimator.inputs.numpy_input_fn`).

    Args:
      x: a dict of numpy arrays (features by name), or one numpy array.
      y: labels: an array, a dict of arrays, or None.
      batch_size: rows per batch.
      num_epochs: passes over the data; None repeats forever.
      shuffle: must be True or False (shuffle each epoch).
      queue_capacity, num_threads: accepted for compatibility; the pipeline runs in one background thread.

    Raises:
      ValueError: `shuffle` is not a bool, or x and y have different lengths, or duplicate keys.
      TypeError: `x` is neither a dict nor an array.
    """
    _check_shuffle(shuffle)

    def input_fn() -> Dataset:
        if isinstance(x, dict):
            if not x:
                raise ValueError("x cannot be an empty dict")
            data = collections.OrderedDict(sorted(((k, np.asarray(v)) for k, v in x.items()), key=lambda t: t[0]))
            direct = False
        elif isinstance(x, np.ndarray):
            if x.size == 0:
                raise ValueError("x cannot be an empty array")
            data = collections.OrderedDict([(_DIRECT_NP_INPUT, x)])
            direct = True
        else:
            raise TypeError("x must be a dict or array; got {}".format(type(x).__name__))
        feature_keys = list(data.keys())
        target: Any
        if y is None:
            target = None
        elif isinstance(y, dict):
            if not y:
                raise ValueError("y cannot be empty dict, use None instead.")
            ordered_y = collections.OrderedDict(sorted(((k, np.asarray(v)) for k, v in y.items()),
                                                       key=lambda t: t[0]))
            target = list(ordered_y.keys())
            dup = set(feature_keys).intersection(target)
            if dup:
                raise ValueError("{} duplicate keys are found in both x and y: {}".format(len(dup), dup))
            data.update(ordered_y)
        else:
            target = _unique_target_key(data)
            data[target] = np.asarray(y)
        for k, v in data.items():
            if v.ndim == 0:
                raise ValueError(f"Feature '{k}' is a scalar; numpy_input_fn needs arrays with one row per example.")
        if len({v.shape[0] for v in data.values()}) != 1:
            shape_x = {k: data[k].shape for k in feature_keys}
            if target is None:
                shape_y = None
            elif isinstance(target, str):
                shape_y = data[target].shape
            else:
                shape_y = {k: data[k].shape for k in target}
            raise ValueError("Length of tensors in x and y is mismatched. All elements in x and y must have the "
                             "same length.\nShapes in x: {}\nShapes in y: {}\n".format(shape_x, shape_y))
        ds = _pipeline(data, batch_size, num_epochs, shuffle)
        return _split(ds, list(data.keys()), feature_keys, target, direct)

    return input_fn


def pandas_input_fn(x: Any, y: Any = None, batch_size: int = 128, num_epochs: Optional[int] = 1,
                    shuffle: Optional[bool] = None, queue_capacity: int = 1000, num_threads: int = 1,
                    target_column: str = "target") -> Callable[[], Dataset]:
    """Returns an input_fn feeding a pandas DataFrame (`tf.compat.v1.estimator.inputs.pandas_input_fn`).

    Features are the DataFrame's columns (a dict of arrays per batch); `y` (a Series, or a
    DataFrame for several labels) must have the same index as `x`.

    Raises:
      ValueError: `shuffle` is not a bool, the indexes of x and y differ, or `target_column` is taken.
      TypeError: `target_column` is not a string.
    """
    try:
        import pandas as pd
    except ImportError:
        raise TypeError("pandas_input_fn should not be called without pandas installed") from None
    _check_shuffle(shuffle)
    if not isinstance(target_column, str):
        raise TypeError("target_column must be a string type")
    if not isinstance(x, pd.DataFrame):
        raise TypeError(f"x must be a pandas DataFrame; got {type(x).__name__}")
    x = x.copy()
    target: Any = None
    if y is not None:
        if target_column in x:
            raise ValueError("Cannot use name {} for target column: DataFrame already has a column with that name: "
                             "{}".format(target_column, x.columns))
        if not np.array_equal(x.index, y.index):
            raise ValueError("Index for x and y are mismatched.\nIndex for x: {}\nIndex for y: {}\n".format(
                x.index, y.index))
        if isinstance(y, pd.DataFrame):
            target = []
            for column in list(y):
                key = _unique_target_key(x, column)
                x[key] = y[column]
                target.append(key)
        else:
            x[target_column] = y
            target = target_column
    label_keys = target if isinstance(target, list) else ([target] if target is not None else [])
    feature_keys = [str(c) for c in x.columns if c not in label_keys]

    def input_fn() -> Dataset:
        data = collections.OrderedDict((str(c), x[c].to_numpy()) for c in x.columns)
        ds = _pipeline(data, batch_size, num_epochs, shuffle)
        return _split(ds, list(data.keys()), feature_keys, target, direct=False)

    return input_fn


__all__ = ["numpy_input_fn", "pandas_input_fn"]
