"""Where the live panel's data comes from: a pluggable ``TelemetrySource``.

Two sources have the same three methods: :class:`SqliteTelemetrySource` tails the slow lane's
SQLite database read-only; :class:`~gym_gui_bridge.viewer.remote.telemetry.BridgeTelemetrySource`
follows a bridge's live streams (``view --bridge``).
:class:`~gym_gui_bridge.viewer.live_controller.LiveTelemetryController` does not care which one
it is given. Qt-free.

Tables read (through :mod:`gym_gui_bridge.store.queries`; the sink's contract, other columns
are ignored)::

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
from gym_gui_bridge.store.queries import episode_points_after, run_status, scalar_points_after

__all__ = [
    "EpisodePoint",
    "ScalarPoint",
    "SqliteTelemetrySource",
    "TelemetryBatch",
    "TelemetrySource",
    "TelemetryUnavailableError",
]


class TelemetryUnavailableError(Exception):
    """The source has nothing to read yet (no database, no tables, no bridge): retry later.

    ``nothing`` is True when the source did look and holds no record of the run now (no
    database file, no tables yet): its first load is done, with nothing to draw. It is False
    when the source could not look (a busy database, an unreachable bridge).
    """

    def __init__(self, reason: str, *, nothing: bool = False) -> None:
        super().__init__(reason)
        self.nothing = nothing


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
    """What a source returned since its previous fetch, oldest first.

    ``complete`` says the source has sent everything it held of the run when it was first
    asked (this batch included): the first load is done. False while a backlog is still being
    taken in steps.
    """

    episodes: tuple[EpisodePoint, ...] = ()
    scalars: tuple[ScalarPoint, ...] = ()
    run_status: str = ""
    complete: bool = True


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
            episodes = episode_points_after(
                conn, run_id, self._last_episode_rowid, self._batch_rows
            )
            scalars = scalar_points_after(conn, run_id, self._last_scalar_rowid, self._batch_rows)
            status = run_status(conn, run_id)
        except sqlite3.OperationalError as error:
            self.close()  # reopen next time: the file may have been replaced
            if "no such table" in str(error):
                raise TelemetryUnavailableError(
                    f"no telemetry yet: {error}", nothing=True
                ) from None
            raise TelemetryUnavailableError(f"database busy or unreadable: {error}") from None
        if episodes:
            self._last_episode_rowid = int(episodes[-1]["rowid"])
        if scalars:
            self._last_scalar_rowid = int(scalars[-1]["rowid"])
        return TelemetryBatch(
            episodes=tuple(
                EpisodePoint(
                    slot=int(e["slot"]),
                    episode=int(e["episode"]),
                    ep_return=float(e["ep_return"]),
                    length=int(e["length"] or 0),
                    wall_time=float(e["wall_time"] or 0.0),
                )
                for e in episodes
                if e["ep_return"] is not None
            ),
            scalars=tuple(
                ScalarPoint(
                    tag=str(c["tag"]),
                    step=int(c["step"] or 0),
                    value=float(c["value"]),
                    wall_time=float(c["wall_time"] or 0.0),
                )
                for c in scalars
                if c["value"] is not None
            ),
            run_status=status or "",
            complete=len(episodes) < self._batch_rows and len(scalars) < self._batch_rows,
        )

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if not self.path.exists():
            raise TelemetryUnavailableError(
                f"no telemetry yet: no database at {self.path}", nothing=True
            )
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            self._conn = sqlite3.connect(
                uri, uri=True, timeout=self.config.busy_timeout_s, check_same_thread=False
            )
        except sqlite3.OperationalError as error:
            raise TelemetryUnavailableError(f"cannot open {self.path}: {error}") from None
        return self._conn
