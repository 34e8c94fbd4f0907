"""TF1 recurrent cells (`tf.compat.v1.nn.rnn_cell`): `RNNCell`, `BasicRNNCell`, `GRUCell`,
`BasicLSTMCell`, `LSTMCell` and `LSTMStateTuple` (the stacking and wrapper cells are in
`rnn_cell_wrappers`).

The cells are TF1 layers: the first call creates the variables with `get_variable` in the
cell's own variable scope (`basic_lstm_cell`, `gru_cell`, ... made unique in the enclosing
scope), later calls reuse them. Names, shapes, gate orders and default initializers are
TensorFlow 2.15's (`keras.src.layers.rnn.legacy_cells`), so a TF checkpoint maps one-to-one:

  * BasicRNNCell: `kernel` [input + units, units] (glorot_uniform), `bias` [units] (zeros).
  * BasicLSTMCell / LSTMCell: `kernel` [input + h, 4 * units] holding gates i, j, f, o in
    that order, `bias` [4 * units] (zeros); LSTMCell adds `w_f_diag`, `w_i_diag`, `w_o_diag`
    [units] with peepholes and `projection/kernel` [units, num_proj] with a projection.
  * GRUCell: `gates/kernel` [input + units, 2 * units] (r, u), `gates/bias` (ones),
    `candidate/kernel` [input + units, units], `candidate/bias` (zeros).
"""
from __future__ import annotations

import collections
from typing import Any, Callable, List, Optional

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework import variables as _vars
from ..framework.graph import Tensor, TensorShape, convert_to_tensor
from ..layers.base import Layer, get_initializer
from . import activation_ops, array_ops, clip_ops, core_ops, math_ops, nn_ops

__all__ = ["RNNCell", "BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell", "LSTMStateTuple"]

_BIAS_VARIABLE_NAME = "bias"
_WEIGHTS_VARIABLE_NAME = "kernel"


# ---------------------------------------------------------------- nested structures
def _is_nested(x: Any) -> bool:
    return isinstance(x, (list, tuple))


def _flatten(x: Any) -> List[Any]:
    """The leaves of a nest of lists / tuples / namedtuples, depth first."""
    if not _is_nested(x):
        return [x]
    out: List[Any] = []
    for e in x:
        out.extend(_flatten(e))
    return out


def _pack_as(structure: Any, flat: List[Any]) -> Any:
    """Rebuilds `structure`'s nesting around the leaves `flat`."""
    it = iter(flat)

    def build(s: Any) -> Any:
        if not _is_nested(s):
            return next(it)
        items = [build(e) for e in s]
        if hasattr(s, "_fields"):
            return type(s)(*items)
        return type(s)(items)
    out = build(structure)
    return out


def _map_structure(fn: Callable[..., Any], *structures: Any) -> Any:
    flats = [_flatten(s) for s in structures]
    if any(len(f) != len(flats[0]) for f in flats):
        raise ValueError(f"The structures do not have the same number of elements: {[len(f) for f in flats]}")
    return _pack_as(structures[0], [fn(*xs) for xs in zip(*flats)])


def _get_activation(activation: Any) -> Callable[[Tensor], Tensor]:
    if not activation:
        return activation_ops.tanh
    if isinstance(activation, str):
        from .. import nn
        fn = getattr(nn, activation, None) if activation != "linear" else (lambda x: x)
        if fn is None or not callable(fn):
            raise ValueError(f"Unknown activation function: {activation!r}")
        return fn
    return activation


def _check_supported_dtypes(dtype: Any) -> None:
    if dtype is None:
        return
    dt = _dtypes.as_dtype(dtype)
    if not dt.is_floating:
        raise ValueError(f"RNN cell only supports floating point inputs, but received dtype: {dt.name}")


def _state_shape(batch_size: Any, s: Any, dtype: _dtypes.DType) -> Tensor:
    dims = TensorShape(s).as_list() if not isinstance(s, int) else [s]
    if isinstance(batch_size, Tensor) or hasattr(batch_size, "_as_graph_element"):
        b = core_ops.cast(convert_to_tensor(batch_size), _dtypes.int32)
        z = array_ops.zeros(array_ops.stack([b] + dims), dtype=dtype)
        z.set_shape([None] + dims)
        return z
    return array_ops.zeros([int(batch_size)] + dims, dtype=dtype)


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """The state of an LSTM cell: `(c, h)`, the memory and the output, in that order."""

    __slots__ = ()

    @property
    def dtype(self) -> Any:
        c, h = self
        if c.dtype != h.dtype:
            raise TypeError(f"Inconsistent dtypes for internal state: {c.dtype} vs {h.dtype}")
        return c.dtype


# ---------------------------------------------------------------- base classes
class RNNCell(Layer):
    """Abstract recurrent cell (`tf.compat.v1.nn.rnn_cell.RNNCell`).

    A cell maps `(inputs [batch, input_size], state)` to `(output [batch, output_size],
    new_state)`. Subclasses define `state_size`, `output_size` and `call(inputs, state)`,
    creating variables in `build(inputs_shape)` or with `tf.get_variable` inside `call` (they
    are reused on later calls).
    """

    def __init__(self, trainable: bool = True, name: Optional[str] = None, dtype: Any = None, **kwargs: Any):
        super().__init__(trainable=trainable, name=name, dtype=dtype, **kwargs)

    def __call__(self, inputs: Any, state: Any, scope: Any = None) -> Any:
        """Runs the cell on `inputs` from `state`.

        Args:
          inputs: `[batch_size, input_size]` tensor.
          state: a `[batch_size, state_size]` tensor, or a (nested) tuple of them matching
            `state_size`.
          scope: optional variable scope (name or `VariableScope`) for the cell's variables,
            used instead of the cell's own `<snake_case class name>` scope on first use.

        Returns:
          `(output, new_state)`.
        """
        if scope is not None and self._scope is None:
            with _vars.variable_scope(scope, reuse=self._reuse) as vs:
                self._scope = vs
        return Layer.__call__(self, inputs, state)

    @property
    def state_size(self) -> Any:
        """Size(s) of the state: an int, a TensorShape or a (nested) tuple of them."""
        raise NotImplementedError("Abstract method")

    @property
    def output_size(self) -> Any:
        """Size of the output: an int or a TensorShape."""
        raise NotImplementedError("Abstract method")

    def build(self, _: Any) -> None:
        self.built = True

    def call(self, inputs: Any, state: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.call")

    def get_initial_state(self, inputs: Any = None, batch_size: Any = None, dtype: Any = None) -> Any:
        """`zero_state` with the batch size and dtype taken from `inputs` when given."""
        if inputs is not None:
            inputs = convert_to_tensor(inputs, name="inputs")
            if dtype is not None and inputs.dtype != _dtypes.as_dtype(dtype):
                raise ValueError(f"dtype from input tensor is different from the input param. Input tensor dtype: "
                                 f"{inputs.dtype.name}, dtype: {_dtypes.as_dtype(dtype).name}")
            dims = inputs.shape.as_list() if inputs.shape.rank else [None]
            batch_size = dims[0] if dims[0] is not None else core_ops.shape(inputs)[0]
            dtype = inputs.dtype
        if batch_size is None or dtype is None:
            raise ValueError(f"batch_size and dtype cannot be None while constructing initial state: "
                             f"batch_size={batch_size}, dtype={dtype}")
        return self.zero_state(batch_size, dtype)

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        """Zero-filled state tensor(s) of shape `[batch_size, s]` for each `s` in `state_size`.

        Args:
          batch_size: int or scalar int Tensor.
          dtype: the state's dtype.
        """
        dt = _dtypes.as_dtype(dtype)
        size = self.state_size
        with _g.name_scope(type(self).__name__ + "ZeroState"):
            if _is_nested(size):
                return _map_structure(lambda s: _state_shape(batch_size, s, dt), size)
            return _state_shape(batch_size, size, dt)

    def get_config(self) -> dict:
        return super().get_config()


class _LayerRNNCell(RNNCell):
    """A cell of `num_units` units with its variables made in `build`; inputs must be rank-2
    floats. State and output are `num_units` wide unless a subclass says otherwise."""

    def __init__(self, num_units: int, activation: Any, reuse: Any, name: Optional[str], dtype: Any,
                 **kwargs: Any):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        _check_supported_dtypes(self.dtype)
        self._num_units = int(num_units)
        self._activation = _get_activation(activation)

    @property
    def state_size(self) -> Any:
        return self._num_units

    @property
    def output_size(self) -> int:
        return self._num_units

    def __call__(self, inputs: Any, state: Any, scope: Any = None) -> Any:
        x = convert_to_tensor(inputs)
        if x.shape.rank is not None and x.shape.rank != 2:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=2, "
                             f"found ndim={x.shape.rank}. Full shape received: {x.shape}")
        for t in [x] + _flatten(state):
            _check_supported_dtypes(convert_to_tensor(t).dtype)
        return super().__call__(x, state, scope=scope)

    def _input_depth(self, inputs_shape: Any) -> int:
        dims = TensorShape(inputs_shape).as_list() if TensorShape(inputs_shape).rank is not None else [None]
        if dims[-1] is None:
            raise ValueError(f"Expected inputs.shape[-1] to be known, received shape: {TensorShape(inputs_shape)}")
        _check_supported_dtypes(self._dtype)
        return int(dims[-1])


class BasicRNNCell(_LayerRNNCell):
    """The most basic RNN cell: `output = new_state = activation([inputs, state] @ kernel + bias)`.

    Args:
      num_units: number of units.
      activation: nonlinearity (callable or name); default tanh.
      reuse: reuse the variables of an existing scope.
      name: the cell's variable scope name.
      dtype: the variables' dtype (default: the inputs').
    """

    def __init__(self, num_units: int, activation: Any = None, reuse: Any = None, name: Optional[str] = None,
                 dtype: Any = None, **kwargs: Any):
        super().__init__(num_units, activation, reuse, name, dtype, **kwargs)

    def build(self, inputs_shape: Any) -> None:
        depth = self._input_depth(inputs_shape)
        self._kernel = self.add_weight(_WEIGHTS_VARIABLE_NAME, shape=[depth + self._num_units, self._num_units])
        self._bias = self.add_weight(_BIAS_VARIABLE_NAME, shape=[self._num_units], initializer="zeros")
        self.built = True

    def call(self, inputs: Tensor, state: Tensor) -> Any:
        gate_inputs = math_ops.matmul(array_ops.concat([inputs, state], 1), self._kernel)
        output = self._activation(nn_ops.bias_add(gate_inputs, self._bias))
        return output, output


class GRUCell(_LayerRNNCell):
    """Gated Recurrent Unit cell (Cho et al., 2014).

    `r, u = sigmoid([x, h] @ gates/kernel + gates/bias)`,
    `c = activation([x, r * h] @ candidate/kernel + candidate/bias)`, `h' = u * h + (1 - u) * c`.

    Args:
      num_units: number of units.
      activation: nonlinearity; default tanh.
      reuse: reuse the variables of an existing scope.
      kernel_initializer: for both kernels (default glorot_uniform).
      bias_initializer: for both biases (default: ones for the gates, zeros for the candidate).
      name: the cell's variable scope name.
      dtype: the variables' dtype.
    """

    def __init__(self, num_units: int, activation: Any = None, reuse: Any = None, kernel_initializer: Any = None,
                 bias_initializer: Any = None, name: Optional[str] = None, dtype: Any = None, **kwargs: Any):
        super().__init__(num_units, activation, reuse, name, dtype, **kwargs)
        self._kernel_initializer = get_initializer(kernel_initializer)
        self._bias_initializer = get_initializer(bias_initializer)

    def build(self, inputs_shape: Any) -> None:
        from .. import initializers
        depth, n = self._input_depth(inputs_shape), self._num_units
        bias_init = self._bias_initializer
        self._gate_kernel = self.add_weight(f"gates/{_WEIGHTS_VARIABLE_NAME}", shape=[depth + n, 2 * n],
                                            initializer=self._kernel_initializer)
        self._gate_bias = self.add_weight(f"gates/{_BIAS_VARIABLE_NAME}", shape=[2 * n],
                                          initializer=bias_init if bias_init is not None
                                          else initializers.constant_initializer(1.0))
        self._candidate_kernel = self.add_weight(f"candidate/{_WEIGHTS_VARIABLE_NAME}", shape=[depth + n, n],
                                                 initializer=self._kernel_initializer)
        self._candidate_bias = self.add_weight(f"candidate/{_BIAS_VARIABLE_NAME}", shape=[n],
                                               initializer=bias_init if bias_init is not None else "zeros")
        self.built = True

    def call(self, inputs: Tensor, state: Tensor) -> Any:
        gate_inputs = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, state], 1), self._gate_kernel),
                                      self._gate_bias)
        r, u = array_ops.split(activation_ops.sigmoid(gate_inputs), 2, axis=1)
        candidate = math_ops.matmul(array_ops.concat([inputs, r * state], 1), self._candidate_kernel)
        c = self._activation(nn_ops.bias_add(candidate, self._candidate_bias))
        new_h = u * state + (1 - u) * c
        return new_h, new_h


class BasicLSTMCell(_LayerRNNCell):
    """Basic LSTM cell: no peepholes, clipping or projection.

    `i, j, f, o = split([x, h] @ kernel + bias, 4)`,
    `c' = c * sigmoid(f + forget_bias) + sigmoid(i) * activation(j)`,
    `h' = activation(c') * sigmoid(o)`.

    Args:
      num_units: number of units.
      forget_bias: added to the forget gate's pre-activation (not to the variable).
      state_is_tuple: states are `LSTMStateTuple(c, h)` if True, else `concat([c, h], 1)`.
      activation: inner activation; default tanh.
      reuse: reuse the variables of an existing scope.
      name: the cell's variable scope name.
      dtype: the variables' dtype.
    """

    def __init__(self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True,
                 activation: Any = None, reuse: Any = None, name: Optional[str] = None, dtype: Any = None,
                 **kwargs: Any):
        super().__init__(num_units, activation, reuse, name, dtype, **kwargs)
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple

    @property
    def state_size(self) -> Any:
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    def build(self, inputs_shape: Any) -> None:
        depth, n = self._input_depth(inputs_shape), self._num_units
        self._kernel = self.add_weight(_WEIGHTS_VARIABLE_NAME, shape=[depth + n, 4 * n])
        self._bias = self.add_weight(_BIAS_VARIABLE_NAME, shape=[4 * n], initializer="zeros")
        self.built = True

    def call(self, inputs: Tensor, state: Any) -> Any:
        if self._state_is_tuple:
            c, h = state
        else:
            c, h = array_ops.split(state, 2, axis=1)
        gates = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, h], 1), self._kernel), self._bias)
        i, j, f, o = array_ops.split(gates, 4, axis=1)
        fb = convert_to_tensor(self._forget_bias, dtype=f.dtype)
        sig = activation_ops.sigmoid
        new_c = c * sig(f + fb) + sig(i) * self._activation(j)
        new_h = self._activation(new_c) * sig(o)
        new_state = LSTMStateTuple(new_c, new_h) if self._state_is_tuple else array_ops.concat([new_c, new_h], 1)
        return new_h, new_state


class LSTMCell(_LayerRNNCell):
    """LSTM cell with optional peepholes, cell clipping and output projection (Hochreiter &
    Schmidhuber 1997; Sak et al. 2014).

    Args:
      num_units: number of units.
      use_peepholes: add the diagonal peephole connections `w_f_diag`, `w_i_diag`, `w_o_diag`.
      cell_clip: if set, the cell state is clipped to [-cell_clip, cell_clip].
      initializer: for the kernel, the peepholes and the projection (default glorot_uniform).
      num_proj: if set, the output is projected to this size by `projection/kernel`.
      proj_clip: if set (with num_proj), the projection is clipped to [-proj_clip, proj_clip].
      num_unit_shards, num_proj_shards: not supported (must be None).
      forget_bias: added to the forget gate's pre-activation.
      state_is_tuple: states are `LSTMStateTuple(c, m)` if True, else `concat([c, m], 1)`.
      activation: inner activation; default tanh.
      reuse, name, dtype: as for the other cells.

    Raises:
      NotImplementedError: `num_unit_shards` or `num_proj_shards` is given (partitioned
        variables).
    """

    def __init__(self, num_units: int, use_peepholes: bool = False, cell_clip: Optional[float] = None,
                 initializer: Any = None, num_proj: Optional[int] = None, proj_clip: Optional[float] = None,
                 num_unit_shards: Optional[int] = None, num_proj_shards: Optional[int] = None,
                 forget_bias: float = 1.0, state_is_tuple: bool = True, activation: Any = None, reuse: Any = None,
                 name: Optional[str] = None, dtype: Any = None, **kwargs: Any):
        if num_unit_shards is not None or num_proj_shards is not None:
            raise NotImplementedError("LSTMCell: num_unit_shards / num_proj_shards (partitioned variables) are not "
                                      "supported by nestor; leave them None")
        super().__init__(num_units, activation, reuse, name, dtype, **kwargs)
        self._use_peepholes = bool(use_peepholes)
        self._cell_clip = cell_clip
        self._initializer = get_initializer(initializer)
        self._num_proj = None if num_proj is None else int(num_proj)
        self._proj_clip = proj_clip
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        m = self._num_proj if self._num_proj else self._num_units
        self._state_size = LSTMStateTuple(self._num_units, m) if state_is_tuple else self._num_units + m
        self._output_size = m

    @property
    def state_size(self) -> Any:
        return self._state_size

    @property
    def output_size(self) -> int:
        return self._output_size

    def build(self, inputs_shape: Any) -> None:
        depth, n = self._input_depth(inputs_shape), self._num_units
        h_depth = n if self._num_proj is None else self._num_proj
        init = self._initializer
        self._kernel = self.add_weight(_WEIGHTS_VARIABLE_NAME, shape=[depth + h_depth, 4 * n], initializer=init)
        self._bias = self.add_weight(_BIAS_VARIABLE_NAME, shape=[4 * n], initializer="zeros")
        if self._use_peepholes:
            self._w_f_diag = self.add_weight("w_f_diag", shape=[n], initializer=init)
            self._w_i_diag = self.add_weight("w_i_diag", shape=[n], initializer=init)
            self._w_o_diag = self.add_weight("w_o_diag", shape=[n], initializer=init)
        if self._num_proj is not None:
            self._proj_kernel = self.add_weight(f"projection/{_WEIGHTS_VARIABLE_NAME}", shape=[n, self._num_proj],
                                                initializer=init)
        self.built = True

    def call(self, inputs: Tensor, state: Any) -> Any:
        n = self._num_units
        num_proj = n if self._num_proj is None else self._num_proj
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev = array_ops.slice(state, [0, 0], [-1, n])
            m_prev = array_ops.slice(state, [0, n], [-1, num_proj])
        lstm_matrix = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, m_prev], 1), self._kernel),
                                      self._bias)
        i, j, f, o = array_ops.split(lstm_matrix, 4, axis=1)
        sig, act = activation_ops.sigmoid, self._activation
        fb = convert_to_tensor(self._forget_bias, dtype=f.dtype)
        if self._use_peepholes:
            c = sig(f + fb + self._w_f_diag * c_prev) * c_prev + sig(i + self._w_i_diag * c_prev) * act(j)
        else:
            c = sig(f + fb) * c_prev + sig(i) * act(j)
        if self._cell_clip is not None:
            c = clip_ops.clip_by_value(c, -self._cell_clip, self._cell_clip)
        m = sig(o + self._w_o_diag * c) * act(c) if self._use_peepholes else sig(o) * act(c)
        if self._num_proj is not None:
            m = math_ops.matmul(m, self._proj_kernel)
            if self._proj_clip is not None:
                m = clip_ops.clip_by_value(m, -self._proj_clip, self._proj_clip)
        new_state = LSTMStateTuple(c, m) if self._state_is_tuple else array_ops.concat([c, m], 1)
        return m, new_state
