"""`nestor.train`: TF1 optimizers and the global step (`tf.compat.v1.train`)."""
from __future__ import annotations

from . import training_ops  # noqa: F401
from .optimizer import Optimizer
from .optimizers import (AdagradOptimizer, AdamOptimizer, FtrlOptimizer, GradientDescentOptimizer,
                         MomentumOptimizer, RMSPropOptimizer)
from .training_util import (assert_global_step, create_global_step, get_global_step, get_or_create_global_step,
                            global_step)

__all__ = ["Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdagradOptimizer", "AdamOptimizer",
           "FtrlOptimizer", "RMSPropOptimizer", "get_global_step", "create_global_step",
           "get_or_create_global_step", "global_step", "assert_global_step"]
