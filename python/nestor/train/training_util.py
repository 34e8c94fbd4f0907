"""The global step: an int64 scalar variable counting training steps (TF1's training_util)."""
from __future__ import annotations

from typing import Any, Optional

from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.graph import GraphKeys, Tensor
from ..framework.variables import Variable
from . import training_ops

__all__ = ["get_global_step", "create_global_step", "get_or_create_global_step", "global_step",
           "assert_global_step"]


def global_step(sess: Any, global_step_tensor: Any) -> int:
    """The current value of `global_step_tensor`, as a Python int."""
    return int(sess.run(global_step_tensor))


def assert_global_step(global_step_tensor: Any) -> None:
    """Raises TypeError unless `global_step_tensor` is an integer scalar Variable or Tensor."""
    if not isinstance(global_step_tensor, (Variable, Tensor)):
        raise TypeError(f'Existing "global_step" must be a Variable or Tensor: {global_step_tensor}.')
    if not global_step_tensor.dtype.is_integer:
        raise TypeError(f'Existing "global_step" does not have integer type: {global_step_tensor.dtype.name}')
    shape = global_step_tensor.shape
    if shape.ndims != 0 and shape.is_fully_defined():
        raise TypeError(f'Existing "global_step" is not scalar: {shape}')


def get_global_step(graph: Optional[_g.Graph] = None) -> Any:
    """The global step variable of `graph` (default graph): the one in the GLOBAL_STEP
    collection, else the tensor named "global_step:0", else None."""
    graph = graph if graph is not None else _g.get_default_graph()
    tensors = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(tensors) == 1:
        gst = tensors[0]
    elif not tensors:
        try:
            gst = graph.get_tensor_by_name("global_step:0")
        except KeyError:
            return None
    else:
        return None
    assert_global_step(gst)
    return gst


def create_global_step(graph: Optional[_g.Graph] = None) -> Variable:
    """Creates the global step variable: int64 scalar "global_step", initialized to 0,
    non-trainable, in the GLOBAL_VARIABLES and GLOBAL_STEP collections.

    Raises:
      ValueError: if the graph already has a global step.
    """
    graph = graph if graph is not None else _g.get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.control_dependencies(None), graph.name_scope(""):
        v = Variable(lambda: training_ops.const(0, _dtypes.int64, name="initial_value"), trainable=False,
                     dtype=_dtypes.int64, collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP], _full_name="global_step")
    graph._variables.setdefault("global_step", v)
    return v


def get_or_create_global_step(graph: Optional[_g.Graph] = None) -> Any:
    """The graph's global step, created if it does not exist."""
    graph = graph if graph is not None else _g.get_default_graph()
    gst = get_global_step(graph)
    return gst if gst is not None else create_global_step(graph)
