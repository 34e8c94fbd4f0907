"""The Estimator contract: train/evaluate/predict, checkpoints, summaries, hooks, resume."""
import glob
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import nestor as tf

HERE = os.path.dirname(os.path.abspath(__file__))


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -1.0, 0.5], np.float32) > 0).astype(np.int64)
    return x, y


def _model_fn(features, labels, mode, params):
    params["calls"].append(mode)
    logits = tf.layers.dense(tf.layers.dense(features["x"], 8, activation=tf.nn.relu), 2)
    classes = tf.argmax(logits, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"classes": classes, "logits": logits})
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    acc = tf.metrics.accuracy(labels, classes)
    tf.summary.scalar("train_accuracy", acc[1])
    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops={"accuracy": acc})
    train_op = tf.train.AdagradOptimizer(0.3).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def _est(tmp_path, **cfg):
    calls = []
    config = tf.estimator.RunConfig(tf_random_seed=7, **cfg)
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / "model"), config=config,
                                 params={"calls": calls})
    return est, calls


def _train_input(x, y, batch=32, repeat=True):
    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).shuffle(256, seed=1)
        return (ds.repeat() if repeat else ds).batch(batch)
    return input_fn


def _eval_input(x, y, batch=64):
    return lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(batch)


def test_a_shared_session_config_is_not_changed_by_the_estimators_using_it(tmp_path):
    """RunConfig's device goes into each Estimator's own copy of a session_config without a
    device: the caller's object keeps its settings, so a second Estimator reads what the
    caller wrote, not the first one's device."""
    shared = tf.ConfigProto(intra_op_parallelism_threads=1)
    x, y = _data()
    results = []
    for i in range(2):
        config = tf.estimator.RunConfig(tf_random_seed=7, session_config=shared, device="cpu")
        est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / f"m{i}"), config=config,
                                     params={"calls": []})
        est.train(_train_input(x, y), steps=3)
        results.append(next(est.predict(_eval_input(x, y)))["logits"])
        assert shared.device is None and shared.intra_op_parallelism_threads == 1
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)  # same seed, same data, same settings


def test_train_evaluate_predict(tmp_path):
    x, y = _data()
    est, calls = _est(tmp_path, save_checkpoints_steps=50)
    est.train(_train_input(x, y), steps=200)
    res = est.evaluate(_eval_input(x, y))
    assert set(res) == {"accuracy", "loss", "global_step"}
    assert res["global_step"] == 200
    assert res["accuracy"] > 0.9
    # evaluate agrees with a NumPy computation from the checkpoint's weights
    w = {n: est.get_variable_value(n) for n in est.get_variable_names()}
    h = np.maximum(x @ w["dense/kernel"] + w["dense/bias"], 0)
    logits = h @ w["dense_1/kernel"] + w["dense_1/bias"]
    np.testing.assert_allclose(res["accuracy"], np.mean(np.argmax(logits, 1) == y), rtol=1e-6)
    z = logits - logits.max(1, keepdims=True)
    xent = np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]
    np.testing.assert_allclose(res["loss"], xent.mean(), rtol=1e-4)
    preds = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": x[:5]}).batch(2)))
    assert len(preds) == 5 and set(preds[0]) == {"classes", "logits"}
    np.testing.assert_allclose(np.stack([p["logits"] for p in preds]), logits[:5], rtol=1e-5, atol=1e-6)
    batches = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": x[:5]}).batch(2),
                               predict_keys=["classes"], yield_single_examples=False))
    assert [b["classes"].shape for b in batches] == [(2,), (2,), (1,)]


def test_repeated_evaluate_and_predict_reuse_graph_and_checkpoint(tmp_path):
    x, y = _data()
    est, calls = _est(tmp_path)
    est.train(_train_input(x, y), steps=20)
    n_before = len(calls)
    r1 = est.evaluate(_eval_input(x, y))
    r2 = est.evaluate(_eval_input(x, y))
    list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": x}).batch(64)))
    list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": x}).batch(64)))
    assert calls[n_before:] == ["eval", "infer"]  # model_fn built once per mode
    assert r1 == r2
    est.train(_train_input(x, y), steps=5)  # new checkpoint -> evaluate reloads it
    assert est.evaluate(_eval_input(x, y))["global_step"] == 25


def test_checkpoints_retention_and_steps_semantics(tmp_path):
    x, y = _data()
    est, _ = _est(tmp_path, save_checkpoints_steps=10, keep_checkpoint_max=2)
    est.train(_train_input(x, y), steps=35)
    files = sorted(os.path.basename(p) for p in glob.glob(str(tmp_path / "model" / "model.ckpt-*.safetensors")))
    assert files == ["model.ckpt-30.safetensors", "model.ckpt-35.safetensors"]
    assert est.latest_checkpoint().endswith("model.ckpt-35")
    est.train(_train_input(x, y), max_steps=40)  # absolute
    assert int(est.get_variable_value("global_step")) == 40
    est.train(_train_input(x, y), max_steps=40)  # already there: skipped
    assert int(est.get_variable_value("global_step")) == 40
    est.train(_train_input(x, y), steps=3)  # relative
    assert int(est.get_variable_value("global_step")) == 43
    with pytest.raises(ValueError, match="both steps and max_steps"):
        est.train(_train_input(x, y), steps=1, max_steps=2)


def test_first_checkpoint_at_step_zero(tmp_path):
    x, y = _data()

    class Listener(tf.estimator.CheckpointSaverListener):
        def __init__(self):
            self.saved = []

        def after_save(self, session, global_step_value):
            self.saved.append(global_step_value)

    est, _ = _est(tmp_path, save_checkpoints_steps=10)
    lis = Listener()
    est.train(_train_input(x, y), steps=25, saving_listeners=[lis])
    assert lis.saved[0] == 0 and lis.saved[-1] == 25 and 10 in lis.saved and 20 in lis.saved


def test_end_of_input_ends_training(tmp_path):
    x, y = _data(96)
    est, _ = _est(tmp_path)
    est.train(_train_input(x, y, batch=32, repeat=False))
    assert int(est.get_variable_value("global_step")) == 3


def test_same_seed_same_data_identical_variables(tmp_path):
    x, y = _data()
    values = []
    for i in range(2):
        est, _ = _est(tmp_path / str(i))
        est.train(_train_input(x, y), steps=30)
        values.append({n: est.get_variable_value(n) for n in est.get_variable_names()})
    assert values[0].keys() == values[1].keys()
    for k in values[0]:
        np.testing.assert_array_equal(values[0][k], values[1][k])


def test_event_files_are_read_by_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    x, y = _data()
    est, _ = _est(tmp_path, save_summary_steps=10, log_step_count_steps=10)
    est.train(_train_input(x, y), steps=30)
    res = est.evaluate(_eval_input(x, y), name="holdout")
    acc = EventAccumulator(str(tmp_path / "model"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"loss", "train_accuracy", "global_step/sec"} <= set(tags)
    assert [e.step for e in acc.Scalars("loss")][:3] == [1, 11, 21]  # as TensorFlow writes them
    ev = EventAccumulator(est.eval_dir("holdout"))
    ev.Reload()
    assert {"accuracy", "loss"} <= set(ev.Tags()["scalars"])
    (e,) = ev.Scalars("accuracy")
    assert e.step == 30 and abs(e.value - res["accuracy"]) < 1e-6
    for f in glob.glob(str(tmp_path / "model" / "**" / "events.out.tfevents.*"), recursive=True):
        EventAccumulator(f).Reload()  # every file parses


def test_nan_loss_raises(tmp_path):
    def model_fn(features, labels, mode):
        w = tf.Variable(1.0)
        loss = tf.reduce_mean(features["x"]) * w / tf.constant(0.0)
        train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss * 0.0 / 0.0, train_op=train_op)
    x, y = _data()
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    with pytest.raises(tf.estimator.NanLossDuringTrainingError):
        est.train(_train_input(x, y), steps=5)


def test_model_fn_and_input_fn_arguments(tmp_path):
    seen = {}

    def input_fn(params, mode, config):
        seen["input"] = (params["k"], mode, config.model_dir)
        x, y = _data(64)
        return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(16)

    def model_fn(features, labels, mode, config, params):
        seen["model"] = (params["k"], config.model_dir)
        w = tf.get_variable("w", [3, 1])
        loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], w)))
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=tf.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=tf.train.get_global_step()))

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path), params={"k": 3})
    est.train(input_fn, steps=2)
    assert seen["input"] == (3, "train", str(tmp_path)) and seen["model"] == (3, str(tmp_path))
    with pytest.raises(ValueError, match="params"):
        tf.estimator.Estimator(lambda features, labels: None, params={"a": 1})
    with pytest.raises(ValueError, match="features"):
        tf.estimator.Estimator(lambda x, labels: None)
    with pytest.raises(ValueError, match="TRAIN mode needs a train_op"):
        tf.estimator.EstimatorSpec(tf.estimator.ModeKeys.TRAIN, loss=tf.constant(1.0))


def test_run_config_defaults_and_replace():
    c = tf.estimator.RunConfig()
    assert (c.save_checkpoints_secs, c.save_checkpoints_steps, c.keep_checkpoint_max, c.save_summary_steps,
            c.log_step_count_steps) == (600, None, 5, 100, 100)
    c2 = c.replace(save_checkpoints_steps=10)
    assert (c2.save_checkpoints_secs, c2.save_checkpoints_steps) == (None, 10)
    with pytest.raises(ValueError):
        tf.estimator.RunConfig(save_checkpoints_steps=1, save_checkpoints_secs=1)
    with pytest.raises(ValueError, match="not allowed"):
        c.replace(is_chief=False)


def test_user_hook_protocol_order(tmp_path):
    events = []

    class Rec(tf.estimator.SessionRunHook):
        def begin(self):
            events.append("begin")

        def after_create_session(self, session, coord):
            events.append("create")

        def before_run(self, run_context):
            events.append("before")
            return tf.estimator.SessionRunArgs(tf.train.get_global_step())

        def after_run(self, run_context, run_values):
            events.append(("after", int(run_values.results)))
            if run_values.results >= 3:
                run_context.request_stop()

        def end(self, session):
            events.append("end")

    x, y = _data()
    est, _ = _est(tmp_path)
    est.train(_train_input(x, y), steps=10, hooks=[Rec()])
    assert events == ["begin", "create", "before", ("after", 1), "before", ("after", 2), "before", ("after", 3),
                      "end"]


def test_train_and_evaluate_local(tmp_path):
    x, y = _data()
    est, _ = _est(tmp_path, save_checkpoints_steps=20)
    metrics, exports = tf.estimator.train_and_evaluate(
        est, tf.estimator.TrainSpec(_train_input(x, y), max_steps=60),
        tf.estimator.EvalSpec(_eval_input(x, y), steps=None, throttle_secs=0))
    assert metrics["global_step"] == 60 and metrics["accuracy"] > 0.8 and exports == []


def test_warm_start(tmp_path):
    x, y = _data()
    est, _ = _est(tmp_path / "a")
    est.train(_train_input(x, y), steps=20)
    calls = []
    est2 = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / "b"), params={"calls": calls},
                                  warm_start_from=tf.estimator.WarmStartSettings(est.model_dir, "dense/.*"))
    est2.train(_train_input(x, y), steps=1, hooks=[_Capture(est.get_variable_value("dense/kernel"))])


class _Capture(tf.estimator.SessionRunHook):
    def __init__(self, want):
        self.want = want

    def after_create_session(self, session, coord):
        got = session.run(session.graph.get_tensor_by_name("dense/kernel:0"))
        np.testing.assert_array_equal(got, self.want)


def test_kill_and_resume(tmp_path):
    """SIGKILL a training process at random moments: every checkpoint left loads, each
    restart starts from exactly the latest checkpoint's variables, and the run ends at max_steps."""
    from safetensors.numpy import load_file
    model_dir, rec = tmp_path / "m", tmp_path / "rec"
    rec.mkdir()
    prog = os.path.join(HERE, "estimator_progs", "killable_train.py")
    env = dict(os.environ)
    rnd = random.Random(1234)
    restarts = 0
    for attempt in range(12):
        before = tf.latest_checkpoint(str(model_dir)) if model_dir.exists() else None
        proc = subprocess.Popen([sys.executable, prog, "--model_dir", str(model_dir), "--max_steps", "3000",
                                 "--record_dir", str(rec)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, text=True)
        started = None
        line = proc.stdout.readline()
        while line and not line.startswith(("START", "DONE")):
            line = proc.stdout.readline()
        if line.startswith("START"):
            started = int(line.split()[1])
            restarts += 1
            expected = load_file(before + ".safetensors") if before else None
            if expected is not None:
                got_files = glob.glob(str(rec / f"start-{started}-{proc.pid}.safetensors"))
                assert got_files, "the restarted process did not record its start"
                got = load_file(got_files[0])
                assert started == int(expected["global_step"])
                for k, v in expected.items():
                    np.testing.assert_array_equal(got[k], v, err_msg=k)
        if attempt < 8:
            time.sleep(rnd.uniform(0.05, 0.8))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            # whatever the moment, the file set is consistent: every retained checkpoint loads
            if (model_dir / "checkpoint").exists():
                state = json.loads((model_dir / "checkpoint").read_text())
                for p in state["all_model_checkpoint_paths"]:
                    load_file(str(model_dir / p) + ".safetensors")
            continue
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        if "DONE 3000" in out or "DONE 3000" in line:
            break
    assert int(tf.checkpoint.load_variable(str(model_dir), "global_step")) == 3000
    assert restarts >= 3
