"""tf.compat.v1.train.Scaffold in an EstimatorSpec: init_fn(scaffold, session) runs once in a fresh
model (not when a checkpoint is restored), after init_op with init_feed_dict; the saver saves and
restores; summary_op is what training writes; local_init_op runs with local_init_feed_dict. Model
values are checked against float64 gradient descent computed here."""
import os

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import nestor as tf
from nestor import summary as tfs

X = np.array([[0.5], [1.0], [-1.5], [2.0]], np.float32)
Y = np.array([[1.0], [2.5], [-2.0], [3.0]], np.float32)
LR = 0.05


@pytest.fixture(autouse=True)
def _close_writers():
    yield
    tfs.FileWriterCache.clear()


def gd(w0, steps):
    """w after `steps` steps of gradient descent on mean((x*w - y)^2), float64."""
    x, y, w = X.astype(np.float64)[:, 0], Y.astype(np.float64)[:, 0], float(w0)
    for _ in range(steps):
        w -= LR * np.mean(2 * (x * w - y) * x)
    return w


def loss_at(w):
    return np.mean((X.astype(np.float64)[:, 0] * w - Y[:, 0]) ** 2)


def _input():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(4).repeat()


def _make_model_fn(scaffold_fn):
    """A model_fn y = x*w whose EstimatorSpec carries scaffold_fn(w, loss) (called in the graph)."""
    def model_fn(features, labels, mode):
        w = tf.compat.v1.get_variable("w", [], initializer=tf.compat.v1.zeros_initializer())
        pred = features["x"] * w
        extra = {}
        scaffold = scaffold_fn(w, pred, extra)
        pred = pred + extra.get("offset", 0.0)
        if mode == tf.estimator.ModeKeys.PREDICT:
            return tf.estimator.EstimatorSpec(mode, predictions={"y": pred}, scaffold=scaffold)
        loss = tf.reduce_mean(tf.square(pred - labels))
        train_op = tf.train.GradientDescentOptimizer(LR).minimize(loss, global_step=tf.train.get_global_step())
        extra["loss"] = loss
        if "summary_fn" in extra:
            scaffold = extra["summary_fn"](loss)
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op, scaffold=scaffold)
    return model_fn


def _w(est):
    return float(est.get_variable_value("w"))


def test_init_fn_runs_on_fresh_model_only(tmp_path):
    calls = []

    def init_fn(scaffold, session):
        calls.append(scaffold)
        session.run(scaffold.my_assign)

    def scaffold_fn(w, pred, extra):
        s = tf.compat.v1.train.Scaffold(init_fn=init_fn)
        s.my_assign = tf.compat.v1.assign(w, 1.5)
        return s
    model_fn = _make_model_fn(scaffold_fn)
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    est.train(_input, steps=3)
    assert len(calls) == 1 and isinstance(calls[0], tf.compat.v1.train.Scaffold)
    np.testing.assert_allclose(_w(est), gd(1.5, 3), rtol=1e-5)  # training started from init_fn's value
    est.train(_input, steps=2)
    # A new Estimator on the same model_dir restores the checkpoint: init_fn is not called.
    est2 = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    est2.train(_input, steps=4)
    ev = est2.evaluate(lambda: tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(4))
    preds = [p["y"][0] for p in est2.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": X}).batch(4))]
    assert len(calls) == 1
    np.testing.assert_allclose(_w(est2), gd(1.5, 9), rtol=1e-5)
    np.testing.assert_allclose(ev["loss"], loss_at(gd(1.5, 9)), rtol=1e-5)
    np.testing.assert_allclose(preds, X[:, 0] * gd(1.5, 9), rtol=1e-5)
    # Evaluating a model that has no checkpoint initializes it: init_fn runs there too (as TF).
    fresh = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "fresh"))
    ev = fresh.evaluate(lambda: tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(4))
    assert len(calls) == 2
    np.testing.assert_allclose(ev["loss"], loss_at(1.5), rtol=1e-6)


def test_init_op_with_init_feed_dict(tmp_path):
    def scaffold_fn(w, pred, extra):
        value = tf.compat.v1.placeholder(tf.float32, [], name="w_init")
        init_op = tf.group(tf.compat.v1.assign(w, value * 2.0), tf.train.get_global_step().initializer)
        return tf.compat.v1.train.Scaffold(init_op=init_op, init_feed_dict={value: -0.75})
    est = tf.estimator.Estimator(_make_model_fn(scaffold_fn), model_dir=str(tmp_path))
    est.train(_input, steps=4)
    np.testing.assert_allclose(_w(est), gd(-1.5, 4), rtol=1e-5)


def test_custom_saver(tmp_path):
    def scaffold_fn(w, pred, extra):
        saver = tf.train.Saver(var_list={"renamed_w": w, "global_step": tf.train.get_global_step()}, max_to_keep=2)
        return tf.compat.v1.train.Scaffold(saver=saver)
    model_fn = _make_model_fn(scaffold_fn)
    cfg = tf.estimator.RunConfig(save_checkpoints_steps=1)  # keep_checkpoint_max stays 5
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path), config=cfg)
    est.train(_input, steps=6)
    state = tf.train.get_checkpoint_state(str(tmp_path))
    kept = [os.path.basename(p) for p in state["all_model_checkpoint_paths"]]
    assert kept == ["model.ckpt-5", "model.ckpt-6"]  # the scaffold saver's max_to_keep=2
    assert sorted(est.get_variable_names()) == ["global_step", "renamed_w"]
    np.testing.assert_allclose(float(est.get_variable_value("renamed_w")), gd(0.0, 6), rtol=1e-5)
    est2 = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path), config=cfg)  # restores with it
    est2.train(_input, steps=2)
    np.testing.assert_allclose(float(est2.get_variable_value("renamed_w")), gd(0.0, 8), rtol=1e-5)


def test_summary_op(tmp_path):
    def scaffold_fn(w, pred, extra):
        extra["summary_fn"] = lambda loss: tf.compat.v1.train.Scaffold(
            summary_op=tf.summary.scalar("twice_loss", loss * 2.0))
        return None
    cfg = tf.estimator.RunConfig(save_summary_steps=2)
    est = tf.estimator.Estimator(_make_model_fn(scaffold_fn), model_dir=str(tmp_path), config=cfg)
    est.train(_input, steps=5)
    tfs.FileWriterCache.clear()
    acc = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "twice_loss" in tags and "loss" not in tags  # only the scaffold's summary_op is written
    events = acc.Scalars("twice_loss")
    assert [e.step for e in events] == [1, 3, 5]
    for e in events:  # computed in the step that ended at e.step, from w before that step
        np.testing.assert_allclose(e.value, 2 * loss_at(gd(0.0, e.step - 1)), rtol=1e-5)


def test_local_init_op_with_feed_dict(tmp_path):
    def scaffold_fn(w, pred, extra):
        offset = tf.Variable(0.0, trainable=False, name="offset",
                             collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])
        value = tf.compat.v1.placeholder(tf.float32, [], name="offset_value")
        extra["offset"] = offset
        return tf.compat.v1.train.Scaffold(local_init_op=tf.compat.v1.assign(offset, value),
                                           local_init_feed_dict={value: 10.0})
    est = tf.estimator.Estimator(_make_model_fn(scaffold_fn), model_dir=str(tmp_path))
    est.train(_input, steps=2)
    w = _w(est)
    preds = [p["y"][0] for p in est.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": X}).batch(4))]
    np.testing.assert_allclose(preds, X[:, 0] * w + 10.0, rtol=1e-5)
    # training saw the offset too: its gradient steps are those of x*w + 10
    x, y, w64 = X.astype(np.float64)[:, 0], Y.astype(np.float64)[:, 0], 0.0
    for _ in range(2):
        w64 -= LR * np.mean(2 * (x * w64 + 10.0 - y) * x)
    np.testing.assert_allclose(w, w64, rtol=1e-5)


def test_scaffold_api():
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        fn = lambda scaffold, session: None  # noqa: E731
        base = tf.compat.v1.train.Scaffold(init_fn=fn, init_feed_dict={"a": 1}, summary_op=None)
        copy = tf.compat.v1.train.Scaffold(copy_from_scaffold=base, local_init_feed_dict={"b": 2})
        assert copy.init_feed_dict == {"a": 1} and copy.local_init_feed_dict == {"b": 2}
        assert copy.init_fn is not None and copy.init_fn is not base.init_fn
        scaffold = tf.train.Scaffold().finalize()
        assert scaffold.init_op is tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.INIT_OP)[0]
        assert isinstance(scaffold.saver, tf.train.Saver)
        assert scaffold.ready_op is None and scaffold.summary_op is None  # no summaries in this graph
        with tf.compat.v1.Session() as sess:
            sess.run(scaffold.init_op)
            assert sess.run(v) == 1.0
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.SAVERS, tf.train.Saver())
        with pytest.raises(RuntimeError, match='More than one item in the collection "savers"'):
            tf.train.Scaffold().finalize()
    with pytest.raises(TypeError, match="copy_from_scaffold is not a Scaffold instance"):
        tf.train.Scaffold(copy_from_scaffold=object())
    with pytest.raises(TypeError, match="init_fn must be callable"):
        tf.train.Scaffold(init_fn=3)
    with tf.Graph().as_default():
        loss = tf.constant(1.0)
        with pytest.raises(TypeError, match="scaffold must be tf.train.Scaffold"):
            tf.estimator.EstimatorSpec("eval", loss=loss, scaffold=object())
        assert isinstance(tf.estimator.EstimatorSpec("eval", loss=loss).scaffold, tf.train.Scaffold)
