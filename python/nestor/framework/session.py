"""`Session`: runs fetches of a graph. Each distinct (feeds, fetches) pair is compiled
once into a native plan and cached; `run` then costs one native call."""
from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _native
from .. import dtypes as _dtypes
from .graph import Graph, IndexedSlices, Operation, Tensor, get_default_graph

_local = threading.local()


def get_default_session() -> "Session":
    """The innermost session of `with sess.as_default()` or `with Session() as sess`."""
    stack = getattr(_local, "sessions", [])
    if not stack:
        raise ValueError("Cannot evaluate tensor using `eval()`: No default session is registered. "
                         "Use `with sess.as_default()` or pass an explicit session to `eval(session=sess)`")
    return stack[-1]


class ConfigProto:
    """The session options nestor honours (a subset of TF's `ConfigProto`).

    Args:
      intra_op_parallelism_threads: threads for one op (0 = all cores or NESTOR_NUM_THREADS).
      inter_op_parallelism_threads: accepted for compatibility; nodes run in order.
      device: "cpu", "cuda" or "cuda:N"; default from NESTOR_DEVICE, else "cpu".
      fuse_kernels: run matmul -> bias_add [-> relu] chains as one kernel (what TF's grappler
        remapper does with `_FusedMatMul`) and relu_grad -> bias_add_grad as another, on the
        CPU and on CUDA (where the whole chain runs on the GPU); False runs every op on its own.
    """

    def __init__(self, intra_op_parallelism_threads: int = 0, inter_op_parallelism_threads: int = 0,
                 device: Optional[str] = None, allow_soft_placement: bool = True,
                 log_device_placement: bool = False, fuse_kernels: bool = True, **unused: Any):
        self.intra_op_parallelism_threads = intra_op_parallelism_threads
        self.fuse_kernels = fuse_kernels
        self.inter_op_parallelism_threads = inter_op_parallelism_threads
        self.device = device
        self.allow_soft_placement = allow_soft_placement
        self.log_device_placement = log_device_placement


def _is_dlpack(v: Any) -> bool:
    """A feed imported through DLPack as it is (torch/cupy tensors, DeviceTensor), not via numpy."""
    return not isinstance(v, np.ndarray) and hasattr(type(v), "__dlpack_device__")


def _dlpack_feed(t: Tensor, v: Any, dt: _dtypes.DType) -> Any:
    """A DLPack-capable feed as a DeviceTensor viewing its memory (no copy)."""
    x = _native.from_dlpack(v)
    if x.dtype is dt:
        return x
    if x.device == "cpu":  # converted like any host array: a copy of the cast
        return np.asarray(x).astype(dt.as_numpy_dtype)
    from .. import errors
    raise errors.InvalidArgumentError(
        None, None, f"Cannot feed value of dtype {x.dtype.name} for Tensor '{t.name}', which has dtype {dt.name}: "
                    f"a feed on {x.device} is not converted; cast it on the device first")


def _default_device() -> str:
    import os
    return os.environ.get("NESTOR_DEVICE", "cpu") or "cpu"


class _FetchMapper:
    """Flattens nested fetches (lists, tuples, namedtuples, dicts) to graph elements and
    rebuilds the same structure from the flat results."""

    def __init__(self, graph: Graph, fetches: Any):
        self.tensors: List[Tensor] = []
        self.targets: List[int] = []
        self._structure = self._flatten(graph, fetches)

    def _flatten(self, graph: Graph, f: Any) -> Any:
        if f is None:
            raise TypeError("Fetch argument None has invalid type <class 'NoneType'>")
        if isinstance(f, Tensor):
            self.tensors.append(f)
            return ("t", len(self.tensors) - 1)
        if isinstance(f, Operation):
            self.targets.append(f._id)
            return ("op",)
        if isinstance(f, IndexedSlices):
            parts = [self._flatten(graph, f.values), self._flatten(graph, f.indices)]
            if f.dense_shape is not None:
                parts.append(self._flatten(graph, f.dense_shape))
            return ("is", parts)
        if isinstance(f, str):
            return self._flatten(graph, graph.as_graph_element(f))
        from .sparse_tensor import SparseTensor
        if isinstance(f, SparseTensor):
            from .values import SparseTensorValue
            return ("nt", SparseTensorValue, [self._flatten(graph, f.indices), self._flatten(graph, f.values),
                                              self._flatten(graph, f.dense_shape)])
        if hasattr(f, "_as_graph_element"):
            return self._flatten(graph, f._as_graph_element())
        if isinstance(f, dict):
            return ("d", type(f), [(k, self._flatten(graph, v)) for k, v in f.items()])
        if isinstance(f, tuple) and hasattr(f, "_fields"):
            return ("nt", type(f), [self._flatten(graph, v) for v in f])
        if isinstance(f, (list, tuple)):
            return ("l", type(f), [self._flatten(graph, v) for v in f])
        raise TypeError(f"Fetch argument {f!r} has invalid type {type(f)}, must be a string or Tensor. "
                        "(Can not convert a {type(f).__name__} into a Tensor or Operation.)")

    def build(self, values: List[Any]) -> Any:
        return self._build(self._structure, values)

    def _build(self, s: Any, values: List[Any]) -> Any:
        kind = s[0]
        if kind == "t":
            return values[s[1]]
        if kind == "op":
            return None
        if kind == "is":
            parts = [self._build(p, values) for p in s[1]]
            from ..framework.values import IndexedSlicesValue
            return IndexedSlicesValue(*parts) if len(parts) == 3 else IndexedSlicesValue(parts[0], parts[1], None)
        if kind == "d":
            return s[1]((k, self._build(v, values)) for k, v in s[2])
        if kind == "nt":
            return s[1](*[self._build(v, values) for v in s[2]])
        return s[1](self._build(v, values) for v in s[2])


class Session:
    """A TF1 session: `with nestor.Session() as sess: sess.run(fetches, feed_dict)`.

    Args:
      target: ignored (kept for TensorFlow's signature).
      graph: the graph to run; the default graph when None.
      config: a `ConfigProto` (threads, device).
    """

    def __init__(self, target: str = "", graph: Optional[Graph] = None, config: Optional[ConfigProto] = None):
        self._graph = graph if graph is not None else get_default_graph()
        self._config = config or ConfigProto()
        device = self._config.device or _default_device()
        # _constant_variables: set by saved_model.load, whose variables never change after loading.
        self._native = _native.Session(self._graph._native, device, self._config.intra_op_parallelism_threads,
                                       getattr(self._config, "fuse_kernels", True),
                                       getattr(self._config, "_constant_variables", False))
        self._plans: Dict[Tuple, Any] = {}
        self._closed = False
        self._ctx: List[Any] = []

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def sess_str(self) -> str:
        return ""

    def close(self) -> None:
        self._closed = True
        self._plans.clear()

    def __enter__(self) -> "Session":
        self._ctx.append(self.as_default())
        self._ctx[-1].__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ctx.pop().__exit__(*exc)
        self.close()

    def as_default(self) -> Any:
        sess = self

        class _Ctx:
            def __enter__(self_inner) -> "Session":
                if not hasattr(_local, "sessions"):
                    _local.sessions = []
                _local.sessions.append(sess)
                sess._graph_ctx = sess._graph.as_default()
                sess._graph_ctx.__enter__()
                return sess

            def __exit__(self_inner, *exc: Any) -> None:
                sess._graph_ctx.__exit__(*exc)
                _local.sessions.pop()

        return _Ctx()

    # -- running
    def _feed_items(self, feed_dict: Optional[Dict[Any, Any]]) -> Tuple[List[Tensor], List[Any]]:
        keys: List[Tensor] = []
        vals: List[Any] = []
        if not feed_dict:
            return keys, vals
        for k, v in feed_dict.items():
            if isinstance(k, str):
                k = self._graph.as_graph_element(k)
            elif hasattr(k, "_feed_tensors"):  # SparseTensor placeholders and friends
                for kk, vv in k._feed_tensors(v):
                    keys.append(kk)
                    vals.append(vv)
                continue
            elif hasattr(k, "_as_graph_element") and not isinstance(k, Tensor):
                k = k._as_graph_element()
            if not isinstance(k, Tensor):
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: {k!r}")
            if k.graph is not self._graph:
                raise ValueError(f"Tensor {k.name} is not an element of this graph.")
            keys.append(k)
            vals.append(v)
        return keys, vals

    @staticmethod
    def _to_array(t: Tensor, v: Any, dt: Optional[_dtypes.DType] = None) -> np.ndarray:
        """`v` as the array fed to `t` (`dt`: t's dtype, when the caller has it at hand)."""
        if isinstance(v, Tensor):
            raise TypeError(f"The value of a feed cannot be a nestor.Tensor object ({v.name}). "
                            "Acceptable feed values include Python scalars, strings, lists, numpy ndarrays.")
        if dt is None:
            dt = t.dtype
        if dt is not _dtypes.string and _is_dlpack(v):
            return _dlpack_feed(t, v, dt)
        if dt is _dtypes.string:
            a = np.asarray(v, dtype=object)
            return a
        a = np.asarray(v)
        if a.dtype != dt.as_numpy_dtype:
            if a.dtype.kind in "OUS":
                raise ValueError(f"Cannot feed value of dtype {a.dtype} for Tensor '{t.name}', which has dtype "
                                 f"{dt.name}")
            a = a.astype(dt.as_numpy_dtype)
        return a

    def _plan(self, feeds: List[Tensor], fetches: List[Tensor], targets: List[int],
              on_device: bool = False) -> Any:
        key = (tuple(f._key() for f in feeds), tuple(f._key() for f in fetches), tuple(targets), on_device)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._native.compile([f._key() for f in feeds], [f._key() for f in fetches], list(targets),
                                        on_device)
            self._plans[key] = plan
        return plan

    def run(self, fetches: Any, feed_dict: Optional[Dict[Any, Any]] = None, options: Any = None,
            run_metadata: Any = None, *, experimental_keep_on_device: bool = False) -> Any:
        """Runs the ops and evaluates the tensors in `fetches` (arbitrarily nested).

        Feed values may be numpy arrays, Python values, or DLPack producers (`torch.Tensor`,
        `cupy.ndarray`, `nestor.experimental.dlpack.DeviceTensor`), which are used without a
        copy; a GPU feed on the session's GPU stays there, one on another device is copied
        where the graph needs it (on a CPU session, to the host).

        Args:
          fetches: graph elements (tensors, ops, names), arbitrarily nested.
          feed_dict: maps tensors (or their names) to values.
          options: ignored (kept for TensorFlow's signature).
          run_metadata: ignored.
          experimental_keep_on_device: nestor extension. True returns each fetched tensor
            as a `nestor.experimental.dlpack.DeviceTensor` where it was computed, without
            the copy back to the host (and without waiting for the GPU: consumers order
            their reads through DLPack's stream protocol, `.numpy()` waits). False (the
            default, TensorFlow's behaviour) returns numpy arrays.

        Returns:
          The fetched values as numpy arrays (DeviceTensors with
          `experimental_keep_on_device`), in the structure of `fetches` (None for ops).

        Raises:
          InvalidArgumentError: a missing or ill-shaped feed, or a runtime op failure.
          FailedPreconditionError: an uninitialized variable was read.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        mapper = _FetchMapper(self._graph, fetches)
        if getattr(self._graph, "_nestor_data_iterators", None) is not None:  # TF1 dataset iterators
            from ..data.iterator import iterator_feeds
            extra = iterator_feeds(self._graph, list(mapper.tensors) + list(mapper.targets), feed_dict)
            if extra:
                feed_dict = {**extra, **feed_dict} if feed_dict else extra
        keys, vals = self._feed_items(feed_dict)
        plan = self._plan(keys, mapper.tensors, mapper.targets, experimental_keep_on_device)
        arrays = [self._to_array(k, v) for k, v in zip(keys, vals)]
        run = self._native.run_device if experimental_keep_on_device else self._native.run
        return mapper.build(run(plan, arrays))

    def run_steps(self, fetches: Any, feed_dict: Optional[Dict[Any, Any]] = None, steps: int = 1) -> Any:
        """Runs `steps` steps in one native call (nestor extension).

        Each fed value holds `steps` batches stacked on a new leading axis; step k is fed
        `value[k]`. Returns the fetches of the last step.
        """
        mapper = _FetchMapper(self._graph, fetches)
        keys, vals = self._feed_items(feed_dict)
        plan = self._plan(keys, mapper.tensors, mapper.targets)
        arrays = []
        for k, v in zip(keys, vals):
            if k.dtype is not _dtypes.string and _is_dlpack(v):
                arrays.append(_dlpack_feed(k, v, k.dtype))
                continue
            a = np.asarray(v)
            if k.dtype is not _dtypes.string and a.dtype != k.dtype.as_numpy_dtype:
                a = a.astype(k.dtype.as_numpy_dtype)
            arrays.append(a)
        out = self._native.run_steps(plan, arrays, int(steps))
        return mapper.build(out)

    def make_callable(self, fetches: Any, feed_list: Optional[Sequence[Any]] = None,
                      accept_options: bool = False, *, experimental_keep_on_device: bool = False
                      ) -> Callable[..., Any]:
        """Returns a function `f(*feed_values)` equivalent to `run(fetches, dict(zip(feed_list, feed_values)))`
        with the fetch/feed bookkeeping done once.

        Args:
          fetches: as for `run`.
          feed_list: the tensors that the positional arguments feed.
          accept_options: ignored (kept for TensorFlow's signature).
          experimental_keep_on_device: as for `run`: fetches come back as DeviceTensors
            where they were computed.
        """
        mapper = _FetchMapper(self._graph, fetches)
        keys, _ = self._feed_items({k: None for k in (feed_list or [])})
        on_device = bool(experimental_keep_on_device)
        plan = self._plan(keys, mapper.tensors, mapper.targets, on_device)
        native_run = self._native.run_device if on_device else self._native.run
        to_array = self._to_array

        graph = self._graph
        if getattr(graph, "_nestor_data_iterators", None) is not None:
            return lambda *args, **kwargs: self.run(fetches, dict(zip(feed_list or [], args)),
                                                    experimental_keep_on_device=on_device)

        specs = [(k, k.dtype) for k in keys]  # a Tensor's dtype is a call into the graph: read once
        exact = [None if dt is _dtypes.string else np.dtype(dt.as_numpy_dtype) for _, dt in specs]

        def call(*args: Any, **kwargs: Any) -> Any:
            arrays = [v if type(v) is np.ndarray and v.dtype == want else to_array(k, v, dt)
                      for (k, dt), want, v in zip(specs, exact, args)]
            return mapper.build(native_run(plan, arrays))

        return call

    # -- variables (used by checkpoints)
    def _variable_value(self, name: str) -> np.ndarray:
        return self._native.get_variable(name)

    def _set_variable_value(self, name: str, value: np.ndarray) -> None:
        self._native.set_variable(name, value)


InteractiveSession = Session
