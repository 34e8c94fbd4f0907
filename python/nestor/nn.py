"""`nestor.nn`: activations, losses with logits, softmax, dropout, embeddings (`tf.nn`).

Each op family module lists its `tf.nn` names in `__nn__`.
"""
from __future__ import annotations

from .ops import activation_ops, array_ops, clip_ops, conv_ops, math_ops, nn_ops, random_ops, reduction_ops, sparse_ops
from .ops import conv_extra_ops

for _m in (activation_ops, math_ops, reduction_ops, nn_ops, array_ops, sparse_ops, random_ops, clip_ops, conv_ops,
           conv_extra_ops):
    for _n in getattr(_m, "__nn__", []):
        globals()[_n] = getattr(_m, _n)
del _m, _n
from .ops.top_k_ops import in_top_k_v1 as in_top_k, top_k  # noqa: E402,F401
from .ops.composite_math_ops import l2_normalize  # noqa: E402,F401
from .ops.composite_nn_ops import batch_normalization, weighted_cross_entropy_with_logits  # noqa: E402,F401
from .ops import rnn_cell  # noqa: E402,F401
from .ops.rnn import bidirectional_dynamic_rnn, dynamic_rnn, static_bidirectional_rnn, static_rnn  # noqa: E402,F401
