"""`nestor.debugging`: run-time assertions (`tf.debugging`)."""
from __future__ import annotations

from .ops.check_ops import *  # noqa: F401,F403
