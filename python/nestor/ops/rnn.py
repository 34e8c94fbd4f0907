"""Recurrent networks from cells: `tf.compat.v1.nn.static_rnn`, `dynamic_rnn`,
`bidirectional_dynamic_rnn`, `static_bidirectional_rnn`.

nestor has no `while_loop`: every recurrence is unrolled when the graph is built, so the
number of time steps must be known then (the static time dimension of the inputs). The
results are TensorFlow's: with `sequence_length`, outputs at steps `t >= sequence_length[b]`
are zeros and the state is copied through, so the final state of each sequence is its state
at its last valid step. Variables get TensorFlow's names (`rnn/<cell>/...`,
`bidirectional_rnn/fw/<cell>/...`, `bidirectional_rnn/bw/<cell>/...`).
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework import variables as _vars
from ..framework.graph import Tensor, convert_to_tensor
from . import array_ops, core_ops, math_ops
from .nd_ops import gather_nd
from .rnn_cell_impl import _flatten, _is_nested, _map_structure, _pack_as

__all__ = ["static_rnn", "dynamic_rnn", "bidirectional_dynamic_rnn", "static_bidirectional_rnn"]


def _check_cell(name: str, cell: Any) -> None:
    missing = [a for a in ("output_size", "state_size", "zero_state") if not hasattr(cell, a)]
    if missing or not callable(cell):
        raise TypeError(f"The argument {name!r} ({cell}) is not an RNNCell: "
                        f"{', '.join(missing) or '__call__'} is missing.")


def _seq_len(sequence_length: Any) -> Optional[Tensor]:
    if sequence_length is None:
        return None
    s = convert_to_tensor(sequence_length)
    if not s.dtype.is_integer:
        raise TypeError(f"sequence_length must be an int32 or int64 vector, got dtype {s.dtype.name}")
    if s.shape.rank not in (None, 1):
        raise ValueError(f"sequence_length must be a vector of length batch_size, but saw shape: {s.shape}")
    return core_ops.identity(core_ops.cast(s, _dtypes.int32), name="sequence_length")


def _initial_state(cell: Any, initial_state: Any, dtype: Any, batch_size: Any) -> Any:
    if initial_state is not None:
        return initial_state
    if dtype is None:
        raise ValueError("If there is no initial_state, you must give a dtype.")
    return cell.zero_state(batch_size, dtype)


def _batch_size(flat: List[Tensor], axis: int) -> Any:
    for x in flat:
        d = x.shape.as_list()[axis] if x.shape.rank is not None else None
        if d is not None:
            return d
    return core_ops.shape(flat[0])[axis]


def _unroll(cell: Any, step_inputs: List[Any], state: Any,
            sequence_length: Optional[Tensor]) -> Tuple[List[Any], Any]:
    """Runs `cell` over the per-step inputs (structures of [batch, ...] tensors) from `state`.

    With `sequence_length`, a step t >= length gives zero outputs and keeps the old state.
    """
    outputs: List[Any] = []
    for t, inp in enumerate(step_inputs):
        with _g.name_scope(f"step_{t}"):
            output, new_state = cell(inp, state)
            if sequence_length is not None:
                copy = math_ops.greater_equal(convert_to_tensor(t, dtype=_dtypes.int32), sequence_length)
                output = _map_structure(lambda o: math_ops.where(copy, core_ops.zeros_like(o), o), output)
                if _is_nested(state) != _is_nested(new_state) or len(_flatten(state)) != len(_flatten(new_state)):
                    raise ValueError(f"The cell's new state {new_state} does not match the structure of its "
                                     f"state {state}")
                new_state = _pack_as(new_state, [math_ops.where(copy, core_ops.cast(old, new.dtype), new) for old, new
                                                 in zip(_flatten(state), _flatten(new_state))])
        outputs.append(output)
        state = new_state
    return outputs, state


def static_rnn(cell: Any, inputs: Any, initial_state: Any = None, dtype: Any = None, sequence_length: Any = None,
               scope: Any = None) -> Tuple[List[Any], Any]:
    """Creates a recurrent network from `cell` over a Python list of step inputs
    (`tf.compat.v1.nn.static_rnn`).

    Args:
      cell: an RNNCell.
      inputs: a non-empty list (length T) of `[batch_size, input_size]` tensors (or nested
        tuples of them).
      initial_state: the initial state (matching `cell.state_size`); default zeros.
      dtype: the initial state's dtype; required when `initial_state` is None.
      sequence_length: optional int32/int64 vector [batch_size] of the sequences' lengths.
      scope: variable scope; default "rnn".

    Returns:
      `(outputs, state)`: a list of T outputs and the final state.

    Raises:
      TypeError: `cell` is not an RNNCell or `inputs` is not a list/tuple.
      ValueError: `inputs` is empty, has an unknown input depth, or neither `initial_state`
        nor `dtype` is given.
    """
    _check_cell("cell", cell)
    if not _is_nested(inputs):
        raise TypeError(f"inputs must be a sequence, got {inputs!r}")
    if not inputs:
        raise ValueError("inputs must not be empty")
    with _vars.variable_scope(scope or "rnn"):
        steps = [_map_structure(convert_to_tensor, x) for x in inputs]
        first = _flatten(steps[0])
        for x in first:
            if x.shape.rank is None or x.shape.rank < 2 or x.shape.as_list()[-1] is None:
                raise ValueError(f"Input size (depth of inputs) must be accessible via shape inference, but saw "
                                 f"shape {x.shape} for {x.name}")
        batch = _batch_size(first, 0)
        state = _initial_state(cell, initial_state, dtype, batch)
        seq = _seq_len(sequence_length)
        return _unroll(cell, steps, state, seq)


def _split_time(inputs: Any, time_major: bool, who: str) -> Tuple[List[Any], Any, int]:
    """Per-step input structures, the batch size and the number of steps."""
    flat = [convert_to_tensor(x) for x in _flatten(inputs)]
    if not flat:
        raise ValueError(f"{who}: inputs must not be empty")
    t_axis, b_axis = (0, 1) if time_major else (1, 0)
    steps = None
    for x in flat:
        if x.shape.rank is None or x.shape.rank < 3:
            raise ValueError(f"{who}: expected input tensor {x.name} to have rank at least 3 ("
                             f"{'[time, batch, depth]' if time_major else '[batch, time, depth]'}), got shape "
                             f"{x.shape}")
        if x.shape.as_list()[-1] is None:
            raise ValueError(f"Input size (depth of inputs) must be accessible via shape inference, but saw value "
                             f"None for {x.name} of shape {x.shape}")
        n = x.shape.as_list()[t_axis]
        if n is None:
            raise ValueError(f"{who}: the time dimension (axis {t_axis}) of input {x.name} with shape {x.shape} "
                             f"must be known when the graph is built: nestor has no while_loop and unrolls the "
                             f"recurrence over the static number of time steps (pad or bucket the sequences to a "
                             f"fixed length and pass sequence_length)")
        if steps is not None and n != steps:
            raise ValueError(f"{who}: the inputs have different numbers of time steps: {steps} and {n} ({x.name})")
        steps = n
    per_tensor = [array_ops.unstack(x, num=steps, axis=t_axis) for x in flat]
    step_inputs = [_pack_as(inputs, [p[t] for p in per_tensor]) for t in range(steps)]
    return step_inputs, _batch_size(flat, b_axis), int(steps)


def _stack_time(outputs: List[Any], time_major: bool) -> Any:
    flat = [_flatten(o) for o in outputs]
    axis = 0 if time_major else 1
    return _pack_as(outputs[0], [array_ops.stack([f[k] for f in flat], axis=axis) for k in range(len(flat[0]))])


def dynamic_rnn(cell: Any, inputs: Any, sequence_length: Any = None, initial_state: Any = None, dtype: Any = None,
                parallel_iterations: Optional[int] = None, swap_memory: bool = False, time_major: bool = False,
                scope: Any = None) -> Tuple[Any, Any]:
    """Creates a recurrent network from `cell` (`tf.compat.v1.nn.dynamic_rnn`), unrolled over
    the static time dimension of `inputs`.

    Args:
      cell: an RNNCell.
      inputs: `[batch_size, max_time, ...]` tensor (`[max_time, batch_size, ...]` with
        `time_major`), or a nested tuple of such tensors. `max_time` must be known when the
        graph is built.
      sequence_length: optional int32/int64 vector [batch_size]: outputs past each length
        are zeros and the final state is the state at the last valid step.
      initial_state: the initial state; default `cell.zero_state(batch_size, dtype)`.
      dtype: the initial state's dtype; required when `initial_state` is None.
      parallel_iterations, swap_memory: accepted for compatibility (no effect: no loop).
      time_major: the layout of `inputs` and `outputs`.
      scope: variable scope; default "rnn".

    Returns:
      `(outputs, state)`: outputs `[batch_size, max_time, output_size]` (time-major with
      `time_major`), matching the structure of `cell.output_size`, and the final state.

    Raises:
      TypeError: `cell` is not an RNNCell.
      ValueError: the inputs' time dimension is unknown at graph-building time (the message
        names the input and its shape); the inputs' rank is < 3 or their depth is unknown;
        neither `initial_state` nor `dtype` is given; `sequence_length` is not a vector.
    """
    _check_cell("cell", cell)
    with _vars.variable_scope(scope or "rnn"):
        step_inputs, batch, _ = _split_time(inputs, time_major, "dynamic_rnn")
        state = _initial_state(cell, initial_state, dtype, batch)
        seq = _seq_len(sequence_length)
        outputs, final_state = _unroll(cell, step_inputs, state, seq)
        return _stack_time(outputs, time_major), final_state


def _reverse_steps(steps: List[Any], sequence_length: Optional[Tensor]) -> List[Any]:
    """Reverses a list of per-step structures in time: whole lists without lengths, else the
    first `sequence_length[b]` steps of each batch row (`tf.reverse_sequence`)."""
    if sequence_length is None:
        return list(reversed(steps))
    n = len(steps)
    flat = [_flatten(s) for s in steps]
    seq = math_ops.minimum(sequence_length, convert_to_tensor(n, dtype=_dtypes.int32))
    t_col = core_ops.constant(np.arange(n, dtype=np.int32).reshape(n, 1))
    lens = array_ops.expand_dims(seq, 0)
    src = math_ops.where_v2(math_ops.less(t_col, lens), lens - 1 - t_col, t_col + 0 * lens)  # [T, B]
    b_idx = array_ops.broadcast_to(array_ops.expand_dims(array_ops.range(core_ops.shape(seq)[0]), 0),
                                   core_ops.shape(src))
    idx = array_ops.stack([src, b_idx], axis=2)
    out_flat = []
    for k in range(len(flat[0])):
        rev = gather_nd(array_ops.stack([f[k] for f in flat], axis=0), idx)
        out_flat.append(array_ops.unstack(rev, num=n, axis=0))
    return [_pack_as(steps[t], [o[t] for o in out_flat]) for t in range(n)]


def bidirectional_dynamic_rnn(cell_fw: Any, cell_bw: Any, inputs: Any, sequence_length: Any = None,
                              initial_state_fw: Any = None, initial_state_bw: Any = None, dtype: Any = None,
                              parallel_iterations: Optional[int] = None, swap_memory: bool = False,
                              time_major: bool = False, scope: Any = None) -> Tuple[Any, Any]:
    """A forward and a backward `dynamic_rnn` over the same inputs
    (`tf.compat.v1.nn.bidirectional_dynamic_rnn`).

    The backward cell reads each sequence reversed within its length (`tf.reverse_sequence`);
    its outputs are reversed back, so both outputs are aligned with the inputs. Variables go
    under `<scope>/fw/` and `<scope>/bw/` (scope default "bidirectional_rnn").

    Args:
      cell_fw, cell_bw: RNNCells.
      inputs, sequence_length, dtype, parallel_iterations, swap_memory, time_major: as in
        `dynamic_rnn`.
      initial_state_fw, initial_state_bw: initial states (default zeros of `dtype`).
      scope: variable scope; default "bidirectional_rnn".

    Returns:
      `((output_fw, output_bw), (output_state_fw, output_state_bw))`.

    Raises:
      TypeError, ValueError: as `dynamic_rnn`.
    """
    _check_cell("cell_fw", cell_fw)
    _check_cell("cell_bw", cell_bw)
    with _vars.variable_scope(scope or "bidirectional_rnn"):
        with _vars.variable_scope("fw") as fw_scope:
            output_fw, state_fw = dynamic_rnn(cell_fw, inputs, sequence_length=sequence_length,
                                              initial_state=initial_state_fw, dtype=dtype, time_major=time_major,
                                              scope=fw_scope)
        with _vars.variable_scope("bw"):
            step_inputs, batch, _ = _split_time(inputs, time_major, "bidirectional_dynamic_rnn")
            seq = _seq_len(sequence_length)
            with _g.name_scope("ReverseSequence"):
                rev_inputs = _reverse_steps(step_inputs, seq)
            state = _initial_state(cell_bw, initial_state_bw, dtype, batch)
            tmp, state_bw = _unroll(cell_bw, rev_inputs, state, seq)
            with _g.name_scope("ReverseSequence_1"):
                output_bw = _stack_time(_reverse_steps(tmp, seq), time_major)
    return (output_fw, output_bw), (state_fw, state_bw)


def static_bidirectional_rnn(cell_fw: Any, cell_bw: Any, inputs: Any, initial_state_fw: Any = None,
                             initial_state_bw: Any = None, dtype: Any = None, sequence_length: Any = None,
                             scope: Any = None) -> Tuple[List[Any], Any, Any]:
    """A forward and a backward `static_rnn` whose outputs are concatenated per step
    (`tf.compat.v1.nn.static_bidirectional_rnn`).

    Returns:
      `(outputs, output_state_fw, output_state_bw)`: outputs is a list of T tensors
      `concat([fw_t, bw_t], 1)` (each output component concatenated separately).

    Raises:
      TypeError: a cell is not an RNNCell or `inputs` is not a list/tuple.
      ValueError: `inputs` is empty, or as `static_rnn`.
    """
    _check_cell("cell_fw", cell_fw)
    _check_cell("cell_bw", cell_bw)
    if not _is_nested(inputs):
        raise TypeError(f"inputs must be a sequence, got {inputs!r}")
    if not inputs:
        raise ValueError("inputs must not be empty")
    with _vars.variable_scope(scope or "bidirectional_rnn"):
        with _vars.variable_scope("fw") as fw_scope:
            output_fw, state_fw = static_rnn(cell_fw, inputs, initial_state_fw, dtype, sequence_length,
                                             scope=fw_scope)
        with _vars.variable_scope("bw") as bw_scope:
            steps = [_map_structure(convert_to_tensor, x) for x in inputs]
            seq = _seq_len(sequence_length)
            tmp, state_bw = static_rnn(cell_bw, _reverse_steps(steps, seq), initial_state_bw, dtype, seq,
                                       scope=bw_scope)
    output_bw = _reverse_steps(tmp, seq)
    outputs = [_map_structure(lambda a, b: array_ops.concat([a, b], 1), f, b) for f, b in zip(output_fw, output_bw)]
    return outputs, state_fw, state_bw
