"""`nestor.train`: TF1 optimizers, the global step and learning-rate schedules (`tf.compat.v1.train`)."""
from __future__ import annotations

from . import training_ops  # noqa: F401
from .optimizer import Optimizer
from .optimizers import (AdagradOptimizer, AdamOptimizer, FtrlOptimizer, GradientDescentOptimizer,
                         MomentumOptimizer, RMSPropOptimizer)
from .learning_rate_decay import (cosine_decay, exponential_decay, inverse_time_decay, natural_exp_decay,
                                  piecewise_constant, polynomial_decay)
from .training_util import (assert_global_step, create_global_step, get_global_step, get_or_create_global_step,
                            global_step)

__all__ = ["Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdagradOptimizer", "AdamOptimizer",
           "FtrlOptimizer", "RMSPropOptimizer", "get_global_step", "create_global_step",
           "get_or_create_global_step", "global_step", "assert_global_step", "exponential_decay",
           "natural_exp_decay", "inverse_time_decay", "polynomial_decay", "cosine_decay", "piecewise_constant"]

# TF1 also exposes checkpoints and the session hooks under tf.train.
from ..checkpoint import Saver, latest_checkpoint, list_variables, load_variable  # noqa: E402,F401
from ..checkpoint import get_checkpoint_state  # noqa: E402,F401
from ..estimator.hooks import (CheckpointSaverHook, CheckpointSaverListener, FeedFnHook, FinalOpsHook,  # noqa: E402,F401
                               GlobalStepWaiterHook, LoggingTensorHook, NanLossDuringTrainingError, NanTensorHook,
                               SecondOrStepTimer, SessionRunArgs, SessionRunContext, SessionRunHook,
                               SessionRunValues, StepCounterHook, StopAtStepHook, SummarySaverHook)
from ..estimator.profiler_hook import ProfilerHook  # noqa: E402,F401
from .scaffold import Scaffold  # noqa: E402,F401
