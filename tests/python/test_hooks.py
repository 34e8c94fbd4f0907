"""SessionRunHooks driven by a hand-written loop over a real graph (hook_harness.py), the way the
Estimator drives them (step by step, and with the steps_until_next_request speed-up)."""
import logging
import os
import re

import numpy as np
import pytest

import nestor as tf
from nestor import checkpoint as ckpt
from nestor import summary as tfs
from nestor.estimator import hooks as H

import hook_harness as hh
from hook_harness import LR, X0, accumulate, nestor_messages, run_loop, x_ref
# The harness's fixtures, used by name in this module's tests.
clock, model, _close_writers = hh.clock, hh.model, hh._close_writers


# ---------------------------------------------------------------- protocol
class Recorder(H.SessionRunHook):
    def __init__(self, log, name, fetch=None, feed=None, stop_at=None):
        self.log, self.name, self.fetch, self.feed, self.stop_at = log, name, fetch, feed, stop_at
        self.results = []

    def begin(self):
        self.log.append((self.name, "begin"))

    def after_create_session(self, session, coord):
        assert isinstance(session, tf.Session) and coord is None
        self.log.append((self.name, "after_create_session"))

    def before_run(self, run_context):
        self.log.append((self.name, "before_run"))
        if self.fetch is None:
            return None
        return H.SessionRunArgs(self.fetch, feed_dict=self.feed)

    def after_run(self, run_context, run_values):
        self.log.append((self.name, "after_run"))
        self.results.append(run_values.results)
        if self.stop_at is not None and len(self.results) >= self.stop_at:
            run_context.request_stop()

    def end(self, session):
        self.log.append((self.name, "end"))


def test_call_order_and_request_stop(model):
    log = []
    hooks = [Recorder(log, "a"), Recorder(log, "b", stop_at=2)]
    _, driven = run_loop(model, hooks)
    step = [("a", "before_run"), ("b", "before_run"), ("a", "after_run"), ("b", "after_run")]
    assert log == ([("a", "begin"), ("b", "begin"), ("a", "after_create_session"), ("b", "after_create_session")]
                   + step * 2 + [("a", "end"), ("b", "end")])
    assert driven == 2 and hooks[0].results == [None, None]


def test_run_args_fetch_and_feed_plumbing(model):
    with model["graph"].as_default():
        p = tf.placeholder(tf.float32, [], name="p")
        doubled = p * 2.0
    seen = []

    class Probe(Recorder):
        def before_run(self, run_context):
            seen.append(run_context.original_args.fetches)
            return super().before_run(run_context)

    hook = Probe([], "h", fetch={"d": doubled, "nested": [model["loss"], "x:0"], "op": model["train"].name},
                 feed={p: 1.5}, stop_at=3)
    run_loop(model, [hook])
    assert seen == [model["train"]] * 3
    for k, r in enumerate(hook.results):
        assert r["d"] == 3.0 and r["op"] is None
        np.testing.assert_allclose(r["nested"][0], x_ref(k) ** 2, rtol=1e-5)  # loss before the update
        np.testing.assert_allclose(r["nested"][1], x_ref(k + 1), rtol=1e-5)  # x after it
    assert H.SessionRunArgs(1) == (1, None, None) and H.SessionRunValues(2) == (2, None, None)


# ---------------------------------------------------------------- StopAtStepHook
@pytest.mark.parametrize("fast", [False, True])
def test_stop_at_step(model, fast):
    sess, _ = run_loop(model, [H.StopAtStepHook(num_steps=7)], fast=fast)
    assert sess.run(model["gs"]) == 7
    np.testing.assert_allclose(sess.run(model["x"]), x_ref(7), rtol=1e-5)
    sess, _ = run_loop(model, [H.StopAtStepHook(last_step=12)], fast=fast)  # graph state is per session
    assert sess.run(model["gs"]) == 12
    # num_steps counts from the step at session creation: continue from a checkpointed state
    hook = H.StopAtStepHook(num_steps=4)
    hook.begin()
    with tf.Session(graph=model["graph"]) as s2:
        s2.run(tf.global_variables_initializer())
        s2.run_steps(model["train"], steps=5)
        hook.after_create_session(s2, None)
        assert hook.steps_until_next_request(5) == 3 and hook.steps_until_next_request(8) == 0


def test_stop_at_step_errors(model):
    with pytest.raises(ValueError, match="One of num_steps or last_step must be specified"):
        H.StopAtStepHook()
    with pytest.raises(ValueError, match="Only one of num_steps or last_step"):
        H.StopAtStepHook(num_steps=1, last_step=2)
    with tf.Graph().as_default():
        for hook, name in [(H.StopAtStepHook(num_steps=1), "StopAtStepHook"),
                           (H.CheckpointSaverHook("/tmp/unused", save_steps=1), "CheckpointSaverHook"),
                           (H.StepCounterHook(), "StepCounterHook")]:
            with pytest.raises(RuntimeError, match=f"Global step should be created to use {name}"):
                hook.begin()


# ---------------------------------------------------------------- LoggingTensorHook
def test_logging_tensor_hook_lines(model, caplog, clock):
    caplog.set_level(logging.INFO, logger="nestor")
    hook = H.LoggingTensorHook({"loss": model["loss"], "step": model["gs"]}, every_n_iter=3)
    run_loop(model, [hook, H.StopAtStepHook(num_steps=7)], clock=clock)
    lines = [m for m in nestor_messages(caplog) if m.startswith("loss")]
    assert len(lines) == 3  # local steps 0, 3, 6
    for i, (line, k) in enumerate(zip(lines, [0, 3, 6])):
        m = re.fullmatch(r"loss = (\S+), step = (\d+)( \((\d+\.\d{3}) sec\))?", line)
        assert m, line
        np.testing.assert_allclose(float(m.group(1)), x_ref(k) ** 2, rtol=1e-5)
        assert str(np.float32(m.group(1))) == m.group(1)  # printed as the float32 array, like TF
        assert int(m.group(2)) == k + 1  # the step tensor is read after the increment in nestor
        assert (m.group(4) is None) == (i == 0)
        if i:
            assert m.group(4) == "3.000"  # three fake seconds between lines


def test_logging_tensor_hook_list_names_formatter_and_at_end(model, caplog):
    caplog.set_level(logging.INFO, logger="nestor")
    hook = H.LoggingTensorHook(["x", "objective:0"], every_n_iter=2)
    run_loop(model, [hook, H.StopAtStepHook(num_steps=3)])
    lines = nestor_messages(caplog)
    assert len(lines) == 2 and all(re.fullmatch(r"x = \S+, objective:0 = \S+( \(\d+\.\d{3} sec\))?", s) for s in lines)
    caplog.clear()
    fmt = H.LoggingTensorHook({"loss": model["loss"]}, formatter=lambda d: "custom %.4f" % d["loss"], at_end=True)
    assert fmt.steps_until_next_request(0) == H.NEVER
    run_loop(model, [fmt, H.StopAtStepHook(num_steps=4)])
    assert nestor_messages(caplog) == ["custom %.4f" % np.float32(x_ref(4) ** 2)]
    with pytest.raises(ValueError, match="exactly one of every_n_iter and every_n_secs"):
        H.LoggingTensorHook({"a": "x"})
    with pytest.raises(ValueError, match="invalid every_n_iter=0"):
        H.LoggingTensorHook({"a": "x"}, every_n_iter=0)


# ---------------------------------------------------------------- CheckpointSaverHook
class RecListener(H.CheckpointSaverListener):
    def __init__(self, stop_at=None):
        self.calls, self.stop_at = [], stop_at

    def begin(self):
        self.calls.append(("begin",))

    def before_save(self, session, step):
        self.calls.append(("before_save", step))

    def after_save(self, session, step):
        self.calls.append(("after_save", step))
        return step == self.stop_at

    def end(self, session, step):
        self.calls.append(("end", step))


def test_checkpoint_saver_files_values_and_listeners(model, tmp_path):
    lis = RecListener()
    hooks = [H.CheckpointSaverHook(str(tmp_path), save_steps=3, listeners=[lis]), H.StopAtStepHook(num_steps=7)]
    run_loop(model, hooks)
    assert lis.calls == [("begin",)] + [c for s in (0, 3, 6, 7) for c in (("before_save", s), ("after_save", s))] \
        + [("end", 7)]
    names = sorted(f for f in os.listdir(tmp_path) if f.startswith("model.ckpt"))
    assert names == [f"model.ckpt-{s}.safetensors" for s in (0, 3, 6, 7)]
    assert ckpt.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model.ckpt-7")
    for s in (0, 3, 6, 7):
        prefix = str(tmp_path / f"model.ckpt-{s}")
        np.testing.assert_allclose(ckpt.load_variable(prefix, "x"), x_ref(s), rtol=1e-5)
        assert ckpt.load_variable(prefix, "global_step") == s


def test_checkpoint_listener_requests_stop_and_explicit_saver(model, tmp_path):
    lis = RecListener(stop_at=4)
    with model["graph"].as_default():
        saver = ckpt.Saver(var_list=[model["x"]], max_to_keep=2)
    hook = H.CheckpointSaverHook(str(tmp_path), save_steps=2, saver=saver, listeners=[lis],
                                 checkpoint_basename="m")
    sess, driven = run_loop(model, [hook])
    assert driven == 4 and sess.run(model["gs"]) == 4
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith("m-")) == ["m-2.safetensors", "m-4.safetensors"]
    assert ckpt.list_variables(str(tmp_path)) == [("x", [])]
    with pytest.raises(ValueError, match="both saver and scaffold"):
        H.CheckpointSaverHook(str(tmp_path), save_steps=1, saver=saver, scaffold=object())
    with pytest.raises(ValueError, match="Either every_secs or every_steps"):
        H.CheckpointSaverHook(str(tmp_path))


def test_checkpoint_saver_secs(model, tmp_path, clock):
    hooks = [H.CheckpointSaverHook(str(tmp_path), save_secs=4), H.StopAtStepHook(num_steps=10)]
    run_loop(model, hooks, clock=clock)  # one fake second per step
    names = sorted((f for f in os.listdir(tmp_path) if f.startswith("model.ckpt")),
                   key=lambda f: int(f.split("-")[1].split(".")[0]))
    assert names == [f"model.ckpt-{s}.safetensors" for s in (0, 4, 8, 10)]


# ---------------------------------------------------------------- SummarySaverHook / StepCounterHook
def test_summary_saver_and_step_counter_event_files(model, tmp_path, caplog, clock):
    caplog.set_level(logging.INFO, logger="nestor")
    hooks = [H.SummarySaverHook(save_steps=2, output_dir=str(tmp_path), summary_op=model["summary"]),
             H.StepCounterHook(every_n_steps=2, output_dir=str(tmp_path)), H.StopAtStepHook(num_steps=5)]
    run_loop(model, hooks, clock=clock)
    tfs.FileWriterCache.get(str(tmp_path)).flush()
    acc = accumulate(tmp_path)
    loss = acc.Scalars("loss")
    assert [e.step for e in loss] == [1, 3, 5]  # written at the step after the one computing it
    np.testing.assert_allclose([e.value for e in loss], [x_ref(k) ** 2 for k in (0, 2, 4)], rtol=1e-5)
    rate = acc.Scalars("global_step/sec")
    assert [e.step for e in rate] == [3, 5] and [e.value for e in rate] == [1.0, 1.0]
    assert [m for m in nestor_messages(caplog) if "global_step/sec" in m] == ["global_step/sec: 1"] * 2


def test_summary_saver_list_and_scaffold(model, tmp_path):
    with model["graph"].as_default():
        extra = tf.summary.scalar("x_value", model["x"])
    writer = tfs.FileWriter(str(tmp_path / "a"))
    run_loop(model, [H.SummarySaverHook(save_steps=3, summary_writer=writer, summary_op=[model["summary"], extra]),
                     H.StopAtStepHook(num_steps=4)])
    acc = accumulate(tmp_path / "a")
    assert [e.step for e in acc.Scalars("x_value")] == [1, 4]

    class Scaffold:
        summary_op = None  # falls back to merge_all(), as TF's finalized Scaffold

    run_loop(model, [H.SummarySaverHook(save_steps=10, output_dir=str(tmp_path / "b"), scaffold=Scaffold()),
                     H.StopAtStepHook(num_steps=2)])
    acc = accumulate(tmp_path / "b")
    assert set(acc.Tags()["scalars"]) == {"loss", "x_value"} and [e.step for e in acc.Scalars("loss")] == [1]
    with pytest.raises(ValueError, match="Exactly one of scaffold or summary_op"):
        H.SummarySaverHook(save_steps=1)


# ---------------------------------------------------------------- NanTensorHook, FeedFnHook, FinalOpsHook
def _nan_model(model):
    with model["graph"].as_default():
        p = tf.placeholder(tf.float32, [], name="fed_loss")
        fed = tf.identity(p)
    values = iter([1.0, 2.0, float("nan"), 4.0, 5.0])
    return H.FeedFnHook(lambda: {p: next(values)}), fed


def test_nan_tensor_hook_raises(model, caplog):
    feed, fed = _nan_model(model)
    hook = H.NanTensorHook(fed)
    with pytest.raises(H.NanLossDuringTrainingError, match=r"^NaN loss during training\.$"):
        run_loop(model, [feed, hook])
    assert "Model diverged with loss = NaN." in nestor_messages(caplog)


def test_nan_tensor_hook_requests_stop(model):
    feed, fed = _nan_model(model)
    final = H.FinalOpsHook({"x": model["x"], "gs": model["gs"]})
    sess, driven = run_loop(model, [feed, H.NanTensorHook(fed, fail_on_nan_loss=False), final])
    assert driven == 3 and sess.run(model["gs"]) == 3
    assert final.final_ops_values["gs"] == 3
    np.testing.assert_allclose(final.final_ops_values["x"], x_ref(3), rtol=1e-5)


def test_global_step_waiter_polls_until_step(model, clock, caplog):
    caplog.set_level(logging.INFO, logger="nestor")
    hook = H.GlobalStepWaiterHook(3)
    hook.begin()
    sess = tf.Session(graph=model["graph"])
    sess.run(tf.global_variables_initializer())
    polls = []

    def sleep(secs):  # another worker advances the global step while this one waits
        polls.append(secs)
        sess.run(model["train"])

    clock.sleep = sleep
    ctx = H.SessionRunContext(None, sess)
    assert hook.before_run(ctx) is None and polls == [0.5] * 3 and sess.run(model["gs"]) == 3
    assert hook.before_run(ctx) is None and len(polls) == 3  # started: no more waiting
    assert "Waiting for global step 3 before starting training." in nestor_messages(caplog)


# ---------------------------------------------------------------- steps_until_next_request
def test_steps_until_next_request_values(model, tmp_path):
    summary = H.SummarySaverHook(save_steps=5, output_dir=str(tmp_path), summary_op=model["summary"])
    saver = H.CheckpointSaverHook(str(tmp_path), save_steps=5)
    counter = H.StepCounterHook(every_n_steps=10)
    logger = H.LoggingTensorHook({"loss": model["loss"]}, every_n_iter=10)
    stop = H.StopAtStepHook(last_step=20)
    nan, final = H.NanTensorHook(model["loss"]), H.FinalOpsHook(model["x"])
    waiter = H.GlobalStepWaiterHook(3)
    hooks = [summary, saver, counter, logger, stop, nan, final, waiter, H.FeedFnHook(dict)]
    for h in hooks:
        h.begin()
    sess = tf.Session(graph=model["graph"])
    sess.run(tf.global_variables_initializer())
    for h in hooks:
        h.after_create_session(sess, None)
    assert [h.steps_until_next_request(0) for h in hooks] == [0, 4, 0, 0, 19, 0, H.NEVER, 0, 0]
    sess.run_steps(model["train"], steps=3)
    assert [h.steps_until_next_request(3) for h in hooks] == [0, 1, 0, 0, 16, 97, H.NEVER, H.NEVER, 0]
    assert nan.steps_until_next_request(99) == 1 and nan.steps_until_next_request(100) == 0
    ctx = H.SessionRunContext(None, sess)
    args = [h.before_run(ctx) for h in (summary, counter, logger)]  # their first triggers: step 3 -> 4
    results = sess.run([model["train"], [a.fetches for a in args]])[1]
    for h, r in zip((summary, counter, logger), results):
        h.after_run(ctx, H.SessionRunValues(r))
    # Next triggers: summary at 4+5 (asked at 4: skips the step to 5), counter at 14, logger at local step 13.
    assert [h.steps_until_next_request(4) for h in (summary, counter, logger, stop, saver)] == [4, 9, 9, 15, 0]
    assert [h.steps_until_next_request(8) for h in (summary, counter, logger)] == [0, 5, 5]


def test_secs_timer_estimates_from_step_rate(clock):
    timer = H.SecondOrStepTimer(every_secs=10)
    assert timer.steps_until_trigger(0) == 0
    timer.update_last_triggered_step(0)
    clock.now += 0.5
    assert timer.steps_until_trigger(1) == 1  # rate unknown yet
    clock.now += 1.0
    assert timer.steps_until_trigger(3) == 17  # 0.5 s/step, 8.5 s left
    clock.now += 0.0625
    assert timer.steps_until_trigger(4) == 100  # capped: the loop re-asks every 100 steps
    assert not timer.should_trigger_for_step(4)
    clock.now += 9.0
    assert timer.steps_until_trigger(5) == 0 and timer.should_trigger_for_step(5)
    with pytest.raises(ValueError, match="Can not provide both"):
        H.SecondOrStepTimer(every_secs=1, every_steps=1)


def test_fast_loop_matches_step_by_step(tmp_path, caplog, clock):
    """Every built-in hook gives the same files, lines and values when the loop skips steps."""
    caplog.set_level(logging.INFO, logger="nestor")
    out = {}
    for fast in (False, True):
        d = tmp_path / ("fast" if fast else "slow")
        g = tf.Graph()
        with g.as_default():
            gs = tf.train.get_or_create_global_step()
            x = tf.Variable(X0, name="x")
            loss = tf.square(x, name="objective")
            train = tf.train.GradientDescentOptimizer(LR).minimize(loss, global_step=gs)
            summ = tf.summary.scalar("loss", loss)
        m = dict(graph=g, gs=gs, x=x, loss=loss, train=train)
        final = H.FinalOpsHook(x)
        hooks = [H.StopAtStepHook(num_steps=23), H.LoggingTensorHook({"loss": loss}, every_n_iter=5),
                 H.CheckpointSaverHook(str(d), save_steps=7),
                 H.SummarySaverHook(save_steps=4, output_dir=str(d), summary_op=summ),
                 H.StepCounterHook(every_n_steps=6, output_dir=str(d)), H.NanTensorHook(loss), final]
        caplog.clear()
        clock.now = 1000.0
        with g.as_default():
            _, driven = run_loop(m, hooks, fast=fast, clock=clock)
        tfs.FileWriterCache.get(str(d)).flush()
        acc = accumulate(d)
        out[fast] = dict(lines=[s.replace(str(d), "DIR") for s in nestor_messages(caplog)],
                         ckpts=sorted(f for f in os.listdir(d) if f.startswith("model.ckpt")),
                         loss=[(e.step, e.value) for e in acc.Scalars("loss")],
                         rate=[(e.step, e.value) for e in acc.Scalars("global_step/sec")],
                         final=final.final_ops_values, driven=driven)
    slow, fast = out[False], out[True]
    assert slow["driven"] == 23 and fast["driven"] <= 13
    for key in ("lines", "ckpts", "loss", "rate", "final"):
        assert slow[key] == fast[key], key
    assert slow["ckpts"] == sorted(f"model.ckpt-{s}.safetensors" for s in (0, 7, 14, 21, 23))
    assert [s for s, _ in slow["loss"]] == [1, 5, 9, 13, 17, 21]
