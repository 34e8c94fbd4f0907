"""`nestor.experimental`: interfaces that may still change (`tf.experimental`)."""
from __future__ import annotations

from . import dlpack

__all__ = ["dlpack"]
