"""TF1's `SessionRunHook` protocol (`tensorflow/python/training/session_run_hook.py`) and the one
hooked step that the training, evaluation and prediction loops share.

A loop drives hooks as TensorFlow's `MonitoredSession` does: `begin()` while the graph is built,
`after_create_session(session, coord)` once variables are initialized, then per step
`before_run(run_context)` (None or `SessionRunArgs`), one `session.run` of the loop's fetches plus
every hook's fetches (`run_step`), `after_run(run_context, SessionRunValues)`, and finally
`end(session)`. The nestor extension `steps_until_next_request` is described in `hooks`.
"""
from __future__ import annotations

import collections
from typing import Any, Dict, Optional, Sequence, Tuple

__all__ = ["SessionRunHook", "SessionRunArgs", "SessionRunContext", "SessionRunValues", "start_hooks", "run_step"]


class SessionRunArgs(collections.namedtuple("SessionRunArgs", ["fetches", "feed_dict", "options"])):
    """What a hook adds to the next `session.run`: fetches (any nested structure), feeds, options."""

    def __new__(cls, fetches: Any, feed_dict: Optional[Dict[Any, Any]] = None, options: Any = None):
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunValues(collections.namedtuple("SessionRunValues", ["results", "options", "run_metadata"])):
    """The values of a hook's fetches (same structure as its `SessionRunArgs.fetches`)."""

    def __new__(cls, results: Any, options: Any = None, run_metadata: Any = None):
        return super().__new__(cls, results, options, run_metadata)


class SessionRunContext:
    """The `session.run` call a hook is called around; a hook may `request_stop()` there."""

    def __init__(self, original_args: Any, session: Any):
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self) -> Any:
        """The `SessionRunArgs` of the loop's own call (the train fetches)."""
        return self._original_args

    @property
    def session(self) -> Any:
        """The session; hooks may `run` other fetches in it."""
        return self._session

    @property
    def stop_requested(self) -> bool:
        """Whether a hook asked to stop the loop after this step."""
        return self._stop_requested

    def request_stop(self) -> None:
        """Asks the loop to stop after the current step."""
        self._stop_requested = True


class SessionRunHook:
    """Base class of hooks that extend the training/evaluation loop; every method is optional."""

    def begin(self) -> None:
        """Called once before the session is used; the graph may still be modified."""

    def after_create_session(self, session: Any, coord: Any) -> None:
        """Called once the session is created and its variables initialized."""

    def before_run(self, run_context: SessionRunContext) -> Optional[SessionRunArgs]:
        """Called before each driven step; returns None or the fetches/feeds to add to it."""
        return None

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        """Called after each driven step with the values of the fetches `before_run` asked for."""

    def end(self, session: Any) -> None:
        """Called at the end of the loop (not when it ends by an exception)."""

    def steps_until_next_request(self, global_step: int) -> Optional[int]:
        """nestor extension: how many upcoming steps this hook can miss (see the module doc).

        The base class answers None (unknown), so the hook is driven every step.
        """
        return None


def start_hooks(hooks: Sequence[SessionRunHook], graph: Any, session: Any) -> None:
    """`begin()` every hook in `graph`, then `after_create_session(session, None)` every hook."""
    with graph.as_default():
        for h in hooks:
            h.begin()
        for h in hooks:
            h.after_create_session(session, None)


def _merge_feeds(into: Dict[Any, Any], feeds: Dict[Any, Any], message: str) -> None:
    same = [k for k in feeds if k in into]
    if same:
        raise RuntimeError(f"{message} Conflict(s): {same}")
    into.update(feeds)


def run_step(session: Any, fetches: Any, feed_dict: Optional[Dict[Any, Any]],
             hooks: Sequence[SessionRunHook]) -> Tuple[Any, SessionRunContext]:
    """One step through `hooks`, as `MonitoredSession.run`: every hook's `before_run`, one
    `session.run` of `fetches` plus the hooks' fetches and feeds, every hook's `after_run`.

    A tensor fed by two hooks, or by a hook and the input, is an error (RuntimeError), as in
    TensorFlow. Errors of the run itself (e.g. `OutOfRangeError` at the end of an iterator's
    input) propagate before any `after_run`.

    Returns:
      The values of `fetches` and the step's `SessionRunContext` (see `stop_requested`).
    """
    ctx = SessionRunContext(SessionRunArgs(fetches), session)
    args = [h.before_run(ctx) for h in hooks]
    hook_feeds: Dict[Any, Any] = {}
    for a in args:
        if a is not None and a.feed_dict:
            _merge_feeds(hook_feeds, a.feed_dict, "Same tensor is fed by two hooks.")
    feeds: Dict[Any, Any] = dict(feed_dict or {})
    _merge_feeds(feeds, hook_feeds, "Same tensor is fed by a SessionRunHook and user.")
    wanted = [a is not None and a.fetches is not None for a in args]
    results = session.run([fetches] + [a.fetches if w else [] for a, w in zip(args, wanted)], feeds)
    for h, w, r in zip(hooks, wanted, results[1:]):
        h.after_run(ctx, SessionRunValues(results=r if w else None))
    return results[0], ctx
