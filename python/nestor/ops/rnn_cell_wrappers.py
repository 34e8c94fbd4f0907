"""TF1 cells built from other cells (`tf.compat.v1.nn.rnn_cell`): `MultiRNNCell`, `DropoutWrapper`,
`ResidualWrapper`.

`MultiRNNCell` puts cell i's variables under `multi_rnn_cell/cell_<i>/` (TensorFlow 2.15's
names); the wrappers add no scope of their own, so a wrapped cell's variables keep the names
they would have unwrapped.
"""
from __future__ import annotations

import hashlib
import numbers
from typing import Any, Callable, List, Optional

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework import variables as _vars
from ..framework.graph import Tensor, TensorShape, convert_to_tensor
from . import array_ops, core_ops, math_ops, random_ops
from .rnn_cell_impl import LSTMStateTuple, RNNCell, _flatten, _is_nested, _map_structure, _pack_as

__all__ = ["MultiRNNCell", "DropoutWrapper", "ResidualWrapper"]


class MultiRNNCell(RNNCell):
    """Cells stacked in sequence; cell i's variables live under `multi_rnn_cell/cell_<i>/`.

    Args:
      cells: list of RNNCells, applied in this order.
      state_is_tuple: states are n-tuples if True, else concatenated along axis 1.

    Raises:
      ValueError: `cells` is empty, or a cell has a tuple state with `state_is_tuple=False`.
      TypeError: `cells` is not a list or tuple.
    """

    def __init__(self, cells: Any, state_is_tuple: bool = True):
        super().__init__()
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        if not _is_nested(cells):
            raise TypeError(f"cells must be a list or tuple, but received: {cells}.")
        self._cells = list(cells)
        self._state_is_tuple = state_is_tuple
        if not state_is_tuple and any(_is_nested(c.state_size) for c in self._cells):
            raise ValueError(f"Some cells return tuples of states, but the flag state_is_tuple is not set. "
                             f"State sizes are: {[c.state_size for c in self._cells]}")

    @property
    def state_size(self) -> Any:
        if self._state_is_tuple:
            return tuple(c.state_size for c in self._cells)
        return sum(c.state_size for c in self._cells)

    @property
    def output_size(self) -> Any:
        return self._cells[-1].output_size

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        with _g.name_scope(type(self).__name__ + "ZeroState"):
            if self._state_is_tuple:
                return tuple(c.zero_state(batch_size, dtype) for c in self._cells)
            return super().zero_state(batch_size, dtype)

    @property
    def trainable_weights(self) -> List[Any]:
        if not self.trainable:
            return []
        return [w for c in self._cells for w in c.trainable_weights]

    @property
    def non_trainable_weights(self) -> List[Any]:
        ws = [w for c in self._cells for w in c.non_trainable_weights]
        if not self.trainable:
            return [w for c in self._cells for w in c.trainable_weights] + ws
        return ws

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def weights(self) -> List[Any]:
        return self.trainable_weights + self.non_trainable_weights

    variables = weights

    def call(self, inputs: Tensor, state: Any) -> Any:
        pos, cur, new_states = 0, inputs, []
        for i, cell in enumerate(self._cells):
            with _vars.variable_scope(f"cell_{i}"):
                if self._state_is_tuple:
                    if not _is_nested(state):
                        raise ValueError(f"Expected state to be a tuple of length {len(self.state_size)}, but "
                                         f"received: {state}")
                    cur_state = state[i]
                else:
                    cur_state = array_ops.slice(state, [0, pos], [-1, cell.state_size])
                    pos += cell.state_size
                cur, ns = cell(cur, cur_state)
                new_states.append(ns)
        return cur, (tuple(new_states) if self._state_is_tuple else array_ops.concat(new_states, 1))


class _RNNCellWrapper(RNNCell):
    """A cell around `cell`: calls it directly (no scope of its own) and transforms its I/O."""

    def __init__(self, cell: RNNCell, **kwargs: Any):
        super().__init__(**kwargs)
        if not (hasattr(cell, "output_size") and hasattr(cell, "state_size") and callable(cell)):
            raise TypeError(f"The argument 'cell' ({cell}) is not an RNNCell: 'output_size' property, "
                            f"'state_size' property or '__call__' method is missing.")
        self.cell = cell

    @property
    def state_size(self) -> Any:
        return self.cell.state_size

    @property
    def output_size(self) -> Any:
        return self.cell.output_size

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        with _g.name_scope(type(self).__name__ + "ZeroState"):
            return self.cell.zero_state(batch_size, dtype)

    @property
    def trainable_weights(self) -> List[Any]:
        return self.cell.trainable_weights

    @property
    def non_trainable_weights(self) -> List[Any]:
        return self.cell.non_trainable_weights

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def weights(self) -> List[Any]:
        return self.cell.weights

    variables = weights

    def __call__(self, inputs: Any, state: Any, scope: Any = None) -> Any:
        return self._call_wrapped_cell(inputs, state, self.cell.__call__, scope=scope)

    def _call_wrapped_cell(self, inputs: Any, state: Any, cell_call_fn: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def _default_dropout_state_filter_visitor(substate: Any) -> Any:
    if isinstance(substate, LSTMStateTuple):
        return LSTMStateTuple(c=False, h=True)  # never drop the memory c
    return True


class DropoutWrapper(_RNNCellWrapper):
    """Adds dropout to the inputs, outputs and/or states of `cell`.

    Args:
      cell: the wrapped RNNCell.
      input_keep_prob, output_keep_prob, state_keep_prob: keep probabilities (floats in
        [0, 1] or scalar tensors); a constant 1 adds no dropout.
      variational_recurrent: use the same dropout mask at every step (Gal & Ghahramani);
        then `dtype` and, with input dropout, `input_size` are required.
      input_size: the depth(s) of the inputs (for variational input dropout).
      dtype: the dtype of inputs, states and outputs (for variational dropout).
      seed: randomness seed.
      dropout_state_filter_visitor: fn(substate) -> bool or structure of bools choosing the
        state parts to drop; default: all but the `c` part of `LSTMStateTuple`s.

    Raises:
      ValueError: a constant keep probability outside [0, 1]; variational dropout without
        `dtype` (or without `input_size` when input dropout is on).
      TypeError: `dropout_state_filter_visitor` is not callable.
    """

    def __init__(self, cell: RNNCell, input_keep_prob: Any = 1.0, output_keep_prob: Any = 1.0,
                 state_keep_prob: Any = 1.0, variational_recurrent: bool = False, input_size: Any = None,
                 dtype: Any = None, seed: Optional[int] = None, dropout_state_filter_visitor: Any = None,
                 **kwargs: Any):
        super().__init__(cell, dtype=dtype, **kwargs)
        if dropout_state_filter_visitor is not None and not callable(dropout_state_filter_visitor):
            raise TypeError(f"dropout_state_filter_visitor must be callable. Received: {dropout_state_filter_visitor}")
        self._dropout_state_filter = dropout_state_filter_visitor or _default_dropout_state_filter_visitor
        for prob, attr in ((input_keep_prob, "input_keep_prob"), (state_keep_prob, "state_keep_prob"),
                           (output_keep_prob, "output_keep_prob")):
            const = array_ops._const_value(prob)
            if const is not None:
                if const < 0 or const > 1:
                    raise ValueError(f"Parameter {attr} must be between 0 and 1. Received {const}")
                setattr(self, f"_{attr}", float(const))
            else:
                setattr(self, f"_{attr}", convert_to_tensor(prob))
        self._variational_recurrent = variational_recurrent
        self._input_size = input_size
        self._seed = seed
        self._noise: dict = {"input": None, "state": None, "output": None}
        if variational_recurrent:
            if dtype is None:
                raise ValueError("When variational_recurrent=True, dtype must be provided")
            dt = _dtypes.as_dtype(dtype)

            def noise(prefix: str, sizes: Any) -> Any:
                flat = _flatten(sizes)
                ns = [random_ops.random_uniform([1] + (TensorShape(s).as_list() if not isinstance(s, int) else [s]),
                                                dtype=dt, seed=self._gen_seed(prefix, k)) for k, s in enumerate(flat)]
                return _pack_as(sizes, ns)
            if not isinstance(self._input_keep_prob, numbers.Real) or self._input_keep_prob < 1.0:
                if input_size is None:
                    raise ValueError("When variational_recurrent=True and input_keep_prob < 1.0 or is unknown, "
                                     "input_size must be provided")
                self._noise["input"] = noise("input", input_size)
            self._noise["state"] = noise("state", cell.state_size)
            self._noise["output"] = noise("output", cell.output_size)

    def _gen_seed(self, salt_prefix: str, index: int) -> Optional[int]:
        if self._seed is None:
            return None
        string = (str(self._seed) + f"{salt_prefix}_{index}").encode("utf-8")
        return int(hashlib.md5(string).hexdigest()[:8], 16) & 0x7FFFFFFF

    @property
    def wrapped_cell(self) -> RNNCell:
        return self.cell

    def _drop(self, k: int, v: Tensor, prefix: str, keep: Any, noise: Any) -> Tensor:
        if noise is None:
            rate = 1.0 - keep if isinstance(keep, float) else math_ops.subtract(convert_to_tensor(1.0, keep.dtype), keep)
            return random_ops.dropout(v, rate=rate, seed=self._gen_seed(prefix, k))
        keep_t = core_ops.cast(convert_to_tensor(keep), v.dtype)
        out = math_ops.divide(v, keep_t) * math_ops.floor(keep_t + _flatten(noise)[k])
        out.set_shape(v.shape)
        return out

    def _dropout_all(self, values: Any, prefix: str, keep: Any, selected: Any = None) -> Any:
        flat = _flatten(values)
        sel = [True] * len(flat) if selected is None else selected
        out = [self._drop(k, v, prefix, keep, self._noise[prefix]) if s else v for k, (v, s) in
               enumerate(zip(flat, sel))]
        return _pack_as(values, out)

    def _state_selection(self, state: Any) -> List[bool]:
        """Which flattened state leaves get dropout, per `dropout_state_filter_visitor`."""
        def visit(s: Any) -> List[bool]:
            r = self._dropout_state_filter(s)
            if isinstance(r, bool):
                return [r] * len(_flatten(s))
            if not _is_nested(s) or len(r) != len(s):
                raise ValueError(f"dropout_state_filter_visitor returned {r!r} for a state of structure {s!r}")
            out: List[bool] = []
            for flag, child in zip(r, s):
                out.extend(visit(child) if flag else [False] * len(_flatten(child)))
            return out
        return visit(state)

    def _call_wrapped_cell(self, inputs: Any, state: Any, cell_call_fn: Any, **kwargs: Any) -> Any:
        def should(p: Any) -> bool:
            return not isinstance(p, float) or p < 1

        if should(self._input_keep_prob):
            inputs = self._dropout_all(inputs, "input", self._input_keep_prob)
        output, new_state = cell_call_fn(inputs, state, **kwargs)
        if should(self._state_keep_prob):
            new_state = self._dropout_all(new_state, "state", self._state_keep_prob, self._state_selection(new_state))
        if should(self._output_keep_prob):
            output = self._dropout_all(output, "output", self._output_keep_prob)
        return output, new_state


class ResidualWrapper(_RNNCellWrapper):
    """Adds the cell's inputs to its outputs: `output = residual_fn(inputs, cell_output)`.

    Args:
      cell: the wrapped RNNCell.
      residual_fn: fn(inputs, outputs) -> outputs; default elementwise `inputs + outputs`
        (the shapes must be compatible).
    """

    def __init__(self, cell: RNNCell, residual_fn: Optional[Callable[[Any, Any], Any]] = None, **kwargs: Any):
        super().__init__(cell, **kwargs)
        self._residual_fn = residual_fn

    def _call_wrapped_cell(self, inputs: Any, state: Any, cell_call_fn: Any, **kwargs: Any) -> Any:
        outputs, new_state = cell_call_fn(inputs, state, **kwargs)

        def default_residual_fn(inp: Any, out: Any) -> Any:
            def add(a: Any, b: Any) -> Any:
                a, b = convert_to_tensor(a), convert_to_tensor(b)
                if not a.shape.is_compatible_with(b.shape):
                    raise ValueError(f"ResidualWrapper: the cell's inputs (shape {a.shape}) and outputs (shape "
                                     f"{b.shape}) must have compatible shapes")
                return a + b
            return _map_structure(add, inp, out)
        return (self._residual_fn or default_residual_fn)(inputs, outputs), new_state
