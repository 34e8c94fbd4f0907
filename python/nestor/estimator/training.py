"""`TrainSpec`, `EvalSpec` and `train_and_evaluate` (local mode)."""
from __future__ import annotations

import collections
import logging
import os
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

_log = logging.getLogger("nestor")


class TrainSpec(collections.namedtuple("TrainSpec", ["input_fn", "max_steps", "hooks", "saving_listeners"])):
    """How to train in `train_and_evaluate` (`tf.estimator.TrainSpec`)."""

    def __new__(cls, input_fn: Callable, max_steps: Optional[int] = None, hooks: Sequence[Any] = (),
                saving_listeners: Sequence[Any] = ()) -> "TrainSpec":
        if not callable(input_fn):
            raise TypeError(f"`input_fn` must be callable, given: {input_fn}")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        return super().__new__(cls, input_fn, max_steps, tuple(hooks or ()), tuple(saving_listeners or ()))


class EvalSpec(collections.namedtuple("EvalSpec", ["input_fn", "steps", "name", "hooks", "exporters",
                                                   "start_delay_secs", "throttle_secs"])):
    """How to evaluate in `train_and_evaluate` (`tf.estimator.EvalSpec`)."""

    def __new__(cls, input_fn: Callable, steps: Optional[int] = 100, name: Optional[str] = None,
                hooks: Sequence[Any] = (), exporters: Any = None, start_delay_secs: int = 120,
                throttle_secs: int = 600) -> "EvalSpec":
        if not callable(input_fn):
            raise TypeError(f"`input_fn` must be callable, given: {input_fn}")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if start_delay_secs < 0:
            raise ValueError(f"Must specify start_delay_secs >= 0, given: {start_delay_secs}")
        if throttle_secs < 0:
            raise ValueError(f"Must specify throttle_secs >= 0, given: {throttle_secs}")
        if exporters is None:
            exporters = ()
        elif not isinstance(exporters, (list, tuple)):
            exporters = (exporters,)
        names = [e.name for e in exporters]
        if len(set(names)) != len(names):
            raise ValueError(f"`exporters` must have unique names. Such a name cannot be `None`. {names}")
        return super().__new__(cls, input_fn, steps, name, tuple(hooks or ()), tuple(exporters),
                               start_delay_secs, throttle_secs)


class _EvalListener:
    """Evaluates after checkpoint saves (throttled) and after the last one."""

    def __init__(self, estimator: Any, eval_spec: EvalSpec):
        self._est = estimator
        self._spec = eval_spec
        self._last_eval = 0.0
        self._last_evaluated_ckpt: Optional[str] = None
        self.eval_result: Any = None
        self.export_results: List[Any] = []

    def begin(self) -> None:
        pass

    def before_save(self, session: Any, global_step_value: int) -> None:
        pass

    def after_save(self, session: Any, global_step_value: int) -> bool:
        if time.time() - self._last_eval >= self._spec.throttle_secs and global_step_value > 0:
            self._evaluate(is_final=False)
        return False

    def end(self, session: Any, global_step_value: int) -> None:
        pass

    def _evaluate(self, is_final: bool) -> None:
        latest = self._est.latest_checkpoint()
        if latest is None or (latest == self._last_evaluated_ckpt and not is_final):
            return  # as TF: the final evaluation and export run even on an evaluated checkpoint
        self._last_eval = time.time()
        self._last_evaluated_ckpt = latest
        result = self._est.evaluate(self._spec.input_fn, steps=self._spec.steps, hooks=self._spec.hooks,
                                    checkpoint_path=latest, name=self._spec.name)
        self.eval_result = result
        for exporter in self._spec.exporters:
            export_path = os.path.join(self._est.model_dir, "export", exporter.name)
            self.export_results.append(exporter.export(self._est, export_path, latest, result, is_final))


def train_and_evaluate(estimator: Any, train_spec: TrainSpec, eval_spec: EvalSpec) -> Tuple[Any, List[Any]]:
    """Trains, evaluating after checkpoint saves (at most every `throttle_secs`) and once
    after training ends (`tf.estimator.train_and_evaluate`, local mode).

    Returns:
      (the last evaluation's metrics, the exporters' results).
    """
    if not isinstance(train_spec, TrainSpec):
        raise TypeError(f"`train_spec` must have type `tf.estimator.TrainSpec`. Got: {type(train_spec)}")
    if not isinstance(eval_spec, EvalSpec):
        raise TypeError(f"`eval_spec` must have type `tf.estimator.EvalSpec`. Got: {type(eval_spec)}")
    listener = _EvalListener(estimator, eval_spec)
    estimator.train(train_spec.input_fn, hooks=list(train_spec.hooks), max_steps=train_spec.max_steps,
                    saving_listeners=list(train_spec.saving_listeners) + [listener])
    listener._evaluate(is_final=True)
    return listener.eval_result, listener.export_results
