"""Learning-rate schedules (tf.train.*_decay, piecewise_constant) against their formulas in
NumPy float64, over steps before, at and after the decay boundaries, as a model_fn uses them:
ops of the global step, re-evaluated as the step moves."""
import math

import numpy as np
import pytest

import nestor as tf

STEPS = [0, 1, 7, 10, 11, 25, 100, 101, 250]


def schedule(build, dtype=tf.float32):
    """Values of build(global_step) at every step of STEPS, the step moved by assignment."""
    with tf.Graph().as_default():
        gs = tf.train.get_or_create_global_step()
        lr = build(gs)
        assert lr.dtype == dtype
        step = tf.placeholder(tf.int64, [])
        move = tf.assign(gs, step)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            out = []
            for k in STEPS:
                s.run(move, {step: k})
                out.append(s.run(lr))
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_natural_and_inverse_time_decay(staircase):
    p = np.array(STEPS, np.float64) / 10.0
    if staircase:
        p = np.floor(p)
    got = schedule(lambda gs: tf.train.exponential_decay(0.1, gs, 10, 0.96, staircase=staircase))
    np.testing.assert_allclose(got, 0.1 * 0.96 ** p, rtol=1e-6)
    got = schedule(lambda gs: tf.train.natural_exp_decay(0.1, gs, 10, 0.5, staircase=staircase))
    np.testing.assert_allclose(got, 0.1 * np.exp(-0.5 * p), rtol=1e-6)
    got = schedule(lambda gs: tf.train.inverse_time_decay(0.1, gs, 10, 0.5, staircase=staircase))
    np.testing.assert_allclose(got, 0.1 / (1 + 0.5 * p), rtol=1e-6)


def test_float64_rate_keeps_its_dtype():
    got = schedule(lambda gs: tf.train.exponential_decay(tf.constant(0.1, tf.float64), gs, 3, 0.5), tf.float64)
    np.testing.assert_allclose(got, 0.1 * 0.5 ** (np.array(STEPS) / 3.0), rtol=1e-13)


@pytest.mark.parametrize("cycle", [False, True])
@pytest.mark.parametrize("power", [1.0, 0.5, 2.0])
def test_polynomial_decay(cycle, power):
    got = schedule(lambda gs: tf.train.polynomial_decay(0.1, gs, 100, 0.01, power=power, cycle=cycle))
    want = []
    for k in STEPS:
        steps = 100.0
        if cycle:
            steps *= 1.0 if k == 0 else math.ceil(k / 100.0)
            step = float(k)
        else:
            step = min(float(k), steps)
        want.append((0.1 - 0.01) * (1 - step / steps) ** power + 0.01)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    assert got[STEPS.index(100)] == pytest.approx(0.01, abs=1e-9)  # the end rate, reached at decay_steps


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_cosine_decay(alpha):
    got = schedule(lambda gs: tf.train.cosine_decay(0.2, gs, 100, alpha=alpha))
    step = np.minimum(np.array(STEPS, np.float64), 100.0)
    want = 0.2 * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * step / 100.0)) + alpha)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_piecewise_constant_boundaries_are_inclusive_below():
    got = schedule(lambda gs: tf.train.piecewise_constant(gs, [10, 100], [1.0, 0.5, 0.1]))
    want = [1.0 if k <= 10 else 0.5 if k <= 100 else 0.1 for k in STEPS]
    np.testing.assert_array_equal(got, np.array(want, np.float32))
    # int32 boundaries against the int64 step are cast; a float x takes int boundaries too
    got = schedule(lambda gs: tf.train.piecewise_constant(gs, [tf.constant(10, tf.int32)], [2.0, 3.0]))
    np.testing.assert_array_equal(got, [2.0 if k <= 10 else 3.0 for k in STEPS])
    got = schedule(lambda gs: tf.train.piecewise_constant(tf.cast(gs, tf.float32) / 2.0, [5, 50], [3.0, 2.0, 1.0]))
    np.testing.assert_array_equal(got, [3.0 if k / 2 <= 5 else 2.0 if k / 2 <= 50 else 1.0 for k in STEPS])


def test_errors_name_the_problem():
    with tf.Graph().as_default():
        gs = tf.train.get_or_create_global_step()
        with pytest.raises(ValueError, match="global_step is required for exponential_decay"):
            tf.train.exponential_decay(0.1, None, 10, 0.9)
        with pytest.raises(ValueError, match="floating-point"):
            tf.train.cosine_decay(1, gs, 10)
        with pytest.raises(ValueError, match="1 less than the length of values"):
            tf.train.piecewise_constant(gs, [10, 20], [1.0, 0.5])
        with pytest.raises(ValueError, match=r"values\[1\] is float64"):
            tf.train.piecewise_constant(gs, [10], [tf.constant(1.0), tf.constant(0.5, tf.float64)])
        with pytest.raises(ValueError, match=r"boundaries\[0\] is float32.*int64"):
            tf.train.piecewise_constant(gs, [10.5], [1.0, 0.5])
        assert tf.train.exponential_decay(0.1, gs, 10, 0.9, name="lr").name == "lr:0"
        assert tf.train.piecewise_constant(gs, [1], [1.0, 2.0]).name == "PiecewiseConstant:0"


def test_decayed_rate_drives_an_estimator():
    """A custom model_fn's GradientDescent step uses the scheduled rate: with loss = w (so dL/dw = 1)
    each step subtracts that step's rate, and w after 30 steps is -sum of the rates of steps 0..29."""
    def model_fn(features, labels, mode):
        w = tf.get_variable("w", [], initializer=tf.zeros_initializer())
        loss = w + 0.0 * tf.reduce_sum(features["x"])
        gs = tf.train.get_global_step()
        lr = tf.train.piecewise_constant(gs, [9, 19], [0.1, 0.01, 0.001])
        train = tf.train.GradientDescentOptimizer(tf.train.exponential_decay(lr, gs, 5, 0.5, staircase=True))
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train.minimize(loss, gs))

    import tempfile
    with tempfile.TemporaryDirectory() as d:
        est = tf.estimator.Estimator(model_fn, d)
        x = np.zeros((4, 1), np.float32)
        est.train(lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, x)).repeat().batch(2), steps=30)
        want = -sum((0.1 if k <= 9 else 0.01 if k <= 19 else 0.001) * 0.5 ** (k // 5) for k in range(30))
        assert est.get_variable_value("w") == pytest.approx(want, rel=1e-5)
