"""The hooks that write: `CheckpointSaverHook` (with `CheckpointSaverListener`), `SummarySaverHook`
and `StepCounterHook` (`tf.estimator.*`, `tf.train.*`). Split from hooks.py, which defines the
protocol (and re-exports these names)."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

from .. import logging as _logging
from ..framework import graph as _g
from .hooks import (SecondOrStepTimer, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues,
                    _global_step_for, _scalar)

__all__ = ["CheckpointSaverListener", "CheckpointSaverHook", "SummarySaverHook", "StepCounterHook"]


class CheckpointSaverListener:
    """Called around the saves of `CheckpointSaverHook`; `after_save` returning True stops training."""

    def begin(self) -> None:
        pass

    def before_save(self, session: Any, global_step_value: int) -> None:
        pass

    def after_save(self, session: Any, global_step_value: int) -> Optional[bool]:
        pass

    def end(self, session: Any, global_step_value: int) -> None:
        pass


class _GlobalStepTriggerHook(SessionRunHook):
    """Shared by the hooks that fetch the global step and trigger on `timer` for the step just run."""

    _timer: SecondOrStepTimer

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        return self._timer.steps_until_trigger(int(global_step) + 1)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step_tensor)

    def _triggered_step(self, run_context: SessionRunContext, stale_global_step: int) -> Optional[int]:
        """The global step after this run if the timer triggers for it (and records it), else None."""
        if not self._timer.should_trigger_for_step(stale_global_step + 1):
            return None
        global_step = _scalar(run_context.session.run(self._global_step_tensor))
        if not self._timer.should_trigger_for_step(global_step):
            return None
        return global_step


class CheckpointSaverHook(_GlobalStepTriggerHook):
    """Saves checkpoints `<checkpoint_dir>/<basename>-<step>` every N steps or seconds.

    A checkpoint is saved right after the session is created (the state at the starting
    step), on schedule, and at the end unless the last step was just saved. Listeners are
    called around every save; one whose `after_save` returns True requests a stop.

    Args:
      checkpoint_dir: where checkpoints (and the `checkpoint` state file) are written.
      save_secs / save_steps: the schedule (exactly one).
      saver: a `nestor.checkpoint.Saver`; else `scaffold.saver`, else the one in the SAVERS
        collection, else a new `Saver()` of all global variables (TensorFlow raises there).
      checkpoint_basename: the file name prefix.
      scaffold: an object with a `saver` attribute (e.g. the Estimator's Scaffold).
      listeners: `CheckpointSaverListener`s.
      save_graph_def: accepted for compatibility; nestor writes no graph.pbtxt / meta graph.

    Raises:
      ValueError: if both `saver` and `scaffold` are given, or the schedule is invalid.
    """

    def __init__(self, checkpoint_dir: str, save_secs: Optional[float] = None, save_steps: Optional[int] = None,
                 saver: Any = None, checkpoint_basename: str = "model.ckpt", scaffold: Any = None,
                 listeners: Optional[Sequence[CheckpointSaverListener]] = None, save_graph_def: bool = True):
        _logging.info("Create CheckpointSaverHook.")
        if saver is not None and scaffold is not None:
            raise ValueError("You cannot provide both saver and scaffold.")
        self._saver = saver
        self._checkpoint_dir = checkpoint_dir
        self._save_path = os.path.join(checkpoint_dir, checkpoint_basename)
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._listeners = list(listeners or [])
        self._save_graph_def = save_graph_def

    def begin(self) -> None:
        from ..summary import FileWriterCache
        self._summary_writer = FileWriterCache.get(self._checkpoint_dir)
        self._global_step_tensor = _global_step_for("CheckpointSaverHook")
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session: Any, coord: Any) -> None:
        global_step = _scalar(session.run(self._global_step_tensor))
        # The checkpoint saved here is the state at step `global_step`.
        self._save(session, global_step)
        self._timer.update_last_triggered_step(global_step)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        global_step = self._triggered_step(run_context, _scalar(run_values.results))
        if global_step is not None:
            self._timer.update_last_triggered_step(global_step)
            if self._save(run_context.session, global_step):
                run_context.request_stop()

    def end(self, session: Any) -> None:
        last_step = _scalar(session.run(self._global_step_tensor))
        if last_step != self._timer.last_triggered_step():
            self._save(session, last_step)
        for listener in self._listeners:
            listener.end(session, last_step)

    def _save(self, session: Any, step: int) -> bool:
        """Saves; returns True if a listener asked to stop training."""
        _logging.info("Calling checkpoint listeners before saving checkpoint %d...", step)
        for listener in self._listeners:
            listener.before_save(session, step)
        _logging.info("Saving checkpoints for %d into %s.", step, self._save_path)
        self._get_saver().save(session, self._save_path, global_step=step, write_meta_graph=self._save_graph_def)
        _logging.info("Calling checkpoint listeners after saving checkpoint %d...", step)
        should_stop = False
        for listener in self._listeners:
            if listener.after_save(session, step):
                _logging.info("A CheckpointSaverListener requested that training be stopped. "
                              "listener: %s", listener)
                should_stop = True
        return should_stop

    def _get_saver(self) -> Any:
        if self._saver is not None:
            return self._saver
        if self._scaffold is not None and getattr(self._scaffold, "saver", None) is not None:
            return self._scaffold.saver
        savers = _g.get_collection(_g.GraphKeys.SAVERS)
        if len(savers) > 1:
            raise RuntimeError(f"More than one item in collection {_g.GraphKeys.SAVERS}. Please indicate which "
                               "one to use by passing it to the constructor.")
        if savers:
            self._saver = savers[0]
        else:
            from ..checkpoint import Saver
            self._saver = Saver()
        return self._saver


class SummarySaverHook(SessionRunHook):
    """Evaluates summaries every N steps or seconds and writes them to an event file.

    The first driven step is summarized; a summary is written at the global step after the
    step it was computed in (so a run from 0 writes at 1, 1 + N, ...). After every driven step
    the hook reads the global step (one small `session.run`).

    Args:
      save_steps / save_secs: the schedule (exactly one).
      output_dir: directory of the event file (a `FileWriterCache` writer), if no `summary_writer`.
      summary_writer: a `nestor.summary.FileWriter`.
      scaffold: an object with a `summary_op` attribute; when it is None, every summary in
        the graph (`summary.merge_all()`) is used, as TensorFlow's finalized Scaffold does.
      summary_op: a string tensor holding a serialized Summary, or a list of them.

    Raises:
      ValueError: unless exactly one of `scaffold` and `summary_op` is given.
    """

    def __init__(self, save_steps: Optional[int] = None, save_secs: Optional[float] = None,
                 output_dir: Optional[str] = None, summary_writer: Any = None, scaffold: Any = None,
                 summary_op: Any = None):
        if (scaffold is None) + (summary_op is None) != 1:
            raise ValueError("Exactly one of scaffold or summary_op must be provided.")
        self._summary_op = summary_op
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)

    def begin(self) -> None:
        if self._summary_writer is None and self._output_dir:
            from ..summary import FileWriterCache
            self._summary_writer = FileWriterCache.get(self._output_dir)
        self._next_step: Optional[int] = None
        self._request_summary = False
        self._global_step_tensor = _global_step_for("SummarySaverHook")
        self._resolved_ops = self._resolve_summary_op()

    def _resolve_summary_op(self) -> Optional[List[Any]]:
        op = self._summary_op
        if op is None:
            op = getattr(self._scaffold, "summary_op", None)
            if op is None:
                from ..summary import merge_all
                op = merge_all()
        if op is None:
            return None
        return list(op) if isinstance(op, (list, tuple)) else [op]

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        if self._next_step is None:
            return 0
        self._next_step = int(global_step) + 1  # steps run without the hook advance it too
        return self._timer.steps_until_trigger(self._next_step)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        self._request_summary = self._next_step is None or self._timer.should_trigger_for_step(self._next_step)
        requests: Dict[str, Any] = {"global_step": self._global_step_tensor}
        if self._request_summary and self._resolved_ops:
            requests["summary"] = self._resolved_ops
        return SessionRunArgs(requests)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if not self._summary_writer:
            return
        # TensorFlow takes the fetched value + 1 when no summary was written, assuming the read
        # preceded this step's increment; nestor does not order that read, so it reads the value now.
        global_step = _scalar(run_context.session.run(self._global_step_tensor))
        if self._request_summary:
            self._timer.update_last_triggered_step(global_step)
            for summary in run_values.results.get("summary", []):
                self._summary_writer.add_summary(summary, global_step)
        self._next_step = global_step + 1

    def end(self, session: Any = None) -> None:
        if self._summary_writer:
            self._summary_writer.flush()


class StepCounterHook(_GlobalStepTriggerHook):
    """Logs `global_step/sec: <rate>` and writes it as a summary every N steps or seconds.

    Raises:
      ValueError: unless exactly one of `every_n_steps` and `every_n_secs` is given.
    """

    def __init__(self, every_n_steps: Optional[int] = 100, every_n_secs: Optional[float] = None,
                 output_dir: Optional[str] = None, summary_writer: Any = None):
        if (every_n_steps is None) == (every_n_secs is None):
            raise ValueError("exactly one of every_n_steps and every_n_secs should be provided.")
        self._timer = SecondOrStepTimer(every_steps=every_n_steps, every_secs=every_n_secs)
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._last_global_step: Optional[int] = None

    def begin(self) -> None:
        if self._summary_writer is None and self._output_dir:
            from ..summary import FileWriterCache
            self._summary_writer = FileWriterCache.get(self._output_dir)
        self._global_step_tensor = _global_step_for("StepCounterHook")
        self._summary_tag = self._global_step_tensor.op.name + "/sec"

    def after_create_session(self, session: Any, coord: Any) -> None:
        self._last_global_step = None
        self._timer.reset()

    def _log_and_record(self, elapsed_steps: int, elapsed_time: float, global_step: int) -> None:
        steps_per_sec = elapsed_steps / elapsed_time if elapsed_time > 0 else float("inf")
        if self._summary_writer is not None:
            from ..summary import Summary
            summary = Summary(value=[Summary.Value(tag=self._summary_tag, simple_value=steps_per_sec)])
            self._summary_writer.add_summary(summary, global_step)
        _logging.info("%s: %g", self._summary_tag, steps_per_sec)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        stale_global_step = _scalar(run_values.results)
        global_step = self._triggered_step(run_context, stale_global_step)
        if global_step is not None:
            elapsed_time, elapsed_steps = self._timer.update_last_triggered_step(global_step)
            if elapsed_time is not None:
                self._log_and_record(elapsed_steps, elapsed_time, global_step)
        if stale_global_step == self._last_global_step:
            _logging.log_first_n(
                _logging.WARN, "It seems that global step (tf.train.get_global_step) has not been increased. "
                "Current value (could be stable): %s vs previous value: %s. You could increase the global step "
                "by passing tf.train.get_global_step() to Optimizer.apply_gradients or Optimizer.minimize.",
                5, stale_global_step, self._last_global_step)
        self._last_global_step = stale_global_step
