"""`make_stop_at_checkpoint_step_hook` (`tf.estimator.experimental.make_stop_at_checkpoint_step_hook`):
stop a worker once the checkpoints in model_dir reach a step."""
from __future__ import annotations

import numbers
import time
from typing import Any, Optional

from .. import checkpoint as _ckpt
from .. import logging as _logging
from .hooks import (SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues, StopAtStepHook,
                    _global_step_for, _scalar)

__all__ = ["make_stop_at_checkpoint_step_hook"]


def _checkpoint_dir_global_step(model_dir: str) -> int:
    """The global step of the newest checkpoint in `model_dir`; 0 when there is none."""
    from .estimator import _checkpoint_global_step
    latest = _ckpt.latest_checkpoint(model_dir)
    return 0 if latest is None else _checkpoint_global_step(latest)


class _StopAtCheckpointStepHook(SessionRunHook):
    """Requests a stop once the newest checkpoint in `model_dir` is at step `last_step` or later.

    Only after a step that brings the session's global step to `last_step` does it read the
    checkpoint directory; while the checkpoint is older it sleeps `wait_after_file_check_secs`
    after each read (many workers reading one file) and training goes on.
    """

    def __init__(self, model_dir: str, last_step: int, wait_after_file_check_secs: float = 30):
        if last_step is None:
            raise ValueError("last_step must be specified.")
        if model_dir is None:
            raise ValueError("model_dir must be specified.")
        self._model_dir = model_dir
        self._last_step = int(last_step)
        self._wait_after_file_check_secs = wait_after_file_check_secs

    def begin(self) -> None:
        self._global_step_tensor = _global_step_for("StopAtCheckpointStepHook")

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        return max(0, self._last_step - int(global_step) - 1)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if _scalar(run_values.results) + 1 < self._last_step:
            return
        # The fetched value may precede this step's increment: read the current one.
        if _scalar(run_context.session.run(self._global_step_tensor)) < self._last_step:
            return
        step = _checkpoint_dir_global_step(self._model_dir)
        if step >= self._last_step:
            _logging.info("Stopping: the checkpoint in %s is at step %d (last_step %d).", self._model_dir, step,
                          self._last_step)
            run_context.request_stop()
        else:
            time.sleep(self._wait_after_file_check_secs)


def make_stop_at_checkpoint_step_hook(estimator: Any, last_step: int,
                                      wait_after_file_check_secs: float = 30) -> SessionRunHook:
    """A hook that stops training at `last_step`: on the chief by the global step, elsewhere by
    the checkpoints the chief writes.

    For the chief (`estimator.config.is_chief`) this is `StopAtStepHook(last_step=last_step)`.
    For any other worker it is a hook that, once the worker's own global step reaches
    `last_step`, reads the global step of the newest checkpoint in `estimator.model_dir`
    after every step and requests a stop when that is `last_step` or more, sleeping
    `wait_after_file_check_secs` after each read that is not. (nestor's `RunConfig` is
    always the chief; a config whose `is_chief` is False gets the checkpoint hook.)

    Args:
      estimator: the `Estimator` being trained (its `config.is_chief` and `model_dir`).
      last_step: the global step to stop at.
      wait_after_file_check_secs: seconds to wait after each read of the checkpoint state
        that finds an older checkpoint.

    Returns:
      A `SessionRunHook`.

    Raises:
      ValueError: `last_step` is not an integer, or `wait_after_file_check_secs` is negative.
    """
    if isinstance(last_step, bool) or not isinstance(last_step, numbers.Integral):
        raise ValueError(f"last_step must be an integer global step, given: {last_step!r}")
    if not isinstance(wait_after_file_check_secs, numbers.Real) or wait_after_file_check_secs < 0:
        raise ValueError(f"wait_after_file_check_secs must be a number >= 0, given: {wait_after_file_check_secs!r}")
    if estimator.config.is_chief:
        return StopAtStepHook(last_step=int(last_step))
    return _StopAtCheckpointStepHook(model_dir=estimator.model_dir, last_step=int(last_step),
                                     wait_after_file_check_secs=wait_after_file_check_secs)
