"""CPU plans run matmul -> bias_add [-> relu] as one `_fused_matmul` kernel (exec/fuse.h):
values against numpy float64, gradients and a training run equal with fusion off, and the
cases where a chain must not fuse (an intermediate is fetched, read twice, or controls
another op)."""
import numpy as np
import pytest

import nestor as tf


def _session(graph, fuse):
    return tf.Session(graph=graph, config=tf.ConfigProto(fuse_kernels=fuse))


def _op_counts(sess, fetches, feed):
    """Kernel calls per op type in one run (the session profile accumulates: take the difference)."""
    before = {k: v[1] for k, v in sess._native.profile().items()}
    sess._native.set_profiling(True)
    sess.run(fetches, feed)
    sess._native.set_profiling(False)
    counts = {k: v[1] - before.get(k, 0) for k, v in sess._native.profile().items()}
    return {k: n for k, n in counts.items() if n}


def _layers(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((k, n)) / np.sqrt(k), rng.standard_normal(n)) for k, n in shapes]


@pytest.mark.parametrize("batch,dims", [(256, [4, 30, 10, 3]),          # the direct kernel
                                        (64, [100, 1024, 512, 10]),      # direct (split) and BLAS
                                        (1, [100, 300, 7]),              # matrix-vector products
                                        (300, [257, 300, 20])])          # BLAS, bias prefilled
def test_dense_stack_matches_numpy(batch, dims):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, dims[0]))
    params = _layers(list(zip(dims[:-1], dims[1:])))
    g = tf.Graph()
    with g.as_default():
        xp = tf.placeholder(tf.float32, [None, dims[0]])
        h = xp
        for i, (w, b) in enumerate(params):
            h = tf.nn.bias_add(tf.matmul(h, tf.constant(w.astype(np.float32))), tf.constant(b.astype(np.float32)))
            if i + 1 < len(params):
                h = tf.nn.relu(h)
    want = x
    for i, (w, b) in enumerate(params):
        want = want @ w + b
        if i + 1 < len(params):
            want = np.maximum(want, 0)
    with _session(g, True) as sess:
        got = sess.run(h, {xp: x.astype(np.float32)})
        counts = _op_counts(sess, h, {xp: x.astype(np.float32)})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert counts.get("_fused_matmul") == len(params)
    assert "bias_add" not in counts and "relu" not in counts and "matmul" not in counts


def test_transposed_operands_fuse():
    rng = np.random.default_rng(2)
    a, b, bias = rng.standard_normal((30, 50)), rng.standard_normal((20, 30)), rng.standard_normal(20)
    g = tf.Graph()
    with g.as_default():
        y = tf.nn.relu(tf.nn.bias_add(tf.matmul(tf.constant(a, tf.float32), tf.Variable(b.astype(np.float32)),
                                                transpose_a=True, transpose_b=True), tf.constant(bias, tf.float32)))
        init = tf.global_variables_initializer()
    with _session(g, True) as sess:
        sess.run(init)
        got = sess.run(y)
        assert _op_counts(sess, y, {}).get("_fused_matmul") == 1
    np.testing.assert_allclose(got, np.maximum(a.T @ b.T + bias, 0), rtol=1e-5, atol=1e-5)


def test_chains_that_must_not_fuse_keep_their_values():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((8, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    g = tf.Graph()
    with g.as_default():
        xp = tf.placeholder(tf.float32, [None, 5])
        mm = tf.matmul(xp, tf.constant(w, tf.float32))
        pre = tf.nn.bias_add(mm, tf.constant(b, tf.float32))
        act = tf.nn.relu(pre)
        twice = tf.nn.relu(tf.nn.bias_add(mm, tf.constant(b, tf.float32))) + mm  # matmul read twice
        with tf.control_dependencies([pre]):
            after = tf.identity(act)
    feed = {xp: x.astype(np.float32)}
    want_mm = x @ w
    with _session(g, True) as sess:
        # Fetching the pre-activation: matmul + bias fuse, relu stays (it reads a fetched value).
        v_pre, v_act = sess.run([pre, act], feed)
        counts = _op_counts(sess, [pre, act], feed)
        assert counts.get("_fused_matmul") == 1 and counts.get("relu") == 1
        v_twice = sess.run(twice, feed)
        assert "_fused_matmul" not in _op_counts(sess, twice, feed)
        v_after = sess.run(after, feed)  # a control dependency on bias_add: no fusion through it
        assert "_fused_matmul" not in _op_counts(sess, after, feed)
    np.testing.assert_allclose(v_pre, want_mm + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(v_act, np.maximum(want_mm + b, 0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(v_twice, np.maximum(want_mm + b, 0) + want_mm, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(v_after, np.maximum(want_mm + b, 0), rtol=1e-5, atol=1e-5)


def test_float64_and_batched_products_are_left_alone():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((3, 6, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    g = tf.Graph()
    with g.as_default():
        y64 = tf.nn.relu(tf.nn.bias_add(tf.matmul(tf.constant(x[0]), tf.constant(w)), tf.constant(b)))
        y3 = tf.nn.relu(tf.nn.bias_add(tf.matmul(tf.constant(x, tf.float32), tf.constant(w, tf.float32)),
                                       tf.constant(b, tf.float32)))
    with _session(g, True) as sess:
        v64, v3 = sess.run([y64, y3])
        assert "_fused_matmul" not in _op_counts(sess, [y64, y3], {})
    np.testing.assert_allclose(v64, np.maximum(x[0] @ w + b, 0), rtol=1e-12)
    np.testing.assert_allclose(v3, np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-5)


def test_training_is_the_same_with_and_without_fusion():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = rng.integers(0, 3, 256).astype(np.int64)
    losses = {}
    for fuse in (True, False):
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(7)
            xp = tf.placeholder(tf.float32, [None, 4])
            yp = tf.placeholder(tf.int64, [None])
            h = tf.layers.dense(xp, 30, activation=tf.nn.relu)
            h = tf.layers.dense(h, 10, activation=tf.nn.relu)
            logits = tf.layers.dense(h, 3)
            loss = tf.losses.sparse_softmax_cross_entropy(yp, logits)
            train = tf.train.AdagradOptimizer(0.1).minimize(loss)
            init = tf.global_variables_initializer()
        with _session(g, fuse) as sess:
            sess.run(init)
            losses[fuse] = [sess.run([train, loss], {xp: x, yp: y})[1] for _ in range(50)]
            if fuse:
                assert _op_counts(sess, train, {xp: x, yp: y}).get("_fused_matmul") == 3
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-5)
    assert losses[True][-1] < losses[True][0]
