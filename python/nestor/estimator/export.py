"""Serving input receivers and `Estimator.export_saved_model` (`tf.estimator.export`).

An export is a directory `<export_dir_base>/<unix seconds>/` holding:
  graph.nstg              the PREDICT graph (nestor's validated binary format)
  signatures.json         signature name -> inputs / outputs (tensor names, dtypes, shapes), method
  variables.safetensors   every variable of the graph, from the checkpoint
  assets/, assets.extra/  copied files (vocabularies, `assets_extra`)
It is written to a temporary directory and renamed, so a partial export never appears.
Nothing in it is code: loading parses JSON, the graph format and safetensors, all validated.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import time
from typing import Any, Callable, Dict, Optional

import numpy as np

from .. import checkpoint as _ckpt
from .. import dtypes as _dtypes
from ..framework import graph as _g
from ..framework.graph import Tensor
from .export_output import ClassificationOutput, ExportOutput, PredictOutput, RegressionOutput  # noqa: F401

FORMAT = "nestor-export-1"
DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
CLASSIFY_REGRESS_INPUTS = "inputs"  # TF's signature_constants.CLASSIFY_INPUTS / REGRESS_INPUTS


def _as_dict(x: Any, default_key: str) -> Dict[str, Any]:
    if x is None:
        return {}
    if isinstance(x, dict):
        return dict(x)
    return {default_key: x}


def _receiver_tensors(receiver_tensors: Any) -> Dict[str, Tensor]:
    """The receiver tensors as a dict name -> Tensor (one Tensor is named "input")."""
    rec = _as_dict(receiver_tensors, "input")
    if not rec:
        raise ValueError("receiver_tensors must be defined.")
    for k, v in rec.items():
        if not isinstance(k, str) or not isinstance(v, Tensor):
            raise ValueError(f"receiver_tensors keys must be strings and values Tensors; got {k!r}: {v!r}")
    return rec


class ServingInputReceiver(collections.namedtuple("ServingInputReceiver",
                                                  ["features", "receiver_tensors", "receiver_tensors_alternatives"])):
    """What a serving_input_receiver_fn returns: the features for the model_fn and the
    tensors a client feeds (`tf.estimator.export.ServingInputReceiver`)."""

    def __new__(cls, features: Any, receiver_tensors: Any, receiver_tensors_alternatives: Any = None):
        if features is None:
            raise ValueError("features must be defined.")
        feats = features if isinstance(features, dict) else {"feature": features}
        rec = _receiver_tensors(receiver_tensors)
        return super().__new__(cls, feats, rec, receiver_tensors_alternatives)


class TensorServingInputReceiver(collections.namedtuple("TensorServingInputReceiver",
                                                        ["features", "receiver_tensors",
                                                         "receiver_tensors_alternatives"])):
    """Like ServingInputReceiver, but the model_fn gets `features` as one Tensor."""

    def __new__(cls, features: Any, receiver_tensors: Any, receiver_tensors_alternatives: Any = None):
        if not isinstance(features, Tensor):
            raise ValueError(f"features must be a Tensor; got {features!r}")
        return super().__new__(cls, features, _as_dict(receiver_tensors, "input"), receiver_tensors_alternatives)


def _placeholder_like(t: Any, default_batch_size: Optional[int], name: str) -> Tensor:
    """A placeholder of t's dtype (a Tensor or an array), shaped `[default_batch_size] + shape[1:]`."""
    from ..ops import core_ops
    if isinstance(t, Tensor):
        dt, shape = t.dtype, t.shape
    else:
        arr = np.asarray(t)
        dt, shape = _dtypes.as_dtype(arr.dtype), _g.TensorShape(arr.shape)
    dims = [default_batch_size] + (shape.as_list()[1:] if shape.rank else [])
    return core_ops.placeholder(dt, dims if shape.rank is not None else None, name=name)


def build_raw_serving_input_receiver_fn(features: Dict[str, Any], default_batch_size: Optional[int] = None
                                        ) -> Callable[[], ServingInputReceiver]:
    """A receiver fn with one placeholder per feature, shaped `[default_batch_size] + shape[1:]`
    of the given Tensors (or arrays) and of their dtypes."""
    def fn() -> ServingInputReceiver:
        phs = {name: _placeholder_like(t, default_batch_size, name) for name, t in features.items()}
        return ServingInputReceiver(phs, phs)
    return fn


def _check_receiver_part(tensors: Any, field: str) -> None:
    """TF's check of a SupervisedInputReceiver's features/labels: a Tensor or a dict of str/int -> Tensor."""
    from ..framework.sparse_tensor import SparseTensor
    if tensors is None:
        raise ValueError(f"{field}s must be defined.")
    items = tensors.items() if isinstance(tensors, dict) else [(None, tensors)]
    for key, t in items:
        if key is not None and (isinstance(key, bool) or not isinstance(key, (str, int))):
            raise ValueError(f"{field} keys must be strings or ints: {key!r}.")
        if not isinstance(t, (Tensor, SparseTensor)):
            raise ValueError(f"{field}{'' if key is None else ' ' + str(key)} must be a Tensor or SparseTensor; "
                             f"got {t!r}.")


class SupervisedInputReceiver(collections.namedtuple("SupervisedInputReceiver",
                                                     ["features", "labels", "receiver_tensors"])):
    """What a training/eval input receiver fn returns: the model_fn's features and labels and
    the tensors a client feeds (TensorFlow's `export.SupervisedInputReceiver`).

    `features` and `labels` are Tensors or dicts of them (keys str or int); a single
    `receiver_tensors` Tensor is named `input`.

    Raises:
      ValueError: a part is missing, a key is not a string (int for features/labels), or a
        value is not a Tensor.
    """

    def __new__(cls, features: Any, labels: Any, receiver_tensors: Any) -> "SupervisedInputReceiver":
        _check_receiver_part(features, "feature")
        _check_receiver_part(labels, "label")
        rec = _receiver_tensors(receiver_tensors)
        return super().__new__(cls, features, labels, rec)


def build_raw_supervised_input_receiver_fn(features: Any, labels: Any, default_batch_size: Optional[int] = None
                                           ) -> Callable[[], SupervisedInputReceiver]:
    """A receiver fn with a placeholder for every feature and label, passed through to the
    model_fn as they are (`tf.estimator.experimental.build_raw_supervised_input_receiver_fn`).

    Each placeholder has the dtype of the given Tensor (or array) and the shape
    `[default_batch_size] + shape[1:]`. A dict gets one placeholder per key (named by the
    key); a single Tensor is fed as `input` (features) or `label` (labels).

    Args:
      features: a Tensor (or array), or a dict of str -> Tensor, of the model's features.
      labels: a Tensor (or array), or a dict of str -> Tensor, of the labels.
      default_batch_size: the batch dimension of every placeholder (None: any batch size).

    Returns:
      A function of no arguments returning a `SupervisedInputReceiver` whose
      `receiver_tensors` hold the feature and label placeholders together.

    Raises:
      ValueError: if `features` and `labels` have a key in common.
    """
    feat_keys = list(features) if isinstance(features, dict) else ["input"]
    label_keys = list(labels) if isinstance(labels, dict) else ["label"]
    overlap = set(feat_keys) & set(label_keys)
    if overlap:
        raise ValueError(f"Features and labels must have distinct keys. Found overlapping keys: {overlap}")

    def fn() -> SupervisedInputReceiver:
        def placeholders(part: Any, single: str) -> Any:
            if isinstance(part, dict):
                phs = {k: _placeholder_like(t, default_batch_size, k) for k, t in part.items()}
                return phs, phs
            ph = _placeholder_like(part, default_batch_size, single)
            return ph, {single: ph}
        feats, feat_rec = placeholders(features, "input")
        labs, label_rec = placeholders(labels, "label")
        return SupervisedInputReceiver(feats, labs, {**feat_rec, **label_rec})
    return fn


def build_parsing_serving_input_receiver_fn(feature_spec: Dict[str, Any], default_batch_size: Optional[int] = None
                                            ) -> Callable[[], ServingInputReceiver]:
    """A receiver fn that takes serialized `tf.train.Example` protos
    (`tf.estimator.export.build_parsing_serving_input_receiver_fn`).

    The receiver tensor is `{'examples': string placeholder [default_batch_size]}` (named
    `input_example_tensor`), parsed by one `parse_example` graph op with `feature_spec` (key ->
    FixedLenFeature/VarLenFeature, e.g. `tf.feature_column.make_parse_example_spec(columns)`), so
    the export parses Examples in the C++ runtime too. Having one string input, the export keeps
    the classification and regression signatures (their input is named `inputs`).
    """
    def fn() -> ServingInputReceiver:
        from ..ops import core_ops, parsing_ops
        serialized = core_ops.placeholder(_dtypes.string, [default_batch_size], name="input_example_tensor")
        features = parsing_ops.parse_example(serialized, feature_spec)
        return ServingInputReceiver(features, {"examples": serialized})
    return fn


def _tensor_info(t: Tensor) -> Dict[str, Any]:
    return {"name": t.name, "dtype": t.dtype.name,
            "shape": None if t.shape.rank is None else [d for d in t.shape.as_list()]}


def _signatures(spec: Any, receiver: Any) -> Dict[str, Dict[str, Any]]:
    outputs = spec.export_outputs
    if not outputs:
        preds = spec.predictions if isinstance(spec.predictions, dict) else {"output": spec.predictions}
        outputs = {DEFAULT_SERVING_SIGNATURE_DEF_KEY: PredictOutput(preds)}
    inputs = {k: _tensor_info(v) for k, v in receiver.receiver_tensors.items()}
    single_string = len(receiver.receiver_tensors) == 1 and \
        next(iter(receiver.receiver_tensors.values())).dtype == _dtypes.string
    sigs = {}
    for name, out in outputs.items():
        if isinstance(out, PredictOutput):
            method = PREDICT_METHOD
        elif isinstance(out, ClassificationOutput):
            method = CLASSIFY_METHOD
        elif isinstance(out, RegressionOutput):
            method = REGRESS_METHOD
        else:
            raise ValueError(f"export_outputs[{name!r}] must be an ExportOutput, got {out!r}")
        sig_inputs = inputs
        if method != PREDICT_METHOD:
            if not single_string:
                # As TensorFlow: classify/regress signatures need one serialized-Example input.
                continue
            sig_inputs = {CLASSIFY_REGRESS_INPUTS: next(iter(inputs.values()))}
        sigs[name] = {"method_name": method, "inputs": sig_inputs,
                      "outputs": {k: _tensor_info(v) for k, v in out.as_signature_outputs().items()}}
    if not sigs:
        raise ValueError("No signature could be exported: give a PredictOutput in export_outputs, or a receiver "
                         "with a single string input for classification/regression outputs.")
    return sigs


def export_saved_model(estimator: Any, export_dir_base: str, serving_input_receiver_fn: Callable[[], Any],
                       assets_extra: Optional[Dict[str, str]] = None, as_text: bool = False,
                       checkpoint_path: Optional[str] = None, experimental_mode: str = "infer") -> bytes:
    """Writes `<export_dir_base>/<timestamp>/` for serving; returns its path (bytes, as TF).

    Raises:
      ValueError: no trained checkpoint, no exportable signature.
    """
    from .model_fn import ModeKeys
    ckpt = checkpoint_path or estimator.latest_checkpoint()
    if not ckpt:
        raise ValueError(f"Couldn't find trained model at {estimator.model_dir}.")
    graph = _g.Graph()
    with graph.as_default():
        if estimator.config.tf_random_seed is not None:
            _g.set_random_seed(estimator.config.tf_random_seed)
        from ..train import training_util
        training_util.get_or_create_global_step()
        receiver = serving_input_receiver_fn()
        spec = estimator._call_model_fn(receiver.features, None, experimental_mode or ModeKeys.PREDICT,
                                        estimator.config)
        sigs = _signatures(spec, receiver)
        from ..framework import variables as _vars
        names = [v.op.name for v in _vars.global_variables()]
    from ..ops.script_ops import check_exportable
    check_exportable(graph, "export")
    values = _ckpt.load_tensors(ckpt)
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"export: variables {missing} of the serving graph are not in checkpoint {ckpt}")
    os.makedirs(export_dir_base, exist_ok=True)
    stamp = int(time.time())
    while os.path.exists(os.path.join(export_dir_base, str(stamp))):
        stamp += 1
    final = os.path.join(export_dir_base, str(stamp))
    tmp = os.path.join(export_dir_base, f"temp-{stamp}")
    os.makedirs(tmp)
    try:
        with open(os.path.join(tmp, "graph.nstg"), "wb") as f:
            f.write(graph.as_graph_def())
        from safetensors.numpy import save_file
        save_file({n: np.asarray(values[n], order="C") for n in names}, os.path.join(tmp, "variables.safetensors"),
                  metadata={"format": FORMAT, "checkpoint": os.path.basename(ckpt)})
        assets = [p for p in graph.get_collection(_g.GraphKeys.ASSET_FILEPATHS) if isinstance(p, str)]
        if assets:
            os.makedirs(os.path.join(tmp, "assets"))
            for p in assets:
                shutil.copy(p, os.path.join(tmp, "assets", os.path.basename(p)))
        for dest, src in (assets_extra or {}).items():
            target = os.path.join(tmp, "assets.extra", dest)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(src, target)
        with open(os.path.join(tmp, "signatures.json"), "w") as f:
            json.dump({"format": FORMAT, "signature_defs": sigs}, f, indent=1 if as_text else None)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final.encode()
