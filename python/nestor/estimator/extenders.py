"""`add_metrics`: an Estimator with extra evaluation metrics (`tf.estimator.add_metrics`)."""
from __future__ import annotations

from typing import Any, Callable, Dict

from .estimator import Estimator, _fn_args
from .model_fn import EstimatorSpec, ModeKeys
from .run_config import RunConfig

_VALID_METRIC_FN_ARGS = frozenset(["features", "labels", "predictions", "config"])


def _verify_metric_fn_args(metric_fn: Callable) -> None:
    if not callable(metric_fn):
        raise TypeError(f"metric_fn must be callable, given: {metric_fn!r}")
    invalid = [a for a in _fn_args(metric_fn) if a not in _VALID_METRIC_FN_ARGS]
    if invalid:
        raise ValueError(f"metric_fn ({metric_fn}) has following not expected args: {invalid}")


def _call_metric_fn(metric_fn: Callable, features: Any, labels: Any, predictions: Any,
                    config: RunConfig) -> Dict[str, Any]:
    args = set(_fn_args(metric_fn))
    available = {"features": features, "labels": labels, "predictions": predictions, "config": config}
    metrics = metric_fn(**{k: v for k, v in available.items() if k in args})
    if not isinstance(metrics, dict):
        raise TypeError(f"metric_fn must return a dict of metric name -> (value, update_op); "
                        f"given: {metrics!r}")
    return metrics


def add_metrics(estimator: Estimator, metric_fn: Callable[..., Dict[str, Any]]) -> Estimator:
    """A new Estimator whose evaluation also computes `metric_fn`'s metrics.

    The new Estimator calls `estimator.model_fn` (so it works with canned estimators and
    custom model_fns alike) and shares its `model_dir`, `config` and warm-start settings;
    the original's params reach its model_fn, while the new Estimator's own `params` is
    empty, as in TensorFlow. Training and prediction are unchanged. In EVAL mode the metrics
    are the union of the model_fn's `eval_metric_ops` and `metric_fn`'s; on a name clash
    `metric_fn`'s metric replaces the original one. The name `loss` is reserved (evaluate()
    raises ValueError).

    Args:
      estimator: a `nestor.estimator.Estimator` (or a canned estimator).
      metric_fn: a function taking any of the arguments `features` (the input_fn's
        features), `labels`, `predictions` (the model_fn's predictions in EVAL mode) and
        `config` (the RunConfig), by name, and returning a dict of metric name ->
        `(value_tensor, update_op)`, e.g. from `nestor.metrics`.

    Returns:
      A new `Estimator` with the union of the original metrics and the new ones.

    Raises:
      ValueError: if `metric_fn` has an argument other than the four above.
      TypeError: if `metric_fn` is not callable (at evaluate(): if it does not return a dict).
    """
    if not isinstance(estimator, Estimator):
        raise TypeError(f"estimator must be a nestor.estimator.Estimator, given: {estimator!r}")
    _verify_metric_fn_args(metric_fn)
    wrapped = estimator.model_fn

    def new_model_fn(features: Any, labels: Any, mode: str, config: RunConfig) -> EstimatorSpec:
        spec = wrapped(features, labels, mode, config)
        if mode != ModeKeys.EVAL:
            return spec
        new_metrics = _call_metric_fn(metric_fn, features, labels, spec.predictions, config)
        all_metrics = dict(spec.eval_metric_ops or {})
        all_metrics.update(new_metrics)
        return spec._replace(eval_metric_ops=all_metrics)

    return Estimator(model_fn=new_model_fn, model_dir=estimator.model_dir, config=estimator.config,
                     warm_start_from=estimator._warm_start_settings)
