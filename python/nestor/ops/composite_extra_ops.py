"""`tf.meshgrid`, `tf.math.reduce_euclidean_norm` and `tf.math.cumulative_logsumexp`, composed of
nestor's native ops.

TensorFlow 2's signatures and semantics (checked against TF 2.15); the differences are stated
in the docstrings.
"""
from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, name_scope
from . import array_ops, core_ops, math_ops, reduction_ops

__all__ = ["meshgrid"]
__math__ = ["reduce_euclidean_norm", "cumulative_logsumexp"]
__nn__: list = []


def meshgrid(*args: Any, **kwargs: Any) -> List[Tensor]:
    """N-D coordinate grids from N 1-D coordinate vectors (`tf.meshgrid`), as `np.meshgrid`.

    With `indexing='ij'` output `i` has shape `[len(args[0]), ..., len(args[-1])]` and varies
    along dimension `i`; with the default `'xy'` (Cartesian) the first two dimensions are
    swapped. Arguments of other shapes are flattened first.

    Args:
      *args: tensors of one dtype, each of rank 1 (or flattened).
      **kwargs: `indexing`, 'xy' or 'ij'; `name`, a name scope for the operations (optional).

    Returns:
      A list of N tensors of the same N-D shape (an empty list for no arguments).

    Raises:
      TypeError: an unknown keyword argument.
      ValueError: `indexing` is not 'xy' or 'ij'.
    """
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", "meshgrid")
    if kwargs:
        raise TypeError(f"'{list(kwargs)[0]}' is an invalid keyword argument for this function")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Argument `indexing` parameter must be either 'xy' or 'ij', got '{indexing}'")
    if not args:
        return []
    with name_scope(name, "meshgrid"):
        xs = [core_ops.reshape(convert_to_tensor(a, name=f"x{i}"), [-1]) for i, a in enumerate(args)]
        nd = len(xs)
        axes = list(range(nd))
        if indexing == "xy" and nd > 1:
            axes[0], axes[1] = 1, 0
        out = []
        for i, x in enumerate(xs):
            shape = [1] * nd
            shape[axes[i]] = -1
            out.append(core_ops.reshape(x, shape))
        sizes: List[Any] = [None] * nd
        for i, x in enumerate(xs):
            n = x.shape.as_list()[0]
            sizes[axes[i]] = int(n) if n is not None else core_ops.size(x)
        full = [int(s) for s in sizes] if all(isinstance(s, int) for s in sizes) else \
            array_ops.stack([core_ops.cast(convert_to_tensor(s), _dtypes.int32) for s in sizes])
        ones = array_ops.ones(full, dtype=xs[0].dtype)
        return [math_ops.multiply(x, ones) for x in out]


def reduce_euclidean_norm(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                          name: Optional[str] = None) -> Tensor:
    """sqrt(sum(x ** 2)) over `axis` (`tf.math.reduce_euclidean_norm`).

    Integer inputs are reduced in float64 and the result truncated back to their dtype, as
    TensorFlow's integer kernel gives `int(sqrt(sum))`. The gradient at an all-zero slice is
    NaN (that of sqrt at 0), as in TensorFlow.

    Args:
      input_tensor: a numeric tensor.
      axis: None (all dimensions), an int or a list of ints.
      keepdims: keep the reduced dimensions with size 1.
      name: a name scope for the operations (optional).

    Returns:
      The norm, of `input_tensor`'s dtype.
    """
    with name_scope(name, "reduce_euclidean_norm"):
        x = convert_to_tensor(input_tensor, name="input_tensor")
        dt = x.dtype
        if not dt.is_floating:
            x = core_ops.cast(x, _dtypes.float64)
        y = math_ops.sqrt(reduction_ops.reduce_sum(math_ops.square(x), axis, keepdims=bool(keepdims)))
        return y if dt.is_floating else core_ops.cast(y, dt)


def cumulative_logsumexp(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False,
                         name: Optional[str] = None) -> Tensor:
    """log(cumsum(exp(x))) along `axis`, computed stably (`tf.math.cumulative_logsumexp`).

    `exclusive` leaves each element out of its own sum (the first then is `-inf`); `reverse`
    accumulates from the end. Every output is one `reduce_logsumexp` over a masked copy of the
    axis, so this takes `O(n ** 2)` time and memory per slice of `n` elements along `axis`
    (TensorFlow scans in `O(n)`): meant for short axes.

    Args:
      x: a float32 or float64 tensor.
      axis: a Python int or constant int scalar.
      exclusive: exclude the current element.
      reverse: accumulate in the reverse direction.
      name: a name scope for the operations (optional).

    Returns:
      A tensor of `x`'s shape and dtype.

    Raises:
      TypeError: `x` is not floating point.
      ValueError: `axis` is not a constant scalar within `x`'s (known) rank.
    """
    with name_scope(name, "cumulative_logsumexp"):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_floating:
            raise TypeError(f"cumulative_logsumexp: x must be float32 or float64, got {x.dtype.name}")
        rank = x.shape.rank
        ax = array_ops._const_value(axis)
        if rank is None or ax is None or np.ndim(ax) != 0 or not -max(rank, 1) <= int(ax) < max(rank, 1):
            raise ValueError(f"cumulative_logsumexp: axis must be a constant int within the rank of x (known when "
                             f"the graph is built), got axis={axis!r} for shape {x.shape}")
        if rank == 0:
            return core_ops.identity(x)
        ax = int(ax) % rank
        perm = list(range(rank))
        perm[ax], perm[-1] = perm[-1], perm[ax]
        t = array_ops.transpose(x, perm) if ax != rank - 1 else x
        n = t.shape.as_list()[-1]
        pos = array_ops.range(n if n is not None else core_ops.shape(t)[-1])
        i, j = array_ops.expand_dims(pos, 0), array_ops.expand_dims(pos, 1)  # output j sums inputs i
        cmp = (math_ops.greater if exclusive else math_ops.greater_equal) if reverse else \
            (math_ops.less if exclusive else math_ops.less_equal)
        mask = cmp(i, j)  # [n, n]
        rows = array_ops.expand_dims(t, -2)  # [..., 1, n]
        neg_inf = convert_to_tensor(-np.inf, dtype=x.dtype)
        masked = math_ops.where_v2(mask, rows, neg_inf)  # [..., n, n]
        y = reduction_ops.reduce_logsumexp(masked, -1)
        return array_ops.transpose(y, perm) if ax != rank - 1 else y
