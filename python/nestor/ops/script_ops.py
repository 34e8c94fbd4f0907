"""`tf.py_function`, `tf.numpy_function` and `tf.compat.v1.py_func`: a Python function as a graph op.

The op (native "host_callback") names the function by a token; when a session runs it, the
runtime calls back into this process (`_call`, holding the GIL) with the inputs as numpy arrays
and takes the returned values as the op's outputs. As in TensorFlow:
  * the function runs on the CPU (device inputs are copied to the host), has no gradient, and
    is never folded or skipped when its outputs are needed;
  * it exists only in the process that built the graph: an export that contains it cannot be
    served (nestor refuses to write such an export, see `check_exportable`);
  * outputs have unknown static shapes (use `set_shape` when you know them);
  * exceptions raised by the function become errors of `Session.run`: ValueError and
    TypeError an `InvalidArgumentError`, StopIteration and IndexError an `OutOfRangeError`,
    NotImplementedError an `UnimplementedError`, others an `UnknownError`.
"""
from __future__ import annotations

import itertools
import threading
import weakref
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Union

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Operation, Tensor, convert_to_tensor, get_default_graph

__all__ = ["py_function", "numpy_function", "py_func", "eager_py_func"]



class _Entry(NamedTuple):
    func: Callable[..., Any]
    eager: bool                 # gets EagerTensor-like values (py_function), else numpy arrays
    touts: List[_dtypes.DType]  # output dtypes
    single: bool                # Tout was one dtype: func returns one value, not a list


_functions: Dict[int, _Entry] = {}  # token -> entry
_tokens = itertools.count(1)
_lock = threading.Lock()

OP_TYPE = "host_callback"


class _EagerValue(np.ndarray):
    """A numpy array with `EagerTensor.numpy()`: what `tf.py_function` passes to its function."""

    def numpy(self) -> Any:
        """The value as numpy: a numpy scalar (or bytes) for a scalar, else an array."""
        v = np.asarray(self)
        return v[()] if v.ndim == 0 else v


def _register(graph: Any, entry: _Entry) -> int:
    with _lock:
        token = next(_tokens)
        _functions[token] = entry
    weakref.finalize(graph, _functions.pop, token, None)  # lives as long as the graph
    return token


def _output(value: Any, dtype: _dtypes.DType, i: int) -> np.ndarray:
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        value = np.asarray(value)
    if dtype == _dtypes.string:
        arr = np.asarray(value, dtype=object)
        bad = [v for v in arr.reshape(-1) if not isinstance(v, (bytes, str))]
        if bad:
            raise TypeError(f"output {i} must hold bytes or str (Tout string), got {type(bad[0]).__name__}")
        return arr
    try:
        return np.asarray(value, dtype=dtype.as_numpy_dtype, order="C")
    except (TypeError, ValueError) as e:
        raise TypeError(f"output {i} of type {type(value).__name__} cannot be converted to {dtype.name} "
                        f"(Tout): {e}") from None


def _call(token: int, node: str, args: List[np.ndarray]) -> List[np.ndarray]:
    """Called by the runtime (nestor._native) to run the function of host_callback node `node`."""
    entry = _functions.get(token)
    if entry is None:
        raise ValueError(f"the Python function of {node} is gone: its graph was deleted, or the graph comes from "
                         f"another process (an export or a serialized graph)")
    touts = entry.touts
    result = entry.func(*[a.view(_EagerValue) if entry.eager else a for a in args])
    if entry.single:
        return [_output(result, touts[0], 0)]
    if not touts:
        return []
    if not isinstance(result, (list, tuple)):
        if len(touts) != 1:
            raise ValueError(f"the function returned one value, expected {len(touts)} (Tout {[t.name for t in touts]})")
        result = [result]
    if len(result) != len(touts):
        raise ValueError(f"the function returned {len(result)} values, expected {len(touts)} "
                         f"(Tout {[t.name for t in touts]})")
    return [_output(v, t, i) for i, (v, t) in enumerate(zip(result, touts))]


def _build(func: Callable[..., Any], inp: Optional[Sequence[Any]], Tout: Any, name: Optional[str], eager: bool,
           default_name: str) -> Union[Tensor, List[Tensor], Operation]:
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    if isinstance(inp, (Tensor, np.ndarray)) or inp is None:
        inp = [] if inp is None else [inp]
    inputs = [convert_to_tensor(x) for x in inp]
    single = not isinstance(Tout, (list, tuple))
    touts = [_dtypes.as_dtype(t) for t in ([Tout] if single else Tout)]
    graph = inputs[0].graph if inputs else get_default_graph()
    token = _register(graph, _Entry(func, eager, touts, single))
    op = graph.create_op(OP_TYPE, inputs, {"token": token, "Tout": [t.name for t in touts]},
                         name=name or default_name)
    outs = list(op.outputs)
    if single:
        return outs[0]
    return outs if outs else op


def py_function(func: Callable[..., Any], inp: Optional[Sequence[Any]] = None, Tout: Any = None,
                name: Optional[str] = None) -> Any:
    """Wraps a Python function into an op that calls it when the graph runs (`tf.py_function`).

    Args:
      func: a Python function of `len(inp)` arguments, each a numpy array that also has
        `.numpy()` (as TensorFlow's EagerTensor). It returns a value (or a list of values, one
        per entry of a list `Tout`) convertible to the `Tout` dtypes.
      inp: the input tensors (or values convertible to tensors).
      Tout: a dtype (one output) or a list of dtypes (a list of outputs; `[]`: the op).
      name: a name for the operation (optional).

    Returns:
      A `Tensor` of unknown shape, or a list of them when `Tout` is a list (the `Operation`
      when that list is empty).
    """
    return _build(func, inp, Tout, name, True, "EagerPyFunc")


eager_py_func = py_function


def numpy_function(func: Callable[..., Any], inp: Sequence[Any], Tout: Any, stateful: bool = True,
                   name: Optional[str] = None) -> Any:
    """Wraps a Python function of numpy arrays into an op (`tf.numpy_function`).

    As `py_function`, but `func` receives plain numpy arrays. `stateful` is accepted for
    TensorFlow's signature; nestor never folds or deduplicates the call either way.
    """
    del stateful
    return _build(func, inp, Tout, name, False, "PyFunc")


def py_func(func: Callable[..., Any], inp: Sequence[Any], Tout: Any, stateful: bool = True,
            name: Optional[str] = None) -> Any:
    """TensorFlow 1's name of `numpy_function` (`tf.compat.v1.py_func`)."""
    return numpy_function(func, inp, Tout, stateful=stateful, name=name)


def check_exportable(graph: Any, what: str) -> None:
    """Raises ValueError when `graph` calls Python functions (an export runs without Python)."""
    calls = [op.name for op in graph.get_operations() if op.type == OP_TYPE]
    if calls:
        raise ValueError(f"{what}: the graph calls Python functions (tf.py_function / tf.numpy_function: ops "
                         f"{calls}), which an export cannot hold: it is served without Python (C++ Predictor, "
                         f"model server). Move that computation into the input pipeline or write it with nestor ops.")
