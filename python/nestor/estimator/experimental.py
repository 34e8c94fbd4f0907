"""`nestor.estimator.experimental`: early stopping hooks."""
from __future__ import annotations

from .early_stopping import (make_early_stopping_hook, stop_if_higher_hook, stop_if_lower_hook,  # noqa: F401
                             stop_if_no_decrease_hook, stop_if_no_increase_hook)
