"""`nestor.linalg`: the linear-algebra names nestor has (`tf.linalg`): `matmul`, `norm`,
`l2_normalize` and `einsum`."""
from __future__ import annotations

from .ops.composite_math_ops import l2_normalize, norm
from .ops.einsum_ops import einsum
from .ops.math_ops import matmul

__all__ = ["matmul", "norm", "l2_normalize", "einsum"]
