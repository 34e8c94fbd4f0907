"""`ProfilerHook` (`tf.estimator.ProfilerHook`, `tf.compat.v1.train.ProfilerHook`): Chrome traces
`timeline-<step>.json` of sampled training steps, with what nestor's runtime measures."""
from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Optional, Tuple

from .. import logging as _logging
from .hooks import (SecondOrStepTimer, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues,
                    _global_step_for, _scalar)

__all__ = ["ProfilerHook"]

_Profile = Dict[str, Tuple[float, int]]


def _fetch_names(fetches: Any) -> List[str]:
    """The names of the graph elements in a nested fetch structure."""
    if isinstance(fetches, dict):
        return [n for v in fetches.values() for n in _fetch_names(v)]
    if isinstance(fetches, (list, tuple)):
        return [n for v in fetches for n in _fetch_names(v)]
    if fetches is None:
        return []
    return [fetches if isinstance(fetches, str) else str(getattr(fetches, "name", fetches))]


class ProfilerHook(SessionRunHook):
    """Writes a Chrome trace `<output_dir>/timeline-<global step>.json` every N steps or seconds.

    The schedule is TensorFlow's: the first step the hook sees is never traced and starts the
    timer; a step is traced when the global step after it is `save_steps` past the last traced
    (or starting) one, or `save_secs` have passed; the file is named by the global step after
    the traced step. Load the files in chrome://tracing or Perfetto.

    What is in a trace: nestor's executor does not record when each node runs, so there are
    no per-op events (TensorFlow's step_stats). It measures two things, and the trace holds
    exactly those:
      * one complete event (`"ph": "X"`, name `step <global step>`) per traced step, whose
        `ts`/`dur` (microseconds, wall clock) span from this hook's `before_run` to its
        `after_run`: the step's `Session.run` plus whatever the hooks between do; its
        `args` hold `global_step`, `fetches` (the names of the loop's own fetches, e.g. the
        train op, loss and global step), and
      * `kernel_seconds_by_op_type`: for each op type the session executed during that time,
        `{"seconds", "calls"}`, the kernel time the runtime's profiler summed over the calls
        (timed around each kernel on the host: for kernels that only launch GPU work this is
        not device time), and their total, `kernel_seconds_total`. These are totals per op
        type, not a timeline: they have no start times and appear only as arguments.
    `show_dataflow` and `show_memory` are accepted for TensorFlow's signature and change
    nothing (there are no per-tensor events to connect or size). TensorFlow also writes the
    step's RunMetadata to an event file in `output_dir`; nestor has none to write.

    Args:
      save_steps: trace every N steps (exactly one of `save_steps` and `save_secs`).
      save_secs: trace every N seconds.
      output_dir: the directory of the trace files (created if missing); "" is the current
        directory.
      show_dataflow: ignored (see above).
      show_memory: ignored (see above).

    Raises:
      ValueError: unless exactly one of `save_steps` and `save_secs` is given.
    """

    def __init__(self, save_steps: Optional[int] = None, save_secs: Optional[float] = None, output_dir: str = "",
                 show_dataflow: bool = True, show_memory: bool = False):
        if output_dir is None:
            output_dir = ""
        self._output_dir = os.fspath(output_dir)
        self._output_file = os.path.join(self._output_dir, "timeline-{}.json")
        self._show_dataflow = show_dataflow
        self._show_memory = show_memory
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)

    def begin(self) -> None:
        self._next_step: Optional[int] = None
        self._start_step: Optional[int] = None
        self._request = False
        self._global_step_tensor = _global_step_for("ProfilerHook")
        if self._output_dir:
            os.makedirs(self._output_dir, exist_ok=True)

    def after_create_session(self, session: Any, coord: Any) -> None:
        self._start_step = _scalar(session.run(self._global_step_tensor))

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        if self._next_step is None:
            return 0
        self._next_step = int(global_step) + 1  # steps run without the hook advance it too
        return self._timer.steps_until_trigger(self._next_step)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        self._request = self._next_step is not None and self._timer.should_trigger_for_step(self._next_step)
        if self._request:
            self._native = getattr(run_context.session, "_native", None)
            if self._native is not None and not hasattr(self._native, "set_profiling"):
                self._native = None
            self._profile_before: _Profile = {}
            if self._native is not None:
                self._profile_before = dict(self._native.profile())
                self._native.set_profiling(True)
            self._wall_start = time.time()
            self._t0 = time.perf_counter()
        return SessionRunArgs({"global_step": self._global_step_tensor})

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        elapsed = time.perf_counter() - self._t0 if self._request else 0.0
        kernels: Optional[Dict[str, Dict[str, Any]]] = None
        if self._request and self._native is not None:
            self._native.set_profiling(False)
            kernels = {}
            for op, (secs, calls) in sorted(self._native.profile().items()):
                secs0, calls0 = self._profile_before.get(op, (0.0, 0))
                if calls > calls0:
                    kernels[op] = {"seconds": secs - secs0, "calls": calls - calls0}
        # nestor does not order the fetched read before this step's increment: read the value now.
        global_step = _scalar(run_context.session.run(self._global_step_tensor))
        if self._next_step is None:
            start = self._start_step if self._start_step is not None else _scalar(run_values.results["global_step"])
            self._timer.update_last_triggered_step(start)
        if self._request:
            self._timer.update_last_triggered_step(global_step)
            self._save(global_step, _fetch_names(run_context.original_args.fetches), elapsed, kernels)
        self._next_step = global_step + 1

    def _save(self, step: int, fetches: List[str], elapsed: float,
              kernels: Optional[Dict[str, Dict[str, Any]]]) -> None:
        path = self._output_file.format(step)
        _logging.info("Saving timeline for %d into '%s'.", step, path)
        args: Dict[str, Any] = {"global_step": step, "fetches": fetches}
        if kernels is not None:
            args["kernel_seconds_by_op_type"] = kernels
            args["kernel_seconds_total"] = sum(k["seconds"] for k in kernels.values())
        trace = {
            "traceEvents": [
                {"name": "process_name", "ph": "M", "pid": 0, "tid": 0, "args": {"name": "nestor Session.run"}},
                {"name": "thread_name", "ph": "M", "pid": 0, "tid": 0, "args": {"name": "training step"}},
                {"name": f"step {step}", "cat": "step", "ph": "X", "pid": 0, "tid": 0,
                 "ts": self._wall_start * 1e6, "dur": elapsed * 1e6, "args": args},
            ],
            "displayTimeUnit": "ms",
            "otherData": {"producer": "nestor ProfilerHook",
                          "note": "one event per traced step (wall time); kernel times are per-op-type totals "
                                  "without start times; nestor records no per-op timeline"},
        }
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(trace, f)
        os.replace(tmp, path)
