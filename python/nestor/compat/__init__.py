"""`tf.compat`: the `v1` namespace, as TF 2.x estimator code spells TF1 names.

nestor's top level already is TensorFlow 1's graph API, so `tf.compat.v1.X` is `tf.X`, except
`tf.compat.v1.estimator`, whose canned estimators keep TF1's defaults (see
`nestor.compat.v1.estimator`).
"""
from __future__ import annotations

from . import v1

__all__ = ["v1"]
