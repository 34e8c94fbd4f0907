"""`nestor.math`: elementwise math, comparisons and reductions (`tf.math`)."""
from __future__ import annotations

from .ops import activation_ops, math_ops, reduction_ops, sparse_ops

for _m in (math_ops, reduction_ops, activation_ops, sparse_ops):
    for _n in list(getattr(_m, "__all__", [])) + list(getattr(_m, "__math__", [])):
        globals()[_n] = getattr(_m, _n)
del _m, _n
from .ops.scan_ops import cumprod, cumsum  # noqa: E402,F401
from .ops.top_k_ops import in_top_k, top_k  # noqa: E402,F401
from .ops.composite_math_ops import (confusion_matrix, l2_normalize, reduce_std, reduce_variance,  # noqa: E402,F401
                                     unsorted_segment_mean, unsorted_segment_sqrt_n)
from .ops.composite_nn_ops import log_softmax, softplus  # noqa: E402,F401
from .ops.histogram_ops import bincount  # noqa: E402,F401
from .ops.composite_extra_ops import cumulative_logsumexp, reduce_euclidean_norm  # noqa: E402,F401
