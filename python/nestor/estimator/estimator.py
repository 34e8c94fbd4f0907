"""`Estimator`: train, evaluate and predict with a model_fn, as `tf.estimator.Estimator`.

Unlike TensorFlow, the graph and session built for a mode are kept between calls (keyed
by the input's structure, dtypes and shapes), and a checkpoint is reloaded only when a
different or newer one is asked for: repeated evaluate()/predict() calls cost neither a
graph rebuild nor a checkpoint load. Training state is always on disk at the end of
train(), as in TensorFlow.
"""
from __future__ import annotations

import copy
import inspect
import logging
import os
import tempfile
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np

from .. import checkpoint as _ckpt
from .. import errors
from ..framework import graph as _g
from ..framework.session import ConfigProto, Session
from .evaluation import run_evaluation
from .input_source import InputSource, dataset_signature
from .model_fn import EstimatorSpec, ModeKeys
from .run_config import RunConfig
from .session_run_hook import run_step, start_hooks

_log = logging.getLogger("nestor")


def _fn_args(fn: Callable) -> List[str]:
    if isinstance(fn, type(lambda: 0)) or inspect.ismethod(fn) or inspect.isfunction(fn) or hasattr(fn, "__call__"):
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return []
        return [p.name for p in sig.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return []


def _verify_model_fn_args(model_fn: Callable, params: Any) -> None:
    args = set(_fn_args(model_fn))
    if "features" not in args:
        raise ValueError(f"model_fn ({model_fn}) must include features argument.")
    if params is not None and "params" not in args:
        raise ValueError(f"model_fn ({model_fn}) does not include params argument, but params ({params}) is "
                         "passed to Estimator.")
    if params is None and "params" in args:
        _log.warning("Estimator's model_fn (%s) includes params argument, but params are not passed to "
                     "Estimator.", model_fn)
    unexpected = args - {"features", "labels", "mode", "params", "config", "self"}
    sig = inspect.signature(model_fn)
    required_unexpected = [a for a in unexpected if sig.parameters[a].default is inspect.Parameter.empty]
    if required_unexpected:
        raise ValueError(f"model_fn ({model_fn}) has following not expected args: {sorted(required_unexpected)}")


class _Built:
    """One mode's graph, session and fetches, kept across calls."""

    def __init__(self) -> None:
        self.graph: Any = None
        self.session: Optional[Session] = None
        self.source: Optional[InputSource] = None
        self.spec: Optional[EstimatorSpec] = None
        self.global_step: Any = None
        self.saver: Any = None
        self.loaded: Any = None  # (checkpoint prefix, mtime) or "init"
        self.init_op: Any = None
        self.local_init_op: Any = None
        self.summary_op: Any = None
        self.scaffold: Any = None  # the model_fn's Scaffold, finalized
        self.metric_values: Dict[str, Any] = {}
        self.metric_update: Any = None
        self.predictions: Any = None


class Estimator:
    """Trains, evaluates and predicts with the model a `model_fn` builds (`tf.estimator.Estimator`).

    Args:
      model_fn: `model_fn(features, labels, mode, params, config)` returning an `EstimatorSpec`;
        `labels`, `mode`, `params` and `config` are optional arguments.
      model_dir: where checkpoints and event files go; a temporary directory when None.
      config: a `RunConfig`.
      params: a dict passed to model_fn.
      warm_start_from: a checkpoint path or `WarmStartSettings` to initialize from.
    """

    def __init__(self, model_fn: Callable, model_dir: Optional[str] = None, config: Optional[RunConfig] = None,
                 params: Optional[Dict[str, Any]] = None, warm_start_from: Any = None):
        if config is None:
            config = RunConfig()
        elif not isinstance(config, RunConfig):
            raise ValueError(f"config must be an instance of `RunConfig`, but provided {config}.")
        if model_dir is not None:
            model_dir = os.fspath(model_dir)
        if model_dir and config.model_dir and model_dir != config.model_dir:
            raise ValueError(f"`model_dir` are set both in constructor and `RunConfig`, but with different values. "
                             f"In constructor: '{model_dir}', in `RunConfig`: '{config.model_dir}' ")
        model_dir = model_dir or config.model_dir
        if not model_dir:
            model_dir = tempfile.mkdtemp()
            _log.warning("Using temporary folder as model directory: %s", model_dir)
        self._config = config.replace(model_dir=model_dir)
        _verify_model_fn_args(model_fn, params)
        self._model_fn = model_fn
        self._params = dict(params or {})
        from .warm_starting import get_warm_start_settings
        self._warm_start_settings = get_warm_start_settings(warm_start_from)
        self._built: Dict[Any, _Built] = {}
        os.makedirs(model_dir, exist_ok=True)

    # -- properties
    @property
    def model_dir(self) -> str:
        return self._config.model_dir

    @property
    def config(self) -> RunConfig:
        return self._config

    @property
    def params(self) -> Dict[str, Any]:
        return dict(self._params)

    @property
    def model_fn(self) -> Callable:
        def public_model_fn(features: Any, labels: Any, mode: str, config: RunConfig) -> EstimatorSpec:
            return self._call_model_fn(features, labels, mode, config)
        return public_model_fn

    # -- checkpoints
    def latest_checkpoint(self) -> Optional[str]:
        """The newest checkpoint prefix in model_dir, or None."""
        return _ckpt.latest_checkpoint(self.model_dir)

    def get_variable_names(self) -> List[str]:
        """Names of all variables in the newest checkpoint."""
        return [n for n, _ in _ckpt.list_variables(self.model_dir)]

    def get_variable_value(self, name: str) -> np.ndarray:
        """The value of variable `name` in the newest checkpoint."""
        return _ckpt.load_variable(self.model_dir, name)

    def eval_dir(self, name: Optional[str] = None) -> str:
        return os.path.join(self.model_dir, "eval" if not name else "eval_" + name)

    # -- calling user functions
    def _call_input_fn(self, input_fn: Callable, mode: str) -> Any:
        args = _fn_args(input_fn)
        kwargs: Dict[str, Any] = {}
        if "mode" in args:
            kwargs["mode"] = mode
        if "params" in args:
            kwargs["params"] = self.params
        if "config" in args:
            kwargs["config"] = self.config
        return input_fn(**kwargs)

    def _call_model_fn(self, features: Any, labels: Any, mode: str, config: RunConfig) -> EstimatorSpec:
        args = _fn_args(self._model_fn)
        kwargs: Dict[str, Any] = {}
        if "labels" in args:
            kwargs["labels"] = labels
        elif labels is not None:
            raise ValueError("model_fn does not take labels, but input_fn returns labels.")
        if "mode" in args:
            kwargs["mode"] = mode
        if "params" in args:
            kwargs["params"] = self.params
        if "config" in args:
            kwargs["config"] = config
        spec = self._model_fn(features=features, **kwargs)
        if not isinstance(spec, EstimatorSpec):
            raise ValueError(f"model_fn should return an EstimatorSpec. Given: {spec}")
        if spec.mode != mode:
            raise ValueError(f"model_fn returned an EstimatorSpec for mode {spec.mode!r} when called in {mode!r}")
        return spec

    # -- building
    def _get_built(self, mode: str, input_fn: Callable) -> _Built:
        graph = _g.Graph()
        with graph.as_default():
            if self._config.tf_random_seed is not None:
                _g.set_random_seed(self._config.tf_random_seed)
            result = self._call_input_fn(input_fn, mode)
        sig = dataset_signature(result)
        key = (mode, sig) if sig is not None else None
        if key is not None and key in self._built:
            built = self._built[key]
            built.source.start(result)
            return built
        built = self._build(graph, mode, result)
        if key is not None:
            # one cached graph per mode: a different input structure replaces it
            for k in [k for k in self._built if k[0] == mode]:
                old = self._built.pop(k)
                if old.session is not None:
                    old.session.close()
            self._built[key] = built
        if built.source.feeds_data:
            built.source.start(result)
        return built

    def _build(self, graph: _g.Graph, mode: str, result: Any) -> _Built:
        from .. import summary as _summary
        from ..train import training_util
        built = _Built()
        built.graph = graph
        with graph.as_default():
            global_step = training_util.get_or_create_global_step()
            source = InputSource(result, with_labels=mode != ModeKeys.PREDICT)
            spec = self._call_model_fn(source.features, source.labels, mode, self.config)
            built.source, built.spec, built.global_step = source, spec, global_step
            if mode == ModeKeys.TRAIN:
                if not any(s.op.name.rsplit("/", 1)[-1] == "loss" or s.op.name == "loss"
                           for s in _g.get_collection(_g.GraphKeys.SUMMARIES)):
                    _summary.scalar("loss", spec.loss)
            elif mode == ModeKeys.EVAL:
                from .. import metrics as _metrics
                if "loss" in spec.eval_metric_ops:
                    raise ValueError("Metric with name \"loss\" is not allowed, because Estimator already defines "
                                     "a default metric with the same name.")
                ops = dict(spec.eval_metric_ops)
                ops["loss"] = _metrics.mean(spec.loss)
                built.metric_values = {k: v[0] for k, v in ops.items()}
                from ..ops import core_ops
                built.metric_update = core_ops.group(*[v[1] for v in ops.values()])
            else:
                preds = spec.predictions
                built.predictions = preds
            scaffold = spec.scaffold
            if scaffold.saver is None and not _g.get_collection(_g.GraphKeys.SAVERS):
                _g.add_to_collection(_g.GraphKeys.SAVERS, _ckpt.Saver(max_to_keep=self._config.keep_checkpoint_max))
            scaffold.finalize()  # the defaults: initializers, the SAVERS saver, merge_all()
            built.scaffold, built.saver = scaffold, scaffold.saver
            built.init_op, built.local_init_op = scaffold.init_op, scaffold.local_init_op
            if mode == ModeKeys.TRAIN:
                built.summary_op = scaffold.summary_op
        cfg = self._config.session_config
        if cfg is None:
            cfg = ConfigProto(device=self._config.device)
        elif getattr(cfg, "device", None) is None:
            cfg = copy.copy(cfg)  # the caller's object (maybe shared by several Estimators) is left as it is
            cfg.device = self._config.device
        built.session = Session(graph=graph, config=cfg)
        return built

    def _restore_or_init(self, built: _Built, checkpoint_path: Optional[str], mode: str) -> Optional[str]:
        ckpt = checkpoint_path or self.latest_checkpoint()
        sess = built.session
        if ckpt is not None:
            path = ckpt + _ckpt.SUFFIX if not ckpt.endswith(_ckpt.SUFFIX) else ckpt
            if not os.path.exists(path):
                raise ValueError(f"Could not find trained model at {ckpt}.")
            stamp = (os.path.abspath(ckpt), os.stat(path).st_mtime_ns)
            if built.loaded != stamp:
                with built.graph.as_default():
                    built.saver.restore(sess, ckpt)
                built.loaded = stamp
            return ckpt
        if mode != ModeKeys.TRAIN:
            _log.info("Could not find trained model in model_dir: %s, running initialization to %s.",
                      self.model_dir, "evaluate" if mode == ModeKeys.EVAL else "predict")
        sess.run(built.init_op, built.scaffold.init_feed_dict)
        if mode == ModeKeys.TRAIN and self._warm_start_settings is not None:
            from .warm_starting import warm_start
            with built.graph.as_default():
                warm_start(sess, self._warm_start_settings)
        if built.scaffold.init_fn is not None:  # a fresh model only, as TF's SessionManager
            with built.graph.as_default():
                built.scaffold.init_fn(sess)
        built.loaded = "init"
        return None

    # -- train
    def train(self, input_fn: Callable, hooks: Optional[Sequence[Any]] = None, steps: Optional[int] = None,
              max_steps: Optional[int] = None, saving_listeners: Optional[Sequence[Any]] = None) -> "Estimator":
        """Trains the model on the batches of `input_fn`.

        Args:
          input_fn: returns a `nestor.data.Dataset` of `(features, labels)` (or the tensors).
          hooks: `SessionRunHook`s run during training.
          steps: train this many more steps (relative); None: until the input ends.
          max_steps: train until the global step reaches this value (absolute, across restarts).
          saving_listeners: `CheckpointSaverListener`s called around checkpoint saves.

        Returns:
          self, for chaining.
        """
        from . import hooks as _hooks
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        if max_steps is not None:
            latest = self.latest_checkpoint()
            if latest is not None and _checkpoint_global_step(latest) >= max_steps:
                _log.info("Skipping training since max_steps has already saved.")
                return self
        built = self._get_built(ModeKeys.TRAIN, input_fn)
        sess = built.session
        spec = built.spec
        try:
            self._restore_or_init(built, None, ModeKeys.TRAIN)
            sess.run(built.local_init_op, built.scaffold.local_init_feed_dict)  # e.g. streaming metrics
            start = int(sess.run(built.global_step))
            last_step = start + steps if steps is not None else max_steps
            cfg = self._config
            all_hooks: List[Any] = list(hooks or []) + list(spec.training_chief_hooks) + list(spec.training_hooks)
            with built.graph.as_default():
                all_hooks.append(_hooks.NanTensorHook(spec.loss))
                if cfg.log_step_count_steps is not None:  # None: no loss logging, as TF
                    all_hooks.append(_hooks.LoggingTensorHook({"loss": spec.loss, "step": built.global_step},
                                                              every_n_iter=cfg.log_step_count_steps))
                if cfg.log_step_count_steps:
                    all_hooks.append(_hooks.StepCounterHook(every_n_steps=cfg.log_step_count_steps,
                                                            output_dir=self.model_dir))
                if cfg.save_summary_steps and built.summary_op is not None:
                    all_hooks.append(_hooks.SummarySaverHook(save_steps=cfg.save_summary_steps,
                                                             output_dir=self.model_dir,
                                                             summary_op=built.summary_op))
                if cfg.save_checkpoints_steps or cfg.save_checkpoints_secs:
                    all_hooks.append(_hooks.CheckpointSaverHook(
                        self.model_dir, save_secs=cfg.save_checkpoints_secs, save_steps=cfg.save_checkpoints_steps,
                        saver=built.saver, listeners=list(saving_listeners or [])))
                if last_step is not None:
                    all_hooks.append(_hooks.StopAtStepHook(last_step=last_step))
            start_hooks(all_hooks, built.graph, sess)
            from .training_loop import run_training
            with built.graph.as_default():
                final = run_training(sess, spec.train_op, spec.loss, built.global_step, all_hooks, built.source,
                                     last_step)
        except BaseException:
            built.loaded = None  # the session's state may differ from any checkpoint
            raise
        latest = self.latest_checkpoint()
        if latest is None or _checkpoint_global_step(latest) != final:
            with built.graph.as_default():
                built.saver.save(sess, os.path.join(self.model_dir, "model.ckpt"), global_step=final)
            latest = self.latest_checkpoint()
        path = latest + _ckpt.SUFFIX
        built.loaded = (os.path.abspath(latest), os.stat(path).st_mtime_ns)
        return self

    # -- evaluate
    def evaluate(self, input_fn: Callable, steps: Optional[int] = None, hooks: Optional[Sequence[Any]] = None,
                 checkpoint_path: Optional[str] = None, name: Optional[str] = None) -> Dict[str, Any]:
        """Evaluates the model on `input_fn`'s batches (all of them, or `steps`).

        Returns:
          A dict of the model_fn's eval_metric_ops values plus `loss` and `global_step`;
          the same values are written as summaries to `eval_dir(name)`.
        """
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        built = self._get_built(ModeKeys.EVAL, input_fn)
        ckpt = self._restore_or_init(built, checkpoint_path, ModeKeys.EVAL)
        return run_evaluation(built, steps, hooks, self.eval_dir(name), ckpt)

    # -- export
    def export_saved_model(self, export_dir_base: str, serving_input_receiver_fn: Callable[[], Any],
                           assets_extra: Optional[Dict[str, str]] = None, as_text: bool = False,
                           checkpoint_path: Optional[str] = None, experimental_mode: str = ModeKeys.PREDICT) -> bytes:
        """Exports the PREDICT graph, signatures and variables for serving (see `nestor.estimator.export`).

        Returns:
          The export directory `<export_dir_base>/<timestamp>` (bytes, as TensorFlow).
        """
        from .export import export_saved_model
        return export_saved_model(self, export_dir_base, serving_input_receiver_fn, assets_extra, as_text,
                                  checkpoint_path, experimental_mode)

    def export_savedmodel(self, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError("Please use `export_saved_model` instead.")

    # -- predict
    def predict(self, input_fn: Callable, predict_keys: Optional[Sequence[str]] = None,
                hooks: Optional[Sequence[Any]] = None, checkpoint_path: Optional[str] = None,
                yield_single_examples: bool = True) -> Iterator[Any]:
        """Yields predictions for the features of `input_fn`.

        Args:
          predict_keys: subset of the prediction dict's keys to return.
          yield_single_examples: yield one example at a time (True) or whole batches.

        Yields:
          dicts of numpy values (or arrays when the model_fn's predictions is one Tensor).
        """
        built = self._get_built(ModeKeys.PREDICT, input_fn)
        sess = built.session
        self._restore_or_init(built, checkpoint_path, ModeKeys.PREDICT)
        sess.run(built.local_init_op, built.scaffold.local_init_feed_dict)
        preds = built.predictions
        if predict_keys is not None:
            if not isinstance(preds, dict):
                raise ValueError("predict_keys argument is not valid in case of non-dict predictions.")
            keys = [predict_keys] if isinstance(predict_keys, str) else list(predict_keys)
            missing = [k for k in keys if k not in preds]
            if missing:
                raise ValueError(f"Expected to run at least one output from {sorted(preds)}, provided {keys}.")
            preds = {k: preds[k] for k in keys}
        all_hooks = list(hooks or []) + list(built.spec.prediction_hooks)
        start_hooks(all_hooks, built.graph, sess)
        source = built.source
        try:
            while True:
                feed = source.next_feed()
                if feed is None:
                    break
                try:
                    out, ctx = run_step(sess, preds, feed, all_hooks)
                except errors.OutOfRangeError:
                    break
                if not yield_single_examples:
                    yield out
                else:
                    if isinstance(out, dict):
                        n = _batch_length(out)
                        for i in range(n):
                            yield {k: v[i] for k, v in out.items()}
                    else:
                        for row in out:
                            yield row
                if ctx.stop_requested or not source.feeds_data:
                    break
        finally:
            source.close()
        for h in all_hooks:
            h.end(sess)


def _batch_length(d: Dict[str, np.ndarray]) -> int:
    lengths = {k: (v.shape[0] if np.ndim(v) else None) for k, v in d.items()}
    vals = {v for v in lengths.values() if v is not None}
    if len(vals) != 1:
        raise ValueError(f"Batch length of predictions should be same. {lengths}")
    return vals.pop()


def _checkpoint_global_step(prefix: str) -> int:
    step = _ckpt.checkpoint_step(prefix)
    if step is not None:
        return step
    try:
        return int(_ckpt.load_variable(prefix, "global_step"))
    except errors.NotFoundError:
        return 0
