"""`Scaffold` (`tf.compat.v1.train.Scaffold`): how a training session is initialized, saved and summarized."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from ..framework import graph as _g

__all__ = ["Scaffold"]


class Scaffold:
    """The ops and objects that initialize, save and summarize a model (`tf.compat.v1.train.Scaffold`).

    A model_fn returns one in `EstimatorSpec(scaffold=...)`; the Estimator then uses:
      * `saver` to restore and save checkpoints (default: the one Saver in the graph's
        SAVERS collection; the Estimator adds one keeping `keep_checkpoint_max` checkpoints);
      * `init_op` with `init_feed_dict` to initialize a model that has no checkpoint (default:
        all global variables' initializers), then `init_fn(scaffold, session)`: both run only
        when no checkpoint is restored, as in TensorFlow, and after warm-starting;
      * `local_init_op` with `local_init_feed_dict` after every restore or initialization
        (default: all local variables' initializers);
      * `summary_op` for the training summaries (default: `summary.merge_all()`).
    `ready_op` and `ready_for_local_init_op` are kept for TensorFlow's API and not run:
    nestor reports an uninitialized variable when it is read (FailedPreconditionError).

    Args:
      init_op: an op initializing the variables of a fresh model.
      init_feed_dict: the feeds of `init_op`.
      init_fn: called as `init_fn(scaffold, session)` after `init_op` in a fresh model.
      ready_op: kept, not run (see above).
      ready_for_local_init_op: kept, not run (see above).
      local_init_op: an op run after the variables are restored or initialized.
      summary_op: a string tensor of serialized summaries (or a list of them).
      saver: a `nestor.train.Saver`.
      copy_from_scaffold: a Scaffold whose fields are taken where these arguments are None.
      local_init_feed_dict: the feeds of `local_init_op`.

    Raises:
      TypeError: `copy_from_scaffold` is not a Scaffold, or `init_fn` is not callable.
    """

    def __init__(self, init_op: Any = None, init_feed_dict: Optional[Dict[Any, Any]] = None,
                 init_fn: Optional[Callable[["Scaffold", Any], None]] = None, ready_op: Any = None,
                 ready_for_local_init_op: Any = None, local_init_op: Any = None, summary_op: Any = None,
                 saver: Any = None, copy_from_scaffold: Optional["Scaffold"] = None,
                 local_init_feed_dict: Optional[Dict[Any, Any]] = None):
        if copy_from_scaffold is not None:
            if not isinstance(copy_from_scaffold, Scaffold):
                raise TypeError("copy_from_scaffold is not a Scaffold instance.")
            src = copy_from_scaffold

            def coalesce(a: Any, b: Any) -> Any:
                return a if a is not None else b
            init_op = coalesce(init_op, src.init_op)
            init_feed_dict = coalesce(init_feed_dict, src.init_feed_dict)
            init_fn = coalesce(init_fn, src._user_init_fn)
            ready_op = coalesce(ready_op, src.ready_op)
            ready_for_local_init_op = coalesce(ready_for_local_init_op, src.ready_for_local_init_op)
            local_init_op = coalesce(local_init_op, src.local_init_op)
            local_init_feed_dict = coalesce(local_init_feed_dict, src.local_init_feed_dict)
            summary_op = coalesce(summary_op, src.summary_op)
            saver = coalesce(saver, src.saver)
        if init_fn is not None and not callable(init_fn):
            raise TypeError(f"init_fn must be callable as init_fn(scaffold, session), given: {init_fn!r}")
        self._user_init_fn = init_fn
        self._init_fn: Optional[Callable[[Any], None]] = (lambda sess: init_fn(self, sess)) if init_fn else None
        self._init_op = init_op
        self._init_feed_dict = init_feed_dict
        self._ready_op = ready_op
        self._ready_for_local_init_op = ready_for_local_init_op
        self._local_init_op = local_init_op
        self._local_init_feed_dict = local_init_feed_dict
        self._summary_op = summary_op
        self._saver = saver

    def finalize(self) -> "Scaffold":
        """Creates the default ops for the fields left None (in the default graph); returns self.

        Raises:
          RuntimeError: a graph collection (INIT_OP, LOCAL_INIT_OP, SUMMARY_OP, SAVERS) holds
            more than one item, so the default is ambiguous.
        """
        from ..framework import variables as _vars
        if self._init_op is None:
            self._init_op = Scaffold.get_or_default("init_op", _g.GraphKeys.INIT_OP,
                                                    _vars.global_variables_initializer)
        if self._local_init_op is None:
            self._local_init_op = Scaffold.get_or_default("local_init_op", _g.GraphKeys.LOCAL_INIT_OP,
                                                          Scaffold.default_local_init_op)
        if self._summary_op is None:
            from ..summary import merge_all
            self._summary_op = Scaffold.get_or_default("summary_op", _g.GraphKeys.SUMMARY_OP, merge_all)
        if self._saver is None:
            from ..checkpoint import Saver
            self._saver = Scaffold.get_or_default("saver", _g.GraphKeys.SAVERS, Saver)
        return self

    @staticmethod
    def get_or_default(arg_name: str, collection_key: str, default_constructor: Callable[[], Any]) -> Any:
        """The one item of graph collection `collection_key`, or a new default added to it.

        Raises:
          RuntimeError: the collection holds more than one item.
        """
        elements = _g.get_collection(collection_key)
        if elements:
            if len(elements) > 1:
                raise RuntimeError(f"More than one item in the collection \"{collection_key}\". Please indicate "
                                   f"which one to use by passing it to the tf.Scaffold constructor as: "
                                   f"tf.Scaffold({arg_name}=item to use)")
            return elements[0]
        op = default_constructor()
        if op is not None:
            _g.add_to_collection(collection_key, op)
        return op

    @staticmethod
    def default_local_init_op() -> Any:
        """The initializers of all local variables (e.g. streaming metrics' accumulators)."""
        from ..framework import variables as _vars
        return _vars.local_variables_initializer()

    init_fn = property(lambda self: self._init_fn, doc="`fn(session)` calling the user's `init_fn(scaffold, "
                                                       "session)`, or None.")
    init_op = property(lambda self: self._init_op)
    init_feed_dict = property(lambda self: self._init_feed_dict)
    ready_op = property(lambda self: self._ready_op)
    ready_for_local_init_op = property(lambda self: self._ready_for_local_init_op)
    local_init_op = property(lambda self: self._local_init_op)
    local_init_feed_dict = property(lambda self: self._local_init_feed_dict)
    summary_op = property(lambda self: self._summary_op)
    saver = property(lambda self: self._saver)
