"""`tf.cond` and `tf.case` on a runtime without control flow.

nestor's graphs have no Switch/Merge: with a Python-bool or constant predicate only the chosen
branch function is called (TensorFlow's smart_cond); with a run-time predicate both branch
functions are called, both subgraphs run, and `tf.where` selects their outputs.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import (Operation, Tensor, control_dependencies, convert_to_tensor, get_default_graph,
                               name_scope)
from . import array_ops, core_ops, math_ops, reduction_ops
from .check_ops import Assert, assert_equal

__all__ = ["cond", "case"]
__nn__: list = []


class CondStructureError(TypeError, ValueError):
    """The branches of `cond` return different structures or dtypes. TensorFlow 1 raises
    ValueError and TensorFlow 2 TypeError here; this is both."""


def _is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor) or (hasattr(x, "_as_graph_element") and not isinstance(x, Operation))


def _static_pred(pred: Any, what: str = "pred") -> Optional[bool]:
    """The value of a Python / numpy bool or of a constant bool scalar tensor; None for a
    run-time tensor."""
    if isinstance(pred, (bool, np.bool_)):
        return bool(pred)
    if isinstance(pred, np.ndarray) or _is_tensor(pred):
        t = convert_to_tensor(pred)
        if t.dtype != _dtypes.bool:
            raise TypeError(f"{what} must be a bool scalar Tensor or a Python bool, got a {t.dtype.name} tensor "
                            f"({t.name})")
        if t.shape.rank is not None and t.shape.rank != 0:
            raise ValueError(f"{what} must be a scalar (rank 0), got shape {t.shape} ({t.name}); "
                             f"to select elementwise use tf.where")
        if t.op.type == "const":
            return bool(np.asarray(t.op.get_attr("value")).reshape(()))
        return None
    raise TypeError(f"{what} must be a bool scalar Tensor or a Python bool, got {pred!r} of type "
                    f"{type(pred).__name__}")


def _is_seq(x: Any) -> bool:
    return isinstance(x, (list, tuple, dict))


def _keys(x: Any) -> List[Any]:
    return sorted(x) if isinstance(x, dict) else list(range(len(x)))


def _flatten(x: Any, path: str = "output") -> List[Tuple[str, Any]]:
    """(path, leaf) pairs in tf.nest order: sequences in order, dicts by sorted key."""
    if not _is_seq(x):
        return [(path, x)]
    return [item for k in _keys(x) for item in _flatten(x[k], f"{path}[{k!r}]")]


def _pack(structure: Any, leaves: Any) -> Any:
    """Rebuilds `structure` (lists, tuples, namedtuples, dicts) with leaves from an iterator."""
    if not _is_seq(structure):
        return next(leaves)
    if isinstance(structure, dict):
        vals = {k: _pack(structure[k], leaves) for k in sorted(structure)}
        return type(structure)((k, vals[k]) for k in structure)
    items = [_pack(v, leaves) for v in structure]
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        return type(structure)(*items)
    return type(structure)(items)


def _describe(x: Any) -> str:
    if isinstance(x, dict):
        return f"{type(x).__name__} with keys {sorted(x, key=repr)}"
    if _is_seq(x):
        return f"{type(x).__name__} of {len(x)} elements"
    return f"{type(x).__name__}"


def _structure_difference(a: Any, b: Any, path: str = "") -> Optional[str]:
    """Where and how two structures differ (as tf.nest.assert_same_structure), or None."""
    here = path or "the top level"
    if _is_seq(a) != _is_seq(b) or (_is_seq(a) and type(a) is not type(b)):
        return f"at {here}: {_describe(a)} vs {_describe(b)}"
    if not _is_seq(a):
        return None
    if isinstance(a, dict) and set(a) != set(b):
        return f"at {here}: the dictionaries have different keys: {sorted(a, key=repr)} vs {sorted(b, key=repr)}"
    if len(a) != len(b):
        return f"at {here}: {_describe(a)} vs {_describe(b)}"
    for k in _keys(a):
        d = _structure_difference(a[k], b[k], f"{path}[{k!r}]")
        if d:
            return d
    return None


def _structure_error(res_t: Any, res_f: Any, detail: str) -> CondStructureError:
    return CondStructureError(
        "true_fn and false_fn arguments to tf.cond must have the same number, type, and overall structure of "
        f"return values.\n\ntrue_fn output: {res_t!r}\nfalse_fn output: {res_f!r}\n\nError details:\n{detail}")


_STATE_UPDATES = ("assign", "assign_add", "assign_sub")


def _reject_state_updates(start: int) -> None:
    """Raises if the branch functions created an op that writes a variable (other than the
    initializer of a variable they created)."""
    g = get_default_graph()
    for i in range(start, g._native.num_nodes()):
        op = Operation(g, i)
        t = op.type
        if t in _STATE_UPDATES or t.startswith("apply_") or t.startswith("sparse_apply_"):
            if t == "assign" and op.inputs and op.inputs[0]._node >= start:
                continue  # the initializer of a variable created in a branch
            raise ValueError(
                f"cond: branch op '{op.name}' ({t}) writes a variable. nestor has no control flow: with a "
                "run-time `pred` both branches run, so the write would happen whichever branch is selected. "
                "Make the update unconditional with a selected value, e.g. "
                "v.assign(tf.where(pred, new_value, v)), or make `pred` a Python bool.")


def _unpack(res: Any) -> Any:
    return res[0] if isinstance(res, (list, tuple)) and len(res) == 1 else res


def _convert_pair(a: Any, b: Any) -> Tuple[Tensor, Tensor]:
    """Both branch outputs as tensors; a Python value takes the dtype of a tensor on the other side."""
    if _is_tensor(a) or not _is_tensor(b):
        ta = convert_to_tensor(a)
        tb = convert_to_tensor(b, dtype_hint=ta.dtype) if _is_tensor(a) else convert_to_tensor(b)
    else:
        tb = convert_to_tensor(b)
        ta = convert_to_tensor(a, dtype_hint=tb.dtype)
    return ta, tb


def _select(p: Tensor, path: str, a: Any, b: Any, res_t: Any, res_f: Any) -> Any:
    if a is None or b is None:
        raise ValueError(f"cond: {path} of 'true_fn' and 'false_fn' must both be values; got None from "
                         f"{'true_fn' if a is None else 'false_fn'}")
    if isinstance(a, Operation) or isinstance(b, Operation):
        if isinstance(a, Operation) and isinstance(b, Operation):
            return core_ops.group(a, b)
        raise _structure_error(res_t, res_f, f"at {path}: an Operation from one branch and a value from the other")
    ta, tb = _convert_pair(a, b)
    if ta.dtype != tb.dtype:
        raise _structure_error(res_t, res_f, f"Outputs of 'true_fn' and 'false_fn' must have the same type(s). "
                                             f"Received {ta.dtype.name} from 'true_fn' and {tb.dtype.name} from "
                                             f"'false_fn' (at {path}).")
    if not ta.shape.is_compatible_with(tb.shape):
        raise ValueError(f"cond: {path} has shape {ta.shape} from 'true_fn' but {tb.shape} from 'false_fn'. With a "
                         "run-time pred nestor selects between the two outputs elementwise, so their shapes must be "
                         "equal (TensorFlow allows differing shapes here)")
    if ta.shape.is_fully_defined() and tb.shape.is_fully_defined():
        return math_ops.where_v2(p, ta, tb)
    msg = f"cond: {path} of 'true_fn' and 'false_fn' must have the same shape"
    checks = [assert_equal(core_ops.rank(ta), core_ops.rank(tb), message=msg)]
    with control_dependencies(checks):
        checks.append(assert_equal(core_ops.shape(ta), core_ops.shape(tb), message=msg))
    with control_dependencies(checks):
        return math_ops.where_v2(p, ta, tb)


def cond(pred: Any, true_fn: Optional[Callable[[], Any]] = None, false_fn: Optional[Callable[[], Any]] = None,
         strict: bool = False, name: Optional[str] = None, fn1: Optional[Callable[[], Any]] = None,
         fn2: Optional[Callable[[], Any]] = None) -> Any:
    """`true_fn()` if `pred` is true, else `false_fn()` (`tf.cond`; TensorFlow 1's signature).

    **Both branches run for a run-time `pred`.** nestor has no control flow ops. If `pred` is a
    Python bool or a constant (e.g. `tf.constant(True)`), only the chosen function is called
    and its result returned as is, like TensorFlow's smart_cond (TensorFlow's graph-mode
    `tf.cond` rejects a Python bool; nestor accepts it). Otherwise both functions are called,
    both subgraphs are computed at every run, and each output is `tf.where(pred, t, f)`.
    Consequences:

    - Everything the unselected branch computes is computed too: its cost, its random draws,
      and its `tf.Assert`s and other checks, which can fail although its value is discarded.
    - A branch that writes a variable (assign, optimizer updates) is rejected with a
      ValueError: the write would happen whichever branch is selected.
    - Gradients: `where` gives the unselected output exactly zero gradient, so its NaN / inf
      values never reach the result or its gradient directly. But a zero gradient flowing back
      through an op whose local derivative is inf or NaN at the unselected branch's inputs
      gives NaN (0 * inf), e.g. `tf.cond(x > 0, lambda: tf.sqrt(x), lambda: 0 * x)` at x < 0.
      Guard the input instead: `tf.sqrt(tf.where(x > 0, x, tf.ones_like(x)))`.
    - Output shapes must be equal (checked when the graph is built, and at run time where
      not statically known); TensorFlow allows differing shapes.

    Both branches must return the same nested structure (lists, tuples, namedtuples, dicts)
    of tensors (or values convertible to tensors) of matching dtypes. Unless `strict`, a
    single-element list or tuple is unpacked to its element, as in TensorFlow 1 (TensorFlow
    2's `tf.cond` is strict).

    Args:
      pred: a bool scalar: a Python bool, a constant, or a tensor computed at run time.
      true_fn: the function called for a true `pred`.
      false_fn: the function called for a false `pred`.
      strict: disables the unpacking of single-element lists/tuples. A string here is taken
        as `name` (TensorFlow 2's positional order `cond(pred, true_fn, false_fn, name)`).
      name: a name scope for the operations (optional).
      fn1: TensorFlow 1's deprecated name of `true_fn`.
      fn2: TensorFlow 1's deprecated name of `false_fn`.

    Returns:
      The selected branch's result, with the structure the branches return.

    Raises:
      TypeError: a branch function is missing or not callable; `pred` is not bool.
      ValueError: `pred` is not a scalar; a branch returns None or nothing, writes a variable,
        or returns a differently shaped output.
      CondStructureError (a TypeError and a ValueError): the branches' structures or dtypes
        differ.
    """
    if isinstance(strict, str) and name is None:
        name, strict = strict, False
    if fn1 is not None:
        if true_fn is not None:
            raise TypeError("cond(): 'true_fn' and 'fn1' may not be set simultaneously.")
        true_fn = fn1
    elif true_fn is None:
        raise TypeError("cond(): 'true_fn' argument required")
    if fn2 is not None:
        if false_fn is not None:
            raise TypeError("cond(): 'false_fn' and 'fn2' may not be set simultaneously.")
        false_fn = fn2
    elif false_fn is None:
        raise TypeError("cond(): 'false_fn' argument required")
    if not callable(true_fn):
        raise TypeError("'true_fn' must be callable.")
    if not callable(false_fn):
        raise TypeError("'false_fn' must be callable.")
    value = _static_pred(pred)
    if value is not None:
        with name_scope(name, "cond"):
            res = true_fn() if value else false_fn()
        return res if strict else _unpack(res)
    with name_scope(name, "cond"):
        p = convert_to_tensor(pred)
        if p.shape.rank is None:
            p = core_ops.reshape(p, [], name="pred_scalar")
        start = get_default_graph()._native.num_nodes()
        res_t = true_fn()
        res_f = false_fn()
        _reject_state_updates(start)
        for what, res in (("true_fn", res_t), ("false_fn", res_f)):
            if res is None:
                raise ValueError(f"'{what}' must have a return value.")
        if not strict:
            res_t, res_f = _unpack(res_t), _unpack(res_f)
        detail = _structure_difference(res_t, res_f)
        if detail:
            raise _structure_error(res_t, res_f, "The two structures don't have the same nested structure: " + detail)
        if _is_seq(res_t) and not res_t:
            raise ValueError("'true_fn' and 'false_fn' must return at least one result.")
        flat = [_select(p, path, a, b, res_t, res_f)
                for (path, a), (_, b) in zip(_flatten(res_t), _flatten(res_f))]
        return _pack(res_t, iter(flat))


def _with_dependencies(result: Any, deps: List[Any]) -> Any:
    """`result` with each leaf made to run after `deps`."""
    def leaf(x: Any) -> Any:
        if isinstance(x, Operation):
            return core_ops.group(x, *deps)
        with control_dependencies(deps):
            return core_ops.identity(convert_to_tensor(x))
    return _pack(result, iter([leaf(x) for _, x in _flatten(result)]))


def _pred_tensor(p: Any) -> Tensor:
    return core_ops.reshape(convert_to_tensor(p, dtype=_dtypes.bool), [])


def case(pred_fn_pairs: Any, default: Optional[Callable[[], Any]] = None, exclusive: bool = False,
         strict: bool = False, name: str = "case") -> Any:
    """The result of the function paired with the first true predicate (`tf.case`).

    Built as nested `cond`s: `cond(p0, f0, lambda: cond(p1, f1, ... default))`, so `cond`'s
    behaviour applies: with constant predicates only the needed functions are called; with
    run-time predicates every function is called and runs (see `cond`).

    Args:
      pred_fn_pairs: a list (or tuple, or dict) of (bool scalar, callable) pairs. A dict is
        ordered by predicate name, as TensorFlow does in graph mode.
      default: called when no predicate is true. If None, the last pair's function is the
        default and, as in TensorFlow, it is an error (at run time) that no predicate is true.
      exclusive: also check (at run time, or when the graph is built for constants) that at
        most one predicate is true.
      strict: as in `cond`.
      name: a name scope for the operations.

    Returns:
      The selected function's result.

    Raises:
      TypeError: malformed `pred_fn_pairs` (TensorFlow's messages); nestor also accepts
        Python-bool predicates, which TensorFlow rejects.
      ValueError: constant predicates that break `exclusive`, or all false without a
        `default`; errors of `cond`.
      InvalidArgumentError: at run time, the same for run-time predicates.
    """
    if not isinstance(pred_fn_pairs, (list, tuple, dict)):
        raise TypeError(f"'pred_fn_pairs' must be a list, tuple, or dict. Received: {type(pred_fn_pairs)}")
    if isinstance(pred_fn_pairs, dict):
        pairs = list(pred_fn_pairs.items())
        if type(pred_fn_pairs) is dict:
            pairs.sort(key=lambda item: getattr(item[0], "name", ""))
    else:
        pairs = list(pred_fn_pairs)
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"Each entry in 'pred_fn_pairs' must be a 2-tuple. Received {pair}.")
        pred, fn = pair
        if _is_tensor(pred) and convert_to_tensor(pred).dtype != _dtypes.bool:
            raise TypeError(f"pred must be Tensor of type bool: {convert_to_tensor(pred).name}")
        if not callable(fn):
            raise TypeError(f"fn for pred {getattr(pred, 'name', pred)} must be callable.")
    if not pairs:
        raise ValueError("case: 'pred_fn_pairs' must hold at least one (pred, fn) pair")
    with name_scope(name, "case"):
        preds = [p for p, _ in pairs]
        fns = [f for _, f in pairs]
        statics = [_static_pred(p, "case: pred") for p in preds]
        run_time = any(s is None for s in statics)
        checks: List[Any] = []
        if exclusive:
            if not run_time and sum(statics) > 1:
                raise ValueError(f"Input error: exclusive=True: more than 1 conditions ({statics}) evaluated as True")
            if run_time:
                stacked = array_ops.stack([_pred_tensor(p) for p in preds], name="preds_c")
                count = reduction_ops.reduce_sum(core_ops.cast(stacked, _dtypes.int32))
                checks.append(Assert(math_ops.less_equal(count, 1),
                                     ["Input error: exclusive=True: more than 1 conditions evaluated as True:",
                                      stacked], summarize=len(preds)))
        if default is None:
            if not run_time and not any(statics):
                raise ValueError("Input error: None of conditions evaluated as True (and no default was given)")
            if run_time:
                stacked = array_ops.stack([_pred_tensor(p) for p in preds], name="preds_c")
                checks.append(Assert(reduction_ops.reduce_any(stacked),
                                     ["Input error: None of conditions evaluated as True:", stacked],
                                     summarize=len(preds)))
            default = fns[-1]
            preds, fns = preds[:-1], fns[:-1]
        fn: Callable[[], Any] = default
        for p, f in reversed(list(zip(preds, fns))):
            fn = functools.partial(cond, p, f, fn, strict=strict)
        result = fn()
        return _with_dependencies(result, checks) if checks else result
