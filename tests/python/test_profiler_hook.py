"""tf.estimator.ProfilerHook: the steps whose timeline-<step>.json files are written are those
TensorFlow 2.15 writes for the same training runs (the expected lists were produced by TF's
ProfilerHook on the same schedules), and each file is Chrome trace JSON holding one complete
event for the traced step, whose figures are consistent with the clock around the training run."""
import collections
import json
import os
import time

import numpy as np
import pytest

import nestor as tf
from nestor.estimator import hooks as H

X = np.linspace(-1, 1, 40).astype(np.float32).reshape(-1, 1)
Y = (X > 0).astype(np.float32)
GRAPHS = []


def _model_fn(features, labels, mode):
    w = tf.compat.v1.get_variable("w", [1, 1])
    loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], w) - labels))
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=tf.train.get_global_step())
    GRAPHS.append(tf.compat.v1.get_default_graph())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def _input(repeat):
    def fn():
        ds = tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(8)  # 5 batches
        return ds.repeat() if repeat else ds
    return fn


def _steps_written(d):
    return sorted(int(f[len("timeline-"):-len(".json")]) for f in os.listdir(d) if f.startswith("timeline-"))


# (train calls, save_steps) -> the files TF 2.15 had written after each call
SCHEDULES = [
    ([dict(repeat=True, steps=20)], 4, [[4, 8, 12, 16, 20]]),
    ([dict(repeat=False)], 1, [[2, 3, 4, 5]]),  # until the input ends (5 batches)
    ([dict(repeat=True, steps=7), dict(repeat=True, steps=9)], 3, [[3, 6], [3, 6, 10, 13, 16]]),
    ([dict(repeat=True, max_steps=13)], 5, [[5, 10]]),
]


@pytest.mark.parametrize("calls, save_steps, expected", SCHEDULES)
def test_step_schedule_matches_tf(tmp_path, calls, save_steps, expected):
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / "m"))
    out = tmp_path / "prof"
    written = []
    for kw in calls:
        kw = dict(kw)
        est.train(_input(kw.pop("repeat")), hooks=[tf.estimator.ProfilerHook(save_steps=save_steps,
                                                                              output_dir=str(out))], **kw)
        written.append(_steps_written(out))
    assert written == expected


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def sleep(self, s):
        self.now += s


class Tick(tf.estimator.SessionRunHook):
    def __init__(self, clock):
        self._clock = clock

    def after_run(self, run_context, run_values):
        self._clock.now += 1


def test_save_secs_schedule_matches_tf(tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(H, "time", clock)  # the timers' clock: one second per step
    cfg = tf.estimator.RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=None)
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / "m"), config=cfg)
    hook = tf.estimator.ProfilerHook(save_secs=3, output_dir=str(tmp_path / "p"))
    est.train(_input(True), hooks=[hook, Tick(clock)], steps=14)
    assert _steps_written(tmp_path / "p") == [4, 7, 10, 13]  # TF 2.15 with the same clock


def test_trace_file_contents(tmp_path):
    GRAPHS.clear()
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / "m"))
    out = tmp_path / "new" / "dir"  # created by the hook
    t_begin = time.time()
    est.train(_input(True), hooks=[tf.compat.v1.train.ProfilerHook(save_steps=5, output_dir=str(out))], steps=10)
    t_end = time.time()
    graph = GRAPHS[-1]
    op_types = collections.Counter(op.type for op in graph.get_operations())
    assert _steps_written(out) == [5, 10]
    for step in (5, 10):
        with open(out / f"timeline-{step}.json") as f:
            trace = json.load(f)
        events = trace["traceEvents"]
        assert isinstance(events, list)
        for e in events:
            assert {"name", "ph", "pid", "tid"} <= set(e)
        meta = [e for e in events if e["ph"] == "M"]
        assert {e["name"] for e in meta} == {"process_name", "thread_name"}
        (ev,) = [e for e in events if e["ph"] == "X"]
        assert ev["name"] == f"step {step}" and ev["args"]["global_step"] == step
        # a real wall-clock span inside the training call (microseconds)
        assert t_begin * 1e6 <= ev["ts"] and ev["ts"] + ev["dur"] <= t_end * 1e6
        assert ev["dur"] > 0
        # the loop's own fetches: train op, loss, global step
        assert ev["args"]["fetches"][2] == "global_step:0"
        assert ev["args"]["fetches"][1] == "Mean:0"
        assert graph.get_operation_by_name(ev["args"]["fetches"][0]).type in ("assign_add", "no_op")
        kernels = ev["args"]["kernel_seconds_by_op_type"]
        assert "matmul" in kernels or "_fused_matmul" in kernels
        for op, k in kernels.items():
            assert op in op_types or op.startswith("_fused_"), op
            assert isinstance(k["calls"], int) and k["calls"] >= 1 and k["seconds"] >= 0
            if op in op_types:  # each node runs at most once in the traced step
                assert k["calls"] <= op_types[op], (op, k, op_types[op])
        total = sum(k["seconds"] for k in kernels.values())
        assert ev["args"]["kernel_seconds_total"] == pytest.approx(total)
        assert total * 1e6 <= ev["dur"]  # kernels ran inside the step's wall time


def test_profiling_is_off_outside_traced_steps(tmp_path):
    """Only the traced steps are profiled: the session's per-op-type totals after training
    hold exactly the calls the two trace files report."""
    est = tf.estimator.Estimator(_model_fn, model_dir=str(tmp_path / "m"))
    sessions = []

    class Grab(tf.estimator.SessionRunHook):
        def after_create_session(self, session, coord):
            sessions.append(session)
    est.train(_input(True), hooks=[tf.estimator.ProfilerHook(save_steps=6, output_dir=str(tmp_path)), Grab()],
              steps=13)
    assert _steps_written(tmp_path) == [6, 12]
    reported = collections.Counter()
    for step in (6, 12):
        with open(tmp_path / f"timeline-{step}.json") as f:
            ev = [e for e in json.load(f)["traceEvents"] if e["ph"] == "X"][0]
        for op, k in ev["args"]["kernel_seconds_by_op_type"].items():
            reported[op] += k["calls"]
    totals = {op: calls for op, (secs, calls) in sessions[0]._native.profile().items()}
    assert totals == dict(reported)


def test_errors():
    with pytest.raises(ValueError, match="Either every_secs or every_steps should be provided"):
        tf.estimator.ProfilerHook()
    with pytest.raises(ValueError, match="Can not provide both every_secs and every_steps"):
        tf.estimator.ProfilerHook(save_steps=1, save_secs=1)
    with tf.Graph().as_default():
        with pytest.raises(RuntimeError, match="Global step should be created to use ProfilerHook"):
            tf.estimator.ProfilerHook(save_steps=1).begin()
