"""TF1's optimizers: gradient descent, momentum, Adagrad, Adam, FTRL and RMSProp.

Hyperparameters may be Python numbers (converted straight to each variable's dtype),
Tensors (cast to the variable's dtype) or callables returning either.
"""
from __future__ import annotations

from typing import Any, List, Optional

from ..framework.graph import IndexedSlices, Operation, Tensor
from ..framework.variables import Variable
from . import training_ops as _ops
from .optimizer import Optimizer

__all__ = ["GradientDescentOptimizer", "MomentumOptimizer", "AdagradOptimizer", "AdamOptimizer", "FtrlOptimizer",
           "RMSPropOptimizer"]


class GradientDescentOptimizer(Optimizer):
    """var -= learning_rate * grad."""

    def __init__(self, learning_rate: Any, use_locking: bool = False, name: str = "GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return _ops.apply_gradient_descent(var, self._hyper("learning_rate", self._learning_rate, var.dtype), grad)

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Tensor:
        return _ops.sparse_apply_gradient_descent(
            var, self._hyper("learning_rate", self._learning_rate, var.dtype), grad.values, grad.indices)


class MomentumOptimizer(Optimizer):
    """accum = momentum * accum + grad; var -= learning_rate * accum (or the Nesterov form).

    Slot: "momentum" ("<var>/Momentum"), initialized to zeros.
    """

    def __init__(self, learning_rate: Any, momentum: Any, use_locking: bool = False, name: str = "Momentum",
                 use_nesterov: bool = False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list: List[Variable]) -> None:
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _args(self, var: Variable) -> tuple:
        return (self._hyper("learning_rate", self._learning_rate, var.dtype),
                self._hyper("momentum", self._momentum, var.dtype))

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        lr, mu = self._args(var)
        return _ops.apply_momentum(var, self.get_slot(var, "momentum"), lr, grad, mu,
                                   use_nesterov=self._use_nesterov)

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Tensor:
        lr, mu = self._args(var)
        return _ops.sparse_apply_momentum(var, self.get_slot(var, "momentum"), lr, grad.values, grad.indices, mu,
                                          use_nesterov=self._use_nesterov)


class AdagradOptimizer(Optimizer):
    """accum += grad^2; var -= learning_rate * grad / sqrt(accum).

    Slot: "accumulator" ("<var>/Adagrad"), initialized to `initial_accumulator_value`.
    """

    def __init__(self, learning_rate: Any, initial_accumulator_value: float = 0.1, use_locking: bool = False,
                 name: str = "Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list: List[Variable]) -> None:
        for v in var_list:
            self._filled_slot(v, self._initial_accumulator_value, "accumulator", self._name)

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return _ops.apply_adagrad(var, self.get_slot(var, "accumulator"),
                                  self._hyper("learning_rate", self._learning_rate, var.dtype), grad)

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Tensor:
        return _ops.sparse_apply_adagrad(var, self.get_slot(var, "accumulator"),
                                         self._hyper("learning_rate", self._learning_rate, var.dtype),
                                         grad.values, grad.indices)


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba) with TF1's update:

        lr_t = learning_rate * sqrt(1 - beta2^t) / (1 - beta1^t)
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
        var -= lr_t * m / (sqrt(v) + epsilon)

    Slots "m" ("<var>/Adam") and "v" ("<var>/Adam_1"); non-slot variables "beta1_power"
    and "beta2_power", multiplied by beta1 / beta2 after each step. They take the dtype of
    the first variable (by name), where TF1 always uses float32. Sparse gradients follow
    TF1's `_apply_sparse`: m and v decay on every row, so every row of var moves.
    """

    def __init__(self, learning_rate: Any = 0.001, beta1: Any = 0.9, beta2: Any = 0.999, epsilon: Any = 1e-08,
                 use_locking: bool = False, name: str = "Adam"):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon

    def _get_beta_accumulators(self) -> tuple:
        from ..framework import graph as _g
        g = _g.get_default_graph()
        return self._get_non_slot_variable("beta1_power", graph=g), self._get_non_slot_variable("beta2_power", graph=g)

    def _create_slots(self, var_list: List[Variable]) -> None:
        first_var = min(var_list, key=lambda x: x.name)
        b1 = self._beta1() if callable(self._beta1) else self._beta1
        b2 = self._beta2() if callable(self._beta2) else self._beta2
        if isinstance(b1, Tensor) or isinstance(b2, Tensor):
            raise TypeError("AdamOptimizer: beta1 and beta2 must be Python numbers in nestor (they initialize "
                            "the beta1_power/beta2_power variables)")
        self._create_non_slot_variable(b1, "beta1_power", first_var)
        self._create_non_slot_variable(b2, "beta2_power", first_var)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _args(self, var: Variable) -> list:
        from ..ops import core_ops
        b1p, b2p = self._get_beta_accumulators()
        dt = var.dtype
        return [core_ops.cast(b1p.value(), dt), core_ops.cast(b2p.value(), dt),
                self._hyper("learning_rate", self._lr, dt), self._hyper("beta1", self._beta1, dt),
                self._hyper("beta2", self._beta2, dt), self._hyper("epsilon", self._epsilon, dt)]

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return _ops.apply_adam(var, self.get_slot(var, "m"), self.get_slot(var, "v"), *self._args(var), grad)

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Tensor:
        return _ops.sparse_apply_adam(var, self.get_slot(var, "m"), self.get_slot(var, "v"), *self._args(var),
                                      grad.values, grad.indices)

    def _finish(self, update_ops: List[Any], name_scope: str) -> Operation:
        from ..framework import graph as _g
        from ..ops import core_ops, state_ops
        b1p, b2p = self._get_beta_accumulators()
        with _g.control_dependencies(update_ops):
            u1 = state_ops.assign(b1p, b1p.value() * self._hyper("beta1", self._beta1, b1p.dtype))
            u2 = state_ops.assign(b2p, b2p.value() * self._hyper("beta2", self._beta2, b2p.dtype))
        return core_ops.group(*update_ops, u1, u2, name=name_scope)


class FtrlOptimizer(Optimizer):
    """FTRL-Proximal (McMahan et al.), TF1's `FtrlOptimizer`.

    Slots "accum" ("<var>/Ftrl", initialized to `initial_accumulator_value`) and "linear"
    ("<var>/Ftrl_1", zeros); `accum_name` / `linear_name` replace the suffixes.
    """

    def __init__(self, learning_rate: Any, learning_rate_power: float = -0.5, initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0, l2_regularization_strength: float = 0.0,
                 use_locking: bool = False, name: str = "Ftrl", accum_name: Optional[str] = None,
                 linear_name: Optional[str] = None, l2_shrinkage_regularization_strength: float = 0.0):
        super().__init__(use_locking, name)
        checks = [(initial_accumulator_value, "initial_accumulator_value"),
                  (l1_regularization_strength, "l1_regularization_strength"),
                  (l2_regularization_strength, "l2_regularization_strength"),
                  (l2_shrinkage_regularization_strength, "l2_shrinkage_regularization_strength")]
        for value, what in checks:
            if value < 0.0:
                raise ValueError(f"{what} {value:f} needs to be positive or zero")
        if learning_rate_power > 0.0:
            raise ValueError(f"learning_rate_power {learning_rate_power:f} needs to be negative or zero")
        self._learning_rate = learning_rate
        self._learning_rate_power = learning_rate_power
        self._initial_accumulator_value = initial_accumulator_value
        self._l1 = l1_regularization_strength
        self._l2 = l2_regularization_strength
        self._l2_shrinkage = l2_shrinkage_regularization_strength
        self._accum_name = accum_name
        self._linear_name = linear_name

    def _create_slots(self, var_list: List[Variable]) -> None:
        for v in var_list:
            self._filled_slot(v, self._initial_accumulator_value, "accum", self._accum_name or self._name)
            self._zeros_slot(v, "linear", self._linear_name or self._name)

    def _args(self, var: Variable) -> list:
        dt = var.dtype
        return [self._hyper("learning_rate", self._learning_rate, dt),
                self._hyper("l1_regularization_strength", self._l1, dt),
                self._hyper("l2_regularization_strength", self._l2, dt),
                self._hyper("l2_shrinkage_regularization_strength", self._l2_shrinkage, dt),
                self._hyper("learning_rate_power", self._learning_rate_power, dt)]

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        return _ops.apply_ftrl(var, self.get_slot(var, "accum"), self.get_slot(var, "linear"), grad,
                               *self._args(var))

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Tensor:
        return _ops.sparse_apply_ftrl(var, self.get_slot(var, "accum"), self.get_slot(var, "linear"),
                                      grad.values, grad.indices, *self._args(var))


class RMSPropOptimizer(Optimizer):
    """RMSProp, TF1's `RMSPropOptimizer`:

        ms = decay * ms + (1 - decay) * g^2   (centered: mg = decay * mg + (1 - decay) * g)
        mom = momentum * mom + learning_rate * g / sqrt(ms [- mg^2] + epsilon);  var -= mom

    Slots "rms" ("<var>/RMSProp", initialized to ones), "mg" when centered, and "momentum"
    (zeros), suffixed "_1", "_2" in that order.
    """

    def __init__(self, learning_rate: Any, decay: Any = 0.9, momentum: Any = 0.0, epsilon: Any = 1e-10,
                 use_locking: bool = False, centered: bool = False, name: str = "RMSProp"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon
        self._centered = centered

    def _create_slots(self, var_list: List[Variable]) -> None:
        for v in var_list:
            self._filled_slot(v, 1.0, "rms", self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _args(self, var: Variable) -> list:
        dt = var.dtype
        return [self._hyper("learning_rate", self._learning_rate, dt), self._hyper("decay", self._decay, dt),
                self._hyper("momentum", self._momentum, dt), self._hyper("epsilon", self._epsilon, dt)]

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        if self._centered:
            return _ops.apply_centered_rms_prop(var, self.get_slot(var, "mg"), rms, mom, *self._args(var), grad)
        return _ops.apply_rms_prop(var, rms, mom, *self._args(var), grad)

    def _apply_sparse(self, grad: IndexedSlices, var: Variable) -> Tensor:
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        if self._centered:
            return _ops.sparse_apply_centered_rms_prop(var, self.get_slot(var, "mg"), rms, mom, *self._args(var),
                                                       grad.values, grad.indices)
        return _ops.sparse_apply_rms_prop(var, rms, mom, *self._args(var), grad.values, grad.indices)
