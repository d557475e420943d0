"""Where the live panel's data comes from: a pluggable ``TelemetrySource``.

Today there is one source, :class:`SqliteTelemetrySource`, which tails the slow lane's SQLite
database read-only. The bridge's gRPC live stream (a later release) will be a second source with
the same three methods; :class:`~gym_gui_bridge.viewer.live_controller.LiveTelemetryController`
does not care which one it is given. Qt-free.

Tables read (the sink's contract; other columns are ignored)::

    runs(run_id TEXT PRIMARY KEY, status TEXT, started_at REAL, ...)
    episodes(run_id TEXT, slot INTEGER, episode INTEGER, ep_return REAL, length INTEGER,
             wall_time REAL, ...)
    scalars(run_id TEXT, tag TEXT, step INTEGER, value REAL, wall_time REAL, ...)
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gym_gui_bridge.config.viewer import LivePanelConfig

__all__ = [
    "EpisodePoint",
    "ScalarPoint",
    "SqliteTelemetrySource",
    "TelemetryBatch",
    "TelemetrySource",
    "TelemetryUnavailableError",
]


class TelemetryUnavailableError(Exception):
    """The source has nothing to read yet (no database, no tables, no bridge): retry later."""


@dataclass(frozen=True)
class EpisodePoint:
    """One finished episode of one env slot."""

    slot: int
    episode: int
    ep_return: float
    length: int
    wall_time: float


@dataclass(frozen=True)
class ScalarPoint:
    """One logged scalar (a TensorBoard ``add_scalar`` call)."""

    tag: str
    step: int
    value: float
    wall_time: float


@dataclass(frozen=True)
class TelemetryBatch:
    """What a source returned since its previous fetch, oldest first."""

    episodes: tuple[EpisodePoint, ...] = ()
    scalars: tuple[ScalarPoint, ...] = ()
    run_status: str = ""


class TelemetrySource(Protocol):
    """A feed of a run's episodes and scalars, read from the controller's thread."""

    name: str

    def fetch(self, run_id: str) -> TelemetryBatch:
        """Records of ``run_id`` newer than the previous fetch.

        Raises ``TelemetryUnavailableError`` (with a reason for people) when there is nothing to
        read from yet.
        """
        ...

    def reset(self) -> None:
        """Forget the position: the next fetch starts from the run's first record."""
        ...

    def close(self) -> None: ...


class SqliteTelemetrySource:
    """Tails the slow lane's SQLite file with a read-only connection (``mode=ro``).

    Each fetch reads at most ``LIVE_DB_BATCH_ROWS`` new rows per table (``WHERE rowid > ?``),
    so a large backlog is taken in steps and no fetch runs long. It never writes, so it can
    neither lock out nor corrupt the sink.

    >>> source = SqliteTelemetrySource("/nonexistent/fastlane.sqlite")
    >>> source.fetch("run-1")
    Traceback (most recent call last):
    ...
    gym_gui_bridge.viewer.telemetry_source.TelemetryUnavailableError: no telemetry yet: no database at /nonexistent/fastlane.sqlite
    """

    def __init__(
        self, path: str | os.PathLike[str], *, config: LivePanelConfig = LivePanelConfig()
    ) -> None:
        self.path = Path(path)
        self.name = f"sqlite:{self.path}"
        self.config = config
        self._batch_rows = config.batch_rows
        self._conn: sqlite3.Connection | None = None
        self._last_episode_rowid = 0
        self._last_scalar_rowid = 0

    def reset(self) -> None:
        self._last_episode_rowid = 0
        self._last_scalar_rowid = 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def fetch(self, run_id: str) -> TelemetryBatch:
        conn = self._connect()
        try:
            episodes = conn.execute(
                "SELECT rowid, slot, episode, ep_return, length, wall_time FROM episodes"
                " WHERE rowid > ? AND run_id = ? ORDER BY rowid LIMIT ?",
                (self._last_episode_rowid, run_id, self._batch_rows),
            ).fetchall()
            scalars = conn.execute(
                "SELECT rowid, tag, step, value, wall_time FROM scalars"
                " WHERE rowid > ? AND run_id = ? ORDER BY rowid LIMIT ?",
                (self._last_scalar_rowid, run_id, self._batch_rows),
            ).fetchall()
            row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        except sqlite3.OperationalError as error:
            self.close()  # reopen next time: the file may have been replaced
            if "no such table" in str(error):
                raise TelemetryUnavailableError(f"no telemetry yet: {error}") from None
            raise TelemetryUnavailableError(f"database busy or unreadable: {error}") from None
        if episodes:
            self._last_episode_rowid = int(episodes[-1][0])
        if scalars:
            self._last_scalar_rowid = int(scalars[-1][0])
        return TelemetryBatch(
            episodes=tuple(
                EpisodePoint(int(s), int(e), float(r), int(n or 0), float(t or 0.0))
                for _, s, e, r, n, t in episodes
                if r is not None
            ),
            scalars=tuple(
                ScalarPoint(str(tag), int(step or 0), float(v), float(t or 0.0))
                for _, tag, step, v, t in scalars
                if v is not None
            ),
            run_status=str(row[0]) if row and row[0] is not None else "",
        )

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if not self.path.exists():
            raise TelemetryUnavailableError(f"no telemetry yet: no database at {self.path}")
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            self._conn = sqlite3.connect(
                uri, uri=True, timeout=self.config.busy_timeout_s, check_same_thread=False
            )
        except sqlite3.OperationalError as error:
            raise TelemetryUnavailableError(f"cannot open {self.path}: {error}") from None
        return self._conn
