"""Learning-rate schedules of TF1 (`tf.compat.v1.train.exponential_decay` and the rest): graph
ops of the global step, recomputed every step, so that a `model_fn` passes the result to its
optimizer as TF's do."""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from ..framework.graph import Tensor, convert_to_tensor

__all__ = ["exponential_decay", "natural_exp_decay", "inverse_time_decay", "polynomial_decay", "cosine_decay",
           "piecewise_constant"]


def _step_and_rate(fn: str, learning_rate: Any, global_step: Any) -> tuple:
    from ..ops import core_ops
    if global_step is None:
        raise ValueError(f"global_step is required for {fn}.")
    lr = convert_to_tensor(learning_rate, name="learning_rate")
    if not lr.dtype.is_floating:
        raise ValueError(f"{fn}: learning_rate must be a floating-point value, got {lr.dtype.name}")
    return lr, core_ops.cast(global_step, lr.dtype)


def _decay_progress(fn: str, learning_rate: Any, global_step: Any, decay_steps: Any, staircase: bool) -> tuple:
    """(learning rate, global_step / decay_steps, floored when `staircase`) in the rate's dtype."""
    from ..ops import core_ops, math_ops
    lr, step = _step_and_rate(fn, learning_rate, global_step)
    p = math_ops.divide(step, core_ops.cast(decay_steps, lr.dtype))
    return lr, math_ops.floor(p) if staircase else p


def exponential_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: Optional[str] = None) -> Tensor:
    """`learning_rate * decay_rate ^ (global_step / decay_steps)` (`tf.train.exponential_decay`).

    Args:
      learning_rate: the initial learning rate, a float scalar `Tensor` or Python number.
      global_step: the global step (`tf.train.get_global_step()`); must not be None.
      decay_steps: the number of steps per decay period (positive).
      decay_rate: the factor per decay period.
      staircase: if True, the exponent is floored, so the rate changes every `decay_steps` steps.
      name: a name for the operation (default "ExponentialDecay").

    Returns:
      A scalar `Tensor` of `learning_rate`'s dtype.

    Raises:
      ValueError: if `global_step` is None or `learning_rate` is not floating-point.
    """
    from ..ops import core_ops, math_ops
    lr, p = _decay_progress("exponential_decay", learning_rate, global_step, decay_steps, staircase)
    factor = math_ops.pow(core_ops.cast(decay_rate, lr.dtype), p)
    return math_ops.multiply(lr, factor, name=name or "ExponentialDecay")


def natural_exp_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: Optional[str] = None) -> Tensor:
    """`learning_rate * exp(-decay_rate * global_step / decay_steps)` (`tf.train.natural_exp_decay`).

    Args and raises as `exponential_decay` (default name "NaturalExpDecay").
    """
    from ..ops import core_ops, math_ops
    lr, p = _decay_progress("natural_exp_decay", learning_rate, global_step, decay_steps, staircase)
    k = math_ops.exp(math_ops.multiply(math_ops.negative(core_ops.cast(decay_rate, lr.dtype)), p))
    return math_ops.multiply(lr, k, name=name or "NaturalExpDecay")


def inverse_time_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                       staircase: bool = False, name: Optional[str] = None) -> Tensor:
    """`learning_rate / (1 + decay_rate * global_step / decay_steps)` (`tf.train.inverse_time_decay`).

    Args and raises as `exponential_decay` (default name "InverseTimeDecay").
    """
    from ..ops import core_ops, math_ops
    lr, p = _decay_progress("inverse_time_decay", learning_rate, global_step, decay_steps, staircase)
    denom = math_ops.add(math_ops.multiply(core_ops.cast(decay_rate, lr.dtype), p), 1.0)
    return math_ops.divide(lr, denom, name=name or "InverseTimeDecay")


def polynomial_decay(learning_rate: Any, global_step: Any, decay_steps: Any, end_learning_rate: Any = 0.0001,
                     power: Any = 1.0, cycle: bool = False, name: Optional[str] = None) -> Tensor:
    """Decays from `learning_rate` to `end_learning_rate` over `decay_steps` (`tf.train.polynomial_decay`).

    `(learning_rate - end_learning_rate) * (1 - step / decay_steps) ^ power + end_learning_rate`,
    where `step = min(global_step, decay_steps)`; with `cycle`, instead, `decay_steps` is
    multiplied by `ceil(global_step / decay_steps)` (1 at step 0) and the decay starts again.

    Args:
      learning_rate: the initial learning rate, a float scalar `Tensor` or Python number.
      global_step: the global step; must not be None.
      decay_steps: the number of steps of one decay (positive).
      end_learning_rate: the rate reached after `decay_steps` steps.
      power: the polynomial's power.
      cycle: whether to start again after `decay_steps` steps.
      name: a name for the operation (default "PolynomialDecay").

    Returns:
      A scalar `Tensor` of `learning_rate`'s dtype.

    Raises:
      ValueError: if `global_step` is None or `learning_rate` is not floating-point.
    """
    from ..ops import core_ops, math_ops
    lr, step = _step_and_rate("polynomial_decay", learning_rate, global_step)
    end = core_ops.cast(end_learning_rate, lr.dtype)
    steps = core_ops.cast(decay_steps, lr.dtype)
    if cycle:
        periods = math_ops.ceil(math_ops.divide(step, steps))
        steps = math_ops.multiply(steps, math_ops.where_v2(math_ops.equal(step, 0.0), 1.0, periods))
    else:
        step = math_ops.minimum(step, steps)
    frac = math_ops.pow(math_ops.subtract(1.0, math_ops.divide(step, steps)), core_ops.cast(power, lr.dtype))
    return math_ops.add(math_ops.multiply(math_ops.subtract(lr, end), frac), end, name=name or "PolynomialDecay")


def cosine_decay(learning_rate: Any, global_step: Any, decay_steps: Any, alpha: Any = 0.0,
                 name: Optional[str] = None) -> Tensor:
    """Cosine decay from `learning_rate` to `alpha * learning_rate` (`tf.train.cosine_decay`).

    `learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)`, where
    `step = min(global_step, decay_steps)` (SGDR, Loshchilov & Hutter, without restarts).

    Args:
      learning_rate: the initial learning rate, a float scalar `Tensor` or Python number.
      global_step: the global step; must not be None.
      decay_steps: the number of steps to decay over (positive).
      alpha: the final rate as a fraction of `learning_rate`.
      name: a name for the operation (default "CosineDecay").

    Returns:
      A scalar `Tensor` of `learning_rate`'s dtype.

    Raises:
      ValueError: if `global_step` is None or `learning_rate` is not floating-point.
    """
    from ..ops import core_ops, math_ops
    lr, step = _step_and_rate("cosine_decay", learning_rate, global_step)
    steps = core_ops.cast(decay_steps, lr.dtype)
    frac = math_ops.divide(math_ops.minimum(step, steps), steps)
    cosine = math_ops.multiply(0.5, math_ops.add(1.0, math_ops.cos(math_ops.multiply(math.pi, frac))))
    a = core_ops.cast(alpha, lr.dtype)
    decayed = math_ops.add(math_ops.multiply(math_ops.subtract(1.0, a), cosine), a)
    return math_ops.multiply(lr, decayed, name=name or "CosineDecay")


def piecewise_constant(x: Any, boundaries: Sequence[Any], values: Sequence[Any],
                       name: Optional[str] = None) -> Tensor:
    """A piecewise constant of `x` (`tf.train.piecewise_constant`).

    `values[0]` while `x <= boundaries[0]`, `values[i]` while `boundaries[i - 1] < x <= boundaries[i]`,
    and `values[-1]` once `x > boundaries[-1]`.

    Args:
      x: a scalar `Tensor` (the global step, typically).
      boundaries: increasing values of `x`'s kind (integers for an integer `x`).
      values: one more value than `boundaries`, all of one dtype.
      name: a name for the operation (default "PiecewiseConstant").

    Returns:
      A scalar `Tensor` of the dtype of `values`.

    Raises:
      ValueError: if the lengths do not match, `values` differ in dtype, or a boundary cannot be
        compared with `x` (a float boundary for an integer `x`).
    """
    from ..ops import core_ops, math_ops
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"The length of boundaries should be 1 less than the length of values: "
                         f"{len(boundaries)} boundaries, {len(values)} values")
    x = convert_to_tensor(x)
    vs = [convert_to_tensor(v) for v in values]
    for i, v in enumerate(vs[1:], 1):
        if v.dtype != vs[0].dtype:
            raise ValueError(f"piecewise_constant: values must have the same dtype: values[0] is "
                             f"{vs[0].dtype.name}, values[{i}] is {v.dtype.name}")
    bs = []
    for i, b in enumerate(boundaries):
        t = convert_to_tensor(b, dtype_hint=x.dtype)
        if t.dtype != x.dtype:
            if not (x.dtype.is_floating or (x.dtype.is_integer and t.dtype.is_integer)):
                raise ValueError(f"piecewise_constant: boundaries[{i}] is {t.dtype.name}, which cannot be "
                                 f"compared with x of {x.dtype.name}")
            t = core_ops.cast(t, x.dtype)
        bs.append(t)
    result = vs[-1]
    for b, v in zip(reversed(bs), reversed(vs[:-1])):  # the first boundary x is at or below wins
        result = math_ops.where_v2(math_ops.less_equal(x, b), v, result)
    return core_ops.identity(result, name=name or "PiecewiseConstant")
