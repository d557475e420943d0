"""``LiveTelemetryController``: follows a run's episodes and scalars on a background thread.

The thread asks a :class:`~gym_gui_bridge.viewer.telemetry_source.TelemetrySource` for new
records every ``LIVE_DB_POLL_INTERVAL_S`` and folds them into bounded buffers. The Qt side only
ever takes a quick copy of those buffers (:meth:`LiveTelemetryController.snapshot`), so a slow or
locked database can delay the curves but never the frames. Qt-free.

Buffers (all bounded, oldest dropped first): per env slot the last ``LIVE_RETURN_HISTORY``
episodic returns; per scalar tag the last ``LIVE_SCALAR_HISTORY`` values, for at most
``LIVE_MAX_SCALAR_TAGS`` tags. (The ``LIVE_*`` values are the controller's
:class:`~gym_gui_bridge.config.viewer.LivePanelConfig`.)
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass, field

from gym_gui_bridge.config.viewer import LivePanelConfig
from gym_gui_bridge.viewer.telemetry_source import (
    TelemetryBatch,
    TelemetrySource,
    TelemetryUnavailableError,
)

__all__ = ["LiveSnapshot", "LiveTelemetryController"]

_log = logging.getLogger(__name__)
_THREAD_NAME = "live-telemetry"


@dataclass(frozen=True)
class LiveSnapshot:
    """A copy of the controller's buffers, safe to read on the UI thread.

    ``returns`` maps env slot to ``(wall_time, ep_return)`` pairs, oldest first; ``scalars`` maps
    tag to ``(step, value)`` pairs. ``available`` is False (with ``reason``) until the source
    has delivered anything for the run. ``loaded`` turns True once the source's first load is
    done: it sent everything it held of the run when first asked, or said it holds nothing.
    """

    run_id: str = ""
    available: bool = False
    reason: str = "no telemetry yet"
    run_status: str = ""
    returns: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    scalars: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    version: int = 0
    loaded: bool = False


class LiveTelemetryController:
    """Feeds the live panel from a pluggable source, on its own named thread.

    >>> import tempfile, os
    >>> from gym_gui_bridge.viewer.telemetry_source import SqliteTelemetrySource
    >>> path = os.path.join(tempfile.mkdtemp(), "none.sqlite")
    >>> controller = LiveTelemetryController(SqliteTelemetrySource(path))
    >>> controller.set_run("run-1")
    >>> controller.poll_once()          # what the thread does every interval
    >>> snap = controller.snapshot()
    >>> snap.available, snap.reason.startswith("no telemetry yet")
    (False, True)
    """

    def __init__(
        self, source: TelemetrySource, *, config: LivePanelConfig = LivePanelConfig()
    ) -> None:
        self.source = source
        self.config = config
        self._interval = config.poll_interval_s
        # guards every field below it, shared by the poll thread and the UI thread
        self._lock = threading.Lock()
        self._run_id = ""
        self._run_changed = False
        self._available = False
        self._loaded = False
        self._reason = "no telemetry yet"
        self._run_status = ""
        self._returns: dict[int, collections.deque[tuple[float, float]]] = {}
        self._scalars: dict[str, collections.deque[tuple[int, float]]] = {}
        self._version = 0
        self.error_count = 0
        self.polls = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the named poll thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=_THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop the thread (join with a timeout, default ``LIVE_THREAD_JOIN_TIMEOUT_S``) and
        close the source. Safe to call twice."""
        if timeout_s is None:
            timeout_s = self.config.thread_join_timeout_s
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                _log.warning("%s thread did not stop within %.1f s", _THREAD_NAME, timeout_s)
            self._thread = None
        self.source.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- inputs and outputs ----------------------------------------------------------------

    def set_run(self, run_id: str) -> None:
        """Follow ``run_id`` from its first record ("" = none); buffers are cleared."""
        with self._lock:
            if run_id == self._run_id:
                return
            self._run_id = run_id
            self._run_changed = True
            self._clear_locked()

    @property
    def version(self) -> int:
        """Grows whenever the buffers change: the panel copies only when it moved."""
        return self._version

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            return LiveSnapshot(
                run_id=self._run_id,
                available=self._available,
                reason=self._reason,
                run_status=self._run_status,
                returns={slot: list(points) for slot, points in self._returns.items()},
                scalars={tag: list(points) for tag, points in self._scalars.items()},
                version=self._version,
                loaded=self._loaded,
            )

    # --- the poll thread -------------------------------------------------------------------

    def poll_once(self) -> None:
        """One fetch from the source, folded into the buffers (the thread's loop body)."""
        with self._lock:
            run_id, changed = self._run_id, self._run_changed
            self._run_changed = False
        if changed:
            self.source.reset()
        if not run_id:
            return
        self.polls += 1
        try:
            batch = self.source.fetch(run_id)
        except TelemetryUnavailableError as error:
            self._mark_unavailable(run_id, str(error), error.nothing)
            return
        self._fold(run_id, batch)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a process boundary of sorts: log, count, keep following
                self.error_count += 1
                _log.exception("live telemetry poll failed (source %s)", self.source.name)
            self._stop.wait(self._interval)

    def _mark_unavailable(self, run_id: str, reason: str, nothing: bool) -> None:
        with self._lock:
            if run_id != self._run_id:
                return
            loaded = self._loaded or nothing
            if not self._available and self._reason == reason and loaded == self._loaded:
                return
            if not self._returns and not self._scalars:
                self._available = False
            self._reason = reason
            self._loaded = loaded
            self._version += 1

    def _fold(self, run_id: str, batch: TelemetryBatch) -> None:
        with self._lock:
            if run_id != self._run_id or self._run_changed:
                return  # the run changed while we fetched: drop what belongs to the old one
            changed = not self._available or batch.run_status != self._run_status
            if batch.complete and not self._loaded:
                self._loaded = changed = True
            self._available = True
            self._reason = ""
            self._run_status = batch.run_status
            for point in batch.episodes:
                series = self._returns.get(point.slot)
                if series is None:
                    series = self._returns[point.slot] = collections.deque(
                        maxlen=self.config.return_history
                    )
                series.append((point.wall_time, point.ep_return))
                changed = True
            for scalar in batch.scalars:
                history = self._scalars.get(scalar.tag)
                if history is None:
                    if len(self._scalars) >= self.config.max_scalar_tags:
                        continue
                    history = self._scalars[scalar.tag] = collections.deque(
                        maxlen=self.config.scalar_history
                    )
                history.append((scalar.step, scalar.value))
                changed = True
            if changed:
                self._version += 1

    def _clear_locked(self) -> None:
        self._available = False
        self._loaded = False
        self._reason = "no telemetry yet"
        self._run_status = ""
        self._returns.clear()
        self._scalars.clear()
        self._version += 1
