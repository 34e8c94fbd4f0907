"""`nestor.train`: TF1 optimizers (slots, dense and sparse steps against NumPy versions of
TF's formulas), minimize/compute_gradients/apply_gradients and the global step."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ops"))

import nestor as tf  # noqa: E402
from nestor import train  # noqa: E402
from test_optimizers import (dedup, ref_adagrad, ref_adam, ref_adam_sparse, ref_centered_rms, ref_ftrl,  # noqa: E402
                             ref_gd, ref_momentum, ref_rms, ref_sparse)

# name -> (optimizer factory, slot names in the reference's order, slot suffixes, initial slot values,
#          ref(values, grad, step))
OPTIMIZERS = {
    "gd": (lambda: train.GradientDescentOptimizer(0.3), [], [], [], lambda x, g, k: ref_gd(x, g, 0.3)),
    "momentum": (lambda: train.MomentumOptimizer(0.1, 0.9), ["momentum"], ["Momentum"], [0.0],
                 lambda x, g, k: ref_momentum(x, g, 0.1, 0.9)),
    "nesterov": (lambda: train.MomentumOptimizer(0.1, 0.9, use_nesterov=True), ["momentum"], ["Momentum"], [0.0],
                 lambda x, g, k: ref_momentum(x, g, 0.1, 0.9, nesterov=True)),
    "adagrad": (lambda: train.AdagradOptimizer(0.2), ["accumulator"], ["Adagrad"], [0.1],
                lambda x, g, k: ref_adagrad(x, g, 0.2)),
    "adam": (lambda: train.AdamOptimizer(0.01), ["m", "v"], ["Adam", "Adam_1"], [0.0, 0.0],
             lambda x, g, k: ref_adam(x, g, 0.9 ** (k + 1), 0.999 ** (k + 1), 0.01, 0.9, 0.999, 1e-8)),
    "ftrl": (lambda: train.FtrlOptimizer(0.5, l1_regularization_strength=0.3, l2_regularization_strength=0.2,
                                         l2_shrinkage_regularization_strength=0.1),
             ["accum", "linear"], ["Ftrl", "Ftrl_1"], [0.1, 0.0],
             lambda x, g, k: ref_ftrl(x, g, 0.5, 0.3, 0.2, 0.1, -0.5)),
    "ftrl_power": (lambda: train.FtrlOptimizer(0.3, learning_rate_power=-0.3, l1_regularization_strength=0.05),
                   ["accum", "linear"], ["Ftrl", "Ftrl_1"], [0.1, 0.0],
                   lambda x, g, k: ref_ftrl(x, g, 0.3, 0.05, 0.0, 0.0, -0.3)),
    "rmsprop": (lambda: train.RMSPropOptimizer(0.01, momentum=0.5, epsilon=1e-6), ["rms", "momentum"],
                ["RMSProp", "RMSProp_1"], [1.0, 0.0], lambda x, g, k: ref_rms(x, g, 0.01, 0.9, 0.5, 1e-6)),
    "centered": (lambda: train.RMSPropOptimizer(0.01, momentum=0.5, epsilon=1e-6, centered=True),
                 ["mg", "rms", "momentum"], ["RMSProp_1", "RMSProp", "RMSProp_2"], [0.0, 1.0, 0.0],
                 lambda x, g, k: ref_centered_rms(x, g, 0.01, 0.9, 0.5, 1e-6)),
}


def _check(got, want, what):
    for j, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"{what}, variable {j}")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_dense_steps_slots_and_names(name):
    make, slots, suffixes, inits, ref = OPTIMIZERS[name]
    rng = np.random.default_rng(0)
    w0, b0 = rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, 2)
    with tf.Graph().as_default():
        w = tf.Variable(w0, name="w")
        b = tf.Variable(b0, name="b")
        gw, gb = tf.placeholder(tf.float64, [3, 2]), tf.placeholder(tf.float64, [2])
        opt = make()
        op = opt.apply_gradients([(gw, w), (gb, b)])
        assert isinstance(op, tf.Operation)
        assert op in tf.get_collection(tf.GraphKeys.TRAIN_OP)
        assert opt.get_slot_names() == sorted(slots)
        for v in (w, b):
            for s, suffix in zip(slots, suffixes):
                slot = opt.get_slot(v, s)
                assert slot.op.name == f"{v.op.name}/{suffix}"
                assert not slot.trainable and slot in tf.global_variables()
        assert opt.get_slot(w, "nonexistent") is None
        assert tf.trainable_variables() == [w, b]
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            state = {}
            for v, x0 in ((w, w0), (b, b0)):
                vals = s.run([opt.get_slot(v, n) for n in slots])
                for val, init in zip(vals, inits):
                    np.testing.assert_array_equal(val, np.full(x0.shape, init))
                state[v.op.name] = [x0] + vals
            for k in range(3):
                g = {"w": rng.uniform(-1, 1, (3, 2)), "b": rng.uniform(-1, 1, 2)}
                s.run(op, {gw: g["w"], gb: g["b"]})
                for v in (w, b):
                    state[v.op.name] = ref(state[v.op.name], g[v.op.name], k)
                    _check(s.run([v] + [opt.get_slot(v, n) for n in slots]), state[v.op.name], f"{name} step {k}")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_sparse_steps_with_duplicate_indices(name):
    make, slots, _, _, ref = OPTIMIZERS[name]
    rng = np.random.default_rng(1)
    w0 = rng.uniform(-1, 1, (5, 2))
    indices = [np.array(i, np.int64) for i in ([3, 0, 3], [1, 4, 4, 4], [2])]
    with tf.Graph().as_default():
        w = tf.Variable(w0, name="emb")
        vals = tf.placeholder(tf.float64, [None, 2])
        idx = tf.placeholder(tf.int64, [None])
        op = make().apply_gradients([(tf.IndexedSlices(vals, idx, tf.constant(np.array([5, 2]))), w)])
        opt_vars = [v for v in tf.global_variables() if v.op.name.startswith("emb/")]
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            by_name = {v.op.name: v for v in opt_vars}
            state = [w0] + s.run([by_name[f"emb/{sfx}"] for sfx in OPTIMIZERS[name][2]])
            for k, ix in enumerate(indices):
                g = rng.uniform(-1, 1, (len(ix), 2))
                s.run(op, {vals: g, idx: ix})
                if name == "adam":
                    rows, summed = dedup(ix, g)
                    state = ref_adam_sparse([x.copy() for x in state], rows, summed, 0.9 ** (k + 1),
                                            0.999 ** (k + 1), 0.01, 0.9, 0.999, 1e-8)
                else:
                    state = ref_sparse(lambda x, gg: ref(x, gg, k), state, ix, g)
                got = s.run([w] + [by_name[f"emb/{sfx}"] for sfx in OPTIMIZERS[name][2]])
                _check(got, state, f"{name} sparse step {k}")


def test_adam_beta_powers_and_variables():
    with tf.Graph().as_default():
        w = tf.Variable(np.ones(2), name="w")
        a = tf.Variable(np.ones(2), name="a")
        opt = train.AdamOptimizer(0.1, beta1=0.8, beta2=0.95)
        op = opt.apply_gradients([(tf.constant(np.ones(2)), w), (tf.constant(np.ones(2)), a)])
        assert [v.op.name for v in opt.variables()] == ["a/Adam", "a/Adam_1", "beta1_power", "beta2_power",
                                                         "w/Adam", "w/Adam_1"]
        assert opt.get_name() == "Adam"
        b1p = [v for v in opt.variables() if v.op.name == "beta1_power"][0]
        assert not b1p.trainable and b1p.dtype == tf.float64 and b1p.shape.as_list() == []
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            for k in range(3):
                s.run(op)
                p1, p2 = s.run(opt.variables()[2:4])
                np.testing.assert_allclose([p1, p2], [0.8 ** (k + 2), 0.95 ** (k + 2)], rtol=1e-14)


def test_minimize_increments_global_step_and_matches_gradient_descent():
    rng = np.random.default_rng(2)
    x0, y0, w0 = rng.uniform(-1, 1, (1, 3)), np.array([[0.5]]), rng.uniform(-1, 1, (3, 1))
    with tf.Graph().as_default():
        assert train.get_global_step() is None
        gs = train.get_or_create_global_step()
        assert train.get_or_create_global_step() is gs and train.get_global_step() is gs
        assert gs.op.name == "global_step" and gs.dtype == tf.int64 and not gs.trainable
        assert gs in tf.get_collection(tf.GraphKeys.GLOBAL_STEP) and gs in tf.global_variables()
        with pytest.raises(ValueError, match="already exists"):
            train.create_global_step()
        w = tf.Variable(w0, name="w")
        x = tf.constant(x0)
        err = tf.matmul(x, w) + tf.constant(-y0)  # (subtract's gradient needs `negative`, not built here)
        loss = err * err
        op = train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            assert train.global_step(s, gs) == 0
            want = w0.copy()
            for k in range(3):
                s.run(op)
                want = want - 0.1 * 2 * (x0 @ want - y0) * x0.T
                assert train.global_step(s, gs) == k + 1
                np.testing.assert_allclose(s.run(w), want, rtol=1e-12)


def test_learning_rate_tensor_is_cast_to_var_dtype():
    with tf.Graph().as_default():
        w = tf.Variable(np.array([1.0, 2.0]), name="w")
        lr = tf.placeholder(tf.float32, [])
        op = train.MomentumOptimizer(lr, 0.5).apply_gradients([(tf.constant(np.array([1.0, -1.0])), w)])
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            s.run(op, {lr: 0.25})
            s.run(op, {lr: 0.5})
            # accum: g, then 1.5 g; var -= 0.25 g, then 0.5 * 1.5 g
            np.testing.assert_allclose(s.run(w), [1.0 - 0.25 - 0.75, 2.0 + 0.25 + 0.75], rtol=1e-12)


def test_compute_gradients_and_none_gradients():
    with tf.Graph().as_default():
        w = tf.Variable(np.array([1.0, 2.0]), name="w")
        unused = tf.Variable(np.array([3.0]), name="unused")
        loss = tf.relu(w * tf.constant(np.array([2.0, 3.0])))
        opt = train.GradientDescentOptimizer(0.5)
        pairs = opt.compute_gradients(loss, gate_gradients=train.Optimizer.GATE_GRAPH)
        assert [v for _, v in pairs] == [w, unused] and pairs[1][0] is None
        op = opt.apply_gradients(pairs)  # the None gradient is skipped
        with pytest.raises(ValueError, match="No gradients provided for any variable"):
            opt.apply_gradients([(None, w)])
        with pytest.raises(ValueError, match="No gradients provided for any variable"):
            opt.minimize(loss, var_list=[unused])
        with pytest.raises(TypeError, match="not a Variable"):
            opt.apply_gradients([(tf.constant(np.ones(2)), loss)])
        with pytest.raises(ValueError, match="No variables to optimize"):
            opt.compute_gradients(loss, var_list=[])
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            np.testing.assert_allclose(s.run(pairs[0][0]), [2.0, 3.0])
            s.run(op)
            np.testing.assert_allclose(s.run(w), [0.0, 0.5])
            np.testing.assert_allclose(s.run(unused), [3.0])


def test_uninitialized_slot_fails_and_bad_hyperparameters_raise():
    with tf.Graph().as_default():
        w = tf.Variable(np.zeros(2), name="w")
        opt = train.AdagradOptimizer(0.1)
        op = opt.apply_gradients([(tf.constant(np.ones(2)), w)])
        with tf.Session() as s:
            s.run(w.initializer)
            with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value w/Adagrad"):
                s.run(op)
    with pytest.raises(ValueError, match="initial_accumulator_value must be positive"):
        train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
    with pytest.raises(ValueError, match="learning_rate_power"):
        train.FtrlOptimizer(0.1, learning_rate_power=0.5)
    with pytest.raises(ValueError, match="l1_regularization_strength"):
        train.FtrlOptimizer(0.1, l1_regularization_strength=-1.0)


def test_float32_model_and_slot_names_with_custom_ftrl_names():
    with tf.Graph().as_default():
        w = tf.Variable(np.array([[0.5, -0.5]], np.float32), name="layer/kernel")
        opt = train.FtrlOptimizer(0.1, accum_name="acc", linear_name="lin")
        op = opt.apply_gradients([(tf.constant(np.array([[1.0, 2.0]], np.float32)), w)])
        assert opt.get_slot(w, "accum").op.name == "layer/kernel/acc"
        assert opt.get_slot(w, "linear").op.name == "layer/kernel/lin"
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            s.run(op)
            got = s.run([w, opt.get_slot(w, "accum"), opt.get_slot(w, "linear")])
            want = ref_ftrl([np.array([[0.5, -0.5]]), np.full((1, 2), 0.1), np.zeros((1, 2))],
                            np.array([[1.0, 2.0]]), 0.1, 0.0, 0.0, 0.0, -0.5)
            for a, b in zip(got, want):
                assert a.dtype == np.float32
                np.testing.assert_allclose(a, b, rtol=1e-5)
