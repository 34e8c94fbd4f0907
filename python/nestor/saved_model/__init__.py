"""`nestor.saved_model.load`: run an export's signatures from Python.

    m = nestor.saved_model.load(path)
    out = m.signatures["serving_default"](x=np.array([[1.0, 2.0]]))   # dict of numpy arrays

Every file is validated (JSON structure, the graph's sizes and offsets, safetensors
headers, each variable's dtype and shape) and a bad export fails with DataLossError
naming the file; nothing in an export is executed as code.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

import numpy as np

from .. import dtypes as _dtypes
from .. import errors
from ..framework import graph as _g
from ..framework.session import ConfigProto, Session, _is_dlpack


def _bad(path: str, msg: str) -> errors.DataLossError:
    return errors.DataLossError(None, None, f"export {path}: {msg}")


class Signature:
    """One signature: call with the inputs as keyword arguments (or one dict); returns a dict of arrays
    (of DeviceTensors when loaded with `experimental_keep_on_device=True`)."""

    def __init__(self, model: "LoadedModel", name: str, sig: Dict[str, Any]):
        self.name = name
        self.method_name = sig["method_name"]
        self.inputs = sig["inputs"]
        self.outputs = sig["outputs"]
        g = model.graph
        self._in = {k: g.get_tensor_by_name(v["name"]) for k, v in self.inputs.items()}
        self._out = {k: g.get_tensor_by_name(v["name"]) for k, v in self.outputs.items()}
        self._session = model.session
        self._keys = sorted(self._in)
        self._string = [self._in[k].dtype is _dtypes.string for k in self._keys]
        # Fetch/feed bookkeeping and the plan done once, not per call.
        self._call = model.session.make_callable(self._out, feed_list=[self._in[k] for k in self._keys],
                                                 experimental_keep_on_device=model.keep_on_device)

    def __call__(self, feeds: Optional[Dict[str, Any]] = None, /, **kwargs: Any) -> Dict[str, Any]:
        # positional-only, so an input may be named `inputs` (classify/regress signatures) or `feeds`
        given = kwargs if feeds is None else dict(feeds, **kwargs)
        if len(given) == len(self._keys):
            try:
                values = [given[k] for k in self._keys]
            except KeyError:
                values = None
            if values is not None:
                return self._call(*[self._as_feed(k, v, s) for k, v, s in zip(self._keys, values, self._string)])
        unknown = sorted(set(given) - set(self._in))
        if unknown:
            raise errors.InvalidArgumentError(None, None, f"signature '{self.name}' has no input {unknown[0]!r}; "
                                              f"its inputs are {sorted(self._in)}")
        missing = sorted(set(self._in) - set(given))  # not empty: the keys differ, none is unknown
        raise errors.InvalidArgumentError(None, None, f"signature '{self.name}': missing input {missing[0]!r}")

    def _as_feed(self, key: str, v: Any, string: bool) -> np.ndarray:
        if string:
            return np.asarray(v, dtype=object)
        if type(v) is np.ndarray:
            arr = v
        elif _is_dlpack(v):
            return v  # torch/cupy/DeviceTensor: imported through DLPack by the session, no copy
        else:
            arr = np.asarray(v)
        if arr.dtype.kind in "OUS":
            raise errors.InvalidArgumentError(None, None, f"signature '{self.name}': input {key!r} must be "
                                              f"{self._in[key].dtype.name}, got strings")
        return arr


class LoadedModel:
    """An export loaded for prediction; `signatures` maps names to callables."""

    def __init__(self, path: str, keep_on_device: bool = False):
        self.path = path
        self.keep_on_device = bool(keep_on_device)
        sig_path = os.path.join(path, "signatures.json")
        try:
            with open(sig_path, "r", encoding="utf-8") as f:
                meta = json.load(f)
        except FileNotFoundError:
            raise errors.NotFoundError(None, None, f"{sig_path} does not exist: not a nestor export") from None
        except ValueError as e:
            raise _bad(path, f"signatures.json is not valid JSON ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != "nestor-export-1" or \
                not isinstance(meta.get("signature_defs"), dict):
            raise _bad(path, "signatures.json has an unknown format")
        try:
            with open(os.path.join(path, "graph.nstg"), "rb") as f:
                self.graph = _g.Graph.from_graph_def(f.read())
        except FileNotFoundError:
            raise _bad(path, "graph.nstg is missing") from None
        config = ConfigProto()
        config._constant_variables = True  # set once below; the signatures never assign them
        self.session = Session(graph=self.graph, config=config)
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
        try:
            values = load_file(os.path.join(path, "variables.safetensors"))
        except (SafetensorError, OSError, ValueError) as e:
            raise _bad(path, f"variables.safetensors is unreadable ({e})") from None
        variables = {op.name: op for op in self.graph.get_operations() if op.type == "variable"}
        for name, op in variables.items():
            if name not in values:
                raise _bad(path, f"variables.safetensors has no value for variable {name}")
            t = op.outputs[0]
            arr = values[name]
            if _dtypes.as_dtype(arr.dtype) != t.dtype or not t.shape.is_compatible_with(arr.shape):
                raise _bad(path, f"variable {name}: stored {arr.dtype} {arr.shape}, the graph wants "
                                 f"{t.dtype.name} {t.shape}")
            self.session._set_variable_value(name, arr)
        self.signatures: Dict[str, Signature] = {}
        for name, sig in meta["signature_defs"].items():
            try:
                self.signatures[name] = Signature(self, name, sig)
            except (KeyError, TypeError, ValueError) as e:
                raise _bad(path, f"signature {name!r} is malformed ({e})") from None


def load(export_dir: Any, tags: Any = None, *, experimental_keep_on_device: bool = False) -> LoadedModel:
    """Loads an export directory written by `Estimator.export_saved_model`.

    Signature inputs may be numpy arrays, Python values or DLPack producers
    (`torch.Tensor`, `cupy.ndarray`, `nestor.experimental.dlpack.DeviceTensor`), the latter
    used without a copy (a GPU input stays on the GPU when the model runs there).

    Args:
      export_dir: the export's directory (str, bytes or path-like).
      tags: ignored (kept for TensorFlow's signature).
      experimental_keep_on_device: nestor extension. True makes every signature return a
        dict of `nestor.experimental.dlpack.DeviceTensor`s left where they were computed
        (on the GPU for a CUDA session: no copy to the host, no wait), for
        `torch.from_dlpack` / `cupy.from_dlpack`. False (the default) returns numpy arrays.
        The device is chosen as for every session (NESTOR_DEVICE, default the CPU).

    Returns:
      A `LoadedModel` whose `signatures` maps signature names to callables.

    Raises:
      NotFoundError: `export_dir` holds no nestor export.
      DataLossError: a file of the export is malformed.
    """
    path = export_dir.decode() if isinstance(export_dir, bytes) else os.fspath(export_dir)
    return LoadedModel(path, keep_on_device=experimental_keep_on_device)
