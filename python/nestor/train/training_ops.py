"""Fused optimizer update ops (TensorFlow's `training_ops`).

Each op updates its variable arguments in place and returns the updated `var`. Scalar
hyperparameters are converted to the variable's dtype. The `sparse_*` ops take gradient
rows `grad` [n, ...] and `indices` [n], sum the rows of duplicate indices and update
only those rows (except `sparse_apply_adam`, which follows TF1's AdamOptimizer and decays
m and v of every row).
"""
from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, create_op

__all__ = ["apply_gradient_descent", "apply_momentum", "apply_adagrad", "apply_adam", "apply_ftrl",
           "apply_rms_prop", "apply_centered_rms_prop", "sparse_apply_gradient_descent", "sparse_apply_momentum",
           "sparse_apply_adagrad", "sparse_apply_adam", "sparse_apply_ftrl", "sparse_apply_rms_prop",
           "sparse_apply_centered_rms_prop"]


def _var(v: Any) -> Tensor:
    t = v._as_graph_element() if hasattr(v, "_as_graph_element") else v
    if not isinstance(t, Tensor) or t.op.type != "variable":
        raise TypeError(f"{v!r} is not a Variable: training ops update variables in place")
    return t


def const(value: Any, dtype: Any, name: str = "Const") -> Tensor:
    """A constant of `dtype` keeping `value`'s shape (0-d stays a scalar).

    (`nestor.constant` currently turns 0-d values into shape (1,) through
    np.ascontiguousarray; the update ops need true scalars.)
    """
    dt = _dtypes.as_dtype(dtype)
    arr = np.require(np.asarray(value, dtype=dt.as_numpy_dtype), requirements="C")
    return create_op("const", [], {"value": arr, "dtype": dt}, name=name)


def _idx(indices: Any) -> Tensor:
    return convert_to_tensor(indices)


def _op(op_type: str, nvars: int, args: List[Any], name: Optional[str], default: str,
        attrs: Optional[dict] = None) -> Tensor:
    vs = [_var(a) for a in args[:nvars]]
    dt = vs[0].dtype
    rest = [a if isinstance(a, Tensor) else
            const(a, dt) if isinstance(a, (int, float, np.number)) else convert_to_tensor(a, dtype_hint=dt)
            for a in args[nvars:]]
    return create_op(op_type, vs + rest, attrs, name=name or default)


def apply_gradient_descent(var: Any, alpha: Any, delta: Any, use_locking: bool = False,
                           name: Optional[str] = None) -> Tensor:
    """var -= alpha * delta."""
    return _op("apply_gradient_descent", 1, [var, alpha, delta], name, "ApplyGradientDescent")


def sparse_apply_gradient_descent(var: Any, alpha: Any, grad: Any, indices: Any, use_locking: bool = False,
                                  name: Optional[str] = None) -> Tensor:
    """var[indices] -= alpha * grad (duplicate indices summed)."""
    return _op("sparse_apply_gradient_descent", 1, [var, alpha, grad, _idx(indices)], name,
               "SparseApplyGradientDescent")


def apply_momentum(var: Any, accum: Any, lr: Any, grad: Any, momentum: Any, use_locking: bool = False,
                   name: Optional[str] = None, use_nesterov: bool = False) -> Tensor:
    """accum = accum * momentum + grad; var -= lr * accum (Nesterov: lr * (grad + momentum * accum))."""
    return _op("apply_momentum", 2, [var, accum, lr, grad, momentum], name, "ApplyMomentum",
               {"use_nesterov": bool(use_nesterov)})


def sparse_apply_momentum(var: Any, accum: Any, lr: Any, grad: Any, indices: Any, momentum: Any,
                          use_locking: bool = False, name: Optional[str] = None,
                          use_nesterov: bool = False) -> Tensor:
    return _op("sparse_apply_momentum", 2, [var, accum, lr, grad, _idx(indices), momentum], name,
               "SparseApplyMomentum", {"use_nesterov": bool(use_nesterov)})


def apply_adagrad(var: Any, accum: Any, lr: Any, grad: Any, use_locking: bool = False,
                  name: Optional[str] = None) -> Tensor:
    """accum += grad^2; var -= lr * grad / sqrt(accum)."""
    return _op("apply_adagrad", 2, [var, accum, lr, grad], name, "ApplyAdagrad")


def sparse_apply_adagrad(var: Any, accum: Any, lr: Any, grad: Any, indices: Any, use_locking: bool = False,
                         name: Optional[str] = None) -> Tensor:
    return _op("sparse_apply_adagrad", 2, [var, accum, lr, grad, _idx(indices)], name, "SparseApplyAdagrad")


def apply_adam(var: Any, m: Any, v: Any, beta1_power: Any, beta2_power: Any, lr: Any, beta1: Any, beta2: Any,
               epsilon: Any, grad: Any, use_locking: bool = False, use_nesterov: bool = False,
               name: Optional[str] = None) -> Tensor:
    """lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power); m, v moving averages;
    var -= lr_t * m / (sqrt(v) + epsilon)."""
    return _op("apply_adam", 3, [var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad], name,
               "ApplyAdam", {"use_nesterov": bool(use_nesterov)})


def sparse_apply_adam(var: Any, m: Any, v: Any, beta1_power: Any, beta2_power: Any, lr: Any, beta1: Any,
                      beta2: Any, epsilon: Any, grad: Any, indices: Any, use_locking: bool = False,
                      name: Optional[str] = None) -> Tensor:
    """TF1 AdamOptimizer._apply_sparse: m *= beta1, v *= beta2 (all rows); m[i] += (1-beta1) g,
    v[i] += (1-beta2) g^2 (given rows); var -= lr_t * m / (sqrt(v) + epsilon) (all rows)."""
    return _op("sparse_apply_adam", 3, [var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
                                        _idx(indices)], name, "SparseApplyAdam")


def apply_ftrl(var: Any, accum: Any, linear: Any, grad: Any, lr: Any, l1: Any, l2: Any, l2_shrinkage: Any,
               lr_power: Any, use_locking: bool = False, name: Optional[str] = None) -> Tensor:
    """FTRL-proximal (TF's ApplyFtrlV2; ApplyFtrl when l2_shrinkage is 0)."""
    return _op("apply_ftrl", 3, [var, accum, linear, grad, lr, l1, l2, l2_shrinkage, lr_power], name, "ApplyFtrl")


def sparse_apply_ftrl(var: Any, accum: Any, linear: Any, grad: Any, indices: Any, lr: Any, l1: Any, l2: Any,
                      l2_shrinkage: Any, lr_power: Any, use_locking: bool = False,
                      name: Optional[str] = None) -> Tensor:
    return _op("sparse_apply_ftrl", 3,
               [var, accum, linear, grad, _idx(indices), lr, l1, l2, l2_shrinkage, lr_power], name, "SparseApplyFtrl")


def apply_rms_prop(var: Any, ms: Any, mom: Any, lr: Any, rho: Any, momentum: Any, epsilon: Any, grad: Any,
                   use_locking: bool = False, name: Optional[str] = None) -> Tensor:
    """ms += (grad^2 - ms)(1 - rho); mom = momentum * mom + lr * grad / sqrt(ms + epsilon); var -= mom."""
    return _op("apply_rms_prop", 3, [var, ms, mom, lr, rho, momentum, epsilon, grad], name, "ApplyRMSProp")


def sparse_apply_rms_prop(var: Any, ms: Any, mom: Any, lr: Any, rho: Any, momentum: Any, epsilon: Any,
                          grad: Any, indices: Any, use_locking: bool = False, name: Optional[str] = None) -> Tensor:
    return _op("sparse_apply_rms_prop", 3, [var, ms, mom, lr, rho, momentum, epsilon, grad, _idx(indices)], name,
               "SparseApplyRMSProp")


def apply_centered_rms_prop(var: Any, mg: Any, ms: Any, mom: Any, lr: Any, rho: Any, momentum: Any,
                            epsilon: Any, grad: Any, use_locking: bool = False,
                            name: Optional[str] = None) -> Tensor:
    """RMSProp normalized by the centered second moment ms - mg^2."""
    return _op("apply_centered_rms_prop", 4, [var, mg, ms, mom, lr, rho, momentum, epsilon, grad], name,
               "ApplyCenteredRMSProp")


def sparse_apply_centered_rms_prop(var: Any, mg: Any, ms: Any, mom: Any, lr: Any, rho: Any, momentum: Any,
                                   epsilon: Any, grad: Any, indices: Any, use_locking: bool = False,
                                   name: Optional[str] = None) -> Tensor:
    return _op("sparse_apply_centered_rms_prop", 4,
               [var, mg, ms, mom, lr, rho, momentum, epsilon, grad, _idx(indices)], name, "SparseApplyCenteredRMSProp")
