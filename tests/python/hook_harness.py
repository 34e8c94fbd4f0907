"""The hand-written loop and small graph that test_hooks.py and test_early_stopping.py drive
hooks with (as the Estimator drives them: step by step, and with the steps_until_next_request
speed-up), and their fixtures."""

import pytest

import nestor as tf
from nestor import summary as tfs
from nestor.estimator import hooks as H
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

X0, LR = 3.0, 0.1


def x_ref(k):
    """x after k gradient-descent steps on x**2 (float64 reference)."""
    return X0 * (1.0 - 2.0 * LR) ** k


class FakeClock:
    """Replaces `time` in the hooks module: the loop advances it by 1 s per training step."""

    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def sleep(self, s):
        self.now += s


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(H, "time", c)
    return c


@pytest.fixture(autouse=True)
def _close_writers():
    yield
    tfs.FileWriterCache.clear()


@pytest.fixture
def model():
    """A graph with a global step, x, loss = x**2 (op "objective"), a GD train op and a loss summary."""
    g = tf.Graph()
    with g.as_default():
        gs = tf.train.get_or_create_global_step()
        x = tf.Variable(X0, name="x")
        loss = tf.square(x, name="objective")
        train = tf.train.GradientDescentOptimizer(LR).minimize(loss, global_step=gs)
        summ = tf.summary.scalar("loss", loss)
        yield dict(graph=g, gs=gs, x=x, loss=loss, train=train, summary=summ)


def run_loop(m, hooks, max_steps=100, fast=False, clock=None):
    """The Estimator's loop: begin, session, after_create_session, steps, end. Returns
    (session, number of steps driven through the hooks)."""
    for h in hooks:
        h.begin()
    sess = tf.Session(graph=m["graph"])
    sess.run(tf.global_variables_initializer())
    for h in hooks:
        h.after_create_session(sess, None)
    steps = driven = 0
    while steps < max_steps:
        if fast:
            g = int(sess.run(m["gs"]))
            answers = [h.steps_until_next_request(g) if hasattr(h, "steps_until_next_request") else None
                       for h in hooks]
            k = 0 if any(a is None for a in answers) else min(answers + [100, max_steps - steps - 1])
            if k > 0:  # run k steps in one native call, then ask again before driving one
                sess.run_steps(m["train"], steps=k)
                steps += k
                if clock:
                    clock.now += k
                continue
        ctx = H.SessionRunContext(H.SessionRunArgs(m["train"]), sess)
        args = [h.before_run(ctx) for h in hooks]
        fetches, feeds = {}, {}
        for i, a in enumerate(args):
            if a is not None:
                if a.fetches is not None:
                    fetches[i] = a.fetches
                feeds.update(a.feed_dict or {})
        _, results = sess.run([m["train"], fetches], feed_dict=feeds or None)
        steps += 1
        driven += 1
        if clock:
            clock.now += 1
        for i, h in enumerate(hooks):
            h.after_run(ctx, H.SessionRunValues(results=results.get(i), options=None, run_metadata=None))
        if ctx.stop_requested:
            break
    for h in hooks:
        h.end(sess)
    return sess, driven


def nestor_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "nestor"]


def accumulate(logdir):
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    return acc
