"""Early stopping hooks (`tf.estimator.experimental.stop_if_*_hook`, `make_early_stopping_hook`).

The hooks run a predicate every `run_every_secs` seconds or `run_every_steps` steps while
training, typically over the evaluation metrics that `read_eval_metrics` reads from the event
files of `estimator.eval_dir()`, and request a stop when it returns True.

TensorFlow also sets a variable `signal_early_stopping/STOP` so that the other workers of a
cluster stop; nestor trains in one process, so the hook only calls `run_context.request_stop()`
(the variable is not created).
"""
from __future__ import annotations

import collections
import glob
import operator
import os
from typing import Any, Callable, Dict, Iterator, Optional

from .. import errors
from .. import logging as _logging
from ..framework.tf_record import read_records
from ..summary.proto import Event
from .hooks import SecondOrStepTimer, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues
from .hooks import _global_step_for, _scalar

__all__ = ["make_early_stopping_hook", "stop_if_higher_hook", "stop_if_lower_hook", "stop_if_no_increase_hook",
           "stop_if_no_decrease_hook", "read_eval_metrics"]

_EVENT_FILE_GLOB_PATTERN = "events.out.tfevents.*"


def _summaries(eval_dir: str) -> Iterator[Event]:
    """Every event of every event file in `eval_dir` (files in name order, i.e. creation time)."""
    if not os.path.isdir(eval_dir):
        return
    for event_file in sorted(glob.glob(os.path.join(eval_dir, _EVENT_FILE_GLOB_PATTERN))):
        try:
            for record in read_records(event_file):
                yield Event.FromString(record)
        except (errors.DataLossError, ValueError) as e:
            _logging.warning("Ignoring the rest of event file %s after a DataLossError: %s", event_file, e)


def read_eval_metrics(eval_dir: str) -> "collections.OrderedDict[int, Dict[str, float]]":
    """Reads the scalar summaries of the event files in `eval_dir`.

    Args:
      eval_dir: the directory with the evaluation's event files (`estimator.eval_dir()`).

    Returns:
      An OrderedDict `{global_step: {tag: value}}` sorted by step; values of one step from
      several events or files are merged (later ones win).
    """
    metrics_by_step: Dict[int, Dict[str, float]] = collections.defaultdict(dict)
    for event in _summaries(eval_dir):
        summary = event.summary
        if summary is None:
            continue
        metrics = {v.tag: v.simple_value for v in summary.value if v.simple_value is not None}
        if metrics:
            metrics_by_step[event.step].update(metrics)
    return collections.OrderedDict(sorted(metrics_by_step.items(), key=lambda t: t[0]))


class _StopOnPredicateHook(SessionRunHook):
    """Requests a stop when `should_stop_fn()` returns True; runs it on a schedule."""

    def __init__(self, should_stop_fn: Callable[[], bool], run_every_secs: Optional[float] = 60,
                 run_every_steps: Optional[int] = None):
        if not callable(should_stop_fn):
            raise TypeError("`should_stop_fn` must be callable.")
        self._should_stop_fn = should_stop_fn
        self._timer = SecondOrStepTimer(every_secs=run_every_secs, every_steps=run_every_steps)
        self._global_step_tensor: Any = None

    def begin(self) -> None:
        self._global_step_tensor = _global_step_for("early stopping hooks")

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        return self._timer.steps_until_trigger(int(global_step) + 1)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if not self._timer.should_trigger_for_step(_scalar(run_values.results) + 1):
            return
        global_step = _scalar(run_context.session.run(self._global_step_tensor))
        if self._timer.should_trigger_for_step(global_step):
            self._timer.update_last_triggered_step(global_step)
            if self._should_stop_fn():
                _logging.info("Requesting early stopping at global step %d", global_step)
                run_context.request_stop()


def _check_estimator(estimator: Any) -> None:
    if not (hasattr(estimator, "eval_dir") and hasattr(estimator, "model_dir")):
        raise TypeError(f"`estimator` must have type `tf.estimator.Estimator`. Got: {type(estimator)}")


def make_early_stopping_hook(estimator: Any, should_stop_fn: Callable[[], bool], run_every_secs: Optional[float] = 60,
                             run_every_steps: Optional[int] = None) -> SessionRunHook:
    """A hook that stops training when `should_stop_fn()` returns True.

    Args:
      estimator: the `Estimator` being trained.
      should_stop_fn: a callable without arguments returning a bool.
      run_every_secs: run `should_stop_fn` at most this often (seconds).
      run_every_steps: run it every this many global steps (then `run_every_secs` must be None).

    Raises:
      TypeError: `estimator` is not an Estimator or `should_stop_fn` is not callable.
      ValueError: both `run_every_secs` and `run_every_steps` are set.
    """
    _check_estimator(estimator)
    if run_every_secs is not None and run_every_steps is not None:
        raise ValueError("Only one of `run_every_secs` and `run_every_steps` must be set.")
    return _StopOnPredicateHook(should_stop_fn, run_every_secs, run_every_steps)


def _stop_if_threshold_crossed_hook(estimator: Any, metric_name: str, threshold: float, higher_is_better: bool,
                                    eval_dir: Optional[str], min_steps: int, run_every_secs: Optional[float],
                                    run_every_steps: Optional[int]) -> SessionRunHook:
    _check_estimator(estimator)
    eval_dir = eval_dir or estimator.eval_dir()
    is_lhs_better = operator.gt if higher_is_better else operator.lt
    greater_or_lesser = "greater than" if higher_is_better else "less than"

    def stop_if_threshold_crossed_fn() -> bool:
        for step, metrics in read_eval_metrics(eval_dir).items():
            if step < min_steps:
                continue
            val = metrics[metric_name]
            if is_lhs_better(val, threshold):
                _logging.info('At step %s, metric "%s" has value %s which is %s the configured threshold (%s) '
                              "for early stopping.", step, metric_name, val, greater_or_lesser, threshold)
                return True
        return False

    return make_early_stopping_hook(estimator, stop_if_threshold_crossed_fn, run_every_secs, run_every_steps)


def _stop_if_no_metric_improvement_hook(estimator: Any, metric_name: str, max_steps_without_improvement: int,
                                        higher_is_better: bool, eval_dir: Optional[str], min_steps: int,
                                        run_every_secs: Optional[float],
                                        run_every_steps: Optional[int]) -> SessionRunHook:
    _check_estimator(estimator)
    eval_dir = eval_dir or estimator.eval_dir()
    is_lhs_better = operator.gt if higher_is_better else operator.lt
    increase_or_decrease = "increase" if higher_is_better else "decrease"

    def stop_if_no_metric_improvement_fn() -> bool:
        best_val: Optional[float] = None
        best_val_step: Optional[int] = None
        for step, metrics in read_eval_metrics(eval_dir).items():
            if step < min_steps:
                continue
            val = metrics[metric_name]
            if best_val is None or is_lhs_better(val, best_val):
                best_val, best_val_step = val, step
            if step - best_val_step >= max_steps_without_improvement:
                _logging.info('No %s in metric "%s" for %s steps, which is greater than or equal to max steps (%s) '
                              "configured for early stopping.", increase_or_decrease, metric_name,
                              step - best_val_step, max_steps_without_improvement)
                return True
        return False

    return make_early_stopping_hook(estimator, stop_if_no_metric_improvement_fn, run_every_secs, run_every_steps)


def stop_if_higher_hook(estimator: Any, metric_name: str, threshold: float, eval_dir: Optional[str] = None,
                        min_steps: int = 0, run_every_secs: Optional[float] = 60,
                        run_every_steps: Optional[int] = None) -> SessionRunHook:
    """Stops training once an evaluation at step >= `min_steps` has `metric_name` > `threshold`.

    `eval_dir` defaults to `estimator.eval_dir()`; the schedule is as in `make_early_stopping_hook`.
    """
    return _stop_if_threshold_crossed_hook(estimator, metric_name, threshold, True, eval_dir, min_steps,
                                           run_every_secs, run_every_steps)


def stop_if_lower_hook(estimator: Any, metric_name: str, threshold: float, eval_dir: Optional[str] = None,
                       min_steps: int = 0, run_every_secs: Optional[float] = 60,
                       run_every_steps: Optional[int] = None) -> SessionRunHook:
    """Stops training once an evaluation at step >= `min_steps` has `metric_name` < `threshold`."""
    return _stop_if_threshold_crossed_hook(estimator, metric_name, threshold, False, eval_dir, min_steps,
                                           run_every_secs, run_every_steps)


def stop_if_no_increase_hook(estimator: Any, metric_name: str, max_steps_without_increase: int,
                             eval_dir: Optional[str] = None, min_steps: int = 0, run_every_secs: Optional[float] = 60,
                             run_every_steps: Optional[int] = None) -> SessionRunHook:
    """Stops training once `metric_name` has not increased for `max_steps_without_increase` global steps
    (comparing evaluations at steps >= `min_steps`)."""
    return _stop_if_no_metric_improvement_hook(estimator, metric_name, max_steps_without_increase, True, eval_dir,
                                               min_steps, run_every_secs, run_every_steps)


def stop_if_no_decrease_hook(estimator: Any, metric_name: str, max_steps_without_decrease: int,
                             eval_dir: Optional[str] = None, min_steps: int = 0, run_every_secs: Optional[float] = 60,
                             run_every_steps: Optional[int] = None) -> SessionRunHook:
    """Stops training once `metric_name` has not decreased for `max_steps_without_decrease` global steps."""
    return _stop_if_no_metric_improvement_hook(estimator, metric_name, max_steps_without_decrease, False, eval_dir,
                                               min_steps, run_every_secs, run_every_steps)
