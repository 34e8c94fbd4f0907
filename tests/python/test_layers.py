"""tf.layers (TF1): dense, dropout, batch_normalization, flatten, Embedding against NumPy
references; variable naming, collections and reuse as TF1."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import nestor as tf
from nestor import layers
from nestor.losses import regularizers as R

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ops"))
from harness import check_op  # noqa: E402


def _names(vs):
    return [v.name for v in vs]


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3)])
def test_dense_forward_vs_numpy(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    with tf.Graph().as_default():
        inp = tf.placeholder(tf.float64, [None] * (len(shape) - 1) + [3])
        y = layers.dense(inp, 4, activation=tf.nn.relu)
        assert y.shape.as_list() == [None] * (len(shape) - 1) + [4]
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            k = s.run(tf.get_default_graph().get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)[0])
            got, kv, bv = s.run([y] + tf.trainable_variables(), {inp: x})
    np.testing.assert_array_equal(k, kv)
    assert kv.shape == (3, 4) and bv.shape == (4,)
    np.testing.assert_array_equal(bv, 0.0)  # zeros initializer
    limit = np.sqrt(6.0 / (3 + 4))  # glorot_uniform
    assert np.all(np.abs(kv) <= limit) and np.std(kv) > 0
    np.testing.assert_allclose(got, np.maximum(x @ kv + bv, 0.0), rtol=1e-12)


def test_dense_class_initializers_and_collections():
    with tf.Graph().as_default():
        x = tf.constant(np.array([[1.0, 2.0]], np.float32))
        layer = layers.Dense(3, kernel_initializer=tf.constant_initializer(0.5),
                             bias_initializer=tf.constant_initializer(-1.0), use_bias=True)
        y = layer(x)
        assert layer.name == "dense" and layer.built
        assert layer.kernel.name == "dense/kernel:0" and layer.bias.name == "dense/bias:0"
        assert layer.trainable_variables == [layer.kernel, layer.bias] == layer.variables
        assert _names(tf.global_variables()) == ["dense/kernel:0", "dense/bias:0"]
        frozen = layers.Dense(2, trainable=False, use_bias=False)
        frozen(x)
        assert frozen.kernel.name == "dense_1/kernel:0" and frozen.bias is None
        assert frozen.trainable_variables == [] and frozen.variables == [frozen.kernel]
        assert frozen.kernel not in tf.trainable_variables() and frozen.kernel in tf.global_variables()
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            np.testing.assert_allclose(s.run(y), [[0.5, 0.5, 0.5]])


def test_dense_naming_and_reuse():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        layers.dense(x, 3)
        layers.dense(x, 3)
        with tf.variable_scope("tower"):
            layers.dense(x, 3)
        y1 = layers.dense(x, 3, name="shared")
        y2 = layers.dense(x, 3, name="shared", reuse=True)
        assert _names(tf.trainable_variables()) == [
            "dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "dense_1/bias:0",
            "tower/dense/kernel:0", "tower/dense/bias:0", "shared/kernel:0", "shared/bias:0"]
        with pytest.raises(ValueError, match="shared/kernel already exists"):
            layers.dense(x, 3, name="shared")
        with pytest.raises(ValueError, match="nope/kernel does not exist"):
            layers.dense(x, 3, name="nope", reuse=True)
        with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
            layers.dense(x, 3, name="a")
            layers.dense(x, 3, name="a")
        assert len(tf.trainable_variables()) == 10
        # the same layer object called twice shares its variables
        layer = layers.Dense(2)
        layer(x)
        layer(x)
        assert len(tf.trainable_variables()) == 12
        with pytest.raises(ValueError, match="last dimension of the inputs to `Dense` should be defined"):
            layers.dense(tf.placeholder(tf.float32, [None, None]), 2)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            a, b = s.run([y1, y2], {x: np.ones((2, 2))})
        np.testing.assert_array_equal(a, b)


def test_dense_regularizers_and_gradient():
    with tf.Graph().as_default():
        x = tf.constant(np.array([[1.0, -2.0], [0.5, 3.0]]))
        layer = layers.Dense(2, kernel_initializer=tf.constant_initializer([[1.0, 2.0], [3.0, 4.0]]),
                             kernel_regularizer=R.l2_regularizer(0.5), bias_regularizer=R.l1_regularizer(0.1),
                             activity_regularizer=R.l1_regularizer(1.0))
        y = layer(x)
        regs = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
        assert len(regs) == 3 and layer.losses == regs
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            got = s.run(regs)
            yv = s.run(y)
        np.testing.assert_allclose(got, [0.5 * 30 / 2, 0.0, np.abs(yv).sum() / 2])
    # gradients through the layer w.r.t. its variables, vs the analytic derivative
    xv = np.random.default_rng(1).uniform(-1, 1, size=(3, 2))
    with tf.Graph().as_default():
        y = layers.dense(tf.constant(xv), 3, activation=tf.tanh, bias_initializer=tf.constant_initializer(0.1))
        k, b = tf.trainable_variables()
        gk, gb = tf.gradients(tf.reduce_sum(y), [k, b])
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            kv, gkv, gbv = s.run([k, gk, gb])
    dz = 1.0 - np.tanh(xv @ kv + 0.1) ** 2
    np.testing.assert_allclose(gkv, xv.T @ dz, rtol=1e-10)
    np.testing.assert_allclose(gbv, dz.sum(0), rtol=1e-10)


def test_dropout():
    x = np.ones((200, 50), np.float32)
    with tf.Graph().as_default():
        inp = tf.placeholder(tf.float32, [None, 50])
        flag = tf.placeholder(tf.bool, [])
        off = layers.dropout(inp, rate=0.3)
        on = layers.dropout(inp, rate=0.3, training=True, seed=3)
        cond = layers.dropout(inp, rate=0.3, training=flag)
        ns = layers.dropout(inp, rate=0.5, noise_shape=[1, 50], training=True)
        layer = layers.Dropout(0.25)
        via_layer = layer(inp, training=False)
        with tf.Session() as s:
            np.testing.assert_array_equal(s.run(off, {inp: x}), x)
            np.testing.assert_array_equal(s.run(via_layer, {inp: x}), x)
            np.testing.assert_array_equal(s.run(cond, {inp: x, flag: False}), x)
            for out in (on, cond):
                v = s.run(out, {inp: x, flag: True})
                assert set(np.unique(v)) <= {0.0, np.float32(1 / 0.7)}
                frac = np.mean(v == 0)
                assert abs(frac - 0.3) < 0.02, frac  # 10000 draws: sd ~ 0.005
                assert abs(v.mean() - 1.0) < 0.04
            v = s.run(ns, {inp: x})
            assert np.all(v == v[0:1])  # one mask row broadcast over the batch
    with pytest.raises(ValueError, match="rate must be"):
        layers.Dropout(1.5)
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="bool"):
            layers.dropout(tf.zeros([2]), training=tf.constant(1.0))


def _bn_ref(x, axes, gamma, beta, eps):
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * gamma + beta, m.reshape(-1), v.reshape(-1)


def test_batch_norm_train_updates_and_inference():
    rng = np.random.default_rng(2)
    batches = [rng.normal(3.0, 2.0, size=(8, 3)) for _ in range(3)]
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.2, 0.3])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None, 3])
        y = layers.batch_normalization(x, momentum=0.9, training=True,
                                       gamma_initializer=tf.constant_initializer(gamma),
                                       beta_initializer=tf.constant_initializer(beta))
        y_inf = layers.batch_normalization(x, training=False, name="batch_normalization", reuse=True)
        assert _names(tf.global_variables()) == [
            "batch_normalization/gamma:0", "batch_normalization/beta:0", "batch_normalization/moving_mean:0",
            "batch_normalization/moving_variance:0"]
        assert _names(tf.trainable_variables()) == ["batch_normalization/gamma:0", "batch_normalization/beta:0"]
        updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        assert len(updates) == 2
        mm_var, mv_var = tf.global_variables()[2:]
        mm, mv = np.zeros(3), np.ones(3)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            for b in batches:
                want, bm, bv = _bn_ref(b, (0,), gamma, beta, 1e-3)
                got = s.run(y, {x: b})
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
                with tf.control_dependencies(updates):
                    step = tf.identity(y)
                s.run(step, {x: b})
                mm = mm - (mm - bm) * 0.1
                mv = mv - (mv - bv) * 0.1
                np.testing.assert_allclose(s.run(mm_var), mm, rtol=1e-12)
                np.testing.assert_allclose(s.run(mv_var), mv, rtol=1e-12)
            got = s.run(y_inf, {x: batches[0]})
        np.testing.assert_allclose(got, (batches[0] - mm) / np.sqrt(mv + 1e-3) * gamma + beta, rtol=1e-10)


def test_batch_norm_training_tensor_and_axis():
    rng = np.random.default_rng(5)
    xv = rng.normal(1.0, 3.0, size=(4, 3, 5))
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None, 3, 5])
        flag = tf.placeholder(tf.bool, [])
        bn = layers.BatchNormalization(axis=1, momentum=0.5, center=False)
        y = bn(x, training=flag)
        assert bn.gamma.shape.as_list() == [3] and bn.beta is None and len(bn.updates) == 2
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            want, bm, bv = _bn_ref(xv, (0, 2), 1.0, 0.0, 1e-3)
            np.testing.assert_allclose(s.run(y, {x: xv, flag: True}), want, rtol=1e-10, atol=1e-12)
            s.run(bn.updates, {x: xv, flag: False})  # not training: moving stats unchanged
            np.testing.assert_allclose(s.run(bn.moving_mean), np.zeros(3))
            np.testing.assert_allclose(s.run(y, {x: xv, flag: False}), xv / np.sqrt(1 + 1e-3), rtol=1e-12)
            s.run(bn.updates, {x: xv, flag: True})
            np.testing.assert_allclose(s.run(bn.moving_mean), 0.5 * bm, rtol=1e-12)
            np.testing.assert_allclose(s.run(bn.moving_variance), 0.5 + 0.5 * bv, rtol=1e-12)


@pytest.mark.parametrize("fused", [None, False])
def test_batch_norm_4d_fused_variance_correction(fused):
    xv = np.random.default_rng(6).standard_normal((2, 3, 3, 2))
    with tf.Graph().as_default():
        bn = layers.BatchNormalization(momentum=0.0, fused=fused)
        y = bn(tf.constant(xv), training=True)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            s.run(bn.updates)
            mv = s.run(bn.moving_variance)
            got = s.run(y)
    want, _, bv = _bn_ref(xv, (0, 1, 2), 1.0, 0.0, 1e-3)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    n = 2 * 3 * 3
    np.testing.assert_allclose(mv, bv * n / (n - 1) if fused is None else bv, rtol=1e-12)


def test_batch_norm_gradient_and_errors():
    check_op(lambda t: layers.batch_normalization(t, training=True, center=False, scale=False),
             [np.random.default_rng(8).uniform(-2, 2, size=(5, 2))],
             ref=lambda v: _bn_ref(v, (0,), 1.0, 0.0, 1e-3)[0])
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="renorm"):
            layers.batch_normalization(tf.zeros([2, 2]), renorm=True)
        with pytest.raises(ValueError, match="undefined `axis` dimension"):
            layers.batch_normalization(tf.placeholder(tf.float32, [2, None]))


def test_flatten():
    with tf.Graph().as_default():
        a = layers.flatten(tf.placeholder(tf.float32, [None, 3, 4]))
        b = layers.Flatten()(tf.zeros([2, 3, 4, 5]))
        c = layers.flatten(tf.zeros([6]))
        d = layers.flatten(tf.constant(np.arange(24.0).reshape(2, 3, 4)), data_format="channels_first")
        assert a.shape.as_list() == [None, 12] and b.shape.as_list() == [2, 60] and c.shape.as_list() == [6, 1]
        with tf.Session() as s:
            got = s.run(d)
    np.testing.assert_array_equal(got, np.arange(24.0).reshape(2, 3, 4).transpose(0, 2, 1).reshape(2, 12))


def test_embedding_lookup_and_sparse_gradient():
    ids = np.array([[1, 4], [4, 0]], np.int64)
    with tf.Graph().as_default():
        emb = layers.Embedding(6, 3)
        out = emb(tf.constant(ids))
        emb2 = layers.Embedding(6, 2, embeddings_initializer="zeros")
        emb2(tf.constant(ids))
        assert emb.embeddings.name == "embedding/embeddings:0"
        assert emb2.embeddings.name == "embedding_1/embeddings:0"
        assert out.shape.as_list() == [2, 2, 3]
        (grad,) = tf.gradients(tf.reduce_sum(out * 2.0), [emb.embeddings])
        assert isinstance(grad, tf.IndexedSlices)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            table, got, g = s.run([emb.embeddings, out, grad])
    assert np.all(np.abs(table) <= 0.05) and np.std(table) > 0
    np.testing.assert_array_equal(got, table[ids])
    dense = np.zeros((6, 3))
    np.add.at(dense, g.indices, g.values)
    want = np.zeros((6, 3))
    np.add.at(want, ids.reshape(-1), 2.0)
    np.testing.assert_allclose(dense, want)


def test_train_dense_bn_with_update_ops():
    rng = np.random.default_rng(9)
    xv = rng.standard_normal((32, 4))
    yv = (xv[:, 0] + 0.5 * xv[:, 1] > 0).astype(np.int32)
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float64, [None, 4])
        lab = tf.placeholder(tf.int32, [None])
        h = layers.dense(x, 8, activation=tf.nn.relu)
        h = layers.batch_normalization(h, training=True)
        logits = layers.dense(h, 2)
        from nestor import losses
        loss = losses.sparse_softmax_cross_entropy(lab, logits)
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train_op = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        mm = [v for v in tf.global_variables() if v.op.name == "batch_normalization/moving_mean"][0]
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            first = s.run(loss, {x: xv, lab: yv})
            for _ in range(30):
                s.run(train_op, {x: xv, lab: yv})
            last = s.run(loss, {x: xv, lab: yv})
            assert np.any(s.run(mm) != 0.0)  # the update ops ran with the train op
    assert last < 0.5 * first
