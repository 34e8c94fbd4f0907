"""The k largest entries of the last axis (`tf.math.top_k`, `tf.nn.top_k`) and `in_top_k`.

`tf.math.in_top_k` takes TensorFlow 2's argument order (targets, predictions, k); `tf.nn.in_top_k`
TensorFlow 1's (predictions, targets, k).
"""
from __future__ import annotations

import collections
from typing import Any, Optional

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, create_op

__all__: list = []
__nn__ = ["top_k"]
__math__ = ["top_k", "in_top_k"]

TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])


def _int_tensor(x: Any, what: str) -> Tensor:
    t = convert_to_tensor(x, dtype_hint=_dtypes.int32, name=what)
    if not t.dtype.is_integer:
        raise TypeError(f"{what} must be int32 or int64, got {t.dtype.name}")
    return t


def top_k(input: Any, k: Any = 1, sorted: bool = True, name: Optional[str] = None) -> TopKV2:  # noqa: A002
    """The `k` largest entries of the last axis of `input`, and their indices (`tf.math.top_k`).

    For a matrix, `values[i, :]` holds the `k` largest entries of row `i` from the largest down,
    and `indices[i, j]` the column of `values[i, j]`. Equal values are ordered by index, lower
    first (so of several equal maxima the first is taken), and `+0.0` equals `-0.0`. NaN ranks
    above every number (TensorFlow leaves NaN inputs undefined).

    Args:
      input: a `Tensor` of float32, float64, int32 or int64, at least 1-D.
      k: a Python int or scalar int32/int64 `Tensor`, `0 <= k <= input.shape[-1]`.
      sorted: accepted for TensorFlow's signature; the result is always sorted (with
        `sorted=False` TensorFlow allows any order, which includes this one).
      name: a name for the operation (optional).

    Returns:
      A `TopKV2(values, indices)` namedtuple: `values` of `input`'s dtype and `indices` int32,
      both of shape `input.shape[:-1] + [k]`. The gradient of `values` w.r.t. `input` puts
      the incoming gradient at the selected positions and zero elsewhere.

    Raises:
      InvalidArgumentError: `input` is a scalar, `k < 0`, or `k` exceeds the last dimension
        (when the graph is built where these are known, else when it runs).
    """
    x = convert_to_tensor(input, name="input")
    values, indices = create_op("top_k", [x, _int_tensor(k, "k")], {"sorted": bool(sorted)}, name=name or "TopKV2")
    return TopKV2(values, indices)


def in_top_k(targets: Any, predictions: Any, k: Any, name: Optional[str] = None) -> Tensor:
    """Whether each target is among the `k` largest predictions of its row (`tf.math.in_top_k`).

    TensorFlow's rule: `out[i]` is True when fewer than `k` entries of `predictions[i]` are
    strictly greater than `predictions[i, targets[i]]`, so a target tied with the k-th largest
    counts as in the top k. `out[i]` is False when `targets[i]` is outside
    `[0, predictions.shape[1])` or any entry of `predictions[i]` is NaN or infinite. A `k` of
    0 or less gives False everywhere; a `k` above the number of classes True for every valid row.

    Args:
      targets: an int32 or int64 `Tensor` of shape `[batch]`, class ids.
      predictions: a float32 or float64 `Tensor` of shape `[batch, classes]`.
      k: a Python int or scalar int32/int64 `Tensor`.
      name: a name for the operation (optional).

    Returns:
      A bool `Tensor` of shape `[batch]`.

    Raises:
      InvalidArgumentError: `predictions` is not 2-D, `targets` not 1-D, or their batch sizes
        differ (when the graph is built where known, else when it runs).
    """
    p = convert_to_tensor(predictions, name="predictions")
    t = _int_tensor(targets, "targets")
    return create_op("in_top_k", [p, t, _int_tensor(k, "k")], name=name or "in_top_k")


def in_top_k_v1(predictions: Any, targets: Any, k: Any, name: Optional[str] = None) -> Tensor:
    """`in_top_k` with TensorFlow 1's argument order (`tf.nn.in_top_k`).

    Args:
      predictions: a float32 or float64 `Tensor` of shape `[batch, classes]`.
      targets: an int32 or int64 `Tensor` of shape `[batch]`, class ids.
      k: a Python int or scalar int32/int64 `Tensor`.
      name: a name for the operation (optional).

    Returns:
      A bool `Tensor` of shape `[batch]`: see `in_top_k` for the rule.
    """
    return in_top_k(targets, predictions, k, name=name)
