"""The optimizer argument of the pre-made estimators (TF 2.15's `canned/optimizers.py`).

`optimizer` may be a name ('Adagrad', 'Adam', 'Ftrl', 'RMSProp', 'SGD'), an optimizer
instance, or a zero-argument callable returning one. A name builds the optimizer with the
given learning rate, or with the default learning rate of TF 2.15's Keras (legacy) optimizer
of that name when none is given: 0.001, except SGD's 0.01. The other hyperparameters are the
Keras defaults too (Adagrad initial accumulator 0.1; Adam and RMSProp epsilon 1e-7; RMSProp
decay 0.9), mapped onto nestor's TF1 optimizers.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from ...train import optimizers as _opt
from ...train.optimizer import Optimizer

__all__ = ["get_optimizer_instance", "OPTIMIZER_NAMES", "DEFAULT_LEARNING_RATES"]

_FACTORIES: Dict[str, Callable[[float], Optimizer]] = {
    "Adagrad": lambda lr: _opt.AdagradOptimizer(lr, initial_accumulator_value=0.1),
    "Adam": lambda lr: _opt.AdamOptimizer(lr, beta1=0.9, beta2=0.999, epsilon=1e-7),
    "Ftrl": lambda lr: _opt.FtrlOptimizer(lr),
    "RMSProp": lambda lr: _opt.RMSPropOptimizer(lr, decay=0.9, momentum=0.0, epsilon=1e-7),
    "SGD": lambda lr: _opt.GradientDescentOptimizer(lr),
}

OPTIMIZER_NAMES = tuple(sorted(_FACTORIES))

#: Learning rates of TF 2.15's `tf.keras.optimizers.legacy.<name>()`.
DEFAULT_LEARNING_RATES: Dict[str, float] = {"Adagrad": 0.001, "Adam": 0.001, "Ftrl": 0.001, "RMSProp": 0.001,
                                            "SGD": 0.01}


def get_optimizer_instance(opt: Any, learning_rate: Optional[float] = None) -> Optimizer:
    """Returns an `Optimizer` for `opt` (TF's `get_optimizer_instance_v2`).

    Args:
      opt: an `Optimizer`, a supported name, or a zero-argument callable returning an `Optimizer`.
      learning_rate: used only when `opt` is a name; None (or 0) means the name's default
        learning rate.

    Raises:
      ValueError: an unsupported name, or an object (or callable result) that is not an `Optimizer`.
    """
    if isinstance(opt, str):
        if opt not in _FACTORIES:
            raise ValueError(f"Unsupported optimizer name: {opt}. Supported names are: {OPTIMIZER_NAMES}")
        lr = learning_rate if learning_rate else DEFAULT_LEARNING_RATES[opt]
        return _FACTORIES[opt](float(lr))
    if callable(opt) and not isinstance(opt, Optimizer):
        opt = opt()
    if not isinstance(opt, Optimizer):
        raise ValueError(f"The given object is not a tf.keras.optimizers.Optimizer instance. Given: {opt}")
    return opt
