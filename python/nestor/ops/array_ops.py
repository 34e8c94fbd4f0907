"""Array manipulation: concat/split, slicing (`tensor[...]`), transpose, stack, pad, tile, ..."""
from __future__ import annotations

import builtins
import numbers
from typing import Any, List, Optional, Sequence

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, TensorShape, convert_to_tensor, create_op

__all__ = ["concat", "split", "slice", "strided_slice", "transpose", "stack", "unstack", "expand_dims",
           "squeeze", "tile", "pad", "one_hot", "fill", "zeros", "ones", "range", "broadcast_to", "reverse",
           "reverse_v2", "invert_permutation"]
__nn__: list = []


def _is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor) or hasattr(x, "_as_graph_element")


def _const_value(x: Any) -> Any:
    """The value of a Python number / sequence, or of a `const` tensor; None otherwise."""
    if _is_tensor(x):
        t = convert_to_tensor(x)
        return np.asarray(t.op.get_attr("value")) if t.op.type == "const" else None
    return x


def _int_attr(x: Any, what: str) -> int:
    v = _const_value(x)
    if v is None or np.ndim(v) != 0 or not np.issubdtype(np.asarray(v).dtype, np.integer):
        raise TypeError(f"{what} must be a Python int or a constant integer scalar, got {x!r}")
    return int(v)


def _int_list_attr(x: Any, what: str) -> List[int]:
    v = _const_value(x)
    if v is None:
        raise TypeError(f"{what} must be a Python int, a list of ints or a constant tensor, got {x!r}")
    arr = np.asarray(v)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{what} must hold integers, got {x!r}")
    return [int(a) for a in arr.reshape(-1)]


def _shape_tensor(shape: Any) -> Tensor:
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    if _is_tensor(shape):
        return convert_to_tensor(shape)
    if isinstance(shape, (list, tuple)) and not any(_is_tensor(d) for d in shape):
        shape = [int(d) for d in shape]
    return convert_to_tensor(shape, dtype_hint=_dtypes.int32)


def _convert_all(values: Sequence[Any]) -> List[Tensor]:
    hint = next((convert_to_tensor(v).dtype for v in values if _is_tensor(v)), None)
    return [convert_to_tensor(v, dtype_hint=hint) for v in values]


def concat(values: Sequence[Any], axis: Any, name: str = "concat") -> Tensor:
    """Concatenates tensors along dimension `axis` (`tf.concat`)."""
    if not isinstance(values, (list, tuple)):
        values = [values]
    ts = _convert_all(values)
    if len(ts) == 1:
        from .core_ops import identity
        return identity(ts[0], name=name)
    return create_op("concat", ts, {"axis": _int_attr(axis, "axis")}, name=name)


def split(value: Any, num_or_size_splits: Any, axis: Any = 0, num: Optional[int] = None,
          name: str = "split") -> List[Tensor]:
    """Splits `value` along `axis` into `num_or_size_splits` equal pieces, or pieces of the
    given sizes (one may be -1) (`tf.split`)."""
    attrs: dict = {"axis": _int_attr(axis, "axis")}
    v = _const_value(num_or_size_splits)
    if v is not None and np.ndim(v) == 0:
        attrs["num_split"] = int(v)
    else:
        attrs["size_splits"] = _int_list_attr(num_or_size_splits, "num_or_size_splits")
    out = create_op("split", [value], attrs, name=name)
    return out if isinstance(out, list) else [out]


def slice(input_: Any, begin: Any, size: Any, name: Optional[str] = None) -> Tensor:  # noqa: A001
    """`size[i]` elements of `input_` from `begin[i]` in each dimension; -1 = to the end (`tf.slice`)."""
    return create_op("slice", [input_, _shape_tensor(begin), _shape_tensor(size)], name=name or "Slice")


def strided_slice(input_: Any, begin: Any, end: Any, strides: Any = None, begin_mask: int = 0, end_mask: int = 0,
                  ellipsis_mask: int = 0, new_axis_mask: int = 0, shrink_axis_mask: int = 0, var: Any = None,
                  name: Optional[str] = None) -> Tensor:
    """Numpy-style strided slicing with TensorFlow's mask semantics (`tf.strided_slice`)."""
    b = _shape_tensor(begin)
    e = _shape_tensor(end)
    if strides is None:
        from .core_ops import ones_like
        s = ones_like(b)
    else:
        s = _shape_tensor(strides)
    attrs = {"begin_mask": int(begin_mask), "end_mask": int(end_mask), "ellipsis_mask": int(ellipsis_mask),
             "new_axis_mask": int(new_axis_mask), "shrink_axis_mask": int(shrink_axis_mask)}
    return create_op("strided_slice", [input_, b, e, s], attrs, name=name or "StridedSlice")


def _pack_indices(xs: List[Any]) -> Tensor:
    if not any(_is_tensor(x) for x in xs):
        big = any(abs(int(x)) >= 2**31 for x in xs)
        return convert_to_tensor(np.array(xs, dtype=np.int64 if big else np.int32))
    ts = [convert_to_tensor(x, dtype_hint=_dtypes.int32) for x in xs]
    dt = _dtypes.int64 if any(t.dtype == _dtypes.int64 for t in ts) else _dtypes.int32
    from .core_ops import cast
    return stack([cast(t, dt) for t in ts])


def _index_ok(x: Any) -> bool:
    if _is_tensor(x):
        t = convert_to_tensor(x)
        return t.dtype.is_integer and t.shape.rank in (0, None)
    return isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, (bool, np.bool_))


def _slice_helper(tensor: Any, slice_spec: Any, var: Any = None) -> Tensor:
    """`tensor[slice_spec]`: ints, slices (with steps), `...`, `tf.newaxis` and scalar int tensors."""
    if not isinstance(slice_spec, (list, tuple)):
        slice_spec = [slice_spec]
    begin: List[Any] = []
    end: List[Any] = []
    strides: List[Any] = []
    masks = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}
    bad = TypeError(f"Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar int32/int64 "
                    f"tensors are valid indices, got {slice_spec!r}")
    for i, s in enumerate(slice_spec):
        if isinstance(s, builtins.slice):
            for part, lst, mask in ((s.start, begin, "begin_mask"), (s.stop, end, "end_mask")):
                if part is None:
                    lst.append(0)
                    masks[mask] |= 1 << i
                elif _index_ok(part):
                    lst.append(part)
                else:
                    raise bad
            if s.step is not None and not _index_ok(s.step):
                raise bad
            strides.append(1 if s.step is None else s.step)
        elif s is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask"] |= 1 << i
        elif s is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["new_axis_mask"] |= 1 << i
        elif _index_ok(s):
            begin.append(s)
            if _is_tensor(s):
                from .math_ops import add
                t = convert_to_tensor(s)
                end.append(add(t, convert_to_tensor(1, dtype=t.dtype)))
            else:
                end.append(int(s) + 1)
            strides.append(1)
            masks["shrink_axis_mask"] |= 1 << i
        else:
            raise bad
    t = convert_to_tensor(tensor)
    b, e, st = _pack_indices(begin), _pack_indices(end), _pack_indices(strides)
    return strided_slice(t, b, e, st, name="strided_slice", **masks)


Tensor.__getitem__ = _slice_helper  # type: ignore[assignment]


def transpose(a: Any, perm: Any = None, name: str = "transpose", conjugate: bool = False) -> Tensor:
    """Permutes the dimensions of `a`: output dim i is input dim perm[i]; perm=None reverses them."""
    t = convert_to_tensor(a)
    if perm is None:
        r = t.shape.rank
        if r is not None:
            perm = list(builtins.range(r - 1, -1, -1))
        else:
            from .core_ops import rank
            rk = rank(t)
            perm = range(rk - 1, -1, -1)
    return create_op("transpose", [t, _shape_tensor(perm)], name=name)


def invert_permutation(x: Any, name: Optional[str] = None) -> Tensor:
    """y[x[i]] = i (`tf.math.invert_permutation`)."""
    return create_op("invert_permutation", [_shape_tensor(x)], name=name or "InvertPermutation")


def stack(values: Sequence[Any], axis: int = 0, name: str = "stack") -> Tensor:
    """Stacks tensors of equal shape along a new dimension `axis` (`tf.stack`)."""
    ts = _convert_all(list(values))
    return create_op("stack", ts, {"axis": int(axis)}, name=name)


def unstack(value: Any, num: Optional[int] = None, axis: int = 0, name: str = "unstack") -> List[Tensor]:
    """Splits `value` along `axis` into `num` tensors of one rank less (`tf.unstack`)."""
    t = convert_to_tensor(value)
    if num is None:
        s = t.shape
        if s.rank is None:
            raise ValueError(f"Cannot infer num from shape {s}")
        d = s.as_list()[axis]
        if d is None:
            raise ValueError(f"Cannot infer num from shape {s}")
        num = d
    out = create_op("unstack", [t], {"axis": int(axis), "num": int(num)}, name=name)
    if num == 0:
        return []
    return out if isinstance(out, list) else [out]


def expand_dims(input: Any, axis: Any = None, name: Optional[str] = None, dim: Any = None) -> Tensor:  # noqa: A002
    """Inserts a dimension of size 1 at `axis` (`tf.expand_dims`)."""
    if axis is None:
        axis = dim
    elif dim is not None:
        raise ValueError("Cannot specify both 'axis' and 'dim'")
    if axis is None:
        raise ValueError("Must specify an axis argument to tf.expand_dims()")
    return create_op("expand_dims", [input], {"axis": _int_attr(axis, "axis")}, name=name or "ExpandDims")


def squeeze(input: Any, axis: Any = None, name: Optional[str] = None, squeeze_dims: Any = None) -> Tensor:  # noqa: A002
    """Removes dimensions of size 1 (those listed in `axis`, or all of them) (`tf.squeeze`)."""
    if squeeze_dims is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'squeeze_dims' and 'axis'")
        axis = squeeze_dims
    if isinstance(axis, (numbers.Integral, np.integer)):
        axis = [axis]
    attrs = {"axis": [int(a) for a in axis]} if axis else {}
    return create_op("squeeze", [input], attrs, name=name or "Squeeze")


def tile(input: Any, multiples: Any, name: Optional[str] = None) -> Tensor:  # noqa: A002
    """Repeats `input` multiples[i] times along dimension i (`tf.tile`)."""
    return create_op("tile", [input, _shape_tensor(multiples)], name=name or "Tile")


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", name: Optional[str] = None,
        constant_values: Any = 0) -> Tensor:
    """Pads `tensor` with paddings[i] = [before, after] elements in dimension i; mode is
    CONSTANT (with `constant_values`), REFLECT or SYMMETRIC (`tf.pad`)."""
    t = convert_to_tensor(tensor)
    p = paddings if _is_tensor(paddings) else convert_to_tensor(np.asarray(paddings), dtype_hint=_dtypes.int32)
    if _is_tensor(constant_values):
        c = convert_to_tensor(constant_values)
    elif t.dtype == _dtypes.string and isinstance(constant_values, numbers.Number) and constant_values == 0:
        c = convert_to_tensor("", dtype=_dtypes.string)
    else:
        c = convert_to_tensor(constant_values, dtype=t.dtype)
    return create_op("pad", [t, p, c], {"mode": str(mode).upper()}, name=name or "Pad")


def one_hot(indices: Any, depth: Any, on_value: Any = None, off_value: Any = None, axis: Optional[int] = None,
            dtype: Any = None, name: Optional[str] = None) -> Tensor:
    """A tensor with `on_value` where indices[...] == j along the new dimension `axis` of size
    `depth` and `off_value` elsewhere; out-of-range indices give all-off rows (`tf.one_hot`)."""
    idx = convert_to_tensor(indices)
    dt = _dtypes.as_dtype(dtype) if dtype is not None else None
    on = None if on_value is None else convert_to_tensor(on_value, dtype=dt)
    off = None if off_value is None else convert_to_tensor(off_value, dtype=dt,
                                                           dtype_hint=on.dtype if on is not None else None)
    if dt is None:
        dt = on.dtype if on is not None else off.dtype if off is not None else _dtypes.float32
    on = convert_to_tensor(1, dtype=dt) if on is None else on
    off = convert_to_tensor(0, dtype=dt) if off is None else off
    if on.dtype != off.dtype:
        raise TypeError(f"on_value ({on.dtype.name}) and off_value ({off.dtype.name}) must have the same dtype")
    d = convert_to_tensor(depth, dtype_hint=_dtypes.int32)
    return create_op("one_hot", [idx, d, on, off], {"axis": -1 if axis is None else int(axis)},
                     name=name or "one_hot")


def fill(dims: Any, value: Any, name: Optional[str] = None) -> Tensor:
    """A tensor of shape `dims` filled with the scalar `value` (`tf.fill`)."""
    return create_op("fill", [_shape_tensor(dims), value], name=name or "Fill")


def _filled(shape: Any, dtype: Any, v: int, name: str) -> Tensor:
    dt = _dtypes.as_dtype(dtype)
    if dt == _dtypes.string:
        if v:
            raise TypeError("ones() is not defined for string tensors")
        val: Any = ""
    else:
        val = np.array(v).astype(dt.as_numpy_dtype)
    return fill(shape, convert_to_tensor(val, dtype=dt), name=name)


def zeros(shape: Any, dtype: Any = _dtypes.float32, name: Optional[str] = None) -> Tensor:
    """A tensor of `shape` with all elements 0 (`tf.zeros`)."""
    return _filled(shape, dtype, 0, name or "zeros")


def ones(shape: Any, dtype: Any = _dtypes.float32, name: Optional[str] = None) -> Tensor:
    """A tensor of `shape` with all elements 1 (`tf.ones`)."""
    return _filled(shape, dtype, 1, name or "ones")


_RANGE_ORDER = [_dtypes.int32, _dtypes.int64, _dtypes.float32, _dtypes.float64]


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str = "range") -> Tensor:  # noqa: A001
    """[start, start + delta, ...) up to but excluding `limit`; range(n) = [0, n) (`tf.range`)."""
    if limit is None:
        start, limit = 0, start
    vals = [start, limit, delta]
    if dtype is not None:
        dt = _dtypes.as_dtype(dtype)
        ts = [convert_to_tensor(v, dtype_hint=dt) for v in vals]
    else:
        ts = [convert_to_tensor(v) for v in vals]
        dt = max((t.dtype for t in ts), key=_RANGE_ORDER.index)
    from .core_ops import cast
    ts = [cast(t, dt) for t in ts]
    return create_op("range", ts, name=name)


def broadcast_to(input: Any, shape: Any, name: Optional[str] = None) -> Tensor:  # noqa: A002
    """Broadcasts `input` to `shape` with numpy rules (`tf.broadcast_to`)."""
    return create_op("broadcast_to", [input, _shape_tensor(shape)], name=name or "BroadcastTo")


def reverse(tensor: Any, axis: Any, name: Optional[str] = None) -> Tensor:
    """Reverses the dimensions listed in `axis` (`tf.reverse`)."""
    return create_op("reverse", [tensor], {"axis": _int_list_attr(axis, "axis")}, name=name or "ReverseV2")


reverse_v2 = reverse
