"""Startup pre-filter of cleanrl-fastlane, installed at the root of site-packages.

Python 3.15+ calls :func:`run` from ``cleanrl_fastlane.start`` (PEP 829); older Pythons run the
same test inline in ``cleanrl_fastlane.pth``. Importing the ``cleanrl_worker`` package costs
~1.5 ms of interpreter start on a slow disk (docs/BENCHMARKS.md), so this module imports
nothing (``os`` and ``sys`` are loaded by ``site`` already) and defers to
``cleanrl_worker.activation`` only when the fast lane may be wanted. The test is a superset of
``cleanrl_worker.settings.requested()``, which stays the one authority on the settings.
"""

import os
import sys

__all__ = ["maybe_wanted", "run"]

_OFF = ("", "0", "false", "no", "off")


def maybe_wanted():
    """False only when the fast lane is certainly off: FASTLANE unset/off, no flag, no alias."""
    environ = os.environ
    return (
        environ.get("FASTLANE", "").strip().lower() not in _OFF
        or bool(environ.get("FASTLANE_ONLY") or environ.get("GYM_GUI_FASTLANE_ONLY"))
        or any(arg.startswith("--fastlane") for arg in getattr(sys, "argv", ())[1:])
    )


def run():
    """Entry point: activate the fast lane if it may be wanted, else return at once."""
    if maybe_wanted():
        from cleanrl_worker.activation import activate_at_startup

        activate_at_startup()
