"""Exception types of the worker package (settings errors live in the cheap settings module)."""

from __future__ import annotations

from cleanrl_worker.settings import SettingsError

__all__ = ["FastLaneSlotError", "SettingsError", "WorkerError"]


class WorkerError(Exception):
    """Base class of errors raised on purpose by ``cleanrl_worker`` at run time."""


class FastLaneSlotError(WorkerError, ValueError):
    """The watched slot does not exist in the vector env the script built."""
