"""Math ops composed of nestor's native ops: norms (`tf.norm`, `tf.math.l2_normalize`),
`tf.math.reduce_variance` / `reduce_std`, `tf.math.unsorted_segment_mean` / `sqrt_n` and
`tf.math.confusion_matrix`.

Each has TensorFlow 2's signature and semantics (checked against TF 2.15); the differences are
stated in the docstrings.
"""
from __future__ import annotations

import numbers
from typing import Any, List, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, control_dependencies, convert_to_tensor, name_scope
from . import array_ops, core_ops, math_ops, reduction_ops, sparse_ops
from .check_ops import Assert, assert_less, assert_non_negative
from .reduction_ops import _pick

__all__ = ["norm", "unsorted_segment_mean", "unsorted_segment_sqrt_n"]
__math__ = ["l2_normalize", "reduce_variance", "reduce_std", "unsorted_segment_mean", "unsorted_segment_sqrt_n",
            "confusion_matrix"]
__nn__ = ["l2_normalize"]


def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: Optional[str] = None,
                 dim: Any = None) -> Tensor:
    """Divides `x` by its L2 norm along `axis` (`tf.math.l2_normalize`, `tf.nn.l2_normalize`).

    `output = x * rsqrt(max(sum(x ** 2, axis, keepdims=True), epsilon))`: where the squared
    norm is below `epsilon`, `x` is scaled by `1 / sqrt(epsilon)` instead (a zero vector stays
    zero, with no division by zero).

    Args:
      x: a float tensor.
      axis: the dimension(s) to normalize along; None (default) normalizes over all of them.
      epsilon: the lower bound of the squared norm.
      name: a name for the operation (optional).
      dim: TensorFlow 1's deprecated name of `axis`.

    Returns:
      A tensor of the shape and dtype of `x`.

    Raises:
      ValueError: both `axis` and `dim` are given.
      TypeError: `x` is not floating point.
    """
    axis = _pick(axis, dim, "axis", "dim")
    with name_scope(name, "l2_normalize"):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_floating:
            raise TypeError(f"l2_normalize: x must be float32 or float64, got {x.dtype.name} ({x.name})")
        square_sum = reduction_ops.reduce_sum(math_ops.square(x), axis, keepdims=True)
        inv_norm = math_ops.rsqrt(math_ops.maximum(square_sum, convert_to_tensor(epsilon, dtype=x.dtype)))
        return math_ops.multiply(x, inv_norm)


_MATRIX_ORDS = ["euclidean", "fro", 1, 2, np.inf]
_VECTOR_ORDS = ["euclidean", 1, 2, np.inf]


def _is_int(a: Any) -> bool:
    return isinstance(a, (numbers.Integral, np.integer)) and not isinstance(a, (bool, np.bool_))


def _ord_in(ord: Any, allowed: List[Any]) -> bool:  # noqa: A002
    """`ord in allowed`, as TensorFlow tests it (1.0 and True are 1), without comparing strings to numbers."""
    for a in allowed:
        if isinstance(a, str) or isinstance(ord, str):
            if isinstance(a, str) and isinstance(ord, str) and a == ord:
                return True
        elif ord == a:
            return True
    return False


def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None, keepdims: Optional[bool] = None,  # noqa: A002
         name: Optional[str] = None, keep_dims: Optional[bool] = None) -> Tensor:
    """Vector or matrix norm of `tensor` (`tf.norm`, `tf.linalg.norm`).

    With `axis` None or an int, the vector norm along that axis (None: of all elements, as one
    vector): 'euclidean' (= 2) sqrt(sum(x^2)), 1 sum(|x|), np.inf max(|x|) and, for any other
    p > 0, sum(|x|^p)^(1/p). With `axis` a pair of ints, the matrix norm over those two
    dimensions: 'fro' / 'euclidean' (Frobenius), 1 (max column sum), np.inf (max row sum).

    Args:
      tensor: a float tensor.
      ord: the order of the norm, as above.
      axis: None, an int, or a 2-tuple/list of distinct ints.
      keepdims: keep the normed dimensions with size 1.
      name: a name scope for the operations (optional).
      keep_dims: TensorFlow 1's deprecated name of `keepdims`.

    Returns:
      The norm, of `tensor`'s dtype; shape `tensor.shape` without (or, with `keepdims`, with
      size 1 in) the normed dimensions.

    Raises:
      ValueError: `axis` or `ord` is not one of the above (TensorFlow's messages); 'fro' with a
        vector `axis`, as in TensorFlow.
      NotImplementedError: ord=2 with a pair of axes (the spectral norm): TensorFlow computes it
        with an SVD, which nestor does not have.
    """
    keepdims = _pick(keepdims, keep_dims, "keepdims", "keep_dims")
    is_matrix = isinstance(axis, (tuple, list)) and len(axis) == 2
    if is_matrix:
        axis = tuple(axis)
        if not _is_int(axis[0]) or not _is_int(axis[1]) or axis[0] == axis[1]:
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
        axis = (int(axis[0]), int(axis[1]))
        if not _ord_in(ord, _MATRIX_ORDS):
            raise ValueError(f"'ord' must be a supported matrix norm in {_MATRIX_ORDS}, got {ord}")
        if _ord_in(ord, [2]):
            raise NotImplementedError("tf.norm: ord=2 over a pair of axes is the matrix spectral norm (the largest "
                                      "singular value), which needs an SVD; nestor has none. Supported matrix "
                                      "norms: 'fro'/'euclidean', 1, np.inf")
    else:
        if not (_is_int(axis) or axis is None):
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 integers, got {axis}")
        real = isinstance(ord, (numbers.Real, np.number)) and not isinstance(ord, complex) and np.isreal(ord)
        if (not real or ord <= 0) and not _ord_in(ord, _VECTOR_ORDS):
            raise ValueError(f"'ord' must be a supported vector norm, got {ord}.")
        axis = None if axis is None else (int(axis),)
    with name_scope(name, "norm"):
        x = convert_to_tensor(tensor)
        if not x.dtype.is_floating:
            raise TypeError(f"tf.norm: tensor must be float32 or float64, got {x.dtype.name} ({x.name})")
        red = None if axis is None else list(axis)
        if _ord_in(ord, ["fro", "euclidean", 2]):
            result = math_ops.sqrt(reduction_ops.reduce_sum(math_ops.multiply(x, x), red, keepdims=True))
        else:
            a = math_ops.abs(x)
            if _ord_in(ord, [1]):
                result = reduction_ops.reduce_sum(a, None if axis is None else axis[0], keepdims=True)
                if is_matrix:
                    result = reduction_ops.reduce_max(result, axis[-1], keepdims=True)
            elif _ord_in(ord, [np.inf]):
                if is_matrix:
                    a = reduction_ops.reduce_sum(a, axis[1], keepdims=True)
                result = reduction_ops.reduce_max(a, None if axis is None else axis[0], keepdims=True)
            else:
                p = convert_to_tensor(float(ord), dtype=x.dtype)
                s = reduction_ops.reduce_sum(math_ops.pow(a, p), red, keepdims=True)
                result = math_ops.pow(s, convert_to_tensor(1.0 / float(ord), dtype=x.dtype))
        if not keepdims:
            result = array_ops.squeeze(result, red)
        return result


def reduce_variance(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                    name: Optional[str] = None) -> Tensor:
    """Population variance (mean of squared deviations) across `axis` (`tf.math.reduce_variance`).

    Args:
      input_tensor: a float tensor.
      axis: the dimensions to reduce; None (default) reduces all. Negative values count from
        the end.
      keepdims: keep the reduced dimensions with size 1.
      name: a name scope for the operations (optional).

    Returns:
      The variance, of `input_tensor`'s dtype. Reducing an empty dimension gives NaN, as in
      TensorFlow. The gradient flows through the mean as well (unlike `tf.nn.moments`).

    Raises:
      TypeError: `input_tensor` is not floating point (TensorFlow's message).
    """
    with name_scope(name or "reduce_variance"):
        x = convert_to_tensor(input_tensor)
        if not x.dtype.is_floating:
            raise TypeError(f"Input must be either real or complex. Received integer type {x.dtype.name}."
                            if x.dtype.is_integer else
                            f"reduce_variance: input_tensor must be float32 or float64, got {x.dtype.name}")
        means = reduction_ops.reduce_mean(x, axis, keepdims=True)
        return reduction_ops.reduce_mean(math_ops.square(math_ops.subtract(x, means)), axis,
                                         keepdims=bool(keepdims))


def reduce_std(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Optional[str] = None) -> Tensor:
    """Population standard deviation, sqrt(reduce_variance), across `axis` (`tf.math.reduce_std`).

    Args and Raises are those of `reduce_variance`. The gradient is infinite (NaN) where the
    variance is 0, as in TensorFlow.

    Returns:
      The standard deviation, of `input_tensor`'s dtype.
    """
    with name_scope(name or "reduce_std"):
        return math_ops.sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def _segment_counts(data: Tensor, ids: Tensor, num_segments: Any) -> Tensor:
    """max(1, number of entries of `ids` in each segment), shaped to broadcast against the
    per-segment sums of `data`."""
    ones = core_ops.ones_like(ids, dtype=data.dtype)
    n = sparse_ops.unsorted_segment_sum(ones, ids, num_segments)
    if data.shape.rank is not None and ids.shape.rank is not None:
        shape: Any = [-1] + [1] * (data.shape.rank - ids.shape.rank)
    else:
        extra = math_ops.subtract(core_ops.rank(data), core_ops.rank(ids))
        shape = array_ops.concat([convert_to_tensor([-1]), array_ops.fill(array_ops.expand_dims(extra, 0), 1)], 0)
    n = core_ops.reshape(n, shape)
    return math_ops.maximum(n, convert_to_tensor(1, dtype=n.dtype))


def unsorted_segment_mean(data: Any, segment_ids: Any, num_segments: Any, name: Optional[str] = None) -> Tensor:
    """Per-segment means, ids in any order (`tf.math.unsorted_segment_mean`).

    `output[i] = sum(data[j...] for segment_ids[j...] == i) / count_i`; `segment_ids` has the
    shape of a prefix of `data`'s shape, and negative ids are dropped. Empty segments give 0.

    Args:
      data: a numeric tensor.
      segment_ids: int32/int64 tensor, a prefix of `data`'s shape.
      num_segments: the number of segments (an int or int scalar tensor).
      name: a name scope for the operations (optional).

    Returns:
      Shape `[num_segments] + data.shape[segment_ids.ndim:]`; integer data gives float64 means
      (TensorFlow's true division).

    Raises:
      TypeError: `segment_ids` is not an integer tensor.
      InvalidArgumentError: at run time, an id >= num_segments.
    """
    with name_scope(name, "UnsortedSegmentMean"):
        data = convert_to_tensor(data, name="data")
        ids = sparse_ops._index(segment_ids, "segment_ids")
        n = _segment_counts(data, ids, num_segments)
        return math_ops.divide(sparse_ops.unsorted_segment_sum(data, ids, num_segments), n)


def unsorted_segment_sqrt_n(data: Any, segment_ids: Any, num_segments: Any, name: Optional[str] = None) -> Tensor:
    """Per-segment sums divided by sqrt(segment size) (`tf.math.unsorted_segment_sqrt_n`).

    As `unsorted_segment_mean`, but dividing by `sqrt(count_i)`; empty segments give 0.

    Args:
      data: a float tensor.
      segment_ids: int32/int64 tensor, a prefix of `data`'s shape.
      num_segments: the number of segments.
      name: a name scope for the operations (optional).

    Returns:
      Shape `[num_segments] + data.shape[segment_ids.ndim:]`, dtype of `data`.

    Raises:
      TypeError: `data` is not floating point (TensorFlow fails in its sqrt) or `segment_ids`
        is not an integer tensor.
    """
    with name_scope(name, "UnsortedSegmentSqrtN"):
        data = convert_to_tensor(data, name="data")
        if not data.dtype.is_floating:
            raise TypeError(f"unsorted_segment_sqrt_n: data must be float32 or float64, got {data.dtype.name}")
        ids = sparse_ops._index(segment_ids, "segment_ids")
        n = _segment_counts(data, ids, num_segments)
        return math_ops.divide(sparse_ops.unsorted_segment_sum(data, ids, num_segments), math_ops.sqrt(n))


def _squeeze_last(labels: Tensor, predictions: Tensor) -> tuple:
    """TensorFlow's remove_squeezable_dimensions: drops a trailing size-1 dimension from the
    one of rank one more than the other."""
    lr, pr = labels.shape.rank, predictions.shape.rank
    if lr is not None and pr is not None:
        if lr == pr + 1 and labels.shape.as_list()[-1] == 1:
            labels = array_ops.squeeze(labels, [-1])
        elif pr == lr + 1 and predictions.shape.as_list()[-1] == 1:
            predictions = array_ops.squeeze(predictions, [-1])
    return labels, predictions


def confusion_matrix(labels: Any, predictions: Any, num_classes: Any = None, weights: Any = None,
                     dtype: Any = _dtypes.int32, name: Optional[str] = None) -> Tensor:
    """The confusion matrix of `labels` (rows) against `predictions` (columns)
    (`tf.math.confusion_matrix`).

    `output[i, j]` is the number (or, with `weights`, the weight sum) of entries with label i
    and prediction j. Labels and predictions are cast to int64 (floats truncate).

    Args:
      labels: 1-D tensor of true classes (a trailing size-1 dimension is squeezed away).
      predictions: 1-D tensor of predicted classes, of the same length.
      num_classes: the number of classes; None (default) uses max(labels, predictions) + 1,
        which is then known only at run time.
      weights: optional tensor of predictions' shape; cast to `dtype` before summing, as in
        TensorFlow (fractional weights truncate for an integer dtype).
      dtype: the output dtype (int32, int64, float32, float64 or bool).
      name: a name scope for the operations (optional).

    Returns:
      A `[num_classes, num_classes]` tensor of `dtype`.

    Raises:
      ValueError: labels / predictions not 1-D, or shapes incompatible with each other or with
        `weights` (TensorFlow fails at run time for some of these).
      InvalidArgumentError: at run time, a negative label or prediction, one >= num_classes, or
        (num_classes=None) no labels at all (TensorFlow fails there too, less clearly).
    """
    dt = _dtypes.as_dtype(dtype)
    with name_scope(name, "confusion_matrix"):
        labels = convert_to_tensor(labels, name="labels")
        predictions = convert_to_tensor(predictions, name="predictions")
        labels, predictions = _squeeze_last(labels, predictions)
        for what, t in (("labels", labels), ("predictions", predictions)):
            if t.shape.rank is not None and t.shape.rank != 1:
                raise ValueError(f"confusion_matrix: {what} must be 1-D, got shape {t.shape} ({t.name})")
        if not labels.shape.is_compatible_with(predictions.shape):
            raise ValueError(f"confusion_matrix: labels (shape {labels.shape}) and predictions (shape "
                             f"{predictions.shape}) must have the same length")
        lab = core_ops.cast(labels, _dtypes.int64)
        pred = core_ops.cast(predictions, _dtypes.int64)
        checks = [assert_non_negative(lab, message="`labels` contains negative values"),
                  assert_non_negative(pred, message="`predictions` contains negative values")]
        static_n = array_ops._const_value(num_classes) if num_classes is not None else None
        if static_n is not None:
            if np.ndim(static_n) != 0 or np.asarray(static_n).dtype.kind not in "iu" or int(static_n) < 0:
                raise ValueError(f"confusion_matrix: num_classes must be a non-negative integer scalar, got "
                                 f"{num_classes!r}")
            nn: Any = int(static_n) ** 2
            out_shape: Any = [int(static_n)] * 2
            n = convert_to_tensor(int(static_n), dtype=_dtypes.int64)
        else:
            if num_classes is None:
                n = math_ops.add(math_ops.maximum(reduction_ops.reduce_max(pred), reduction_ops.reduce_max(lab)),
                                 convert_to_tensor(1, dtype=_dtypes.int64))
                checks.append(Assert(math_ops.greater_equal(n, convert_to_tensor(0, dtype=_dtypes.int64)),
                                     ["confusion_matrix: num_classes=None takes max(labels, predictions) + 1 as "
                                      "the class count, which needs at least one label; pass num_classes"]))
            else:
                n = core_ops.cast(convert_to_tensor(num_classes, name="num_classes"), _dtypes.int64)
            nn = math_ops.multiply(n, n)
            out_shape = array_ops.stack([n, n])
        if num_classes is not None:
            checks += [assert_less(lab, n, message="`labels` out of bound"),
                       assert_less(pred, n, message="`predictions` out of bound")]
        acc = _dtypes.int32 if dt == _dtypes.bool else dt
        if weights is not None:
            w = convert_to_tensor(weights, name="weights")
            if not w.shape.is_compatible_with(predictions.shape):
                raise ValueError(f"Shapes {predictions.shape} and {w.shape} are incompatible: confusion_matrix's "
                                 f"weights must have the shape of predictions")
            values = core_ops.cast(core_ops.cast(w, dt), acc)
        else:
            values = core_ops.ones_like(pred, dtype=acc)
        with control_dependencies(checks):
            cells = math_ops.add(math_ops.multiply(lab, n), pred)
        cm = core_ops.reshape(sparse_ops.unsorted_segment_sum(values, cells, nn), out_shape)
        return cm if acc == dt else core_ops.cast(cm, dt)


def confusion_matrix_v1(labels: Any, predictions: Any, num_classes: Any = None, dtype: Any = _dtypes.int32,
                        name: Optional[str] = None, weights: Any = None) -> Tensor:
    """TensorFlow 1's argument order of `confusion_matrix` (`tf.compat.v1.confusion_matrix`):
    `dtype` and `name` come before `weights`. Everything else is as `tf.math.confusion_matrix`."""
    return confusion_matrix(labels, predictions, num_classes=num_classes, weights=weights, dtype=dtype, name=name)
