"""The training loop: TF's MonitoredSession protocol for hooks, with nestor's fast path.

Hooks are driven exactly as in TensorFlow: begin(), after_create_session(), then for each
step before_run() -> one Session.run of the train fetches and every hook's fetches ->
after_run(), and end(). The fast path: when every hook says (via
`steps_until_next_request(global_step)`) that it needs nothing for the next K steps, the
loop runs those K steps in one native call over K stacked batches. Hooks without that
method are driven every step, as in TensorFlow.
"""
from __future__ import annotations

import logging
import sys
import time
from typing import Any, Optional, Sequence

from .. import errors
from .session_run_hook import run_step

_log = logging.getLogger("nestor")

# Upper bound of steps per native call: keeps time-based hooks (secs triggers) responsive
# and the stacked input small.
MAX_CHUNK = 100


class _Progress:
    """A one-line progress display for interactive terminals."""

    def __init__(self, start: int, last: Optional[int]):
        self._on = sys.stderr.isatty() and last is not None
        self._start, self._last = start, last
        self._t0 = time.time()
        self._shown = 0.0

    def update(self, step: int, loss: Optional[float]) -> None:
        if not self._on:
            return
        now = time.time()
        if now - self._shown < 0.2 and step < (self._last or 0):
            return
        self._shown = now
        total = max(1, (self._last or step) - self._start)
        frac = min(1.0, (step - self._start) / total)
        bar = "#" * int(frac * 30)
        rate = (step - self._start) / max(now - self._t0, 1e-9)
        loss_s = f" loss {loss:.4g}" if loss is not None else ""
        sys.stderr.write(f"\r[{bar:<30}] step {step}/{self._last}{loss_s} {rate:.0f} steps/s")
        sys.stderr.flush()

    def close(self) -> None:
        if self._on:
            sys.stderr.write("\n")
            sys.stderr.flush()


def run_training(sess: Any, train_op: Any, loss: Any, global_step: Any, hooks: Sequence[Any], source: Any,
                 last_step: Optional[int]) -> int:
    """Runs training steps until `last_step`, the end of the input or a stop request.

    Returns the final global step. Raises whatever a hook or the session raises, after
    calling every hook's end() only on success (as TensorFlow's MonitoredSession).
    """
    step = int(sess.run(global_step))
    progress = _Progress(step, last_step)
    train_fetches = [train_op, loss, global_step]
    chunkable = [h for h in hooks if hasattr(h, "steps_until_next_request")]
    all_chunkable = len(chunkable) == len(hooks) and source is not None
    stack = source is not None and source.can_stack
    stop = False
    try:
        while not stop:
            if last_step is not None and step >= last_step:
                break
            k = 0
            if all_chunkable:
                k = MAX_CHUNK
                for h in hooks:  # every hook is asked: the question also advances its step accounting
                    n = h.steps_until_next_request(step)
                    k = 0 if n is None else min(k, n)
                if last_step is not None:
                    k = min(k, last_step - step - 1)  # the last step itself goes through the hooks
            if k >= 1:  # hooks need none of the next k steps: one native call, then ask again
                if stack:
                    feed, n = source.next_stacked(k)
                    if feed is None:
                        break
                    _, loss_v, gs = sess.run_steps(train_fetches, feed, steps=n)
                else:  # variable-length or unfed input: one run per step, still without the hooks
                    n = 0
                    for _ in range(k):
                        feed = source.next_feed()
                        if feed is None:
                            break
                        try:
                            _, loss_v, gs = sess.run(train_fetches, feed)
                        except errors.OutOfRangeError:  # an iterator made in the input_fn ran out
                            break
                        n += 1
                    if n == 0:
                        break
                new_step = int(gs)
                if new_step == step:
                    _log.warning("It seems that global step (tf.train.get_global_step) has not been increased. "
                                 "Current value (could be stable): %d vs previous value: %d.", new_step, step)
                step = new_step
                progress.update(step, float(loss_v))
                continue
            # One step through the hooks.
            feed = source.next_feed() if source is not None else {}
            if feed is None:
                break
            try:
                (_, loss_v, gs), ctx = run_step(sess, train_fetches, feed, hooks)
            except errors.OutOfRangeError:
                break
            step = int(gs)
            progress.update(step, float(loss_v))
            if ctx.stop_requested:
                stop = True
    finally:
        progress.close()
        if source is not None:
            source.close()
    for h in hooks:
        h.end(sess)
    return step
