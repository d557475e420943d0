"""How a recorded run learns that it is ending: atexit, ``sys.excepthook`` and SIGTERM.

- Normal exit: ``atexit`` runs ``close`` (a ``finished`` record unless a failure was noted).
- Uncaught exception: ``sys.excepthook`` notes ``"<Type>: <message>"`` with exit code 1, or
  ``"KeyboardInterrupt"`` with 130 for Ctrl-C, then calls the previous hook; atexit follows.
- SIGTERM: only if the script left SIGTERM at its default (which would kill the process
  without any cleanup), a handler notes ``"terminated by SIGTERM"`` (143) and raises
  ``SystemExit(143)``, so ``finally`` blocks and atexit run. A script's own handler is kept.

Signal handlers can only be installed from the main thread of the main interpreter.
"""

from __future__ import annotations

import atexit
import signal
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["EXIT_SIGINT", "EXIT_SIGTERM", "install_exit_handlers"]

#: Exit codes a shell reports for a process ended by Ctrl-C / SIGTERM.
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM


def install_exit_handlers(
    close: Callable[[], Any],
    note_failure: Callable[[str, int], None],
    main: bool = True,
    at_exit: bool = True,
) -> None:
    """Call ``close()`` at exit and ``note_failure(error, exit_code)`` when the script fails.

    ``main=False`` (a worker process) skips the SIGTERM handler. ``at_exit=False`` leaves
    calling ``close()`` at exit to the caller (who registered its own ``atexit`` function
    earlier, so that it runs after the ones the script registered since).
    """
    if at_exit:
        atexit.register(close)
    previous_hook = sys.excepthook

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            note_failure("KeyboardInterrupt", EXIT_SIGINT)
        else:
            note_failure(f"{kind.__name__}: {value}"[:1000], 1)
        previous_hook(kind, value, tb)

    sys.excepthook = excepthook
    if not main or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def on_sigterm(signum: int, frame: Any) -> None:
            note_failure("terminated by SIGTERM", EXIT_SIGTERM)
            raise SystemExit(EXIT_SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)
