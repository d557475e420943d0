"""Tunables of the SQLite sink, the durable path's only writer.

Read from ``[sink]`` by ``gym-gui-bridge serve`` (its sink reads the RunBus) and by the worker
(its embedded sink reads the recorder's hand-off queue, so the two keys about the bus and the
bridge's shutdown are the bridge's only).
"""

from __future__ import annotations

from dataclasses import dataclass

from gym_gui_bridge.config.spec import SERVE, ConfigError, check_fields, tunable

__all__ = ["SinkConfig"]


@dataclass(frozen=True)
class SinkConfig:
    """The sink (:class:`~gym_gui_bridge.store.sink.TelemetryDBSink`) and its connection."""

    writer_queue_size: int = tunable(
        "DB_SINK_WRITER_QUEUE_SIZE",
        16384,
        "Records the sink's queue on the RunBus holds before it logs that it is over its bound "
        "(records); it keeps accepting up to RUNBUS_DURABLE_HARD_LIMIT.",
        minimum=1,
        read_by=(SERVE,),
        not_read="the worker's sink reads the recorder's hand-off queue (RECORDER_BUFFER_LIMIT)",
    )
    batch_size: int = tunable(
        "DB_SINK_BATCH_SIZE",
        2048,
        "Records per write transaction (records). SQLite's own rate flattens above ~256 rows, "
        "but each batch also costs the sink one hand-over of the GIL, which waits up to the "
        "interpreter's 5 ms switch interval while the training thread runs Python: 2048 measured "
        "0.6-0.8x of SQLite's ceiling end to end against 0.4x for 512 (bench/bench_store_rate.py).",
        minimum=1,
    )
    flush_interval_s: float = tunable(
        "DB_SINK_FLUSH_INTERVAL_S",
        0.25,
        "Longest a half-full batch waits before it is written anyway (seconds).",
        above=0.0,
    )
    checkpoint_pages: int = tunable(
        "DB_SINK_CHECKPOINT_PAGES",
        4096,
        "Pages in the WAL before SQLite runs a passive checkpoint (pages of 4 KiB).",
        minimum=1,
    )
    wal_limit_bytes: int = tunable(
        "DB_SINK_WAL_LIMIT_BYTES",
        64 * 1024 * 1024,
        "WAL file size SQLite truncates back to after a checkpoint (bytes). Bounds disk use.",
        minimum=0,
    )
    busy_timeout_s: float = tunable(
        "DB_SINK_BUSY_TIMEOUT_S",
        5.0,
        "How long one write waits for another process's lock before the batch counts as "
        "failed (seconds). Several workers share one file; their transactions last "
        "milliseconds.",
        above=0.0,
    )
    max_retries: int = tunable(
        "DB_SINK_MAX_RETRIES",
        5,
        "Failed attempts at one batch that are each logged (count); later ones are logged once "
        "per DB_SINK_LOG_INTERVAL_S. The batch is retried until it is written either way.",
        minimum=0,
    )
    retry_backoff_s: float = tunable(
        "DB_SINK_RETRY_BACKOFF_S",
        0.05,
        "First pause after a failed batch (seconds); doubled per failure up to "
        "DB_SINK_RETRY_BACKOFF_MAX_S.",
        above=0.0,
    )
    retry_backoff_max_s: float = tunable(
        "DB_SINK_RETRY_BACKOFF_MAX_S",
        2.0,
        "Longest pause between two attempts at a failing batch (seconds).",
        above=0.0,
    )
    queue_pressure: int = tunable(
        "DB_SINK_QUEUE_PRESSURE",
        8192,
        "Queue depth above which the sink logs LOG_SERVICE_DB_SINK_QUEUE_DEPTH (records).",
        minimum=1,
    )
    log_interval_s: float = tunable(
        "DB_SINK_LOG_INTERVAL_S",
        5.0,
        "Least interval between two queue-depth / batch-failure log lines (seconds).",
        minimum=0.0,
    )
    stop_timeout_s: float = tunable(
        "DB_SINK_STOP_TIMEOUT_S",
        10.0,
        "Longest the bridge's shutdown waits for the sink to flush and exit (seconds).",
        minimum=0.0,
        read_by=(SERVE,),
        not_read="the worker's sink stops within RECORDER_CLOSE_TIMEOUT_S",
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.retry_backoff_s > self.retry_backoff_max_s:
            raise ConfigError(
                f"DB_SINK_RETRY_BACKOFF_S: expected <= DB_SINK_RETRY_BACKOFF_MAX_S "
                f"({self.retry_backoff_max_s:g}), got {self.retry_backoff_s:g}"
            )
