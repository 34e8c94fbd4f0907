"""`tf.compat.v1`: TensorFlow 1's names. Everything resolves to nestor's top level (the TF1 graph
API), except `estimator` (TF1's canned-estimator defaults), `math` (TF1's argument orders),
`image` (TF1's resize semantics) and the eager switches, which are no-ops or errors because nestor
always builds graphs."""
from __future__ import annotations

from typing import Any, List

import nestor as _nestor

from . import estimator, image, math

__all__ = ["estimator", "image", "math", "disable_eager_execution", "disable_v2_behavior",
           "enable_eager_execution", "executing_eagerly"]


def disable_eager_execution() -> None:
    """Does nothing: nestor always builds graphs (`tf.compat.v1.disable_eager_execution`)."""


def disable_v2_behavior() -> None:
    """Does nothing: nestor's names already behave as TensorFlow 1's (`tf.compat.v1.disable_v2_behavior`)."""


def enable_eager_execution(*args: Any, **kwargs: Any) -> None:
    """Raises: nestor runs graphs in sessions; there is no eager mode."""
    raise NotImplementedError("nestor has no eager execution: build a graph and run it in a tf.compat.v1.Session "
                              "(or use an Estimator)")


def executing_eagerly() -> bool:
    """False: nestor always builds graphs."""
    return False


def __getattr__(name: str) -> Any:
    try:
        return getattr(_nestor, name)
    except AttributeError:
        raise AttributeError(f"module 'nestor.compat.v1' has no attribute {name!r} "
                             f"(nestor has no tf.compat.v1.{name})") from None


def __dir__() -> List[str]:
    return sorted(set(__all__) | set(dir(_nestor)))
