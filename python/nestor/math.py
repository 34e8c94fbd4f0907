"""`nestor.math`: elementwise math, comparisons and reductions (`tf.math`)."""
from __future__ import annotations

from .ops import activation_ops, math_ops, reduction_ops, sparse_ops

for _m in (math_ops, reduction_ops, activation_ops, sparse_ops):
    for _n in list(getattr(_m, "__all__", [])) + list(getattr(_m, "__math__", [])):
        globals()[_n] = getattr(_m, _n)
del _m, _n
