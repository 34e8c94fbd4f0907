"""The evaluation loop shared by `Estimator.evaluate` and `InMemoryEvaluatorHook`: metric
updates over the input (K batches per native call where no hook needs them), then the
metric values, written as summaries to the evaluation directory."""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Sequence

import numpy as np

from .. import errors

_log = logging.getLogger("nestor")


def run_evaluation(built: Any, steps: Optional[int], hooks: Optional[Sequence[Any]], eval_dir: str,
                   ckpt: Optional[str]) -> Dict[str, Any]:
    """Evaluates the EVAL graph `built` (its variables already restored or set).

    Args:
      built: the Estimator's built EVAL graph, session and input source.
      steps: at most this many batches (None: until the input ends).
      hooks: `SessionRunHook`s for the evaluation (plus the model_fn's evaluation_hooks).
      eval_dir: where the metric values are written as summaries.
      ckpt: the checkpoint the variables came from, recorded in the summaries (None: none).

    Returns:
      The metric values plus `loss` and `global_step`.
    """
    from .. import summary as _summary
    from .session_run_hook import run_step, start_hooks
    sess = built.session
    sess.run(built.local_init_op, built.scaffold.local_init_feed_dict)
    all_hooks = list(hooks or []) + list(built.spec.evaluation_hooks)
    start_hooks(all_hooks, built.graph, sess)
    source = built.source
    done = 0
    try:
        while steps is None or done < steps:
            if not all_hooks and source.can_stack:
                k = 1000 if steps is None else min(1000, steps - done)
                feed, n = source.next_stacked(k)
                if feed is None:
                    break
                if n == 1:
                    sess.run(built.metric_update, {p: v[0] for p, v in feed.items()})
                else:
                    sess.run_steps(built.metric_update, feed, steps=n)
                done += n
                continue
            feed = source.next_feed()
            if feed is None:
                break
            try:
                _, ctx = run_step(sess, built.metric_update, feed, all_hooks)
            except errors.OutOfRangeError:
                break
            done += 1
            if ctx.stop_requested:
                break
            if not source.feeds_data and steps is None:
                break  # tensors that are not fed: one batch
    finally:
        source.close()
    values = sess.run(built.metric_values)
    step = int(sess.run(built.global_step))
    for h in all_hooks:
        h.end(sess)
    result: Dict[str, Any] = {k: v for k, v in values.items()}
    result["global_step"] = np.int64(step)
    _log.info("Saving dict for global step %d: %s", step,
              ", ".join(f"{k} = {v}" for k, v in sorted(result.items())))
    writer = _summary.FileWriterCache.get(eval_dir)
    scalars = {k: float(v) for k, v in result.items()
               if k != "global_step" and np.ndim(v) == 0 and np.issubdtype(np.asarray(v).dtype, np.number)}
    _summary.write_scalars(writer, scalars, step)
    if ckpt is not None:
        _summary.write_text(writer, "checkpoint_path", ckpt, step)
    writer.flush()
    return result

