"""CPU plans run matmul -> bias_add [-> relu] as one `_fused_matmul` kernel and the backward
relu_grad -> bias_add_grad as one `_fused_relu_bias_grad` kernel (exec/fuse.h): values against
numpy float64, gradients and a training run equal with fusion off, and the cases where a chain
must not fuse (an intermediate is fetched, read twice, or controls another op)."""
import numpy as np
import pytest

import nestor as tf
from parity import op_counts as _op_counts


def _session(graph, fuse):
    return tf.Session(graph=graph, config=tf.ConfigProto(fuse_kernels=fuse))


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
                counts = _op_counts(sess, train, {xp: x, yp: y})
                assert counts.get("_fused_matmul") == 3 and counts.get("_fused_relu_bias_grad") == 2
                assert "relu_grad" not in counts
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-5)
    assert losses[True][-1] < losses[True][0]


@pytest.mark.parametrize("batch,width,threads", [(256, 30, 1),      # one block
                                                 (513, 300, 3),     # three uneven row blocks
                                                 (7, 5000, 2)])     # few rows, wide
def test_relu_layer_backward_fuses_and_matches_numpy(batch, width, threads):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((batch, 20))
    w, b = rng.standard_normal((20, width)) / 4, rng.standard_normal(width)
    c = rng.standard_normal((batch, width))
    g = tf.Graph()
    with g.as_default():
        xp = tf.placeholder(tf.float32, [None, 20])
        wv, bv = tf.Variable(w.astype(np.float32)), tf.Variable(b.astype(np.float32))
        pre = tf.nn.bias_add(tf.matmul(xp, wv), bv)
        loss = tf.reduce_sum(tf.nn.relu(pre) * tf.constant(c, tf.float32))
        d_pre, dw, db, dx = tf.gradients(loss, [pre, wv, bv, xp])
        init = tf.global_variables_initializer()
    pre64 = x @ w + b
    dz = c * (pre64 > 0)
    feed = {xp: x.astype(np.float32)}
    config = tf.ConfigProto(intra_op_parallelism_threads=threads)
    with tf.Session(graph=g, config=config) as sess:
        sess.run(init)
        # Fetching dz itself and db: the fused step's two outputs are what the fetches read.
        got = sess.run([d_pre, dw, db, dx], feed)
        counts = _op_counts(sess, [d_pre, dw, db, dx], feed)
    assert counts.get("_fused_relu_bias_grad") == 1
    assert "relu_grad" not in counts and "bias_add_grad" not in counts
    for v, want in zip(got, [dz, x.T @ dz, dz.sum(0), dz @ w.T]):
        np.testing.assert_allclose(v, want, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(want).max()))


def test_relu_grad_read_by_a_control_dependency_is_not_fused():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((16, 6)), rng.standard_normal((6, 5))
    g = tf.Graph()
    with g.as_default():
        xp = tf.placeholder(tf.float32, [None, 6])
        bv = tf.Variable(np.zeros(5, np.float32))
        pre = tf.nn.bias_add(tf.matmul(xp, tf.constant(w, tf.float32)), bv)
        loss = tf.reduce_sum(tf.nn.relu(pre))
        (db,) = tf.gradients(loss, [bv])
        relu_grad = db.op.inputs[0].op
        assert relu_grad.type == "relu_grad"
        with tf.control_dependencies([relu_grad]):
            out = tf.identity(db)
        init = tf.global_variables_initializer()
    feed = {xp: x.astype(np.float32)}
    with tf.Session(graph=g) as sess:
        sess.run(init)
        got = sess.run(out, feed)
        counts = _op_counts(sess, out, feed)
    assert "_fused_relu_bias_grad" not in counts and counts.get("relu_grad") == 1
    np.testing.assert_allclose(got, ((x @ w) > 0).sum(0), rtol=1e-6)


def _constant_variables_session(graph, threads=0):
    config = tf.ConfigProto(intra_op_parallelism_threads=threads)
    config._constant_variables = True  # what saved_model.load sets: weights laid out once per plan
    return tf.Session(graph=graph, config=config)


@pytest.mark.parametrize("threads", [1, 2])
def test_weights_packed_once_for_served_exports_match_numpy(threads):
    """With constant variables (saved_model.load, the C API), fused layers read their weights as
    panels laid out at compile time for batches of 2..512 rows; batch 1 and larger batches keep
    the variable itself. Every path against numpy float64, with and without transposed weights."""
    rng = np.random.default_rng(5)
    w1, b1 = rng.standard_normal((100, 300)) / 10, rng.standard_normal(300)
    w2t, b2 = rng.standard_normal((37, 300)) / 17, rng.standard_normal(37)  # stored [n, k]
    g = tf.Graph()
    with g.as_default():
        xp = tf.placeholder(tf.float32, [None, 100])
        v1 = tf.Variable(w1.astype(np.float32), name="w1")
        v2 = tf.Variable(w2t.astype(np.float32), name="w2t")
        h = tf.nn.relu(tf.nn.bias_add(tf.matmul(xp, v1), tf.constant(b1.astype(np.float32))))
        y = tf.nn.bias_add(tf.matmul(h, v2, transpose_b=True), tf.constant(b2.astype(np.float32)))
        init = tf.global_variables_initializer()
    with _constant_variables_session(g, threads) as sess:
        sess.run(init)
        for batch in (1, 2, 7, 64, 512, 513):
            x = rng.standard_normal((batch, 100))
            want = np.maximum(x @ w1 + b1, 0) @ w2t.T + b2
            got = sess.run(y, {xp: x.astype(np.float32)})
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max(), err_msg=f"batch {batch}")
        counts = _op_counts(sess, y, {xp: x.astype(np.float32)})
        assert counts.get("_fused_matmul") == 2
        # The panels are the weights as they were when the plan was compiled: a later change of
        # the variable (which a served export never makes) reaches batch 513, not 1 or 64.
        sess.run(v1.assign(np.zeros((100, 300), np.float32)))
        x = rng.standard_normal((513, 100)).astype(np.float32)
        for rows in (1, 64):
            np.testing.assert_allclose(sess.run(y, {xp: x[:rows]}), np.maximum(x[:rows] @ w1 + b1, 0) @ w2t.T + b2,
                                       rtol=1e-4, atol=1e-3, err_msg=f"batch {rows}")
        np.testing.assert_allclose(sess.run(y, {xp: x}), np.tile(np.maximum(b1, 0) @ w2t.T + b2, (513, 1)),
                                   rtol=1e-4, atol=1e-4)
