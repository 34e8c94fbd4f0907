"""Compile-time folding (cpp/src/exec/fold.h): steps computable from constants and static
shapes run once when a plan is compiled. Results must equal numpy and the same graph with
the constants fed through placeholders (which never fold); feeds override folded values;
errors raised inside foldable subgraphs surface at run time as before."""
import numpy as np
import pytest

import nestor as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def ran_ops(sess, fetches, feed_dict=None):
    """Runs once with the per-op profiler on; returns (values, {op type: calls})."""
    sess._native.set_profiling(True)
    before = {k: v[1] for k, v in sess._native.profile().items()}
    out = sess.run(fetches, feed_dict)
    sess._native.set_profiling(False)
    after = {k: v[1] for k, v in sess._native.profile().items()}
    return out, {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}


def mixed_graph(a, b, x):
    """Constant arithmetic, shapes of static and dynamic tensors, size, reshape, and a dynamic part."""
    c = tf.matmul(a, b) * 2.0 + tf.reduce_sum(a)           # constants only
    s_static = tf.shape(c)                                    # static [2, 2]
    s_dyn = tf.shape(x)                                       # [None, 2]: only known at run time
    n = tf.size(c)                                            # reduce_prod(shape): folds
    y = tf.matmul(x, tf.reshape(c, s_static)) + tf.cast(n, tf.float32)
    return c, s_static, s_dyn, n, y


def test_folded_values_equal_numpy_and_the_unfolded_graph():
    a_np = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    b_np = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
    x_np = np.arange(6, dtype=np.float32).reshape(3, 2)
    x = tf.placeholder(tf.float32, [None, 2])
    folded = mixed_graph(tf.constant(a_np), tf.constant(b_np), x)
    pa, pb = tf.placeholder(tf.float32, [2, 2]), tf.placeholder(tf.float32, [2, 2])
    unfolded = mixed_graph(pa, pb, x)
    with tf.Session() as sess:
        got, ran = ran_ops(sess, folded, {x: x_np})
        ref = sess.run(unfolded, {x: x_np, pa: a_np, pb: b_np})
    c_ref = (a_np.astype(np.float64) @ b_np) * 2.0 + a_np.sum()
    np.testing.assert_allclose(got[0], c_ref, rtol=1e-6)
    np.testing.assert_array_equal(got[1], [2, 2])
    np.testing.assert_array_equal(got[2], [3, 2])
    assert got[3] == 4
    np.testing.assert_allclose(got[4], x_np.astype(np.float64) @ c_ref + 4.0, rtol=1e-5)
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g, r)
    # Only the dynamic part runs: the constant matmul, the static shape and size were folded.
    assert ran.get("matmul") == 1
    assert ran.get("shape") == 1  # tf.shape(x) of the [None, 2] placeholder
    for op in ("const", "multiply", "sum", "prod", "reshape", "cast"):
        assert op not in ran, (op, ran)


def test_shape_of_fully_static_tensor_folds_without_running_its_input():
    x = tf.placeholder(tf.float32, [3, 4])
    r = tf.nn.relu(x)
    s = tf.shape(r, out_type=tf.int64)
    with tf.Session() as sess:
        got, ran = ran_ops(sess, s, {x: np.ones((3, 4), np.float32)})
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [3, 4])
    assert "shape" not in ran


def test_feeds_override_would_be_folded_tensors():
    c = tf.constant([1.0, 2.0, 3.0])
    d = c * 10.0
    e = d + 1.0
    s = tf.shape(d)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(e), [11.0, 21.0, 31.0])
        # Feeding the would-be-folded `d` (even with another shape) wins over its folded value.
        np.testing.assert_allclose(sess.run(e, {d: np.array([5.0, 6.0, 7.0], np.float32)}), [6.0, 7.0, 8.0])
        np.testing.assert_allclose(sess.run(e, {c: np.array([0.5, 0.0, -1.0], np.float32)}), [6.0, 1.0, -9.0])
        np.testing.assert_array_equal(sess.run(s), [3])
        # The folded plan still gives the folded values afterwards.
        np.testing.assert_allclose(sess.run(e), [11.0, 21.0, 31.0])
        np.testing.assert_allclose(sess.run([d, e], {c: np.zeros(3, np.float32)})[1], [1.0, 1.0, 1.0])


def test_fetching_a_folded_tensor_twice_returns_independent_arrays():
    d = tf.constant([1.0, 2.0]) * 3.0
    with tf.Session() as sess:
        first = sess.run(d)
        first[0] = -100.0  # the plan's folded value must not change
        np.testing.assert_allclose(sess.run(d), [3.0, 6.0])


def test_errors_inside_foldable_subgraphs_surface_at_run_time_with_the_same_message():
    params = tf.constant([1.0, 2.0, 3.0])
    bad = tf.gather(params, tf.constant([5]))
    ok = tf.constant([4.0]) + 1.0
    idx = tf.placeholder(tf.int32, [1])
    bad_fed = tf.gather(params, idx)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as fed_err:
            sess.run(bad_fed, {idx: np.array([5], np.int32)})
        # The plan compiles; running it raises the same error as the unfolded graph, every time.
        for _ in range(2):
            with pytest.raises(tf.errors.InvalidArgumentError) as folded_err:
                sess.run([ok, bad + 1.0])
            assert str(folded_err.value).replace(bad.op.name, "X") == \
                str(fed_err.value).replace(bad_fed.op.name, "X")
        np.testing.assert_allclose(sess.run(ok), [5.0])  # a plan without the failing node is unaffected
        # A feed that overrides the failing tensor avoids the error, as before.
        np.testing.assert_allclose(sess.run(bad + 1.0, {bad: np.array([7.0], np.float32)}), [8.0])


def test_label_errors_in_constant_losses_surface_at_run_time():
    logits = tf.constant([[1.0, 2.0, 0.5]])
    labels = tf.constant([3], tf.int64)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Received a label value of 3"):
            sess.run(loss)


def test_stateful_and_variable_reads_never_fold():
    v = tf.Variable([1.0, 2.0])
    doubled = v * 2.0
    r = tf.random_uniform([2], seed=3) + tf.constant(0.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(doubled), [2.0, 4.0])
        sess.run(v.assign([5.0, -1.0]))
        np.testing.assert_allclose(sess.run(doubled), [10.0, -2.0])
        r1, r2 = sess.run(r), sess.run(r)
        assert not np.array_equal(r1, r2)


def test_large_constant_expressions_stay_steps():
    big_np = (np.arange(100000) % 7).astype(np.float32)  # integer sums: exact in float32
    big = tf.constant(big_np)
    y = big * 2.0  # 400 KB: above the fold size cap, computed at run time instead
    small = tf.reduce_sum(y)
    with tf.Session() as sess:
        got, ran = ran_ops(sess, [small, y])
    np.testing.assert_array_equal(got[1], big_np.astype(np.float64) * 2.0)
    assert got[0] == big_np.astype(np.float64).sum() * 2.0
    assert ran.get("multiply") == 1 and ran.get("sum") == 1
    assert "const" not in ran  # the const itself folds: its value is the graph's own buffer


def test_control_dependencies_keep_steps():
    v = tf.Variable(1.0)
    with tf.control_dependencies([v.assign_add(1.0)]):
        c = tf.constant(3.0) * 2.0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(c) == 6.0
        assert sess.run(c) == 6.0
        assert sess.run(v) == 3.0  # the assign ran with each run
