"""tf.estimator.experimental.make_stop_at_checkpoint_step_hook: the chief gets StopAtStepHook and
stops at last_step; another worker keeps training until a checkpoint at last_step or later
appears in model_dir (written here by a hook standing in for the chief), reading the directory
only once its own step reached last_step and sleeping wait_after_file_check_secs after each
read that finds an older checkpoint."""
import os

import numpy as np
import pytest

import nestor as tf
from nestor.estimator import checkpoint_step_hook as csh

X = np.arange(8, dtype=np.float32).reshape(-1, 1) / 8


class WorkerConfig(tf.estimator.RunConfig):
    """A RunConfig of a non-chief worker (nestor's own RunConfig is always the chief)."""

    is_chief = property(lambda self: False)


def _model_fn(features, labels, mode):
    w = tf.compat.v1.get_variable("w", [1, 1], initializer=tf.compat.v1.zeros_initializer())
    loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], w) - labels))
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def _input():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, X * 2)).batch(2).repeat()


class ChiefWrites(tf.estimator.SessionRunHook):
    """After the worker's step `at`, writes a checkpoint `model.ckpt-<as_step>`, as a chief would."""

    def __init__(self, model_dir, at, as_step):
        self._prefix, self._at, self._as_step = os.path.join(model_dir, "model.ckpt"), at, as_step

    def begin(self):
        self._gs = tf.train.get_global_step()
        self._saver = tf.train.Saver()

    def before_run(self, run_context):
        return tf.estimator.SessionRunArgs(self._gs)

    def after_run(self, run_context, run_values):
        if int(run_context.session.run(self._gs)) == self._at:
            self._saver.save(run_context.session, self._prefix, global_step=self._as_step)


@pytest.fixture
def sleeps(monkeypatch):
    calls = []
    monkeypatch.setattr(csh.time, "sleep", lambda s: calls.append(s))
    return calls


def _estimator(model_dir, config_cls=tf.estimator.RunConfig):
    cfg = config_cls(save_checkpoints_steps=None, save_checkpoints_secs=None)
    return tf.estimator.Estimator(_model_fn, model_dir=str(model_dir), config=cfg)


def test_chief_gets_stop_at_step_hook(tmp_path, sleeps):
    est = _estimator(tmp_path)
    hook = tf.estimator.experimental.make_stop_at_checkpoint_step_hook(est, 7)
    assert isinstance(hook, tf.estimator.StopAtStepHook)
    est.train(_input, hooks=[hook])
    assert int(est.get_variable_value("global_step")) == 7
    assert sleeps == []


@pytest.mark.parametrize("wait", [0, 2.5])
def test_worker_stops_once_checkpoint_reaches_last_step(tmp_path, sleeps, wait):
    est = _estimator(tmp_path, WorkerConfig)
    hook = tf.estimator.experimental.make_stop_at_checkpoint_step_hook(est, 5, wait_after_file_check_secs=wait)
    assert not isinstance(hook, tf.estimator.StopAtStepHook)
    # no checkpoint while the worker runs steps 1..8; at step 8 the "chief" writes step 12
    est.train(_input, hooks=[hook, ChiefWrites(str(tmp_path), at=8, as_step=12)], steps=50)
    # checked (and slept) after steps 5, 6, 7, 8; at step 9 it finds checkpoint 12 and stops
    assert sleeps == [wait] * 4
    assert int(tf.train.load_variable(est.latest_checkpoint(), "global_step")) == 9


def test_worker_with_checkpoint_already_past_last_step(tmp_path, sleeps):
    chief = _estimator(tmp_path)
    chief.train(_input, steps=6)  # model_dir holds model.ckpt-6
    worker = _estimator(tmp_path, WorkerConfig)
    hook = tf.estimator.experimental.make_stop_at_checkpoint_step_hook(worker, 4, wait_after_file_check_secs=1)
    worker.train(_input, hooks=[hook], steps=20)
    # its step 7 is past last_step, and checkpoint 6 >= 4: stops after one step, no wait
    assert int(worker.get_variable_value("global_step")) == 7
    assert sleeps == []


def test_worker_never_stops_without_checkpoint(tmp_path, sleeps):
    est = _estimator(tmp_path, WorkerConfig)
    hook = tf.estimator.experimental.make_stop_at_checkpoint_step_hook(est, 3, wait_after_file_check_secs=0.5)
    est.train(_input, hooks=[hook], steps=10)  # other hooks end the training
    assert int(est.get_variable_value("global_step")) == 10
    assert sleeps == [0.5] * 8  # steps 3..10


def test_errors(tmp_path):
    est = _estimator(tmp_path)
    make = tf.estimator.experimental.make_stop_at_checkpoint_step_hook
    with pytest.raises(ValueError, match="last_step must be an integer"):
        make(est, None)
    with pytest.raises(ValueError, match="last_step must be an integer"):
        make(est, 2.5)
    with pytest.raises(ValueError, match="wait_after_file_check_secs must be a number >= 0"):
        make(est, 3, wait_after_file_check_secs=-1)


def test_log_step_count_steps_none_logs_no_loss(tmp_path, caplog):
    """RunConfig(log_step_count_steps=None) (as workers are often configured) trains without the
    loss-logging and step-counter hooks, as TensorFlow's Estimator."""
    import logging
    caplog.set_level(logging.INFO, logger="nestor")
    for every, want in ((None, 0), (2, 3)):
        caplog.clear()
        cfg = tf.estimator.RunConfig(log_step_count_steps=every)
        est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / str(every)), config=cfg)
        est.train(_input, steps=5)
        lines = [r.getMessage() for r in caplog.records if r.name == "nestor" and r.getMessage().startswith("loss")]
        assert len(lines) == want  # steps 1, 3, 5 when logging every 2 steps
        assert int(est.get_variable_value("global_step")) == 5
