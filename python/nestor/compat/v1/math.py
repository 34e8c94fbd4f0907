"""`tf.compat.v1.math`: `nestor.math` with TensorFlow 1's argument orders where TF 2 changed them
(`in_top_k(predictions, targets, k)`, `confusion_matrix(..., dtype, name, weights)`)."""
from __future__ import annotations

from typing import Any, List

from nestor import math as _math
from nestor.ops.composite_math_ops import confusion_matrix_v1 as confusion_matrix  # noqa: F401
from nestor.ops.top_k_ops import in_top_k_v1 as in_top_k  # noqa: F401


def __getattr__(name: str) -> Any:
    try:
        return getattr(_math, name)
    except AttributeError:
        raise AttributeError(f"module 'nestor.compat.v1.math' has no attribute {name!r}") from None


def __dir__() -> List[str]:
    return sorted(set(dir(_math)) | {"confusion_matrix", "in_top_k"})
