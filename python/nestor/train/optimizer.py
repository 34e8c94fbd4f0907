"""`Optimizer`: TF1's optimizer base class (`tf.compat.v1.train.Optimizer`).

Subclasses create their slot variables in `_create_slots`, convert hyperparameters in
`_prepare` and emit one fused update op per variable in `_apply_dense` / `_apply_sparse`.
Sparse gradients (`IndexedSlices`) go to the sparse ops, which sum duplicate indices
themselves (what TF1 does with `_deduplicate_indexed_slices`).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.gradients import gradients as _gradients
from ..framework.graph import GraphKeys, IndexedSlices, Operation, Tensor, convert_to_tensor
from ..framework.variables import Variable, trainable_variables
from . import training_ops

Grad = Union[Tensor, IndexedSlices, None]


def _var_key(var: Variable) -> Tuple[Any, str]:
    return (var.graph, var.op.name)


def _unique_root_name(g: _g.Graph, base: str) -> str:
    """`base`, or `base_1`, `base_2`, ... : the first name not yet used in `g` (as TF's
    variable_scope(None, default_name) does for slot names)."""
    name, i = base, 0
    while g._native.find(name) >= 0 or name in g._used_scopes:
        i += 1
        name = f"{base}_{i}"
    return name


def _create_variable(g: _g.Graph, base_name: str, initial_value: Any, dtype: _dtypes.DType) -> Variable:
    """A non-trainable global variable named exactly `base_name` (uniquified), created
    outside the current name scope and control dependencies (TF's init_scope)."""
    with g.as_default(), g.control_dependencies(None), g.name_scope(""):
        name = _unique_root_name(g, base_name)
        return Variable(initial_value, trainable=False, dtype=dtype, _full_name=name)


class Optimizer:
    """Base class for optimizers (TF1 API).

    Args:
      use_locking: accepted for compatibility; nestor's update ops always lock their variables.
      name: the optimizer's name: the name scope of its ops and the suffix of its slots.
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking: bool, name: str):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots: Dict[str, Dict[Tuple[Any, str], Variable]] = {}
        self._non_slot_dict: Dict[Tuple[str, Any], Variable] = {}
        self._hyper_cache: Dict[Tuple[str, str], Tensor] = {}

    def get_name(self) -> str:
        return self._name

    # ------------------------------------------------------------ public API
    def minimize(self, loss: Tensor, global_step: Optional[Variable] = None,
                 var_list: Optional[Sequence[Variable]] = None, gate_gradients: int = GATE_OP,
                 aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                 name: Optional[str] = None, grad_loss: Any = None) -> Operation:
        """Adds ops to minimize `loss` by updating `var_list`: `compute_gradients` then
        `apply_gradients`. Returns the training op (it also increments `global_step`)."""
        grads_and_vars = self.compute_gradients(
            loss, var_list=var_list, gate_gradients=gate_gradients, aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
        vars_with_grad = [v for g, v in grads_and_vars if g is not None]
        if not vars_with_grad:
            raise ValueError(f"No gradients provided for any variable, check your graph for ops that do not "
                             f"support gradients, between variables {[str(v) for _, v in grads_and_vars]} "
                             f"and loss {loss}.")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss: Tensor, var_list: Optional[Sequence[Variable]] = None,
                          gate_gradients: int = GATE_OP, aggregation_method: Any = None,
                          colocate_gradients_with_ops: bool = False,
                          grad_loss: Any = None) -> List[Tuple[Grad, Variable]]:
        """Gradients of `loss` for the variables in `var_list` (default: trainable variables).

        Returns:
          A list of (gradient, variable) pairs; the gradient is a Tensor, an IndexedSlices,
          or None when the variable does not affect `loss`.
        """
        if callable(loss):
            raise RuntimeError("`loss` passed to Optimizer.compute_gradients should be a Tensor in graph mode.")
        if gate_gradients not in (Optimizer.GATE_NONE, Optimizer.GATE_OP, Optimizer.GATE_GRAPH):
            raise ValueError(f"gate_gradients must be one of: Optimizer.GATE_NONE, Optimizer.GATE_OP, "
                             f"Optimizer.GATE_GRAPH. Not {gate_gradients}")
        loss = convert_to_tensor(loss)
        self._assert_valid_dtypes([loss])
        if grad_loss is not None:
            grad_loss = convert_to_tensor(grad_loss, dtype=loss.dtype)
            self._assert_valid_dtypes([grad_loss])
        if var_list is None:
            var_list = trainable_variables()
        var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"Argument is not a Variable: {v!r}")
        grads = _gradients(loss, [v.value() for v in var_list],
                           grad_ys=None if grad_loss is None else [grad_loss])
        if gate_gradients == Optimizer.GATE_GRAPH:
            grads = _gate(grads)
        pairs = list(zip(grads, var_list))
        self._assert_valid_dtypes([v.value() for g, v in pairs if g is not None])
        return pairs

    def apply_gradients(self, grads_and_vars: Sequence[Tuple[Grad, Variable]], global_step: Optional[Variable] = None,
                        name: Optional[str] = None) -> Operation:
        """Applies gradients to variables; returns the training op.

        None gradients are skipped; IndexedSlices gradients use the sparse update. If
        `global_step` is given, the returned op increments it by one after all updates.

        Raises:
          TypeError: a gradient or variable of the wrong kind.
          ValueError: no variable has a gradient.
        """
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if g is not None and not isinstance(g, IndexedSlices):
                try:
                    g = convert_to_tensor(g)
                except (TypeError, ValueError) as e:
                    raise TypeError(f"Gradient must be convertible to a Tensor or IndexedSlices, or None: {g}") from e
            if not isinstance(v, Variable):
                raise TypeError(f"Argument is not a Variable: {v!r}")
            converted.append((g, v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: {[str(v) for _, v in converted]}.")
        graph = var_list[0].graph
        with graph.as_default():
            self._create_slots(var_list)
            update_ops = []
            with graph.name_scope(name or self._name):
                self._hyper_cache = {}  # hyperparameter tensors are made once per apply_gradients call
                self._prepare()
                for g, v in converted:
                    if g is None:
                        continue
                    if g.dtype != v.dtype:
                        raise ValueError(f"Gradient of dtype {g.dtype.name} for variable {v.op.name} of dtype "
                                         f"{v.dtype.name}")
                    with graph.name_scope("update_" + v.op.name):
                        if isinstance(g, IndexedSlices):
                            update_ops.append(self._apply_sparse_duplicate_indices(g, v))
                        else:
                            update_ops.append(self._apply_dense(g, v))
                # TF names the final op exactly like the scope ("Adam"); nestor's create_op
                # would uniquify that, so it is "<scope>/update" (or ".../AssignAdd").
                if global_step is None:
                    apply_updates = self._finish(update_ops, "update")
                else:
                    from ..ops import state_ops
                    with graph.control_dependencies([self._finish(update_ops, "update")]):
                        apply_updates = state_ops.assign_add(global_step, training_ops.const(1, global_step.dtype)).op
            train_ops = graph.get_collection_ref(GraphKeys.TRAIN_OP)
            if apply_updates not in train_ops:
                train_ops.append(apply_updates)
        return apply_updates

    def get_slot(self, var: Variable, name: str) -> Optional[Variable]:
        """The slot `name` ("m", "accumulator", ...) created for `var`, or None."""
        return self._slots.get(name, {}).get(_var_key(var))

    def get_slot_names(self) -> List[str]:
        return sorted(self._slots.keys())

    def variables(self) -> List[Variable]:
        """The optimizer's slot and non-slot variables in the current graph, sorted by name."""
        g = _g.get_default_graph()
        out = [v for (_, vg), v in self._non_slot_dict.items() if vg is g]
        for slots in self._slots.values():
            out.extend(v for (vg, _), v in slots.items() if vg is g)
        return sorted(out, key=lambda v: v.name)

    # ------------------------------------------------------------ subclass hooks
    def _create_slots(self, var_list: List[Variable]) -> None:
        pass

    def _prepare(self) -> None:
        pass

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no dense update")

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no sparse update")

    def _apply_sparse_duplicate_indices(self, grad: IndexedSlices, var: Variable) -> Any:
        # The native sparse update ops sum duplicate indices before updating.
        return self._apply_sparse(grad, var)

    def _finish(self, update_ops: List[Any], name_scope: str) -> Operation:
        from ..ops import core_ops
        return core_ops.group(*update_ops, name=name_scope)

    def _valid_dtypes(self) -> set:
        return {_dtypes.float32, _dtypes.float64}

    def _assert_valid_dtypes(self, tensors: Sequence[Tensor]) -> None:
        valid = self._valid_dtypes()
        for t in tensors:
            if t.dtype not in valid:
                raise ValueError(f"Invalid type {t.dtype.name} for {t.name}, expected: "
                                 f"{sorted(d.name for d in valid)}.")

    # ------------------------------------------------------------ helpers
    def _hyper(self, key: str, value: Any, dtype: _dtypes.DType) -> Tensor:
        """Hyperparameter `value` (number, Tensor or callable) as a scalar of `dtype`.
        Python numbers are converted straight to `dtype` (no float32 rounding)."""
        ck = (key, dtype.name)
        t = self._hyper_cache.get(ck)
        if t is not None:
            return t
        v = value() if callable(value) else value
        if isinstance(v, Tensor) or hasattr(v, "_as_graph_element"):
            from ..ops import core_ops
            t = core_ops.cast(convert_to_tensor(v), dtype, name=key)
        else:
            t = training_ops.const(v, dtype, name=key)
        self._hyper_cache[ck] = t
        return t

    def _slot_dict(self, slot_name: str) -> Dict[Tuple[Any, str], Variable]:
        return self._slots.setdefault(slot_name, {})

    def _get_or_make_slot(self, var: Variable, initial: Callable[[], Any], slot_name: str,
                          op_name: str) -> Variable:
        """Slot `slot_name` of `var`, created as "<var op name>/<op_name>" (uniquified)."""
        d = self._slot_dict(slot_name)
        k = _var_key(var)
        if k not in d:
            d[k] = _create_variable(var.graph, f"{var.op.name}/{op_name}", initial, var.dtype)
        return d[k]

    def _zeros_slot(self, var: Variable, slot_name: str, op_name: str) -> Variable:
        return self._get_or_make_slot(var, lambda: _filled(var, 0.0), slot_name, op_name)

    def _filled_slot(self, var: Variable, value: float, slot_name: str, op_name: str) -> Variable:
        return self._get_or_make_slot(var, lambda: _filled(var, value), slot_name, op_name)

    def _create_non_slot_variable(self, initial_value: Any, name: str, colocate_with: Variable) -> Variable:
        g = colocate_with.graph
        key = (name, g)
        v = self._non_slot_dict.get(key)
        if v is None:
            v = _create_variable(g, name, lambda: training_ops.const(initial_value, colocate_with.dtype),
                                 colocate_with.dtype)
            self._non_slot_dict[key] = v
        return v

    def _get_non_slot_variable(self, name: str, graph: Optional[_g.Graph] = None) -> Optional[Variable]:
        g = graph if graph is not None else _g.get_default_graph()
        return self._non_slot_dict.get((name, g))


def _filled(var: Variable, value: float) -> Any:
    """An initial value of var's shape filled with `value` (from the initial value's shape
    when var's static shape is partial)."""
    if var.shape.is_fully_defined():
        return training_ops.const(np.full(var.shape.as_list(), value), var.dtype)
    from ..ops import core_ops
    base = core_ops.zeros_like(var.initial_value)
    return base if value == 0.0 else core_ops.ones_like(base) * value


def _gate(grads: List[Grad]) -> List[Grad]:
    """GATE_GRAPH: every gradient waits until all gradients are computed."""
    from ..ops import core_ops
    live = [g for g in grads if g is not None]
    if not live:
        return grads
    gate = core_ops.group(*[g.values if isinstance(g, IndexedSlices) else g for g in live], name="gradient_gate")
    out: List[Grad] = []
    with _g.control_dependencies([gate]):
        for g in grads:
            if g is None:
                out.append(None)
            elif isinstance(g, IndexedSlices):
                out.append(IndexedSlices(core_ops.identity(g.values), g.indices, g.dense_shape))
            else:
                out.append(core_ops.identity(g))
    return out
