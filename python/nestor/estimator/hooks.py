"""TF1's `SessionRunHook` protocol and the standard hooks (`tf.estimator.*Hook`, `tf.train.*Hook`).

A training loop drives hooks as TensorFlow's `MonitoredSession` does: `begin()` while the graph
is built, `after_create_session(session, coord)` once variables are initialized, then per step
`before_run(run_context)` (None or `SessionRunArgs`), one `session.run` of the train fetches plus
every hook's fetches, `after_run(run_context, SessionRunValues)`, and finally `end(session)`.

nestor extension, `steps_until_next_request(global_step) -> Optional[int]`: a loop that runs
several steps in one native call first asks each hook how many of the upcoming steps it can
miss entirely (its `before_run` would return None and it needs no `after_run`); 0 means it
wants the very next step, None means unknown (the loop then drives it every step). Contract:
the loop asks every hook with the current global step before each step it drives with hooks
(after a native chunk of k = min(answers) steps it asks again, and drives the step when the
minimum is 0); hooks use the question to account for the steps run without them. The
built-in hooks answer exactly for step-based schedules. Time-based schedules (`every_n_secs`,
`save_secs`, ...) answer an estimate from the measured step rate, at most 100 steps (the loop
re-asks at least every 100 steps), and check the wall clock when they are driven. Hooks that
are driven on a step they did not ask for behave exactly as in TensorFlow. Hooks without the
method (or the base class's None) are driven every step.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .. import logging as _logging
from ..framework import graph as _g
from .session_run_hook import SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues

__all__ = ["SessionRunHook", "SessionRunArgs", "SessionRunContext", "SessionRunValues", "SecondOrStepTimer",
           "LoggingTensorHook", "StopAtStepHook", "CheckpointSaverListener", "CheckpointSaverHook",
           "SummarySaverHook", "StepCounterHook", "NanLossDuringTrainingError", "NanTensorHook", "FeedFnHook",
           "FinalOpsHook", "GlobalStepWaiterHook", "NEVER"]

NEVER = sys.maxsize
"""`steps_until_next_request` answer of a hook that needs no step at all."""

_MAX_TIMED_SKIP = 100  # the loop re-asks at least this often; time-based hooks never answer more


def _as_graph_element(obj: Any) -> Any:
    """A tensor or op of the default graph for `obj` (a graph element or its name)."""
    graph = _g.get_default_graph()
    if not isinstance(obj, str):
        if not hasattr(obj, "graph") or obj.graph is not graph:
            raise ValueError(f"Passed {obj} should have graph attribute that is equal to current graph {graph}.")
        return obj
    if ":" in obj:
        return graph.as_graph_element(obj)
    element = graph.as_graph_element(obj + ":0")
    try:
        graph.as_graph_element(obj + ":1")
    except (KeyError, ValueError):
        pass
    else:
        raise ValueError(f"Name {obj} is ambiguous, as this `Operation` has multiple outputs (at least 2).")
    return element


def _global_step_for(hook_name: str) -> Any:
    from ..train import get_global_step
    gst = get_global_step()
    if gst is None:
        raise RuntimeError(f"Global step should be created to use {hook_name}.")
    return gst


def _scalar(v: Any) -> int:
    return int(np.asarray(v).reshape(()))


class SecondOrStepTimer:
    """Triggers at most once every `every_secs` seconds or once every `every_steps` steps.

    Raises:
      ValueError: if neither or both of `every_secs` and `every_steps` are given.
    """

    def __init__(self, every_secs: Optional[float] = None, every_steps: Optional[int] = None):
        self.reset()
        self._every_secs = every_secs
        self._every_steps = every_steps
        if self._every_secs is None and self._every_steps is None:
            raise ValueError("Either every_secs or every_steps should be provided.")
        if self._every_secs is not None and self._every_steps is not None:
            raise ValueError("Can not provide both every_secs and every_steps.")

    def reset(self) -> None:
        """Forgets the last trigger (the next `should_trigger_for_step` is True)."""
        self._last_triggered_step: Optional[int] = None
        self._last_triggered_time: Optional[float] = None
        self._last_asked: Optional[Tuple[int, float]] = None
        self._secs_per_step: Optional[float] = None

    def should_trigger_for_step(self, step: int) -> bool:
        """Whether the timer should trigger for `step` (always for the first call)."""
        if self._last_triggered_step is None:
            return True
        if self._last_triggered_step == step:
            return False
        if self._every_secs is not None and time.time() >= self._last_triggered_time + self._every_secs:
            return True
        if self._every_steps is not None and step >= self._last_triggered_step + self._every_steps:
            return True
        return False

    def update_last_triggered_step(self, step: int) -> Tuple[Optional[float], Optional[int]]:
        """Records a trigger at `step`; returns (seconds, steps) since the previous one, or (None, None)."""
        now = time.time()
        if self._last_triggered_time is None:
            elapsed_secs, elapsed_steps = None, None
        else:
            elapsed_secs = now - self._last_triggered_time
            elapsed_steps = step - self._last_triggered_step
        self._last_triggered_time = now
        self._last_triggered_step = step
        return elapsed_secs, elapsed_steps

    def last_triggered_step(self) -> Optional[int]:
        """The step of the last trigger, or None."""
        return self._last_triggered_step

    def steps_until_trigger(self, step: int) -> int:
        """nestor extension: how many steps after `step` the timer surely does not trigger.

        `step` is the value `should_trigger_for_step` would be called with next; the answer s
        means it may trigger at `step + s`. Exact for step timers; for second timers an
        estimate from the step rate measured between calls, at most 100.
        """
        if self._last_triggered_step is None:
            return 0
        if self._every_steps is not None:
            return max(0, self._last_triggered_step + self._every_steps - step)
        now = time.time()
        if self._last_asked is not None and step > self._last_asked[0]:
            self._secs_per_step = (now - self._last_asked[1]) / (step - self._last_asked[0])
        self._last_asked = (step, now)
        remaining = self._last_triggered_time + self._every_secs - now
        if remaining <= 0:
            return 0
        if self._secs_per_step is None:
            return 1
        if self._secs_per_step <= 0:
            return _MAX_TIMED_SKIP
        return int(min(_MAX_TIMED_SKIP, remaining / self._secs_per_step))


class _NeverTriggerTimer(SecondOrStepTimer):
    """A timer that never triggers (LoggingTensorHook with only `at_end`)."""

    def __init__(self) -> None:
        self.reset()
        self._every_secs = None
        self._every_steps = None

    def should_trigger_for_step(self, step: int) -> bool:
        return False

    def steps_until_trigger(self, step: int) -> int:
        return NEVER


class LoggingTensorHook(SessionRunHook):
    """Logs the values of tensors every N local steps, every N seconds, and/or at the end.

    Lines read `loss = 0.5, step = 100 (0.123 sec)`: `tag = value` pairs (dict keys sorted,
    list items in order) joined by ", ", plus the seconds since the previous line.

    Args:
      tensors: a dict tag -> tensor (or name), or a list of tensors/names.
      every_n_iter: log every N local steps (the first step is logged).
      every_n_secs: log every N seconds.
      at_end: log the values at the end of the loop.
      formatter: a function dict(tag -> value) -> str replacing the default line.

    Raises:
      ValueError: unless `at_end` and/or exactly one of `every_n_iter`, `every_n_secs` is given.
    """

    def __init__(self, tensors: Any, every_n_iter: Optional[int] = None, every_n_secs: Optional[float] = None,
                 at_end: bool = False, formatter: Optional[Callable[[Dict[Any, Any]], str]] = None):
        only_log_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_log_at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and every_n_secs must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        if not isinstance(tensors, dict):
            self._tag_order = list(tensors)
            tensors = {item: item for item in tensors}
        else:
            self._tag_order = sorted(tensors.keys())
        self._tensors = tensors
        self._formatter = formatter
        self._timer = (_NeverTriggerTimer() if only_log_at_end else
                       SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_iter))
        self._log_at_end = at_end
        self._iter_count = 0
        self._base_step: Optional[int] = None
        self._should_trigger = False

    def begin(self) -> None:
        self._timer.reset()
        self._iter_count = 0
        self._base_step = None
        self._current_tensors = {tag: _as_graph_element(t) for tag, t in self._tensors.items()}

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        # Local steps are counted from the global step, so steps run without the hook count.
        if self._base_step is None:
            self._base_step = int(global_step) - self._iter_count
        self._iter_count = int(global_step) - self._base_step
        return self._timer.steps_until_trigger(self._iter_count)

    def before_run(self, run_context: SessionRunContext) -> Optional[SessionRunArgs]:
        self._should_trigger = self._timer.should_trigger_for_step(self._iter_count)
        return SessionRunArgs(self._current_tensors) if self._should_trigger else None

    def _log_tensors(self, tensor_values: Dict[Any, Any]) -> None:
        original = np.get_printoptions()
        np.set_printoptions(suppress=True)
        try:
            elapsed_secs, _ = self._timer.update_last_triggered_step(self._iter_count)
            if self._formatter:
                _logging.info(self._formatter(tensor_values))
            else:
                stats = ", ".join("%s = %s" % (tag, tensor_values[tag]) for tag in self._tag_order)
                if elapsed_secs is not None:
                    _logging.info("%s (%.3f sec)", stats, elapsed_secs)
                else:
                    _logging.info("%s", stats)
        finally:
            np.set_printoptions(**original)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if self._should_trigger:
            self._log_tensors(run_values.results)
        self._iter_count += 1

    def end(self, session: Any) -> None:
        if self._log_at_end:
            self._log_tensors(session.run(self._current_tensors))


class StopAtStepHook(SessionRunHook):
    """Requests a stop once the global step reaches `last_step` (or `num_steps` more steps).

    Raises:
      ValueError: unless exactly one of `num_steps` and `last_step` is given.
    """

    def __init__(self, num_steps: Optional[int] = None, last_step: Optional[int] = None):
        if num_steps is None and last_step is None:
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and last_step is not None:
            raise ValueError("Only one of num_steps or last_step can be specified.")
        self._num_steps = num_steps
        self._last_step = last_step

    def begin(self) -> None:
        self._global_step_tensor = _global_step_for("StopAtStepHook")

    def after_create_session(self, session: Any, coord: Any) -> None:
        if self._last_step is None:
            self._last_step = _scalar(session.run(self._global_step_tensor)) + self._num_steps

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        if self._last_step is None:
            return 0
        return max(0, self._last_step - int(global_step) - 1)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if _scalar(run_values.results) + 1 >= self._last_step:
            # The fetched value may precede this step's increment: read the current one.
            if _scalar(run_context.session.run(self._global_step_tensor)) >= self._last_step:
                run_context.request_stop()


class NanLossDuringTrainingError(RuntimeError):
    """Raised by `NanTensorHook` when the loss is NaN."""

    def __str__(self) -> str:
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    """Stops training (raising `NanLossDuringTrainingError`, or quietly) when the loss is NaN.

    TensorFlow checks every step. With the nestor speed extension the loss is checked on the
    steps the hook is driven: every step that starts from a global step that is a multiple of
    `check_every_n_steps` (default 100; set the attribute to 1 to check every step), which are
    the steps the default logging and summary hooks are driven on too, plus any step the loop
    drives for other hooks.

    Args:
      loss_tensor: the loss tensor.
      fail_on_nan_loss: raise if True, else log a warning and request a stop.
    """

    check_every_n_steps = 100

    def __init__(self, loss_tensor: Any, fail_on_nan_loss: bool = True):
        self._loss_tensor = loss_tensor
        self._fail_on_nan_loss = fail_on_nan_loss

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        n = max(1, int(self.check_every_n_steps))
        return (-int(global_step)) % n

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._loss_tensor)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if np.any(np.isnan(run_values.results)):
            failure_message = "Model diverged with loss = NaN."
            if self._fail_on_nan_loss:
                _logging.error(failure_message)
                raise NanLossDuringTrainingError
            _logging.warning(failure_message)
            run_context.request_stop()


class FeedFnHook(SessionRunHook):
    """Feeds `feed_fn()` (a dict tensor -> value) into every step (so it is driven every step)."""

    def __init__(self, feed_fn: Callable[[], Dict[Any, Any]]):
        self.feed_fn = feed_fn

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        return 0

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(fetches=None, feed_dict=self.feed_fn())


class FinalOpsHook(SessionRunHook):
    """Evaluates `final_ops` at the end of the loop; the values are in `final_ops_values`."""

    def __init__(self, final_ops: Any, final_ops_feed_dict: Optional[Dict[Any, Any]] = None):
        self._final_ops = final_ops
        self._final_ops_feed_dict = final_ops_feed_dict
        self._final_ops_values: Any = None

    @property
    def final_ops_values(self) -> Any:
        """The values of `final_ops` (same structure), or None before `end`."""
        return self._final_ops_values

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        return NEVER

    def end(self, session: Any) -> None:
        if self._final_ops is None:
            return
        from .. import errors
        try:
            self._final_ops_values = session.run(self._final_ops, feed_dict=self._final_ops_feed_dict)
        except (errors.OutOfRangeError, StopIteration):
            _logging.warning(
                "An OutOfRangeError or StopIteration exception is raised by the code in FinalOpsHook. This "
                "typically means the Ops running by the FinalOpsHook have a dependency back to some input source, "
                "which should not happen. For example, for metrics in tf.estimator.Estimator, all metrics "
                "functions return two Ops: `value_op` and `update_op`. Estimator.evaluate calls the `update_op` "
                "for each batch of the data in input source and, once it is exhausted, it call the `value_op` to "
                "get the metric values. The `value_op` here should have dependency back to variables reading "
                "only, rather than reading another batch from input. Otherwise, the `value_op`, executed by "
                "`FinalOpsHook`, triggers another data reading, which ends OutOfRangeError/StopIteration. "
                "Please fix that.")
            raise


class GlobalStepWaiterHook(SessionRunHook):
    """Delays the first step until the global step reaches `wait_until_step` (polling every 0.5 s).

    In one process nothing else advances the global step, so a positive `wait_until_step`
    above the current step waits forever, as in TensorFlow.
    """

    def __init__(self, wait_until_step: int):
        self._wait_until_step = wait_until_step

    def begin(self) -> None:
        self._worker_is_started = False
        self._global_step_tensor = _global_step_for("_GlobalStepWaiterHook")

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        if self._worker_is_started or self._wait_until_step <= 0 or int(global_step) >= self._wait_until_step:
            self._worker_is_started = True
            return NEVER
        return 0

    def before_run(self, run_context: SessionRunContext) -> None:
        if self._worker_is_started:
            return None
        if self._wait_until_step <= 0:
            self._worker_is_started = True
            return None
        _logging.info("Waiting for global step %d before starting training.", self._wait_until_step)
        last_logged_step = 0
        while True:
            current_step = _scalar(run_context.session.run(self._global_step_tensor))
            if current_step >= self._wait_until_step:
                self._worker_is_started = True
                return None
            if current_step - last_logged_step > 1000:
                _logging.info("Waiting for global step %d before starting training. Current step is %d.",
                              self._wait_until_step, current_step)
                last_logged_step = current_step
            time.sleep(0.5)


# The hooks that write checkpoints, summaries and step rates live in saver_hooks.py.
from .saver_hooks import (CheckpointSaverHook, CheckpointSaverListener, StepCounterHook,  # noqa: E402
                          SummarySaverHook)
