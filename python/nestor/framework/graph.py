"""Graphs, operations and tensors: the TF1 graph-building front end.

A `Graph` wraps the native append-only graph; `Operation` and `Tensor` are light
handles (graph, node id, output index). Every op is created through `create_op`, which
applies the current name scope, control dependencies and device, and lets the native
shape function check dtypes and shapes at build time.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from .. import _native
from .. import dtypes as _dtypes


class GraphKeys:
    """Standard collection names, as in `tf.compat.v1.GraphKeys`."""

    GLOBAL_VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    METRIC_VARIABLES = "metric_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    CONCATENATED_VARIABLES = "concatenated_variables"
    SAVERS = "savers"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    SAVEABLE_OBJECTS = "saveable_objects"
    RESOURCES = "resources"
    LOCAL_RESOURCES = "local_resources"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    READY_FOR_LOCAL_INIT_OP = "ready_for_local_init_op"
    SUMMARY_OP = "summary_op"
    GLOBAL_STEP = "global_step"
    EVAL_STEP = "eval_step"
    TRAIN_OP = "train_op"


class TensorShape:
    """A possibly partial shape: `None` rank or dims of `None` (unknown) / int."""

    __slots__ = ("_dims",)

    def __init__(self, dims: Any):
        if isinstance(dims, TensorShape):
            self._dims = dims._dims
        elif dims is None:
            self._dims = None
        else:
            if isinstance(dims, (int, np.integer)):
                dims = [dims]
            self._dims = tuple(None if d is None or (not isinstance(d, Dimension) and int(d) < 0)
                               else int(d.value if isinstance(d, Dimension) else d) if
                               (not isinstance(d, Dimension) or d.value is not None) else None
                               for d in dims)

    @property
    def rank(self) -> Optional[int]:
        return None if self._dims is None else len(self._dims)

    @property
    def ndims(self) -> Optional[int]:
        return self.rank

    @property
    def dims(self) -> Optional[List["Dimension"]]:
        return None if self._dims is None else [Dimension(d) for d in self._dims]

    def as_list(self) -> List[Optional[int]]:
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return list(self._dims)

    def is_fully_defined(self) -> bool:
        return self._dims is not None and all(d is not None for d in self._dims)

    def num_elements(self) -> Optional[int]:
        if not self.is_fully_defined():
            return None
        return int(np.prod(self._dims, dtype=np.int64))

    def is_compatible_with(self, other: Any) -> bool:
        other = as_shape(other)
        if self._dims is None or other._dims is None:
            return True
        if len(self._dims) != len(other._dims):
            return False
        return all(a is None or b is None or a == b for a, b in zip(self._dims, other._dims))

    def merge_with(self, other: Any) -> "TensorShape":
        other = as_shape(other)
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are not compatible")
        if self._dims is None:
            return other
        if other._dims is None:
            return self
        return TensorShape([a if a is not None else b for a, b in zip(self._dims, other._dims)])

    def assert_is_compatible_with(self, other: Any) -> None:
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {as_shape(other)} are incompatible")

    def with_rank(self, rank: int) -> "TensorShape":
        if self._dims is None:
            return TensorShape([None] * rank)
        if len(self._dims) != rank:
            raise ValueError(f"Shape {self} must have rank {rank}")
        return self

    def with_rank_at_least(self, rank: int) -> "TensorShape":
        if self._dims is not None and len(self._dims) < rank:
            raise ValueError(f"Shape {self} must have rank at least {rank}")
        return self

    def concatenate(self, other: Any) -> "TensorShape":
        other = as_shape(other)
        if self._dims is None or other._dims is None:
            return TensorShape(None)
        return TensorShape(self._dims + other._dims)

    def __len__(self) -> int:
        if self._dims is None:
            raise ValueError("Cannot take the length of a shape with unknown rank.")
        return len(self._dims)

    def __iter__(self) -> Iterator[Any]:
        if self._dims is None:
            raise ValueError("Cannot iterate over a shape with unknown rank.")
        return iter(Dimension(d) if d is None else d for d in self._dims)

    def __getitem__(self, key: Any) -> Any:
        if self._dims is None:
            if isinstance(key, slice):
                return TensorShape(None)
            return Dimension(None)
        if isinstance(key, slice):
            return TensorShape(self._dims[key])
        d = self._dims[key]
        return d if d is not None else Dimension(None)

    def __eq__(self, other: object) -> bool:
        try:
            other = as_shape(other)
        except (TypeError, ValueError):
            return NotImplemented
        return self._dims == other._dims

    def __ne__(self, other: object) -> bool:
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self) -> int:
        return hash(self._dims)

    def __repr__(self) -> str:
        if self._dims is None:
            return "TensorShape(None)"
        return f"TensorShape({list(self._dims)})"

    def __str__(self) -> str:
        if self._dims is None:
            return "<unknown>"
        inner = ", ".join("?" if d is None else str(d) for d in self._dims)
        return f"({inner},)" if len(self._dims) == 1 else f"({inner})"

    def _native_shape(self) -> Any:
        return _native.PartialShape(None if self._dims is None else list(self._dims))


class Dimension:
    """One dimension of a `TensorShape` (value `None` when unknown)."""

    __slots__ = ("value",)

    def __init__(self, value: Optional[int]):
        self.value = None if value is None else int(value)

    def __int__(self) -> int:
        if self.value is None:
            raise ValueError("Cannot convert an unknown Dimension to an int")
        return self.value

    __index__ = __int__

    def __eq__(self, other: object) -> Any:
        o = other.value if isinstance(other, Dimension) else other
        if self.value is None or o is None:
            return None
        return self.value == o

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"Dimension({self.value})"

    def __str__(self) -> str:
        return "?" if self.value is None else str(self.value)


def as_shape(shape: Any) -> TensorShape:
    return shape if isinstance(shape, TensorShape) else TensorShape(shape)


def dimension_value(d: Any) -> Optional[int]:
    return d.value if isinstance(d, Dimension) else d


class Operation:
    """A node of the graph (`tf.Operation`)."""

    __slots__ = ("graph", "_id")

    def __init__(self, graph: "Graph", node_id: int):
        self.graph = graph
        self._id = node_id

    @property
    def name(self) -> str:
        return self.graph._native.node_name(self._id)

    @property
    def type(self) -> str:
        return self.graph._native.node_op(self._id)

    @property
    def device(self) -> str:
        return self.graph._native.node_device(self._id)

    @property
    def inputs(self) -> List["Tensor"]:
        return [Tensor(self.graph, n, i) for n, i in self.graph._native.node_inputs(self._id)]

    @property
    def outputs(self) -> List["Tensor"]:
        return [Tensor(self.graph, self._id, i) for i in range(self.graph._native.num_outputs(self._id))]

    @property
    def control_inputs(self) -> List["Operation"]:
        return [Operation(self.graph, n) for n in self.graph._native.node_control_inputs(self._id)]

    def get_attr(self, name: str) -> Any:
        attrs = self.graph._native.node_attrs(self._id)
        if name not in attrs:
            raise ValueError(f"Operation '{self.name}' has no attr named '{name}'.")
        v = attrs[name]
        if isinstance(v, _native.DType):
            return _dtypes.as_dtype(v)
        return v

    def run(self, feed_dict: Optional[Dict[Any, Any]] = None, session: Any = None) -> None:
        from .session import get_default_session
        (session or get_default_session()).run(self, feed_dict)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Operation) and other.graph is self.graph and other._id == self._id

    def __hash__(self) -> int:
        return hash((id(self.graph), self._id, "op"))

    def __repr__(self) -> str:
        return f"<nestor.Operation '{self.name}' type={self.type}>"


class Tensor:
    """A symbolic value: output `value_index` of an `Operation` (`tf.Tensor`)."""

    __slots__ = ("graph", "_node", "_index")
    __array_priority__ = 100

    def __init__(self, graph: "Graph", node: int, index: int = 0):
        self.graph = graph
        self._node = node
        self._index = index

    @property
    def op(self) -> Operation:
        return Operation(self.graph, self._node)

    @property
    def value_index(self) -> int:
        return self._index

    @property
    def dtype(self) -> _dtypes.DType:
        return _dtypes.as_dtype(self.graph._native.output_dtype(self._node, self._index))

    @property
    def shape(self) -> TensorShape:
        return TensorShape(self.graph._native.output_shape(self._node, self._index))

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def name(self) -> str:
        return f"{self.graph._native.node_name(self._node)}:{self._index}"

    @property
    def device(self) -> str:
        return self.op.device

    def _key(self) -> tuple:
        return (self._node, self._index)

    def eval(self, feed_dict: Optional[Dict[Any, Any]] = None, session: Any = None) -> Any:
        from .session import get_default_session
        return (session or get_default_session()).run(self, feed_dict)

    def consumers(self) -> List[Operation]:
        g = self.graph._native
        return [Operation(self.graph, n) for n in range(self._node + 1, g.num_nodes())
                if (self._node, self._index) in g.node_inputs(n)]

    def set_shape(self, shape: Any) -> None:
        """Refines this tensor's static shape with `shape` (the most specific of the two); ops
        built on it afterwards see the refined shape. Nothing is checked when the graph runs."""
        shape = as_shape(shape)
        if not self.shape.is_compatible_with(shape):
            raise ValueError(f"Tensor {self.name} has shape {self.shape}, incompatible with {shape}")
        self.graph._native.refine_shape(self._node, self._index, shape._native_shape())
        self.graph._version += 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tensor) and other.graph is self.graph and other._key() == self._key()

    def __hash__(self) -> int:
        return hash((id(self.graph), self._node, self._index))

    def __bool__(self) -> bool:
        raise TypeError("Using a nestor.Tensor as a Python bool is not allowed. Use `if t is not None:` "
                        "to test for None, or nestor.cond/where to branch on its value.")

    def __iter__(self) -> Iterator["Tensor"]:
        s = self.shape
        if s.rank is None or s.rank == 0 or s[0].__class__ is Dimension:
            raise TypeError("Tensor objects are only iterable when the first dimension is known.")
        from ..ops import array_ops
        return iter(array_ops.unstack(self, num=s[0]))

    def __len__(self) -> int:
        s = self.shape
        if s.rank is None or s.rank == 0 or s[0].__class__ is Dimension:
            raise TypeError(f"len is not well defined for tensor {self.name} of shape {s}")
        return s[0]

    def __repr__(self) -> str:
        return f"<nestor.Tensor '{self.name}' shape={self.shape} dtype={self.dtype.name}>"


class IndexedSlices:
    """A sparse representation of rows of a dense tensor: `dense[indices[i]] = values[i]`.

    Gradients of `gather`/embedding lookups are IndexedSlices, so a huge embedding table
    is updated row by row and never densified.
    """

    def __init__(self, values: Tensor, indices: Tensor, dense_shape: Optional[Tensor] = None):
        self.values = values
        self.indices = indices
        self.dense_shape = dense_shape

    @property
    def dtype(self) -> _dtypes.DType:
        return self.values.dtype

    @property
    def graph(self) -> "Graph":
        return self.values.graph

    @property
    def name(self) -> str:
        return self.values.name

    @property
    def op(self) -> Operation:
        return self.values.op

    def __repr__(self) -> str:
        return f"IndexedSlices(indices={self.indices}, values={self.values}, dense_shape={self.dense_shape})"


_local = threading.local()


def _graph_stack() -> List["Graph"]:
    if not hasattr(_local, "graphs"):
        _local.graphs = []
    return _local.graphs


_global_default: List[Optional["Graph"]] = [None]


class Graph:
    """A dataflow graph (`tf.Graph`). Use `with g.as_default():` to build into it."""

    def __init__(self) -> None:
        self._native = _native.Graph()
        self._name_stack = ""
        self._used_scopes: Dict[str, int] = {}
        self._control_deps: List[List[int]] = []
        self._device_stack: List[str] = []
        self._collections: Dict[str, List[Any]] = {}
        self.seed: Optional[int] = None
        self._finalized = False
        self._variables: Dict[str, Any] = {}      # get_variable store: full name -> Variable
        self._var_scope_stack: List[Any] = []
        self._attr_scope: Dict[str, Any] = {}
        self._version = 0

    # -- building
    @contextlib.contextmanager
    def as_default(self) -> Iterator["Graph"]:
        stack = _graph_stack()
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def finalize(self) -> None:
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    def _check_not_finalized(self) -> None:
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        full = f"{self._name_stack}/{name}" if self._name_stack else name
        base = full
        i = self._used_scopes.get(base, 0)
        if i > 0 or self._native.find(full) >= 0:
            while True:
                i = max(i, 1)
                full = f"{base}_{i}"
                if full not in self._used_scopes and self._native.find(full) < 0:
                    break
                i += 1
        if mark_as_used:
            self._used_scopes[base] = i + 1
            self._used_scopes.setdefault(full, 1)
        return full

    @contextlib.contextmanager
    def name_scope(self, name: Optional[str]) -> Iterator[str]:
        old = self._name_stack
        if name is None or name == "":
            new = "" if name == "" else old
        elif name.endswith("/"):
            new = name[:-1]
        else:
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield (new + "/") if new else ""
        finally:
            self._name_stack = old

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: Optional[Sequence[Any]]) -> Iterator[None]:
        if control_inputs is None:
            saved = self._control_deps
            self._control_deps = []
            try:
                yield
            finally:
                self._control_deps = saved
            return
        ids = []
        for c in control_inputs:
            ids.extend(_control_ids(c))
        self._control_deps.append(ids)
        try:
            yield
        finally:
            self._control_deps.pop()

    @contextlib.contextmanager
    def device(self, device_name: Optional[str]) -> Iterator[None]:
        self._device_stack.append(device_name or "")
        try:
            yield
        finally:
            self._device_stack.pop()

    def create_op(self, op_type: str, inputs: Sequence[Tensor], attrs: Optional[Dict[str, Any]] = None,
                  name: Optional[str] = None, control_inputs: Sequence[int] = ()) -> Operation:
        self._check_not_finalized()
        full = self.unique_name(name or op_type)
        ctrl = [i for deps in self._control_deps for i in deps] + list(control_inputs)
        native_attrs = {}
        for k, v in (attrs or {}).items():
            if isinstance(v, _dtypes.DType):
                v = v._native
            elif isinstance(v, TensorShape):
                v = v._native_shape()
            native_attrs[k] = v
        for t in inputs:
            if t.graph is not self:
                raise ValueError(f"Tensor {t.name} must be from the same graph as the op '{full}' being created.")
        device = self._device_stack[-1] if self._device_stack else ""
        node = self._native.add_node(op_type, [(t._node, t._index) for t in inputs], native_attrs, full,
                                     ctrl, device)
        self._version += 1
        return Operation(self, node)

    # -- lookup
    def get_operations(self) -> List[Operation]:
        return [Operation(self, i) for i in range(self._native.num_nodes())]

    def get_operation_by_name(self, name: str) -> Operation:
        i = self._native.find(name)
        if i < 0:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph.")
        return Operation(self, i)

    def get_tensor_by_name(self, name: str) -> Tensor:
        if ":" not in name:
            raise ValueError(f"The name '{name}' looks like an Operation name, not a Tensor name ('op:0').")
        op_name, idx = name.rsplit(":", 1)
        op = self.get_operation_by_name(op_name)
        i = int(idx)
        if i >= self._native.num_outputs(op._id):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist: "
                           f"'{op_name}' has {self._native.num_outputs(op._id)} outputs.")
        return Tensor(self, op._id, i)

    def as_graph_element(self, obj: Any) -> Union[Tensor, Operation]:
        if isinstance(obj, (Tensor, Operation)):
            return obj
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        if hasattr(obj, "_as_graph_element"):
            return obj._as_graph_element()
        raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation.")

    # -- collections
    def add_to_collection(self, name: str, value: Any) -> None:
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names: Sequence[str], value: Any) -> None:
        for n in ([names] if isinstance(names, str) else names):
            self.add_to_collection(n, value)

    def get_collection(self, name: str, scope: Optional[str] = None) -> List[Any]:
        items = list(self._collections.get(name, []))
        if scope is None:
            return items
        import re
        pat = re.compile(scope)
        return [x for x in items if hasattr(x, "name") and pat.match(x.name)]

    def get_collection_ref(self, name: str) -> List[Any]:
        return self._collections.setdefault(name, [])

    def clear_collection(self, name: str) -> None:
        self._collections.pop(name, None)

    def get_all_collection_keys(self) -> List[str]:
        return list(self._collections)

    # -- serialization
    def as_graph_def(self) -> bytes:
        """The graph in nestor's binary format (see cpp/src/graph/serialize.cc)."""
        return self._native.serialize()

    @classmethod
    def from_graph_def(cls, data: bytes) -> "Graph":
        g = cls()
        g._native = _native.Graph.deserialize(data)
        return g

    @property
    def version(self) -> int:
        return self._version


def _control_ids(c: Any) -> List[int]:
    if isinstance(c, Operation):
        return [c._id]
    if isinstance(c, Tensor):
        return [c._node]
    if hasattr(c, "op") and isinstance(getattr(c, "op"), Operation):
        return [c.op._id]
    if isinstance(c, IndexedSlices):
        return [c.values._node]
    raise TypeError(f"Control input must be an Operation or Tensor, got {type(c).__name__}")


def get_default_graph() -> Graph:
    """The innermost graph of `with g.as_default()`, else the global default graph."""
    stack = _graph_stack()
    if stack:
        return stack[-1]
    if _global_default[0] is None:
        _global_default[0] = Graph()
    return _global_default[0]


def reset_default_graph() -> None:
    """Replaces the global default graph by a new, empty one."""
    if _graph_stack():
        raise AssertionError("Do not use reset_default_graph() inside a `with graph.as_default()` block.")
    _global_default[0] = Graph()


def name_scope(name: Optional[str], default_name: Optional[str] = None, values: Any = None) -> Any:
    """`tf.name_scope`: prefixes the names of ops created inside it."""
    return get_default_graph().name_scope(name if name is not None else default_name)


def control_dependencies(control_inputs: Optional[Sequence[Any]]) -> Any:
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name: Optional[str]) -> Any:
    return get_default_graph().device(device_name)


def add_to_collection(name: str, value: Any) -> None:
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names: Sequence[str], value: Any) -> None:
    get_default_graph().add_to_collections(names, value)


def get_collection(key: str, scope: Optional[str] = None) -> List[Any]:
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key: str) -> List[Any]:
    return get_default_graph().get_collection_ref(key)


def set_random_seed(seed: Optional[int]) -> None:
    """Sets the graph-level seed of the default graph (`tf.compat.v1.set_random_seed`)."""
    get_default_graph().seed = seed


_DEFAULT_GRAPH_SEED = 87654321


def get_seed(op_seed: Optional[int]) -> tuple:
    """TF1's seed rule: (graph seed, op seed), both None when neither is set."""
    g = get_default_graph()
    if g.seed is not None:
        if op_seed is None:
            op_seed = g._native.num_nodes()
        return g.seed, op_seed
    if op_seed is not None:
        return _DEFAULT_GRAPH_SEED, op_seed
    return None, None


def _wrap_outputs(op: Operation) -> Any:
    n = op.graph._native.num_outputs(op._id)
    if n == 0:
        return op
    if n == 1:
        return Tensor(op.graph, op._id, 0)
    return [Tensor(op.graph, op._id, i) for i in range(n)]


def convert_to_tensor(value: Any, dtype: Any = None, name: Optional[str] = None,
                      preferred_dtype: Any = None, dtype_hint: Any = None) -> Tensor:
    """Converts Tensors, Variables, numpy arrays and Python values to a `Tensor`.

    Python floats become float32 and ints int32 (as in TensorFlow) unless `dtype` or
    `dtype_hint` says otherwise.

    Raises:
      ValueError: if a Tensor's dtype differs from the requested `dtype`.
    """
    if isinstance(value, Tensor):
        if dtype is not None and _dtypes.as_dtype(dtype) != value.dtype:
            raise ValueError(f"Tensor conversion requested dtype {_dtypes.as_dtype(dtype).name} for Tensor "
                             f"with dtype {value.dtype.name}: {value!r}")
        return value
    if hasattr(value, "_as_graph_element") and not isinstance(value, Operation):
        t = value._as_graph_element()
        return convert_to_tensor(t, dtype=dtype, name=name)
    if isinstance(value, IndexedSlices):
        from ..ops import core_ops
        return core_ops.indexed_slices_to_dense(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Tensor,)) or hasattr(v, "_as_graph_element")
                                                for v in _flatten_seq(value)):
        from ..ops import array_ops
        return array_ops.stack([convert_to_tensor(v, dtype=dtype) for v in value], name=name or "packed")
    from ..ops import core_ops
    hint = dtype if dtype is not None else (preferred_dtype or dtype_hint)
    return core_ops.constant(value, dtype=dtype, name=name or "Const", _hint=hint)


def _flatten_seq(v: Any) -> Iterator[Any]:
    for x in v:
        if isinstance(x, (list, tuple)):
            yield from _flatten_seq(x)
        else:
            yield x


def create_op(op_type: str, inputs: Sequence[Any], attrs: Optional[Dict[str, Any]] = None,
              name: Optional[str] = None) -> Any:
    """Creates an op in the default graph (or the graph of its inputs); returns its output
    Tensor, a list of Tensors when it has several, or the Operation when it has none."""
    tensors = [convert_to_tensor(x) for x in inputs]
    g = tensors[0].graph if tensors else get_default_graph()
    op = g.create_op(op_type, tensors, attrs, name)
    return _wrap_outputs(op)
