"""The TF1 graph API: graphs, scopes, variables, sessions, fetch structures, errors."""
import collections
import threading

import numpy as np
import pytest

import nestor as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def test_default_graph_and_as_default():
    g = tf.Graph()
    assert tf.get_default_graph() is not g
    with g.as_default():
        c = tf.constant(1.0)
        assert c.graph is g and tf.get_default_graph() is g


def test_python_values_follow_tf_dtypes():
    assert tf.constant(1.0).dtype == tf.float32
    assert tf.constant(3).dtype == tf.int32
    assert tf.constant(np.float64(1.5)).dtype == tf.float64
    assert tf.constant(np.arange(3, dtype=np.int64)).dtype == tf.int64
    assert tf.constant(True).dtype == tf.bool
    assert tf.constant(["a", "b"]).dtype == tf.string
    x = tf.placeholder(tf.float64, [2])
    assert (x + 1).dtype == tf.float64  # the Python operand takes the tensor's dtype


def test_name_scopes_and_unique_names():
    with tf.name_scope("layer"):
        a = tf.constant(1.0, name="c")
        b = tf.constant(2.0, name="c")
    with tf.name_scope("layer"):
        d = tf.constant(3.0, name="c")
    assert a.name == "layer/c:0"
    assert b.name == "layer/c_1:0"
    assert d.name == "layer_1/c:0"
    assert tf.get_default_graph().get_tensor_by_name("layer/c_1:0") == b


def test_variable_scope_reuse_rules():
    with tf.variable_scope("dense"):
        w = tf.get_variable("w", [3, 2], initializer=tf.constant_initializer(0.5)
                            if hasattr(tf, "constant_initializer") else np.full((3, 2), 0.5, np.float32))
    assert w.name == "dense/w:0"
    with pytest.raises(ValueError, match="already exists"):
        with tf.variable_scope("dense"):
            tf.get_variable("w", [3, 2])
    with tf.variable_scope("dense", reuse=True):
        assert tf.get_variable("w", [3, 2]) is w
        with pytest.raises(ValueError, match="does not exist"):
            tf.get_variable("v", [1])
    with tf.variable_scope("dense", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("w") is w
    assert w in tf.trainable_variables() and w in tf.global_variables()


def test_session_nested_fetches_and_feeds():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    y = x * 2.0
    z = x + 1.0
    Pair = collections.namedtuple("Pair", "a b")
    with tf.Session() as sess:
        out = sess.run({"y": y, "pair": Pair(y, [z, (y,)])}, feed_dict={x: [[1, 2]]})
        np.testing.assert_allclose(out["y"], [[2, 4]])
        assert isinstance(out["pair"], Pair)
        np.testing.assert_allclose(out["pair"].b[0], [[2, 3]])
        np.testing.assert_allclose(out["pair"].b[1][0], [[2, 4]])
        np.testing.assert_allclose(sess.run("x:0", {"x:0": [[5, 6]]}), [[5, 6]])
        np.testing.assert_allclose(y.eval({x: [[1, 1]]}), [[2, 2]])


def test_feeding_a_non_placeholder_tensor_overrides_it():
    a = tf.constant(3.0)
    b = a * 2.0
    with tf.Session() as sess:
        assert sess.run(b) == 6.0
        assert sess.run(b, {a: 10.0}) == 20.0


def test_errors_are_tf_named_and_precise():
    x = tf.placeholder(tf.float32, [None, 3], name="features")
    v = tf.Variable(np.ones((3, 1), np.float32), name="weights")
    y = tf.matmul(x, v)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="placeholder tensor 'features'.*float32.*\\(\\?, 3\\)"):
            sess.run(y)
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value weights"):
            sess.run(y, {x: np.zeros((1, 3))})
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError, match="shape \\(2, 4\\).*'features:0'.*\\(\\?, 3\\)"):
            sess.run(y, {x: np.zeros((2, 4))})
        np.testing.assert_allclose(sess.run(y, {x: np.ones((2, 3))}), [[3], [3]])


def test_variable_assign_and_control_dependencies():
    v = tf.Variable(1.0, name="v")
    inc = tf.assign_add(v, 2.0)
    with tf.control_dependencies([inc]):
        read_after = tf.identity(v)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(read_after) == 3.0
        assert sess.run(read_after) == 5.0
        sess.run(v.assign(10.0))
        assert sess.run(v) == 10.0
        assert sess.run(tf.group(inc, inc)) is None
        assert sess.run(v) == 12.0


def test_fetched_variable_value_is_a_snapshot():
    v = tf.Variable(np.zeros(3, np.float32))
    inc = tf.assign_add(v, np.ones(3, np.float32))
    with tf.Session() as sess:
        sess.run(v.initializer)
        before = sess.run(v)
        sess.run(inc)
        np.testing.assert_array_equal(before, 0)  # not aliased to the live variable
        np.testing.assert_array_equal(sess.run(v), 1)


def test_run_steps_equals_k_separate_runs():
    x = tf.placeholder(tf.float32, [2])
    v = tf.Variable(np.zeros(2, np.float32))
    step = tf.assign_add(v, x * x)
    batches = np.arange(10, dtype=np.float32).reshape(5, 2)
    with tf.Session() as sess:
        sess.run(v.initializer)
        last = sess.run_steps(step, {x: batches}, steps=5)
        np.testing.assert_allclose(last, (batches ** 2).sum(0))
        with pytest.raises(tf.errors.InvalidArgumentError, match="leading dimension 4"):
            sess.run_steps(step, {x: batches}, steps=4)


def test_make_callable_matches_run():
    x = tf.placeholder(tf.float64, [None])
    y = x * x + 1.0
    with tf.Session() as sess:
        f = sess.make_callable(y, [x])
        np.testing.assert_allclose(f(np.arange(4.0)), np.arange(4.0) ** 2 + 1)


def test_graph_serialization_round_trip_runs_identically():
    x = tf.placeholder(tf.float64, [None, 2], name="x")
    w = tf.constant(np.array([[1.0, 2.0], [3.0, 4.0]]), name="w")
    tf.add(tf.matmul(x, w), 0.5, name="y")
    data = tf.get_default_graph().as_graph_def()
    g2 = tf.Graph.from_graph_def(data)
    feed = np.array([[1.0, -1.0]])
    with tf.Session() as s1:
        a = s1.run("y:0", {"x:0": feed})
    with tf.Session(graph=g2) as s2:
        b = s2.run("y:0", {"x:0": feed})
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, feed @ np.array([[1.0, 2.0], [3.0, 4.0]]) + 0.5)
    with pytest.raises(tf.errors.DataLossError):
        tf.Graph.from_graph_def(data[: len(data) // 2])


def test_concurrent_runs_on_one_session_agree():
    x = tf.placeholder(tf.float64, [None, 8])
    w = tf.constant(np.random.default_rng(0).standard_normal((8, 8)))
    y = tf.matmul(tf.matmul(x, w), w)
    feeds = [np.random.default_rng(i).standard_normal((16, 8)) for i in range(8)]
    wn = np.random.default_rng(0).standard_normal((8, 8))
    results = [None] * 8
    with tf.Session() as sess:
        def work(i):
            for _ in range(20):
                results[i] = sess.run(y, {x: feeds[i]})
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for i in range(8):
        np.testing.assert_allclose(results[i], feeds[i] @ wn @ wn, rtol=1e-12)


def test_string_tensors_round_trip():
    s = tf.placeholder(tf.string, [None])
    with tf.Session() as sess:
        out = sess.run(s, {s: np.array(["a", "bé", ""], dtype=object)})
    assert list(out) == [b"a", "bé".encode(), b""]


def test_gradients_of_unconnected_and_integer_paths():
    x = tf.placeholder(tf.float32, [2])
    y = tf.placeholder(tf.float32, [2])
    z = x * 3.0
    gx, gy = tf.gradients(z, [x, y])
    assert gy is None
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(gx, {x: [1, 2]}), [3, 3])


def test_stop_gradients_hold_tensors_constant():
    a = tf.placeholder(tf.float64, [])
    b = a * 2.0
    c = a + b
    ga, = tf.gradients(c, [a], stop_gradients=[b])  # d/da (a + const) = 1, as TF's example
    gb_full, = tf.gradients(c, [a])
    with tf.Session() as sess:
        assert sess.run(ga, {a: 3.0}) == 1.0
        assert sess.run(gb_full, {a: 3.0}) == 3.0


def test_set_shape_refines_the_static_shape():
    """TF's Tensor.set_shape: the most specific compatible shape; later consumers see it."""
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, None])
        p.set_shape([None, 3])
        assert p.shape.as_list() == [None, 3]
        p.set_shape(tf.TensorShape([4, None]))
        assert p.shape.as_list() == [4, 3]
        assert tf.matmul(p, tf.ones([3, 2])).shape.as_list() == [4, 2]
        with pytest.raises(ValueError, match=r"has shape \(4, 3\), incompatible with \(4, 5\)"):
            p.set_shape([4, 5])
        q = tf.placeholder(tf.int32)
        q.set_shape([2])
        assert q.shape.as_list() == [2]
        with tf.Session() as s:  # nothing is checked at run time, as in TensorFlow
            np.testing.assert_array_equal(s.run(p + 1.0, {p: np.zeros((4, 3), np.float32)}), np.ones((4, 3)))
