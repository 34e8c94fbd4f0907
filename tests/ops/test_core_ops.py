"""Core ops built by the autodiff itself: arithmetic with broadcasting, matmul, reshape, cast."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("op,ref", [
    (tf.add, np.add), (tf.subtract, np.subtract), (tf.multiply, np.multiply), (tf.divide, np.divide),
])
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3))])
def test_binary_broadcasting(device, op, ref, sa, sb):
    a = rand(*sa, seed=1)
    b = rand(*sb, seed=2, low=0.5, high=2.0)
    check_op(op, [a, b], ref, device=device)


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("m,k,n", [(4, 3, 5), (1, 30, 10), (40, 30, 20)])  # the CPU kernel's direct loop; BLAS
def test_matmul(device, ta, tb, m, k, n):
    a = rand(m, k, seed=1)
    b = rand(k, n, seed=2)
    a_in = a.T.copy() if ta else a
    b_in = b.T.copy() if tb else b
    check_op(lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb), [a_in, b_in], lambda x, y: a @ b,
             device=device, grad=m * k * n < 1000)


@pytest.mark.parametrize("device", available_devices())
def test_matmul_batched_and_folded(device):
    a = rand(2, 3, 4, seed=1)
    b = rand(2, 4, 5, seed=2)
    check_op(tf.matmul, [a, b], np.matmul, device=device)
    w = rand(4, 5, seed=3)
    check_op(tf.matmul, [a, w], np.matmul, device=device)


def test_matmul_float32_matches_numpy():
    a = np.random.default_rng(0).standard_normal((64, 33)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((33, 17)).astype(np.float32)
    check_op(tf.matmul, [a, b], lambda x, y: x.astype(np.float64) @ y.astype(np.float64), grad=False,
             rtol=1e-5, atol=1e-5)


def test_reshape_and_cast():
    x = rand(2, 6, seed=3)
    check_op(lambda t: tf.reshape(t, [3, -1]), [x], lambda t: t.reshape(3, -1))
    check_op(lambda t: tf.cast(tf.cast(t, tf.float32), tf.float64), [x],
             lambda t: t.astype(np.float32).astype(np.float64), rtol=1e-7, eps=1e-2, grad_rtol=1e-4)
    check_op(lambda t: tf.cast(t, tf.int32), [x], lambda t: t.astype(np.int32), grad=False)


def test_build_time_shape_error_names_op_and_shapes():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [None, 3], name="a")
        b = tf.placeholder(tf.float32, [4, 2], name="b")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"MatMul.*\(\?, 3\).*\(4, 2\)"):
            tf.matmul(a, b)
        c = tf.placeholder(tf.float32, [5], name="c")
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"\(\?, 3\).*\(5,\)"):
            tf.add(a, c)
        d = tf.placeholder(tf.float64, [3], name="d")
        with pytest.raises(tf.errors.InvalidArgumentError, match="float32 and float64"):
            tf.add(a, d)
