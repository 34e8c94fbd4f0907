"""Array ops composed of nestor's native ops: `tf.sequence_mask`, `tf.boolean_mask`, `tf.linspace`.

Each has TensorFlow 2's signature and semantics (checked against TF 2.15); the differences are
stated in the docstrings.
"""
from __future__ import annotations

import numbers
from typing import Any, List, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, control_dependencies, convert_to_tensor, name_scope
from . import array_ops, core_ops, math_ops, reduction_ops
from .check_ops import Assert
from .sparse_ops import gather

__all__ = ["sequence_mask", "boolean_mask", "linspace", "lin_space"]
__nn__: list = []


def _const(x: Any) -> Any:
    """The numpy value of a Python / numpy value or of a `const` tensor; None for other tensors."""
    return array_ops._const_value(x)


def sequence_mask(lengths: Any, maxlen: Any = None, dtype: Any = _dtypes.bool,
                  name: Optional[str] = None) -> Tensor:
    """A mask of the first `lengths[i]` positions of each row (`tf.sequence_mask`).

    `result[i_1, ..., i_d, j] = j < lengths[i_1, ..., i_d]`.

    Args:
      lengths: integer (or float) tensor of any shape, the lengths.
      maxlen: scalar, the size of the new last dimension; default `max(0, max(lengths))`.
        A Python int or constant gives a statically known last dimension.
      dtype: the output dtype; the bool mask is cast to it.
      name: a name scope for the operations (optional).

    Returns:
      A `dtype` tensor of shape `lengths.shape + [maxlen]`. `lengths` are cast to `maxlen`'s
      dtype before the comparison, as in TensorFlow (float lengths truncate for an int maxlen).

    Raises:
      ValueError: `maxlen` is not a scalar, or is a negative constant (TensorFlow fails only at
        run time for a negative maxlen).
    """
    dt = _dtypes.as_dtype(dtype)
    with name_scope(name, "SequenceMask"):
        lengths = convert_to_tensor(lengths, name="lengths")
        if maxlen is None:
            m = reduction_ops.reduce_max(lengths)
            m = math_ops.maximum(convert_to_tensor(0, dtype=m.dtype), m)
            row = array_ops.range(convert_to_tensor(0, dtype=m.dtype), m, convert_to_tensor(1, dtype=m.dtype))
        else:
            m = convert_to_tensor(maxlen, name="maxlen")
            if m.shape.rank is not None and m.shape.rank != 0:
                raise ValueError(f"Argument `maxlen` must be scalar for sequence_mask, received `maxlen` = {maxlen!r} "
                                 f"with shape '{m.shape}' instead")
            v = _const(m)
            if v is not None:
                if v < 0:
                    raise ValueError(f"sequence_mask: `maxlen` must be >= 0, got {v}")
                row = core_ops.constant(np.arange(v, dtype=m.dtype.as_numpy_dtype), name="range")
            else:
                row = array_ops.range(convert_to_tensor(0, dtype=m.dtype), m, convert_to_tensor(1, dtype=m.dtype))
        col = core_ops.cast(array_ops.expand_dims(lengths, -1), m.dtype)
        result = math_ops.less(row, col)
        return result if dt == _dtypes.bool else core_ops.cast(result, dt)


def _static_axis(axis: Any, what: str) -> int:
    v = _const(axis)
    if v is None or np.ndim(v) != 0 or not np.issubdtype(np.asarray(v).dtype, np.integer):
        raise TypeError(f"{what} must be a Python int or a constant integer scalar (nestor needs it when the "
                        f"graph is built), got {axis!r}")
    return int(v)


def boolean_mask(tensor: Any, mask: Any, axis: Any = None, name: Optional[str] = "boolean_mask") -> Tensor:
    """The elements (or slices) of `tensor` where `mask` is true (`tf.boolean_mask`).

    With a k-dimensional `mask`, dimensions `[axis, axis + k)` of `tensor` (which must match
    `mask.shape`) are flattened into one, and the entries whose mask is true are kept, in
    row-major order: the result has shape `tensor.shape[:axis] + [N] + tensor.shape[axis+k:]`
    where N is the number of true entries (known only at run time). A numeric mask selects
    its nonzero entries. The gradient flows back to the kept entries of `tensor`.

    TensorFlow 1's positional order `boolean_mask(tensor, mask, name, axis)` also works: a
    string in the `axis` position is taken as the name.

    Args:
      tensor: N-D tensor.
      mask: K-D bool tensor, K <= N, of statically known rank.
      axis: the first dimension of `tensor` that `mask` covers; default 0. A negative axis
        counts from the end of `tensor`'s (then statically known) rank; TensorFlow 2.15
        rejects negative axes with a shape error.
      name: a name scope for the operations (optional).

    Returns:
      A tensor of `tensor`'s dtype holding the selected entries.

    Raises:
      ValueError: `mask` is a scalar or of unknown rank; `mask` does not fit in `tensor`'s
        dimensions at `axis`; their shapes are incompatible.
      TypeError: `axis` is not a Python int or a constant integer.
    """
    if isinstance(axis, str):  # TF1's positional order: (tensor, mask, name, axis)
        axis, name = (None if name is None or isinstance(name, str) else name), axis
    with name_scope(name, "boolean_mask"):
        t = convert_to_tensor(tensor, name="tensor")
        m = convert_to_tensor(mask, name="mask")
        k = m.shape.rank
        if k == 0:
            raise ValueError("mask cannot be scalar.")
        if k is None:
            raise ValueError("Number of mask dimensions must be specified, even if some dimensions are None.  "
                             "E.g. shape=[None] is ok, but shape=None is not.")
        ax = 0 if axis is None else _static_axis(axis, "boolean_mask: axis")
        r = t.shape.rank
        if ax < 0:
            if r is None:
                raise ValueError(f"boolean_mask: a negative axis ({ax}) needs a tensor of known rank, got "
                                 f"{t.name} of unknown rank")
            ax += r
        if r is not None:
            if ax < 0 or ax + k > r:
                raise ValueError(f"boolean_mask: a mask of rank {k} at axis {ax if axis is None else axis} must cover "
                                 f"dimensions [axis, axis + {k}) of `tensor`, which has shape {t.shape} (rank {r})")
            covered = t.shape.as_list()[ax:ax + k]
            if not m.shape.is_compatible_with(covered):
                raise ValueError(f"Shapes {tuple(covered)} and {m.shape} are incompatible: boolean_mask's `mask` "
                                 f"(shape {m.shape}) must match dimensions [{ax}, {ax + k}) of `tensor` "
                                 f"(shape {t.shape})")
        if k > 1:
            t = core_ops.reshape(t, _merged_shape(t, ax, k))
        flat_mask = core_ops.reshape(m, [-1]) if k > 1 else m
        idx = core_ops.reshape(math_ops.where_v2(flat_mask), [-1])
        return gather(t, idx, axis=ax)


def _merged_shape(t: Tensor, ax: int, k: int) -> Any:
    """The shape of `t` with dimensions [ax, ax + k) merged into one: a list when static
    enough, else a shape tensor."""
    dims = t.shape.as_list() if t.shape.rank is not None else None
    if dims is not None:
        covered = dims[ax:ax + k]
        middle = int(np.prod(covered)) if None not in covered else None
        new = dims[:ax] + [middle] + dims[ax + k:]
        unknown = sum(d is None for d in new)
        if unknown == 0 or (unknown == 1 and 0 not in new):
            return [-1 if d is None else d for d in new]
    s = core_ops.shape(t)
    if ax + k == 0 or t.shape.rank is None:
        raise ValueError(f"boolean_mask: a mask of rank {k} needs `tensor` of known rank, got {t.name}")
    middle_t = reduction_ops.reduce_prod(s[ax:ax + k], keepdims=True)
    return array_ops.concat([s[:ax], middle_t, s[ax + k:]], 0)


def _num_value(num: Any) -> Any:
    """`num` as a Python int when known at graph-building time, else an integer Tensor."""
    if isinstance(num, (bool, np.bool_)):
        raise TypeError(f"Argument `tensor` (name: num) must be of type integer. Received `tensor` = {num!r}")
    v = _const(num)
    if v is not None:
        a = np.asarray(v)
        if a.ndim != 0 or a.dtype.kind not in "iu":
            raise TypeError(f"Argument `tensor` (name: num) must be of type integer. Received `tensor` = {num!r} "
                            f"of dtype {a.dtype} and shape {a.shape}")
        if int(a) < 0:
            raise ValueError(f"linspace: `num` must be >= 0, got {int(a)}")
        return int(a)
    t = convert_to_tensor(num, name="num")
    if not t.dtype.is_integer:
        raise TypeError(f"Argument `tensor` (name: num) must be of type integer. Received `tensor` = {t.name} of "
                        f"dtype {t.dtype.name}")
    if t.shape.rank not in (None, 0):
        raise ValueError(f"linspace: `num` must be a scalar, got shape {t.shape}")
    return t


def linspace(start: Any, stop: Any, num: Any, name: Optional[str] = None, axis: int = 0) -> Tensor:
    """`num` evenly spaced values from `start` to `stop`, both included (`tf.linspace`).

    Element k is `start + k * (stop - start) / (num - 1)` for 0 < k < num - 1, computed as
    TensorFlow does (so float32 results match it bit for bit), and the two ends are exactly
    `start` and `stop`; num = 1 gives `[start]`, num = 0 an empty tensor. `start` and `stop` may
    be tensors: they broadcast together, and the values run along the new dimension `axis`.

    Args:
      start: the first value: a float or integer tensor (integers give float64 results).
      stop: the last value; converted to `start`'s dtype.
      num: the number of values, a non-negative integer (Python int or int32/int64 tensor).
      name: a name scope for the operations (optional).
      axis: where the new dimension goes in the result (negative counts from the end).

    Returns:
      A tensor of shape `broadcast(start, stop).shape` with a dimension of size `num` inserted at
      `axis`.

    Raises:
      TypeError: `num` is not an integer; `axis` is not an int.
      ValueError: `num` is a negative constant (a negative `num` tensor fails at run time);
        `axis` is out of range; `start` or `stop` has unknown rank.
    """
    with name_scope(name, "linspace"):
        start = convert_to_tensor(start, name="start")
        stop = convert_to_tensor(stop, name="stop", dtype=start.dtype)
        n = _num_value(num)
        if start.shape.rank is None or stop.shape.rank is None:
            raise ValueError(f"linspace: start and stop need known ranks, got shapes {start.shape} and {stop.shape}")
        if start.shape != stop.shape or not start.shape.is_fully_defined():
            both = core_ops.shape(math_ops.add(start, stop))
            start, stop = array_ops.broadcast_to(start, both), array_ops.broadcast_to(stop, both)
        rank = start.shape.rank + 1
        if not isinstance(axis, (numbers.Integral, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"linspace: axis must be an int, got {axis!r}")
        ax = int(axis) + rank if axis < 0 else int(axis)
        if not 0 <= ax < rank:
            raise ValueError(f"linspace: axis {axis} is out of range for a result of rank {rank} "
                             f"(start/stop shape {start.shape})")
        lo, hi = array_ops.expand_dims(start, ax), array_ops.expand_dims(stop, ax)
        ones = [1] * rank
        deps: List[Any] = []
        if isinstance(n, int):
            steps: Any = max(n - 1, 1)
            delta = math_ops.divide(math_ops.subtract(hi, lo), steps)
            ks: Any = np.arange(1, max(n - 1, 1), dtype=delta.dtype.as_numpy_dtype).reshape(
                ones[:ax] + [-1] + ones[ax + 1:])
        else:
            deps.append(Assert(math_ops.greater_equal(n, convert_to_tensor(0, dtype=n.dtype)),
                               ["linspace: num must be >= 0, got", n]))
            one = convert_to_tensor(1, dtype=n.dtype)
            steps_i = math_ops.maximum(math_ops.subtract(n, one), one)
            diff = math_ops.subtract(hi, lo)
            delta = math_ops.divide(diff, core_ops.cast(steps_i, diff.dtype))
            ks = core_ops.reshape(core_ops.cast(array_ops.range(one, steps_i),
                                                delta.dtype), ones[:ax] + [-1] + ones[ax + 1:])
        lo, hi = core_ops.cast(lo, delta.dtype), core_ops.cast(hi, delta.dtype)
        inner = math_ops.add(lo, math_ops.multiply(delta, ks))
        out = array_ops.concat([lo, inner, hi], ax)
        if isinstance(n, int):
            if n >= 2:
                return out
            size: Any = [-1] * rank
            size[ax] = n
            return array_ops.slice(out, [0] * rank, size)
        with control_dependencies(deps):
            return out[(slice(None),) * ax + (slice(None, n),)]


lin_space = linspace
