"""Tunables of the viewer: its frame display and its live panel.

Read by ``gym-gui-bridge view --config FILE`` from ``[viewer]``, ``[live_panel]`` and
``[remote_view]`` (the last only matters with ``view --bridge``).
``VIEWER_FPS`` and ``VIEWER_SNAPSHOT_TIMEOUT_S`` are also flags (``--fps``,
``--snapshot-timeout``): a flag beats the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from gym_gui_bridge.config.spec import ConfigError, check_fields, tunable

__all__ = ["LivePanelConfig", "RemoteViewConfig", "ViewerConfig"]


@dataclass(frozen=True)
class ViewerConfig:
    """The frame display: ring polling, run picker, ``--snapshot``.

    Used by :class:`~gym_gui_bridge.viewer.consumer.FastLaneConsumer`,
    :class:`~gym_gui_bridge.viewer.run_picker.RunPicker` and :mod:`gym_gui_bridge.viewer.app`.
    """

    fps: float = tunable(
        "VIEWER_FPS",
        60.0,
        "Display rate the viewer polls the ring at (Hz). 60 matches common monitors; a poll "
        "that finds no newer frame copies and paints nothing, so a higher rate costs little "
        "while idle.",
        above=0.0,
    )
    attach_retry_s: float = tunable(
        "VIEWER_ATTACH_RETRY_S",
        0.5,
        "How often a viewer without a ring retries attaching (seconds): slow, it waits for a run.",
        above=0.0,
    )
    liveness_interval_s: float = tunable(
        "VIEWER_LIVENESS_INTERVAL_S",
        0.25,
        "How often the viewer checks that the writer process is alive (seconds). Reads /proc, "
        "so a few times a second at most.",
        above=0.0,
    )
    rate_window_s: float = tunable(
        "VIEWER_RATE_WINDOW_S",
        1.0,
        "Window over which frames shown per second are counted (seconds).",
        above=0.0,
    )
    picker_refresh_s: float = tunable(
        "VIEWER_PICKER_REFRESH_S",
        1.0,
        "How often the run picker re-lists the fast lanes (seconds).",
        above=0.0,
    )
    snapshot_timeout_s: float = tunable(
        "VIEWER_SNAPSHOT_TIMEOUT_S",
        10.0,
        "Longest `--snapshot` waits for the complete picture (a frame the writer published "
        "after the viewer started watching, and the live panel's first load) (seconds). At "
        "the timeout the window is saved anyway if a frame was painted (stderr says what was "
        "missing); with no frame, the viewer exits 1.",
        above=0.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class LivePanelConfig:
    """The live panel: its database tail, buffers and repaint.

    Used by :class:`~gym_gui_bridge.viewer.telemetry_source.SqliteTelemetrySource`,
    :class:`~gym_gui_bridge.viewer.live_controller.LiveTelemetryController` and
    :class:`~gym_gui_bridge.viewer.live_panel.LivePanel`.
    """

    poll_interval_s: float = tunable(
        "LIVE_DB_POLL_INTERVAL_S",
        0.5,
        "How often the live panel's background thread tails the database (seconds).",
        above=0.0,
    )
    batch_rows: int = tunable(
        "LIVE_DB_BATCH_ROWS",
        5000,
        "Most rows one tail query reads per table (rows): bounds one poll's time on a large "
        "backlog.",
        minimum=1,
    )
    busy_timeout_s: float = tunable(
        "LIVE_DB_BUSY_TIMEOUT_S",
        1.0,
        "How long one tail query waits on a locked database before giving up until the next "
        "poll (seconds). Runs on the panel's own thread, so it never delays frames.",
        minimum=0.0,
    )
    return_history: int = tunable(
        "LIVE_RETURN_HISTORY",
        2000,
        "Episodic-return points kept per env slot for the live curve (points).",
        minimum=1,
    )
    scalar_history: int = tunable(
        "LIVE_SCALAR_HISTORY",
        256,
        "Points kept per scalar tag for the live scalar sparklines (points).",
        minimum=1,
    )
    max_scalar_tags: int = tunable(
        "LIVE_MAX_SCALAR_TAGS",
        32,
        "Scalar tags the live panel keeps at most (tags); more are ignored, oldest tags kept.",
        minimum=0,
    )
    thread_join_timeout_s: float = tunable(
        "LIVE_THREAD_JOIN_TIMEOUT_S",
        2.0,
        "How long stopping the live panel's thread waits for it (seconds); one poll's worst case.",
        minimum=0.0,
    )
    refresh_s: float = tunable(
        "LIVE_PANEL_REFRESH_S",
        0.5,
        "How often the live panel repaints from the controller's buffers (seconds).",
        above=0.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class RemoteViewConfig:
    """Watching a run through a bridge (``view --bridge``): retries, call deadlines, buffers.

    Used by :mod:`gym_gui_bridge.viewer.remote` (its frame stream, run list and telemetry
    source).
    """

    retry_min_s: float = tunable(
        "REMOTE_VIEW_RETRY_MIN_S",
        0.25,
        "First wait before reconnecting a stream the bridge ended or could not open (seconds); "
        "each failure in a row doubles it up to REMOTE_VIEW_RETRY_MAX_S.",
        above=0.0,
    )
    retry_max_s: float = tunable(
        "REMOTE_VIEW_RETRY_MAX_S",
        5.0,
        "Longest wait between reconnection attempts (seconds): a bridge that comes back is "
        "found within this long.",
        above=0.0,
    )
    call_timeout_s: float = tunable(
        "REMOTE_VIEW_CALL_TIMEOUT_S",
        5.0,
        "Deadline of one listing call to the bridge (ListRuns, ListFastLanes; seconds), so an "
        "unreachable host is reported instead of waited on.",
        above=0.0,
    )
    jpeg_quality: int = tunable(
        "REMOTE_VIEW_JPEG_QUALITY",
        0,
        "JPEG quality asked of the bridge for live frames (1..100; 0: the bridge's default).",
        minimum=0,
        maximum=100,
    )
    telemetry_buffer: int = tunable(
        "REMOTE_VIEW_TELEMETRY_BUFFER",
        20000,
        "Episodes and scalars held between two polls of the live panel (records, per stream); "
        "beyond it the oldest are dropped (the panel keeps only the newest anyway).",
        minimum=1,
    )
    status_refresh_s: float = tunable(
        "REMOTE_VIEW_STATUS_REFRESH_S",
        2.0,
        "How often the live panel asks the bridge for the run's status (seconds).",
        above=0.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.retry_max_s < self.retry_min_s:
            raise ConfigError(
                f"REMOTE_VIEW_RETRY_MAX_S: expected >= REMOTE_VIEW_RETRY_MIN_S "
                f"({self.retry_min_s:g}), got {self.retry_max_s:g}"
            )
