"""Early-stopping hooks, stop_at_checkpoint_step and tf.logging, driven by hook_harness's loop."""
import logging
import os
import struct
import subprocess
import sys
import types

import numpy as np
import pytest

import nestor as tf
from nestor import summary as tfs
from nestor.estimator import early_stopping as es
from nestor.estimator import hooks as H

import hook_harness as hh
from hook_harness import accumulate, nestor_messages, run_loop
# The harness's fixtures, used by name in this module's tests.
clock, model, _close_writers = hh.clock, hh.model, hh._close_writers


# ---------------------------------------------------------------- early stopping
class FakeEstimator:
    def __init__(self, model_dir):
        self.model_dir = str(model_dir)

    def eval_dir(self, name=None):
        return os.path.join(self.model_dir, "eval" if not name else "eval_" + name)


def _write_eval(est, metrics_by_step):
    w = tfs.FileWriter(est.eval_dir())
    for step, metrics in metrics_by_step.items():
        tfs.write_scalars(w, metrics, step=step)
    tfs.write_text(w, "checkpoint_path", "ignored", step=1)
    w.close()
    return w.event_file_path


def test_read_eval_metrics_and_torn_file(tmp_path):
    est = FakeEstimator(tmp_path)
    assert es.read_eval_metrics(est.eval_dir()) == {}
    path = _write_eval(est, {20: {"loss": 0.3}, 10: {"loss": 0.5, "accuracy": 0.7}})
    got = es.read_eval_metrics(est.eval_dir())
    assert list(got) == [10, 20]
    assert got == {10: {"loss": np.float32(0.5), "accuracy": np.float32(0.7)}, 20: {"loss": np.float32(0.3)}}
    acc = accumulate(est.eval_dir())  # the same values through TensorBoard's reader
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(20, np.float32(0.3)), (10, np.float32(0.5))]
    with open(path, "ab") as f:  # a torn record at the end is ignored with a warning
        f.write(struct.pack("<Q", 100) + b"\0\0")
    assert es.read_eval_metrics(est.eval_dir()) == got


@pytest.mark.parametrize("kind,arg,expect_stop", [
    ("higher", 0.8, True), ("higher", 0.95, False), ("lower", 0.25, True), ("lower", 0.1, False),
    ("no_increase", 20, True), ("no_increase", 31, False), ("no_decrease", 20, True), ("no_decrease", 21, False)])
def test_early_stopping_hooks(model, tmp_path, kind, arg, expect_stop):
    est = FakeEstimator(tmp_path)
    acc_values = {10: 0.5, 20: 0.9, 30: 0.85, 40: 0.7, 50: 0.88}
    loss_values = {10: 0.5, 20: 0.3, 30: 0.2, 40: 0.35, 50: 0.25}
    _write_eval(est, {s: {"accuracy": acc_values[s], "loss": loss_values[s]} for s in acc_values})
    metric = "loss" if kind in ("lower", "no_decrease") else "accuracy"
    fn = getattr(es, f"stop_if_{kind}_hook")
    hook = fn(est, metric, arg, min_steps=10, run_every_secs=None, run_every_steps=3)
    sess, driven = run_loop(model, [hook], max_steps=8)
    assert (driven == 1) == expect_stop and (driven == 8) != expect_stop
    if not expect_stop:
        assert hook.steps_until_next_request(8) == 1  # checked at global steps 1, 4, 7; next at 10


def test_make_early_stopping_hook_schedule_and_errors(model, tmp_path):
    calls = []
    hook = es.make_early_stopping_hook(FakeEstimator(tmp_path), lambda: calls.append(1) or len(calls) == 3,
                                       run_every_secs=None, run_every_steps=4)
    sess, driven = run_loop(model, [hook])
    assert calls == [1, 1, 1] and driven == 9 and sess.run(model["gs"]) == 9  # checked at 1, 5, 9
    with pytest.raises(TypeError, match="must have type `tf.estimator.Estimator`"):
        es.make_early_stopping_hook(object(), lambda: True)
    with pytest.raises(ValueError, match="Only one of `run_every_secs` and `run_every_steps`"):
        es.make_early_stopping_hook(FakeEstimator(tmp_path), lambda: True, run_every_secs=1, run_every_steps=1)
    with pytest.raises(TypeError, match="must be callable"):
        es.make_early_stopping_hook(FakeEstimator(tmp_path), None)


def test_stop_at_checkpoint_step_hook(model, tmp_path):
    est = FakeEstimator(tmp_path)
    est.config = types.SimpleNamespace(is_chief=False)  # a worker: it stops by the checkpoints the saver writes
    hooks = [H.CheckpointSaverHook(str(tmp_path), save_steps=2),
             tf.estimator.experimental.make_stop_at_checkpoint_step_hook(est, 4, 0)]
    sess, _ = run_loop(model, hooks)
    assert sess.run(model["gs"]) == 4


# ---------------------------------------------------------------- tf.logging
def test_logging_module_format_and_verbosity():
    code = ("import nestor.logging as L; L.info('hidden'); L.set_verbosity(L.INFO); "
            "L.info('loss = %s', 0.5); L.warn('w'); print(L.get_verbosity() == L.INFO)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["INFO:nestor:loss = 0.5", "WARNING:nestor:w"] and r.stdout == "True\n"


def test_logging_every_n_and_first_n(caplog):
    from nestor import logging as L
    caplog.set_level(logging.DEBUG, logger="nestor")
    for i in range(7):
        L.log_every_n(L.INFO, "every %d", 3, i)
        L.log_first_n(L.WARN, "first %d", 2, i)
    assert nestor_messages(caplog) == ["every 0", "first 0", "first 1", "every 3", "every 6"]
    assert [r.levelno for r in caplog.records if r.getMessage().startswith("first")] == [L.WARN, L.WARN]
    caplog.clear()
    L.set_verbosity(L.ERROR)
    try:
        L.info("no")
        L.error("yes")
        L.fatal("fatal")
        assert L.get_verbosity() == L.ERROR
    finally:
        L.set_verbosity(L.DEBUG)
    assert nestor_messages(caplog) == ["yes", "fatal"]
