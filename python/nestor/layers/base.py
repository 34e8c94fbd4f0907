"""The TF1 layer base class (`tf.compat.v1.layers.Layer`): variable scoping and collections.

A layer creates its variables with `get_variable` inside its own variable scope the first
time it is called. Unnamed layers get the scope `<snake_case class name>` made unique in
the enclosing variable scope (`dense`, `dense_1`, ...); a layer given `name=` uses exactly
that scope, so a second layer with the same name fails unless `reuse=True` (or
`tf.AUTO_REUSE`). Calling the same layer object again reuses its variables and builds the
new ops in the layer's original name scope.
"""
from __future__ import annotations

import re
from typing import Any, Callable, List, Optional

from .. import dtypes as _dtypes
from .. import initializers as _init
from ..framework import graph as _g
from ..framework import variables as _vars
from ..framework.graph import GraphKeys, Tensor, convert_to_tensor

__all__ = ["Layer", "InputSpec"]


def _snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


_STRING_INITIALIZERS: dict = {
    "zeros": lambda: _init.zeros_initializer(),
    "ones": lambda: _init.ones_initializer(),
    "uniform": lambda: _init.random_uniform_initializer(-0.05, 0.05),
    "random_uniform": lambda: _init.random_uniform_initializer(-0.05, 0.05),
    "normal": lambda: _init.random_normal_initializer(0.0, 0.05),
    "random_normal": lambda: _init.random_normal_initializer(0.0, 0.05),
    "truncated_normal": lambda: _init.truncated_normal_initializer(0.0, 0.05),
    "glorot_uniform": lambda: _init.glorot_uniform_initializer(),
    "glorot_normal": lambda: _init.glorot_normal_initializer(),
    "he_normal": lambda: _init.he_normal(),
    "he_uniform": lambda: _init.he_uniform(),
    "lecun_normal": lambda: _init.lecun_normal(),
    "lecun_uniform": lambda: _init.lecun_uniform(),
}


def get_initializer(init: Any) -> Any:
    """Resolves a Keras-style initializer name ('zeros', 'uniform', 'glorot_uniform', ...);
    other values (initializer objects, callables, None) pass through unchanged."""
    if isinstance(init, str):
        key = init.lower()
        if key not in _STRING_INITIALIZERS:
            raise ValueError(f"Unknown initializer: {init!r}; expected one of {sorted(_STRING_INITIALIZERS)}")
        return _STRING_INITIALIZERS[key]()
    return init


class InputSpec:
    """Rank / last-axis constraints a layer places on its inputs (kept for API compatibility)."""

    def __init__(self, dtype: Any = None, shape: Any = None, ndim: Optional[int] = None,
                 max_ndim: Optional[int] = None, min_ndim: Optional[int] = None, axes: Any = None):
        self.dtype, self.shape, self.ndim = dtype, shape, ndim
        self.max_ndim, self.min_ndim, self.axes = max_ndim, min_ndim, axes or {}


class Layer:
    """Base class of the TF1 layers.

    Args:
      trainable: whether the layer's variables go to `TRAINABLE_VARIABLES`.
      name: the layer's variable scope name (unique default from the class name).
      dtype: variables' dtype; default: the dtype of the first inputs.
      activity_regularizer: optional fn(outputs) -> scalar; its value divided by the batch
        size is added to `REGULARIZATION_LOSSES`.
      _reuse: reuse flag for the variable scope (`True`, `False`/`None`, `tf.AUTO_REUSE`).
    """

    def __init__(self, trainable: bool = True, name: Optional[str] = None, dtype: Any = None,
                 activity_regularizer: Optional[Callable[[Tensor], Any]] = None, _reuse: Any = None,
                 _scope: Any = None, **kwargs: Any):
        allowed = {"input_shape", "batch_input_shape", "batch_size", "weights", "autocast", "_keras_style"}
        for k in kwargs:
            if k not in allowed:
                raise TypeError(f"Keyword argument not understood: {k!r}")
        self.trainable = bool(trainable)
        self._given_name = name if isinstance(name, str) and name else None
        self._base_name = self._given_name or _snake_case(type(self).__name__)
        self._dtype = _dtypes.as_dtype(dtype) if dtype is not None else None
        self.activity_regularizer = activity_regularizer
        self._reuse = _reuse
        self._scope: Optional[_vars.VariableScope] = None
        self._trainable_weights: List[_vars.Variable] = []
        self._non_trainable_weights: List[_vars.Variable] = []
        self._losses: List[Tensor] = []
        self._updates: List[Any] = []
        self.built = False
        self.input_spec: Optional[InputSpec] = None

    # ---------------------------------------------------------------- properties
    @property
    def name(self) -> str:
        """The layer's scope name once called (`dense_1`), else its given or base name."""
        return self._scope.name if self._scope is not None else self._base_name

    @property
    def scope_name(self) -> str:
        if self._scope is None:
            raise ValueError("No name available for layer scope because the layer has not been used yet.")
        return self._scope.name

    @property
    def dtype(self) -> Optional[_dtypes.DType]:
        return self._dtype

    @property
    def trainable_weights(self) -> List[_vars.Variable]:
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self) -> List[_vars.Variable]:
        if self.trainable:
            return list(self._non_trainable_weights)
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def weights(self) -> List[_vars.Variable]:
        return self.trainable_weights + self.non_trainable_weights

    variables = weights

    @property
    def losses(self) -> List[Tensor]:
        """Regularization losses of this layer's variables and activity."""
        return list(self._losses)

    @property
    def updates(self) -> List[Any]:
        """Update ops the layer added (also in `GraphKeys.UPDATE_OPS`)."""
        return list(self._updates)

    def get_losses_for(self, inputs: Any = None) -> List[Tensor]:
        return self.losses

    def get_updates_for(self, inputs: Any = None) -> List[Any]:
        return self.updates

    # ---------------------------------------------------------------- building
    def build(self, input_shape: _g.TensorShape) -> None:
        self.built = True

    def call(self, inputs: Any, **kwargs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> _g.TensorShape:
        raise NotImplementedError(f"{type(self).__name__}.compute_output_shape")

    def add_weight(self, name: str, shape: Any, dtype: Any = None, initializer: Any = None,
                   regularizer: Any = None, trainable: bool = True, constraint: Any = None,
                   **kwargs: Any) -> _vars.Variable:
        """Creates (or, when reusing, fetches) the variable `<scope>/<name>` with `get_variable`.

        The regularizer's loss goes to `REGULARIZATION_LOSSES` (only when the variable is
        new) and to `layer.losses`. A non-trainable layer creates non-trainable variables.
        """
        dt = _dtypes.as_dtype(dtype) if dtype is not None else (self._dtype or _dtypes.float32)
        trainable = bool(trainable) and self.trainable
        g = _g.get_default_graph()
        before = len(g.get_collection(GraphKeys.REGULARIZATION_LOSSES))
        v = _vars.get_variable(name, shape=shape, dtype=dt, initializer=get_initializer(initializer),
                               regularizer=regularizer, trainable=trainable, constraint=constraint)
        self._losses.extend(g.get_collection(GraphKeys.REGULARIZATION_LOSSES)[before:])
        if trainable:
            self._trainable_weights.append(v)
        else:
            self._non_trainable_weights.append(v)
        return v

    def add_loss(self, losses: Any, inputs: Any = None) -> None:
        """Adds loss tensors to the layer and to `REGULARIZATION_LOSSES` (as TF1 layers do)."""
        for t in (losses if isinstance(losses, (list, tuple)) else [losses]):
            if t is None:
                continue
            self._losses.append(t)
            _g.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, t)

    def add_update(self, updates: Any, inputs: Any = None) -> None:
        """Adds update ops to the layer and to `GraphKeys.UPDATE_OPS`."""
        for u in (updates if isinstance(updates, (list, tuple)) else [updates]):
            self._updates.append(u)
            _g.add_to_collection(GraphKeys.UPDATE_OPS, u)

    # ---------------------------------------------------------------- calling
    def _enter_scope(self) -> Any:
        if self._scope is None:
            if self._given_name is not None or self._reuse is True:
                return _vars.variable_scope(self._base_name, reuse=self._reuse)
            return _vars.variable_scope(None, default_name=self._base_name, reuse=self._reuse)
        return _vars.variable_scope(self._scope, reuse=True if self.built else self._reuse)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Builds the layer on first use (creating its variables) and applies it to `inputs`."""
        kwargs.pop("scope", None)
        with self._enter_scope() as scope:
            if self._scope is None:
                self._scope = scope
            if not isinstance(inputs, (list, tuple)):
                inputs = convert_to_tensor(inputs)
                if self._dtype is None and inputs.dtype.is_floating:
                    self._dtype = inputs.dtype
                shape = inputs.shape
            else:
                inputs = [convert_to_tensor(x) for x in inputs]
                shape = [x.shape for x in inputs]
            if not self.built:
                self.build(shape)
                self.built = True
            outputs = self.call(inputs, *args, **kwargs)
            if self.activity_regularizer is not None:
                self._activity_loss(outputs)
        return outputs

    def apply(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Same as `__call__`."""
        return self.__call__(inputs, *args, **kwargs)

    def _activity_loss(self, outputs: Any) -> None:
        from ..ops import core_ops
        with _g.name_scope("ActivityRegularizer"):
            for out in (outputs if isinstance(outputs, (list, tuple)) else [outputs]):
                loss = self.activity_regularizer(out)
                if loss is None:
                    continue
                loss = convert_to_tensor(loss)
                batch = core_ops.cast(core_ops.shape(out)[0], loss.dtype)
                self.add_loss(loss / batch)

    def count_params(self) -> int:
        import numpy as np
        return int(sum(np.prod(v.shape.as_list()) for v in self.weights))

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable,
                "dtype": self._dtype.name if self._dtype is not None else None}
