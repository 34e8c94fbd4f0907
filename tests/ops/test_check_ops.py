"""tf.Assert and tf.debugging.assert_*: pass silently when the condition holds, fail with the
message and the values otherwise."""
import numpy as np
import pytest

import nestor as tf


def _run(op, feed):
    with tf.Session() as s:
        return s.run(op, feed)


def test_assert_passes_and_fails_with_data():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None])
        check = tf.Assert(tf.reduce_all(x > 0), ["x must be positive:", x], summarize=2)
        with tf.control_dependencies([check]):
            y = tf.identity(x)
        np.testing.assert_array_equal(_run(y, {x: [1.0, 2.0]}), [1.0, 2.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"x must be positive: \[1 -2\.\.\.\]"):
            _run(y, {x: [1.0, -2.0, 3.0]})


@pytest.mark.parametrize("fn,ok,bad", [
    (tf.debugging.assert_equal, ([1, 2], [1, 2]), ([1, 2], [1, 3])),
    (tf.debugging.assert_less, ([1, 2], [2, 3]), ([1, 2], [2, 2])),
    (tf.debugging.assert_less_equal, ([1, 2], [1, 2]), ([1, 3], [1, 2])),
    (tf.debugging.assert_greater, ([2, 3], [1, 2]), ([2, 2], [1, 2])),
    (tf.debugging.assert_greater_equal, ([1, 2], [1, 2]), ([0, 2], [1, 2])),
    (tf.debugging.assert_none_equal, ([1, 2], [3, 4]), ([1, 2], [1, 4])),
])
def test_binary_asserts(fn, ok, bad):
    with tf.Graph().as_default():
        a = tf.placeholder(tf.int32, [2])
        b = tf.placeholder(tf.int32, [2])
        op = fn(a, b, message="checked")
        _run(op, {a: ok[0], b: ok[1]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="checked"):
            _run(op, {a: bad[0], b: bad[1]})


def test_sign_and_rank_asserts():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [3])
        _run(tf.debugging.assert_non_negative(x), {x: [0.0, 1.0, 2.0]})
        with pytest.raises(tf.errors.InvalidArgumentError):
            _run(tf.debugging.assert_positive(x), {x: [0.0, 1.0, 2.0]})
        with pytest.raises(ValueError, match="must have rank 2"):
            tf.debugging.assert_rank(x, 2)
        u = tf.placeholder(tf.float32, None)
        op = tf.debugging.assert_rank(u, 1)
        _run(op, {u: [1.0]})
        with pytest.raises(tf.errors.InvalidArgumentError):
            _run(op, {u: [[1.0]]})
