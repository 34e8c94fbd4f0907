"""TF1's `tf.logging` (`tf.compat.v1.logging`): a Python logger named "nestor".

Records print as TensorFlow's do, with nestor's name: `INFO:nestor:loss = 0.5, step = 1`.
As in TensorFlow, a stream handler (stderr, stdout in an interactive session) with the
format `%(levelname)s:%(name)s:%(message)s` is attached to the logger the first time it is
used, unless the root logger already has handlers (then records only propagate to them,
which avoids printing everything twice). The default verbosity is the root logger's
(WARNING), as in TF1; `set_verbosity(INFO)` shows training progress.
"""
from __future__ import annotations

import logging as _logging
import sys as _sys
import threading as _threading
from typing import Any, Dict, Optional, Tuple

__all__ = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL", "get_logger", "set_verbosity", "get_verbosity", "log",
           "debug", "info", "warning", "warn", "error", "fatal", "vlog", "log_if", "log_every_n", "log_first_n",
           "flush", "TaskLevelStatusMessage"]

DEBUG = _logging.DEBUG
INFO = _logging.INFO
WARN = _logging.WARN
ERROR = _logging.ERROR
FATAL = _logging.FATAL

_LOGGER_NAME = "nestor"
_logger: Optional[_logging.Logger] = None
_logger_lock = _threading.Lock()


def get_logger() -> _logging.Logger:
    """The "nestor" `logging.Logger`, configured with a handler on first use (see the module doc)."""
    global _logger
    if _logger is not None:
        return _logger
    with _logger_lock:
        if _logger is not None:
            return _logger
        logger = _logging.getLogger(_LOGGER_NAME)
        if not _logging.getLogger().handlers and not logger.handlers:
            interactive = bool(getattr(_sys, "ps1", None)) or bool(_sys.flags.interactive)
            if interactive:
                logger.setLevel(INFO)
            handler = _logging.StreamHandler(_sys.stdout if interactive else _sys.stderr)
            handler.setFormatter(_logging.Formatter(_logging.BASIC_FORMAT, None))
            logger.addHandler(handler)
        _logger = logger
        return _logger


def set_verbosity(v: int) -> None:
    """Sets the threshold for what messages will be logged (DEBUG, INFO, WARN, ERROR, FATAL)."""
    get_logger().setLevel(v)


def get_verbosity() -> int:
    """The effective logging level of the "nestor" logger."""
    return get_logger().getEffectiveLevel()


def log(level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
    """Logs `msg % args` at `level`."""
    get_logger().log(level, msg, *args, **kwargs)


def debug(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Logs at DEBUG level."""
    get_logger().debug(msg, *args, **kwargs)


def info(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Logs at INFO level."""
    get_logger().info(msg, *args, **kwargs)


def warning(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Logs at WARN level."""
    get_logger().warning(msg, *args, **kwargs)


warn = warning


def error(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Logs at ERROR level."""
    get_logger().error(msg, *args, **kwargs)


def fatal(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Logs at FATAL level (like TensorFlow's, it does not exit)."""
    get_logger().fatal(msg, *args, **kwargs)


def vlog(level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
    """Logs at `level` (TensorFlow's vlog is `log`)."""
    get_logger().log(level, msg, *args, **kwargs)


def log_if(level: int, msg: Any, condition: bool, *args: Any) -> None:
    """Logs `msg % args` at `level` only if `condition` holds."""
    if condition:
        vlog(level, msg, *args)


_log_counter_per_token: Dict[Tuple[str, int], int] = {}
_counter_lock = _threading.Lock()


def _caller_token() -> Tuple[str, int]:
    """(file, line) of the code that called log_every_n / log_first_n."""
    f = _sys._getframe(2)
    return (f.f_code.co_filename, f.f_lineno)


def _next_count(token: Tuple[str, int]) -> int:
    with _counter_lock:
        _log_counter_per_token[token] = 1 + _log_counter_per_token.get(token, -1)
        return _log_counter_per_token[token]


def log_every_n(level: int, msg: Any, n: int, *args: Any) -> None:
    """Logs `msg % args` at `level` on the 1st call from a source line and every `n`-th after."""
    count = _next_count(_caller_token())
    log_if(level, msg, not count % n, *args)


def log_first_n(level: int, msg: Any, n: int, *args: Any) -> None:
    """Logs `msg % args` at `level` only on the first `n` calls from a source line."""
    count = _next_count(_caller_token())
    log_if(level, msg, count < n, *args)


def flush() -> None:
    """Flushes the handlers of the "nestor" logger."""
    for h in get_logger().handlers:
        h.flush()


def TaskLevelStatusMessage(msg: Any) -> None:  # noqa: N802 (TensorFlow's name)
    """Logs `msg` at ERROR level, as TensorFlow does."""
    error(msg)
