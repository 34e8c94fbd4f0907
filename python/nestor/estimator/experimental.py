"""`nestor.estimator.experimental`: early stopping hooks, the checkpoint-step stop hook, the in-memory
evaluator hook and the raw supervised input receiver."""
from __future__ import annotations

from .early_stopping import (make_early_stopping_hook, stop_if_higher_hook, stop_if_lower_hook,  # noqa: F401
                             stop_if_no_decrease_hook, stop_if_no_increase_hook)
from .checkpoint_step_hook import make_stop_at_checkpoint_step_hook  # noqa: F401
from .export import build_raw_supervised_input_receiver_fn  # noqa: F401
from .in_memory_evaluator import InMemoryEvaluatorHook  # noqa: F401
