"""Variables, `get_variable` and variable scopes (TF1 semantics).

A variable is a graph node whose value lives in the Session's variable store; reading
it is its output. `Variable(initial_value)` adds an `assign` initializer op that
`global_variables_initializer()` groups.
"""
from __future__ import annotations

import contextlib
import re
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

from .. import dtypes as _dtypes
from . import graph as _g
from .graph import GraphKeys, Operation, Tensor, TensorShape, as_shape, convert_to_tensor


class Variable:
    """A mutable tensor kept across `Session.run` calls (`tf.compat.v1.Variable`).

    Args:
      initial_value: a Tensor or Python/numpy value, or a callable returning one.
      trainable: add to `TRAINABLE_VARIABLES` (optimizers' default var_list).
      collections: collections to add to; default `[GLOBAL_VARIABLES]`.
      validate_shape: if False, the variable's shape may change on assignment.
      name: the variable's name (made unique in the graph).
      dtype: converts the initial value to this type.
    """

    def __init__(self, initial_value: Any = None, trainable: bool = True,
                 collections: Optional[Sequence[str]] = None, validate_shape: bool = True,
                 caching_device: Any = None, name: Optional[str] = None, variable_def: Any = None,
                 dtype: Any = None, expected_shape: Any = None, import_scope: Any = None,
                 constraint: Any = None, use_resource: Any = None, synchronization: Any = None,
                 aggregation: Any = None, shape: Any = None, _full_name: Optional[str] = None):
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        g = _g.get_default_graph()
        with g.name_scope(None if _full_name else (name or "Variable")) as scope:
            op_name = _full_name if _full_name else scope[:-1]
            with g.control_dependencies(None), g.name_scope(op_name + "/"):
                init = initial_value() if callable(initial_value) else initial_value
                init = convert_to_tensor(init, dtype=dtype, name="initial_value")
            dt = init.dtype
            var_shape = as_shape(shape) if shape is not None else (init.shape if validate_shape else TensorShape(None))
            with g.control_dependencies(None):
                vop = g._native.add_node("variable", [], {"dtype": dt._native, "shape": var_shape._native_shape()},
                                         op_name, [], g._device_stack[-1] if g._device_stack else "")
                if g._native.node_name(vop) != op_name:
                    raise ValueError(f"Variable name '{op_name}' is already taken in the graph.")
                self._ref = Tensor(g, vop, 0)
                with g.name_scope(op_name + "/"):
                    self._initializer_op = g.create_op("assign", [self._ref, init],
                                                       {"validate_shape": validate_shape}, name="Assign")
        self._initial_value = init
        self._trainable = trainable
        self._constraint = constraint
        self._save_slice_info = None
        colls = list(collections) if collections is not None else [GraphKeys.GLOBAL_VARIABLES]
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in colls:
            colls.append(GraphKeys.TRAINABLE_VARIABLES)
        g.add_to_collections(colls, self)
        self._collections = colls

    # -- identity
    @property
    def name(self) -> str:
        return self._ref.name

    @property
    def op(self) -> Operation:
        return self._ref.op

    @property
    def graph(self) -> _g.Graph:
        return self._ref.graph

    @property
    def dtype(self) -> _dtypes.DType:
        return self._ref.dtype

    @property
    def shape(self) -> TensorShape:
        return self._ref.shape

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def initializer(self) -> Operation:
        return self._initializer_op

    @property
    def initial_value(self) -> Tensor:
        return self._initial_value

    @property
    def device(self) -> str:
        return self._ref.device

    @property
    def constraint(self) -> Any:
        return self._constraint

    def _as_graph_element(self) -> Tensor:
        return self._ref

    def value(self) -> Tensor:
        return self._ref

    def read_value(self) -> Tensor:
        from ..ops import core_ops
        return core_ops.identity(self._ref, name=self.op.name + "/read")

    def _shared_name(self) -> str:
        return self.op.name

    # -- updates
    def assign(self, value: Any, use_locking: bool = False, name: Optional[str] = None,
               read_value: bool = True) -> Any:
        from ..ops import state_ops
        return state_ops.assign(self, value, name=name)

    def assign_add(self, delta: Any, use_locking: bool = False, name: Optional[str] = None,
                   read_value: bool = True) -> Any:
        from ..ops import state_ops
        return state_ops.assign_add(self, delta, name=name)

    def assign_sub(self, delta: Any, use_locking: bool = False, name: Optional[str] = None,
                   read_value: bool = True) -> Any:
        from ..ops import state_ops
        return state_ops.assign_sub(self, delta, name=name)

    def eval(self, session: Any = None) -> Any:
        return self._ref.eval(session=session)

    def load(self, value: Any, session: Any = None) -> None:
        from .session import get_default_session
        (session or get_default_session())._set_variable_value(self._shared_name(), value)

    def set_shape(self, shape: Any) -> None:
        self._ref.set_shape(shape)

    def __repr__(self) -> str:
        return f"<nestor.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}>"

    # Arithmetic and indexing go through the value tensor.
    def __getattr__(self, item: str) -> Any:
        if item.startswith("__") or item in ("_ref",):
            raise AttributeError(item)
        return getattr(self._ref, item)


def _delegate(name: str) -> None:
    def f(self: Variable, *args: Any) -> Any:
        return getattr(self._ref, name)(*args)
    f.__name__ = name
    setattr(Variable, name, f)


for _op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
            "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__",
            "__rmatmul__", "__neg__", "__abs__", "__lt__", "__le__", "__gt__", "__ge__", "__and__", "__rand__",
            "__or__", "__ror__", "__xor__", "__invert__", "__getitem__"):
    _delegate(_op)

Variable.__array_priority__ = 100  # type: ignore[attr-defined]
RefVariable = Variable


# ---------------------------------------------------------------- variable scopes
AUTO_REUSE = "AUTO_REUSE"


class VariableScope:
    """The state of a `variable_scope`: name, reuse flag, default initializer/regularizer/dtype."""

    def __init__(self, reuse: Any, name: str = "", initializer: Any = None, regularizer: Any = None,
                 caching_device: Any = None, partitioner: Any = None, custom_getter: Any = None,
                 name_scope: str = "", dtype: Any = _dtypes.float32, use_resource: Any = None,
                 constraint: Any = None):
        self.name = name
        self.reuse = reuse
        self.initializer = initializer
        self.regularizer = regularizer
        self.partitioner = partitioner
        self.custom_getter = custom_getter
        self.original_name_scope = name_scope
        self.dtype = dtype
        self.constraint = constraint

    def reuse_variables(self) -> None:
        self.reuse = True

    def set_initializer(self, initializer: Any) -> None:
        self.initializer = initializer

    def set_regularizer(self, regularizer: Any) -> None:
        self.regularizer = regularizer

    def get_variable(self, name: str, *args: Any, **kwargs: Any) -> Variable:
        return get_variable(name, *args, **kwargs)


def get_variable_scope() -> VariableScope:
    g = _g.get_default_graph()
    if not g._var_scope_stack:
        g._var_scope_stack.append(VariableScope(False))
    return g._var_scope_stack[-1]


@contextlib.contextmanager
def variable_scope(name_or_scope: Any, default_name: Optional[str] = None, values: Any = None,
                   initializer: Any = None, regularizer: Any = None, caching_device: Any = None,
                   partitioner: Any = None, custom_getter: Any = None, reuse: Any = None, dtype: Any = None,
                   use_resource: Any = None, constraint: Any = None,
                   auxiliary_name_scope: bool = True) -> Iterator[VariableScope]:
    """`tf.compat.v1.variable_scope`: prefixes `get_variable` names and sets reuse.

    Reuse is inherited: inside a reusing scope every sub-scope reuses.
    """
    g = _g.get_default_graph()
    parent = get_variable_scope()
    if isinstance(name_or_scope, VariableScope):
        full = name_or_scope.name
        base_reuse = name_or_scope.reuse
        ns = name_or_scope.original_name_scope
        inherit = name_or_scope
    else:
        if name_or_scope is None:
            if default_name is None:
                raise TypeError("If default_name is None then name_or_scope is required")
            prefix = parent.name + "/" if parent.name else ""
            base = prefix + default_name
            counts = g.__dict__.setdefault("_var_scope_counts", {})
            n = counts.get(base, 0)
            counts[base] = n + 1
            full = base if n == 0 else f"{base}_{n}"
        else:
            full = (parent.name + "/" + name_or_scope) if parent.name else name_or_scope
            counts = g.__dict__.setdefault("_var_scope_counts", {})
            counts[full] = counts.get(full, 0) + 1
        base_reuse = parent.reuse
        ns = None
        inherit = parent
    eff_reuse = True if parent.reuse is True else (reuse if reuse is not None else base_reuse)
    if eff_reuse is False:
        eff_reuse = False
    scope = VariableScope(
        eff_reuse, full,
        initializer=initializer if initializer is not None else inherit.initializer,
        regularizer=regularizer if regularizer is not None else inherit.regularizer,
        partitioner=partitioner, custom_getter=custom_getter if custom_getter is not None else inherit.custom_getter,
        dtype=dtype if dtype is not None else inherit.dtype, constraint=constraint)
    g._var_scope_stack.append(scope)
    try:
        if auxiliary_name_scope:
            leaf = full.rsplit("/", 1)[-1]
            with g.name_scope(ns if ns else leaf) as name_scope:
                scope.original_name_scope = name_scope
                yield scope
        else:
            yield scope
    finally:
        g._var_scope_stack.pop()


def _default_initializer(name: str, shape: TensorShape, dtype: _dtypes.DType) -> Any:
    from .. import initializers
    if dtype.is_floating:
        return initializers.glorot_uniform_initializer()
    if dtype.is_integer or dtype.is_bool:
        return initializers.zeros_initializer()
    raise ValueError(f"An initializer for variable {name} of {dtype.name} is required")


def get_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None,
                 regularizer: Any = None, trainable: Optional[bool] = None, collections: Any = None,
                 caching_device: Any = None, partitioner: Any = None, validate_shape: bool = True,
                 use_resource: Any = None, custom_getter: Any = None, constraint: Any = None,
                 synchronization: Any = None, aggregation: Any = None) -> Variable:
    """Gets an existing variable or creates a new one (`tf.compat.v1.get_variable`).

    The full name is the current variable scope joined with `name`. Creating a name that
    exists fails unless the scope reuses; reusing a name that does not exist fails.

    Raises:
      ValueError: on reuse violations or a shape that contradicts the existing variable.
    """
    g = _g.get_default_graph()
    scope = get_variable_scope()
    full = f"{scope.name}/{name}" if scope.name else name
    getter = custom_getter or scope.custom_getter
    if getter is not None:
        def base_getter(name: str = full, *a: Any, **kw: Any) -> Variable:
            return _get_or_create(g, scope, name, *a, **kw)
        return getter(base_getter, full, shape=shape, dtype=dtype, initializer=initializer,
                      regularizer=regularizer, trainable=trainable, collections=collections,
                      validate_shape=validate_shape, constraint=constraint)
    return _get_or_create(g, scope, full, shape=shape, dtype=dtype, initializer=initializer,
                          regularizer=regularizer, trainable=trainable, collections=collections,
                          validate_shape=validate_shape, constraint=constraint)


def _get_or_create(g: _g.Graph, scope: VariableScope, full: str, shape: Any = None, dtype: Any = None,
                   initializer: Any = None, regularizer: Any = None, trainable: Optional[bool] = None,
                   collections: Any = None, validate_shape: bool = True, constraint: Any = None,
                   **unused: Any) -> Variable:
    reuse = scope.reuse
    existing = g._variables.get(full)
    if existing is not None:
        if reuse is False or reuse is None:
            raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                             f"reuse=tf.AUTO_REUSE in VarScope?")
        if shape is not None and not existing.shape.is_compatible_with(shape):
            raise ValueError(f"Trying to share variable {full}, but specified shape {as_shape(shape)} and found "
                             f"shape {existing.shape}.")
        if dtype is not None and _dtypes.as_dtype(dtype) != existing.dtype:
            raise ValueError(f"Trying to share variable {full}, but specified dtype {_dtypes.as_dtype(dtype).name} "
                             f"and found dtype {existing.dtype.name}.")
        return existing
    if reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with tf.get_variable(). "
                         f"Did you mean to set reuse=tf.AUTO_REUSE in VarScope?")
    if dtype is None and isinstance(initializer, Tensor):
        dtype = initializer.dtype  # as TensorFlow: the initializer Tensor decides
    dt = _dtypes.as_dtype(dtype) if dtype is not None else _dtypes.as_dtype(scope.dtype or _dtypes.float32)
    init = initializer if initializer is not None else scope.initializer
    if init is None:
        init = _default_initializer(full, as_shape(shape) if shape is not None else TensorShape(None), dt)
    if isinstance(init, (Tensor,)) or not callable(init):
        if shape is not None and not callable(init) and not isinstance(init, Tensor):
            import numpy as np
            init_value: Any = np.broadcast_to(np.asarray(init, dtype=dt.as_numpy_dtype),
                                              as_shape(shape).as_list())
        else:
            init_value = init
        if isinstance(init, Tensor) and shape is not None and validate_shape and \
                not init.shape.is_compatible_with(shape):
            raise ValueError(f"The initializer of variable {full} has shape {init.shape}, expected {as_shape(shape)}")
    else:
        if shape is None:
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but instead was None.")
        s = as_shape(shape)
        if not s.is_fully_defined():
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but instead was {s}.")
        init_fn = init

        def init_value() -> Any:  # type: ignore[misc]
            try:
                return init_fn(s.as_list(), dtype=dt)
            except TypeError:
                return init_fn(s.as_list())
    if trainable is None:
        trainable = True
    v = Variable(init_value, trainable=trainable, collections=collections, validate_shape=validate_shape,
                 dtype=dt, _full_name=full, constraint=constraint)
    g._variables[full] = v
    if regularizer is not None or scope.regularizer is not None:
        reg = regularizer or scope.regularizer
        with g.name_scope(full + "/Regularizer/"):
            loss = reg(v.value())
        if loss is not None:
            g.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return v


def global_variables(scope: Optional[str] = None) -> List[Variable]:
    return _g.get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


def trainable_variables(scope: Optional[str] = None) -> List[Variable]:
    return _g.get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope: Optional[str] = None) -> List[Variable]:
    return _g.get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope: Optional[str] = None) -> List[Variable]:
    return _g.get_collection(GraphKeys.MODEL_VARIABLES, scope)


def variables_initializer(var_list: Sequence[Variable], name: str = "init") -> Operation:
    """An op running the initializers of `var_list`."""
    from ..ops import core_ops
    return core_ops.group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Operation:
    return variables_initializer(global_variables(), name="init")


def local_variables_initializer() -> Operation:
    return variables_initializer(local_variables(), name="local_init")


initialize_all_variables = global_variables_initializer
initialize_variables = variables_initializer


def report_uninitialized_variables(var_list: Optional[Sequence[Variable]] = None, name: str = "") -> List[str]:
    """Names of variables not yet initialized in the default session (Python helper)."""
    from .session import get_default_session
    sess = get_default_session()
    vs = var_list if var_list is not None else global_variables() + local_variables()
    return [v.op.name for v in vs if not sess._native.is_initialized(v._shared_name())]
