"""Tunables of the worker's slow lane: the embedded recorder and the emitter that ships to a bridge.

Read by the worker from ``[recorder]`` and ``[emitter]``. Without ``FASTLANE_BRIDGE`` the recorder
writes into SQLite through its own sink (``[sink]``, :mod:`gym_gui_bridge.config.store`); with
one, the emitter spools to disk and ships to the bridge.
"""

from __future__ import annotations

from dataclasses import dataclass

from gym_gui_bridge.config.spec import ConfigError, check_fields, tunable
from gym_gui_bridge.protocol.limits import GRPC_MAX_MESSAGE_BYTES, JSONL_MAX_LINE_BYTES

__all__ = ["EmitterConfig", "RecorderConfig"]


@dataclass(frozen=True)
class RecorderConfig:
    """The embedded recorder (:class:`~cleanrl_worker.slowlane.recorder.Recorder`)."""

    buffer_limit: int = tunable(
        "RECORDER_BUFFER_LIMIT",
        262144,
        "Records the recorder's hand-off queue (training thread -> writer thread) may hold "
        "(records); beyond it new records are refused and counted. Only reached if the writer "
        "cannot keep up for a long time (a database locked by another process, a very slow "
        "disk).",
        minimum=1,
    )
    close_timeout_s: float = tunable(
        "RECORDER_CLOSE_TIMEOUT_S",
        10.0,
        "Longest the recorder waits at exit for recorded records to reach the database or the "
        "bridge's spool (seconds).",
        minimum=0.0,
    )
    bridge_check_timeout_s: float = tunable(
        "RECORDER_BRIDGE_CHECK_TIMEOUT_S",
        2.0,
        "Longest the start of a run waits for the bridge (FASTLANE_BRIDGE) to say whether the "
        "run id is new (seconds). A bridge that does not answer in time is not asked: the run "
        "spools as usual and the bridge stores it when it is back.",
        above=0.0,
    )
    global_step_hold: int = tunable(
        "RECORDER_GLOBAL_STEP_HOLD",
        32768,
        "Step and episode records a process holds at most while it does not yet know how the "
        "script counts global_step (records); the script's first matching scalar releases "
        "them, and past this many the run counts env steps instead. ~32k records is ~10 MB.",
        minimum=1,
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class EmitterConfig:
    """The emitter (:class:`~cleanrl_worker.emitter.emitter.BridgeEmitter`): its RAM hand-off,
    disk spool and gRPC stream to the bridge."""

    batch_size: int = tunable(
        "EMITTER_BATCH_SIZE",
        1024,
        "Records per gRPC batch sent to the bridge (records). Per-message costs (gRPC on both "
        "sides, the bridge's decode call and ack) are paid once per batch: 1024 takes ~2 us of "
        "CPU per record off the bridge compared with 256 (docs/BENCHMARKS.md); ~220 KB of JSONL.",
        minimum=1,
    )
    batch_max_bytes: int = tunable(
        "EMITTER_BATCH_MAX_BYTES",
        4 * 1024 * 1024,
        "JSONL bytes the emitter puts in one batch at most (bytes); with one maximal line on "
        "top it stays under the gRPC message limit (GRPC_MAX_MESSAGE_BYTES, 16 MiB).",
        minimum=1,
        maximum=GRPC_MAX_MESSAGE_BYTES - JSONL_MAX_LINE_BYTES,
    )
    queue_size: int = tunable(
        "EMITTER_QUEUE_SIZE",
        65536,
        "Records the training thread may hand to the emitter before they are written to its "
        "spool (records): queued, or held while the spool takes nothing (disk full, write "
        "errors, EMITTER_SPOOL_MAX_BYTES reached; the write is retried). The hand-off is RAM; "
        "past this the newest are dropped and counted. ~64k records is ~20 MB.",
        minimum=1,
    )
    segment_bytes: int = tunable(
        "EMITTER_SEGMENT_BYTES",
        8 * 1024 * 1024,
        "Size at which the emitter starts a new spool segment file (bytes). Acknowledged "
        "segments are deleted whole, so this is also the granularity at which disk is given "
        "back.",
        minimum=1,
    )
    spool_max_bytes: int = tunable(
        "EMITTER_SPOOL_MAX_BYTES",
        2 * 1024 * 1024 * 1024,
        "Most disk the whole spool root may use (bytes): every run's spool under it, of every "
        "process, orphans included. Each emitter measures the others' segments at start, at "
        "each new segment and near the cap, so N emitters writing at once can pass it by at "
        "most N x EMITTER_SEGMENT_BYTES. At the cap new records wait in RAM (then "
        "EMITTER_QUEUE_SIZE applies) until acknowledged segments are deleted.",
        minimum=1,
    )
    fsync_interval_s: float = tunable(
        "EMITTER_FSYNC_INTERVAL_S",
        1.0,
        "The spooler fsyncs the current segment at most this often (seconds), and always when a "
        "segment is closed and at exit. A power cut can lose at most this much; a crash of the "
        "process loses nothing already written (the page cache survives it).",
        minimum=0.0,
    )
    flush_interval_s: float = tunable(
        "EMITTER_FLUSH_INTERVAL_S",
        0.25,
        "Longest a half-full batch waits in the spooler before it is written and shipped "
        "(seconds). Also how often the spooler and the shipper look for work when idle: each "
        "look wakes a thread in the training process, so this trades latency for training cost; "
        "0.25 s, like DB_SINK_FLUSH_INTERVAL_S, keeps live views within a quarter second.",
        above=0.0,
    )
    max_in_flight: int = tunable(
        "EMITTER_MAX_IN_FLIGHT",
        32,
        "Batches sent and not yet acknowledged, per stream (batches). The bridge acknowledges "
        "after its SQLite commit (up to DB_SINK_FLUSH_INTERVAL_S later); 32 x 1024 records keep "
        "the pipe full.",
        minimum=1,
    )
    reconnect_min_s: float = tunable(
        "EMITTER_RECONNECT_MIN_S",
        0.1,
        "First pause before reconnecting to an unreachable bridge (seconds); doubled per "
        "failure. Also the first pause before a failed spool write is tried again (doubled "
        "per failure up to EMITTER_RECONNECT_MAX_S).",
        above=0.0,
    )
    reconnect_max_s: float = tunable(
        "EMITTER_RECONNECT_MAX_S",
        2.0,
        "Longest pause between two reconnection attempts (seconds).",
        above=0.0,
    )
    close_timeout_s: float = tunable(
        "EMITTER_CLOSE_TIMEOUT_S",
        5.0,
        "Longest the emitter waits at exit for the bridge to acknowledge the spool (seconds); "
        "what is left stays on disk for `gym-gui-bridge ingest` or the bridge's start-up.",
        minimum=0.0,
    )
    log_interval_s: float = tunable(
        "EMITTER_LOG_INTERVAL_S",
        5.0,
        "Least interval between two repeated warnings of the emitter (seconds): a recurring "
        "problem (bridge unreachable, records dropped) is logged, with its totals, at most this "
        "often.",
        minimum=0.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ConfigError(
                f"EMITTER_RECONNECT_MIN_S: expected <= EMITTER_RECONNECT_MAX_S "
                f"({self.reconnect_max_s:g}), got {self.reconnect_min_s:g}"
            )
