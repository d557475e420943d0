"""The worker's slow lane: episodes, the watched slot's steps and scalars, recorded durably.

- :mod:`~cleanrl_worker.slowlane.recorder`: the run's recorder and its writer (SQLite or bridge).
- :mod:`~cleanrl_worker.slowlane.episodes`: the per-slot wrapper that records episodes and steps.
- :mod:`~cleanrl_worker.slowlane.exit_hooks`: flush at exit, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

__all__: list[str] = []
