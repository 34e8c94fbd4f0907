"""`tf.app`: the TF1 entry-point helper used by estimator tutorials (`tf.app.run(main)`)."""
from __future__ import annotations

import sys
from typing import Any, Callable, List, NoReturn, Optional

__all__ = ["run"]


def run(main: Optional[Callable[[List[str]], Any]] = None, argv: Optional[List[str]] = None) -> NoReturn:
    """Runs `main(argv)` and exits with its return value (`tf.app.run`).

    Args:
      main: the program's main function; defaults to `__main__.main`.
      argv: the arguments passed to `main`; defaults to `sys.argv`.
    """
    main = main if main is not None else sys.modules["__main__"].main
    sys.exit(main(list(sys.argv) if argv is None else argv))
