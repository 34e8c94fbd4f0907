"""`tf.estimator.experimental.InMemoryEvaluatorHook`: evaluation during training, from the
training session's variables, without a checkpoint."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

from ..framework import graph as _g
from .hooks import SecondOrStepTimer, SessionRunContext, SessionRunHook, SessionRunValues
from .model_fn import ModeKeys

__all__ = ["InMemoryEvaluatorHook"]


def _var_name(v: Any) -> str:
    return v._shared_name() if hasattr(v, "_shared_name") else v.op.name


class InMemoryEvaluatorHook(SessionRunHook):
    """Runs `estimator.evaluate`'s evaluation inside `train()`, on the variables being trained.

        evaluator = tf.estimator.experimental.InMemoryEvaluatorHook(estimator, eval_input_fn,
                                                                    every_n_iter=500)
        estimator.train(train_input_fn, hooks=[evaluator])

    The first evaluation runs when the training session is created, then one every
    `every_n_iter` training iterations and a last one at the end, as TensorFlow's. Each copies
    the values of the variables the evaluation graph shares with the training graph (by
    name) from the training session into the evaluation session, runs the evaluation and
    writes its metrics, at the training global step, to `estimator.eval_dir(name)`. Between
    evaluations the training loop keeps running many steps per native call (the hook says
    how many steps it can miss).

    Args:
      estimator: the `Estimator` being trained.
      input_fn: the evaluation input, as for `estimator.evaluate`.
      steps: evaluate at most this many batches (None: until the input ends).
      hooks: `SessionRunHook`s for each evaluation.
      name: the evaluation's name (its directory is `eval_<name>`).
      every_n_iter: evaluate every this many training iterations.

    Raises:
      ValueError: `every_n_iter` is not positive, `steps` is not positive, or (when the
        evaluation graph is built) the model_fn's Scaffold has an `init_fn`.
      TypeError: `estimator` is not an Estimator, `input_fn` is not callable, or a hook is
        not a `SessionRunHook`.
    """

    def __init__(self, estimator: Any, input_fn: Callable[..., Any], steps: Optional[int] = None,
                 hooks: Optional[Sequence[SessionRunHook]] = None, name: Optional[str] = None,
                 every_n_iter: int = 100):
        from .estimator import Estimator
        if every_n_iter is None or every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        if not isinstance(estimator, Estimator):
            raise TypeError(f"estimator must be a tf.estimator.Estimator, got {type(estimator).__name__}.")
        if not callable(input_fn):
            raise TypeError(f"input_fn must be callable, got {input_fn!r}.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        hooks = list(hooks or [])
        for h in hooks:
            if not isinstance(h, SessionRunHook):
                raise TypeError(f"All hooks must be SessionRunHook instances, given: {h!r}")
        self._estimator, self._input_fn, self._steps, self._hooks = estimator, input_fn, steps, hooks
        self._name = name
        self._timer = SecondOrStepTimer(every_steps=every_n_iter)
        self._iter_count = 0
        self._base_step: Optional[int] = None
        self._train_vars: Dict[str, Any] = {}

    def begin(self) -> None:
        self._timer.reset()
        self._iter_count = 0
        self._base_step = None
        self._train_vars = {_var_name(v): v for v in _g.get_collection(_g.GraphKeys.GLOBAL_VARIABLES)}

    def after_create_session(self, session: Any, coord: Any) -> None:
        """Evaluates the starting model (before any training step)."""
        self._evaluate(session)

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        # Iterations are counted from the global step, so steps run without the hook count too.
        if self._base_step is None:
            self._base_step = int(global_step) - self._iter_count
        self._iter_count = int(global_step) - self._base_step
        return self._timer.steps_until_trigger(self._iter_count + 1)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        self._iter_count += 1
        if self._timer.should_trigger_for_step(self._iter_count):
            self._evaluate(run_context.session)

    def end(self, session: Any) -> None:
        """Evaluates the final model."""
        self._evaluate(session)

    def _evaluate(self, train_session: Any) -> None:
        from .evaluation import run_evaluation
        est = self._estimator
        built = est._get_built(ModeKeys.EVAL, self._input_fn)
        if built.scaffold.init_fn is not None:
            raise ValueError("InMemoryEvaluator does not support custom init_fn")
        sess = built.session
        sess.run(built.init_op, built.scaffold.init_feed_dict)  # variables only evaluation has
        with built.graph.as_default():
            shared = [n for n in (_var_name(v) for v in _g.get_collection(_g.GraphKeys.GLOBAL_VARIABLES))
                      if n in self._train_vars]
        for n in shared:
            sess._set_variable_value(n, train_session._variable_value(n))
        built.loaded = None  # not a checkpoint's values: a later evaluate() restores one
        run_evaluation(built, self._steps, self._hooks, est.eval_dir(self._name), None)
        self._timer.update_last_triggered_step(self._iter_count)
