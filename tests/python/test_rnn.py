"""tf.nn.rnn_cell cells, static_rnn / dynamic_rnn / bidirectional_dynamic_rnn against NumPy float64
references (with the variables' values read back from the session), gradients by finite
differences, an Estimator with an RNN model_fn, and the error messages."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import nestor as tf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ops"))
from harness import check_op  # noqa: E402

rc = tf.nn.rnn_cell


# ---------------------------------------------------------------- NumPy references
def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def basic_rnn_step(v, x, h):
    out = np.tanh(np.concatenate([x, h], 1) @ v["kernel"] + v["bias"])
    return out, out


def gru_step(v, x, h):
    ru = sig(np.concatenate([x, h], 1) @ v["gates/kernel"] + v["gates/bias"])
    r, u = np.split(ru, 2, axis=1)
    c = np.tanh(np.concatenate([x, r * h], 1) @ v["candidate/kernel"] + v["candidate/bias"])
    new = u * h + (1 - u) * c
    return new, new


def lstm_step(v, x, state, forget_bias=1.0, peep=False, cell_clip=None, proj=False, proj_clip=None):
    c, h = state
    i, j, f, o = np.split(np.concatenate([x, h], 1) @ v["kernel"] + v["bias"], 4, axis=1)
    if peep:
        c = sig(f + forget_bias + v["w_f_diag"] * c) * c + sig(i + v["w_i_diag"] * c) * np.tanh(j)
    else:
        c = sig(f + forget_bias) * c + sig(i) * np.tanh(j)
    if cell_clip is not None:
        c = np.clip(c, -cell_clip, cell_clip)
    m = (sig(o + v["w_o_diag"] * c) if peep else sig(o)) * np.tanh(c)
    if proj:
        m = m @ v["projection/kernel"]
        if proj_clip is not None:
            m = np.clip(m, -proj_clip, proj_clip)
    return m, (c, m)


def run_seq(step, xs, state, seq=None):
    """Unrolls `step(x_t, state)` over xs [B, T, D] with TF's copy-through semantics."""
    outs = []
    for t in range(xs.shape[1]):
        o, ns = step(xs[:, t], state)
        if seq is not None:
            done = (t >= np.asarray(seq))[:, None]
            o = np.where(done, 0.0, o)
            if isinstance(ns, tuple):
                ns = tuple(np.where(done, a, b) for a, b in zip(state, ns))
            else:
                ns = np.where(done, state, ns)
        outs.append(o)
        state = ns
    return np.stack(outs, 1), state


def reverse_seq(xs, seq):
    out = xs.copy()
    for b, n in enumerate(seq):
        out[b, :n] = xs[b, :n][::-1]
    return out


def values(sess, prefix):
    """{short name: value} of the variables under `prefix/` (name relative to it)."""
    vs = [v for v in tf.global_variables() if v.op.name.startswith(prefix + "/")]
    return {v.op.name[len(prefix) + 1:]: val for v, val in zip(vs, sess.run(vs))}


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


CELLS = {
    "basic_rnn": (lambda: rc.BasicRNNCell(3), "basic_rnn_cell", lambda v, B: np.zeros((B, 3)), basic_rnn_step),
    "gru": (lambda: rc.GRUCell(3), "gru_cell", lambda v, B: np.zeros((B, 3)), gru_step),
    "basic_lstm": (lambda: rc.BasicLSTMCell(3, forget_bias=0.7), "basic_lstm_cell",
                   lambda v, B: (np.zeros((B, 3)), np.zeros((B, 3))),
                   lambda v, x, s: lstm_step(v, x, s, forget_bias=0.7)),
    "lstm_full": (lambda: rc.LSTMCell(4, use_peepholes=True, cell_clip=0.3, num_proj=3, proj_clip=0.2),
                  "lstm_cell", lambda v, B: (np.zeros((B, 4)), np.zeros((B, 3))),
                  lambda v, x, s: lstm_step(v, x, s, peep=True, cell_clip=0.3, proj=True, proj_clip=0.2)),
}


def _flat_state(st):
    return list(st) if isinstance(st, tuple) else [st]


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("with_len", [False, True])
def test_dynamic_rnn_vs_numpy(kind, with_len):
    make, scope, zero, step = CELLS[kind]
    x = _rand(3, 5, 2, seed=1)
    seq = [5, 2, 0] if with_len else None
    with tf.Graph().as_default():
        inp = tf.placeholder(tf.float64, [None, 5, 2])
        out, st = tf.nn.dynamic_rnn(make(), inp, sequence_length=seq, dtype=tf.float64)
        assert out.shape.as_list()[1:] == [5, 3]
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            v = values(s, "rnn/" + scope)
            got_out, got_st = s.run([out, _flat_state(st)], {inp: x})
    want_out, want_st = run_seq(lambda xt, sv: step(v, xt, sv), x, zero(v, 3), seq)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-10, atol=1e-12)
    for a, b in zip(got_st, _flat_state(want_st)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if with_len:  # zeros past the length, state frozen at the last valid step
        assert np.all(got_out[1, 2:] == 0) and np.all(got_out[2] == 0)
        np.testing.assert_array_equal(got_st[-1][2], 0.0)


def test_single_step_cell_call_and_state_sizes():
    x = _rand(2, 3)
    with tf.Graph().as_default():
        cell = rc.BasicLSTMCell(4, state_is_tuple=False)
        assert cell.state_size == 8 and cell.output_size == 4
        z = cell.zero_state(2, tf.float64)
        assert z.shape.as_list() == [2, 8]
        out, st = cell(tf.constant(x), z)
        assert st.shape.as_list() == [2, 8] and out.shape.as_list() == [2, 4]
        assert [v.op.name for v in cell.trainable_variables] == ["basic_lstm_cell/kernel", "basic_lstm_cell/bias"]
        lstm = rc.LSTMCell(3, num_proj=2)
        assert lstm.state_size == rc.LSTMStateTuple(3, 2) and lstm.output_size == 2
        b = tf.placeholder(tf.int32, [])
        zs = lstm.zero_state(b, tf.float32)
        assert isinstance(zs, rc.LSTMStateTuple) and zs.c.shape.as_list()[-1] == 3
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            v = values(s, "basic_lstm_cell")
            got_out, got_st, zc = s.run([out, st, zs.c], {b: 5})
    assert zc.shape == (5, 3) and not zc.any()
    m, (c, h) = lstm_step(v, x, (np.zeros((2, 4)), np.zeros((2, 4))))
    np.testing.assert_allclose(got_out, m, rtol=1e-12)
    np.testing.assert_allclose(got_st, np.concatenate([c, h], 1), rtol=1e-12)


def test_default_initializers_and_names():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4, 3])
        cell = rc.MultiRNNCell([rc.GRUCell(5), rc.LSTMCell(2, use_peepholes=True)])
        tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        names = [(v.op.name, v.shape.as_list()) for v in tf.global_variables()]
        assert names == [("rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel", [8, 10]),
                         ("rnn/multi_rnn_cell/cell_0/gru_cell/gates/bias", [10]),
                         ("rnn/multi_rnn_cell/cell_0/gru_cell/candidate/kernel", [8, 5]),
                         ("rnn/multi_rnn_cell/cell_0/gru_cell/candidate/bias", [5]),
                         ("rnn/multi_rnn_cell/cell_1/lstm_cell/kernel", [7, 8]),
                         ("rnn/multi_rnn_cell/cell_1/lstm_cell/bias", [8]),
                         ("rnn/multi_rnn_cell/cell_1/lstm_cell/w_f_diag", [2]),
                         ("rnn/multi_rnn_cell/cell_1/lstm_cell/w_i_diag", [2]),
                         ("rnn/multi_rnn_cell/cell_1/lstm_cell/w_o_diag", [2])]
        assert cell.trainable_variables == tf.trainable_variables()
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            v = values(s, "rnn/multi_rnn_cell")
    np.testing.assert_array_equal(v["cell_0/gru_cell/gates/bias"], 1.0)
    np.testing.assert_array_equal(v["cell_0/gru_cell/candidate/bias"], 0.0)
    np.testing.assert_array_equal(v["cell_1/lstm_cell/bias"], 0.0)
    k = v["cell_0/gru_cell/gates/kernel"]
    assert np.all(np.abs(k) <= np.sqrt(6.0 / (8 + 10))) and k.std() > 0  # glorot_uniform


def test_static_rnn_and_time_major_match_dynamic():
    x = _rand(2, 4, 3, seed=3)
    with tf.Graph().as_default():
        inp = tf.placeholder(tf.float64, [2, 4, 3])
        cell = rc.GRUCell(3)
        outs, st = tf.nn.static_rnn(cell, tf.unstack(inp, axis=1), sequence_length=[4, 1], dtype=tf.float64)
        assert isinstance(outs, list) and len(outs) == 4
        tm_out, tm_st = tf.nn.dynamic_rnn(cell, tf.transpose(inp, [1, 0, 2]), sequence_length=[4, 1],
                                          dtype=tf.float64, time_major=True)
        assert [v.op.name for v in tf.global_variables()][0] == "rnn/gru_cell/gates/kernel"
        assert len(tf.global_variables()) == 4  # the second call reuses the cell's variables
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            v = values(s, "rnn/gru_cell")
            a, sa, b, sb = s.run([outs, st, tm_out, tm_st], {inp: x})
    want, wst = run_seq(lambda xt, h: gru_step(v, xt, h), x, np.zeros((2, 3)), [4, 1])
    np.testing.assert_allclose(np.stack(a, 1), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.transpose(b, [1, 0, 2]), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sa, wst, rtol=1e-10)
    np.testing.assert_allclose(sb, wst, rtol=1e-10)


def test_multi_residual_and_initial_state():
    x = _rand(2, 3, 2, seed=4)
    h0 = _rand(2, 2, seed=5)
    with tf.Graph().as_default():
        inp = tf.placeholder(tf.float64, [None, 3, 2])
        cell = rc.MultiRNNCell([rc.ResidualWrapper(rc.BasicRNNCell(2)), rc.DropoutWrapper(rc.GRUCell(2))])
        init = (tf.constant(h0), cell.zero_state(tf.shape(inp)[0], tf.float64)[1])
        out, st = tf.nn.dynamic_rnn(cell, inp, initial_state=init, sequence_length=[3, 2])
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            v0 = values(s, "rnn/multi_rnn_cell/cell_0/basic_rnn_cell")
            v1 = values(s, "rnn/multi_rnn_cell/cell_1/gru_cell")
            got, (g0, g1) = s.run([out, st], {inp: x})

    def step(xt, state):
        o0, s0 = basic_rnn_step(v0, xt, state[0])
        o1, s1 = gru_step(v1, xt + o0, state[1])
        return o1, (s0, s1)
    want, (w0, w1) = run_seq(step, x, (h0, np.zeros((2, 2))), [3, 2])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g0, w0, rtol=1e-10)
    np.testing.assert_allclose(g1, w1, rtol=1e-10)


def test_bidirectional_dynamic_rnn_vs_numpy():
    x = _rand(3, 4, 2, seed=6)
    seq = [4, 2, 3]
    with tf.Graph().as_default():
        inp = tf.placeholder(tf.float64, [None, 4, 2])
        (of, ob), (sf, sb) = tf.nn.bidirectional_dynamic_rnn(rc.BasicLSTMCell(2), rc.GRUCell(3), inp,
                                                             sequence_length=seq, dtype=tf.float64)
        (nf, nb), _ = tf.nn.bidirectional_dynamic_rnn(rc.BasicRNNCell(2), rc.BasicRNNCell(2), inp,
                                                      dtype=tf.float64, scope="plain")
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            vf, vb = values(s, "bidirectional_rnn/fw/basic_lstm_cell"), values(s, "bidirectional_rnn/bw/gru_cell")
            pf, pb = values(s, "plain/fw/basic_rnn_cell"), values(s, "plain/bw/basic_rnn_cell")
            got = s.run([of, ob, list(sf), sb, nf, nb], {inp: x})
    wf, wsf = run_seq(lambda xt, st: lstm_step(vf, xt, st), x, (np.zeros((3, 2)),) * 2, seq)
    rb, wsb = run_seq(lambda xt, h: gru_step(vb, xt, h), reverse_seq(x, seq), np.zeros((3, 3)), seq)
    np.testing.assert_allclose(got[0], wf, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], reverse_seq(rb, seq), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[2], np.stack(wsf), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[3], wsb, rtol=1e-10, atol=1e-12)
    pnf, _ = run_seq(lambda xt, h: basic_rnn_step(pf, xt, h), x, np.zeros((3, 2)))
    pnb, _ = run_seq(lambda xt, h: basic_rnn_step(pb, xt, h), x[:, ::-1], np.zeros((3, 2)))
    np.testing.assert_allclose(got[4], pnf, rtol=1e-10)
    np.testing.assert_allclose(got[5], pnb[:, ::-1], rtol=1e-10)


class MyCell(rc.RNNCell):
    """A user cell creating its variable with tf.get_variable inside call (TF1 style)."""

    @property
    def state_size(self):
        return 2

    @property
    def output_size(self):
        return 2

    def call(self, inputs, state):
        w = tf.get_variable("w", [inputs.shape.as_list()[-1] + 2, 2], dtype=inputs.dtype)
        out = tf.tanh(tf.matmul(tf.concat([inputs, state], 1), w))
        return out, out


def test_custom_cell_with_get_variable_in_call():
    x = _rand(2, 3, 2, seed=9)
    with tf.Graph().as_default():
        inp = tf.placeholder(tf.float64, [None, 3, 2])
        out, st = tf.nn.dynamic_rnn(MyCell(), inp, dtype=tf.float64)
        assert [v.op.name for v in tf.global_variables()] == ["rnn/my_cell/w"]  # as TF 2.15
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            w = s.run(tf.global_variables()[0])
            got = s.run(out, {inp: x})
    want, _ = run_seq(lambda xt, h: basic_rnn_step({"kernel": w, "bias": 0.0}, xt, h), x, np.zeros((2, 2)))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_dropout_wrapper():
    x = np.ones((64, 3, 4))
    with tf.Graph().as_default():
        inp = tf.placeholder(tf.float64, [None, 3, 4])
        base = rc.BasicLSTMCell(4)
        ref_out, ref_st = tf.nn.dynamic_rnn(base, inp, dtype=tf.float64, scope="r")
        cell = rc.DropoutWrapper(base, output_keep_prob=0.5, seed=3)
        out, _ = tf.nn.dynamic_rnn(cell, inp, dtype=tf.float64, scope="r")
        one = rc.DropoutWrapper(base, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0)
        same, _ = tf.nn.dynamic_rnn(one, inp, dtype=tf.float64, scope="r")
        st_cell = rc.DropoutWrapper(base, state_keep_prob=0.5, seed=1)
        o1, s1 = st_cell(inp[:, 0], base.zero_state(64, tf.float64))
        var = rc.DropoutWrapper(base, output_keep_prob=0.5, variational_recurrent=True, dtype=tf.float64, seed=2)
        vout, _ = tf.nn.dynamic_rnn(var, inp, dtype=tf.float64, scope="r")
        assert len(tf.global_variables()) == 2
        r1, r1s = base(inp[:, 0], base.zero_state(64, tf.float64))
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            ref, got, got_same, c1, h1, rc1, rh1, gv = s.run([ref_out, out, same, s1.c, s1.h, r1s.c, r1s.h, vout],
                                                             {inp: x})
    np.testing.assert_array_equal(got_same, ref)
    kept = got != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(got[kept], 2 * ref[kept], rtol=1e-12)
    np.testing.assert_array_equal(c1, rc1)  # the LSTM memory c is never dropped
    assert np.all((h1 == 0) | np.isclose(h1, 2 * rh1)) and 0.3 < (h1 != 0).mean() < 0.7
    mask = gv != 0  # variational: the same mask at every step and batch row
    assert np.all(mask == mask[:1, :1])


@pytest.mark.parametrize("which", ["lstm_seq", "gru", "bidir", "lstm_full"])
def test_gradients_vs_finite_differences(which):
    """d(sum(w * outputs, w * final state))/d(inputs, kernel) against central differences."""
    x = _rand(2, 3, 2, seed=7)
    rng = np.random.default_rng(8)
    shapes = {"lstm_seq": (4, 8), "gru": (4, 4), "bidir": (4, 8), "lstm_full": (4, 12)}
    kernel = rng.uniform(-1, 1, shapes[which])

    def fn(inp, k):
        def getter(base, name, *a, **kw):
            if name.endswith("/kernel") and not any(p in name for p in ("candidate", "projection", "/bw/")):
                return k
            return tf.constant(rng_consts.setdefault(name, np.random.default_rng(len(name)).uniform(
                -0.5, 0.5, kw["shape"])))
        with tf.variable_scope("g", custom_getter=getter):
            if which == "lstm_seq":
                out, st = tf.nn.dynamic_rnn(rc.BasicLSTMCell(2), inp, sequence_length=[3, 1], dtype=tf.float64)
                return [out, st.c, st.h]
            if which == "gru":
                out, st = tf.nn.dynamic_rnn(rc.GRUCell(2), inp, dtype=tf.float64)
                return [out, st]
            if which == "lstm_full":
                out, st = tf.nn.dynamic_rnn(rc.LSTMCell(3, use_peepholes=True, cell_clip=0.9, num_proj=2), inp,
                                            sequence_length=[2, 3], dtype=tf.float64)
                return [out, st.c, st.h]
            (of, ob), (sf, sb) = tf.nn.bidirectional_dynamic_rnn(rc.BasicLSTMCell(2), rc.GRUCell(2), inp,
                                                                 sequence_length=[2, 3], dtype=tf.float64)
            return [of, ob, sf.h, sb]
    rng_consts: dict = {}
    check_op(fn, [x, kernel], grad=True, rtol=1e-6, grad_rtol=1e-5, grad_atol=1e-7)


def test_estimator_trains_on_a_memory_task(tmp_path):
    """Label = sign of the first step's value, read after 6 steps of noise; GRU + dense."""
    rng = np.random.default_rng(0)
    n, t = 512, 6
    x = rng.standard_normal((n, t, 1)).astype(np.float32)
    lengths = rng.integers(2, t + 1, n).astype(np.int32)
    y = (x[:, 0, 0] > 0).astype(np.int64)

    def model_fn(features, labels, mode):
        cell = rc.GRUCell(8)
        _, state = tf.nn.dynamic_rnn(cell, features["x"], sequence_length=features["len"], dtype=tf.float32)
        logits = tf.layers.dense(state, 2)
        loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
        if mode == tf.estimator.ModeKeys.EVAL:
            acc = tf.metrics.accuracy(labels, tf.argmax(logits, 1))
            return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={"accuracy": acc})
        train_op = tf.train.AdamOptimizer(0.05).minimize(loss, global_step=tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

    def input_fn(repeat):
        def fn():
            ds = tf.data.Dataset.from_tensor_slices(({"x": x, "len": lengths}, y))
            return (ds.shuffle(512, seed=1).repeat() if repeat else ds).batch(64)
        return fn
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path), config=tf.estimator.RunConfig(tf_random_seed=3))
    est.train(input_fn(True), steps=150)
    m = est.evaluate(input_fn(False))
    assert m["loss"] < 0.25 and m["accuracy"] > 0.9, m  # chance: loss ln 2 = 0.69, accuracy 0.5


# ---------------------------------------------------------------- errors
def test_errors():
    with tf.Graph().as_default():
        cell = rc.GRUCell(2)
        x = tf.placeholder(tf.float32, [None, None, 3], name="words")
        with pytest.raises(ValueError, match=r"time dimension \(axis 1\) of input words:0 with shape \(\?, \?, 3\) must be known"):
            tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        with pytest.raises(ValueError, match="time dimension"):
            tf.nn.bidirectional_dynamic_rnn(cell, rc.GRUCell(2), x, dtype=tf.float32)
        y = tf.placeholder(tf.float32, [None, 4, 3])
        with pytest.raises(ValueError, match="If there is no initial_state, you must give a dtype"):
            tf.nn.dynamic_rnn(cell, y)
        with pytest.raises(ValueError, match="rank at least 3"):
            tf.nn.dynamic_rnn(cell, tf.placeholder(tf.float32, [None, 3]), dtype=tf.float32)
        with pytest.raises(ValueError, match="depth of inputs"):
            tf.nn.dynamic_rnn(cell, tf.placeholder(tf.float32, [None, 4, None]), dtype=tf.float32)
        with pytest.raises(ValueError, match="sequence_length must be a vector"):
            tf.nn.dynamic_rnn(cell, y, sequence_length=[[1, 2]], dtype=tf.float32)
        with pytest.raises(TypeError, match="inputs must be a sequence"):
            tf.nn.static_rnn(cell, y, dtype=tf.float32)
        with pytest.raises(ValueError, match="inputs must not be empty"):
            tf.nn.static_rnn(cell, [], dtype=tf.float32)
        with pytest.raises(TypeError, match="not an RNNCell"):
            tf.nn.dynamic_rnn(lambda a, b: (a, b), y, dtype=tf.float32)
        with pytest.raises(ValueError, match="RNN cell only supports floating point inputs"):
            rc.BasicRNNCell(2)(tf.placeholder(tf.int32, [None, 3]), tf.zeros([1, 2], tf.int32))
        with pytest.raises(ValueError, match="expected ndim=2, found ndim=3"):
            rc.BasicRNNCell(2)(y, tf.zeros([1, 2]))
        with pytest.raises(NotImplementedError, match="partitioned"):
            rc.LSTMCell(2, num_unit_shards=2)
        with pytest.raises(ValueError, match="at least one cell"):
            rc.MultiRNNCell([])
        with pytest.raises(ValueError, match="state_is_tuple is not set"):
            rc.MultiRNNCell([rc.BasicLSTMCell(2)], state_is_tuple=False)
        with pytest.raises(ValueError, match="input_keep_prob must be between 0 and 1"):
            rc.DropoutWrapper(cell, input_keep_prob=1.5)
        with pytest.raises(ValueError, match="dtype must be provided"):
            rc.DropoutWrapper(cell, output_keep_prob=0.5, variational_recurrent=True)
        with pytest.raises(ValueError, match="compatible shapes"):
            tf.nn.dynamic_rnn(rc.ResidualWrapper(rc.GRUCell(5)), y, dtype=tf.float32, scope="res")
        with pytest.raises(NotImplementedError, match="Abstract method"):
            rc.RNNCell().state_size
