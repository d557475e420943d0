"""Tunables of the bridge process: its RunBus, gRPC service, live subscribers and their credits.

Read by ``gym-gui-bridge serve --config FILE`` from ``[run_bus]``, ``[bridge]``, ``[live]`` and
``[credits]`` (and ``[sink]``, :mod:`gym_gui_bridge.config.store`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gym_gui_bridge.config.spec import ConfigError, check_fields, spec_of, tunable

__all__ = ["BridgeConfig", "CreditConfig", "LiveConfig", "RunBusConfig"]


@dataclass(frozen=True)
class RunBusConfig:
    """Per-subscriber queues of the :class:`~gym_gui_bridge.bus.run_bus.RunBus`."""

    ui_path_queue_size: int = tunable(
        "RUNBUS_UI_PATH_QUEUE_SIZE",
        512,
        "Queue of a fast-path (drop-oldest) subscriber that asks for no size (events). Small: "
        "latency matters more than completeness. The bridge's own live subscribers ask for "
        "LIVE_SUBSCRIBER_QUEUE_SIZE, so no program reads this from a file.",
        minimum=1,
        read_by=(),
        not_read="the bridge's live subscribers use LIVE_SUBSCRIBER_QUEUE_SIZE ([live])",
    )
    db_path_queue_size: int = tunable(
        "RUNBUS_DB_PATH_QUEUE_SIZE",
        65536,
        "Records the durable path (the sink's queue) may hold before publishing streams and "
        "spool ingestion wait for the sink (events); also the soft bound of a durable "
        "subscriber that asks for no size. Large: the sink must never miss a record.",
        minimum=1,
    )
    durable_hard_limit: int = tunable(
        "RUNBUS_DURABLE_HARD_LIMIT",
        262144,
        "Hard cap of a durable subscriber's queue (events). A durable queue never drops below "
        "this; past its soft bound it only logs. Beyond this cap (a consumer stalled for minutes "
        "at full training speed, ~60 MB of records) it drops the newest and counts them as "
        "lost, so memory stays bounded even when the disk is gone.",
        minimum=1,
    )
    gap_log_interval_s: float = tunable(
        "RUNBUS_GAP_LOG_INTERVAL_S",
        1.0,
        "Least interval between two sequence-gap log lines of one stream (seconds); all gaps "
        "are counted either way.",
        minimum=0.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class BridgeConfig:
    """The gRPC service and the process around it (:class:`~gym_gui_bridge.server.app.Bridge`)."""

    ack_timeout_s: float = tunable(
        "BRIDGE_ACK_TIMEOUT_S",
        30.0,
        "Longest the bridge waits for the SQLite sink to commit a batch before it answers the "
        "batch as dropped (seconds); the emitter then re-sends it.",
        above=0.0,
    )
    max_subscribers: int = tunable(
        "BRIDGE_MAX_SUBSCRIBERS",
        32,
        "Live subscriber streams served at once (streams); more get RESOURCE_EXHAUSTED. Each "
        "holds a server thread while its client reads slowly, so this bounds what subscribers "
        "can take.",
        minimum=1,
    )
    max_subscribers_per_peer: int = tunable(
        "BRIDGE_MAX_SUBSCRIBERS_PER_PEER",
        16,
        "Live subscriber streams one peer may hold at once (streams); more get "
        "RESOURCE_EXHAUSTED. A peer is a remote host, or a user of this machine (loopback "
        "connections are told apart by the uid owning the client's socket). Below "
        "BRIDGE_MAX_SUBSCRIBERS, so one peer cannot take every stream.",
        minimum=1,
    )
    max_publishers: int = tunable(
        "BRIDGE_MAX_PUBLISHERS",
        64,
        "Publishing streams served at once (streams); more get RESOURCE_EXHAUSTED.",
        minimum=1,
    )
    max_publishers_per_peer: int = tunable(
        "BRIDGE_MAX_PUBLISHERS_PER_PEER",
        32,
        "Publishing streams one peer may hold at once (streams); more get RESOURCE_EXHAUSTED. "
        "A peer is a remote host, or a user of this machine (told apart by the uid owning the "
        "client's socket). Below BRIDGE_MAX_PUBLISHERS, so idle streams of one peer cannot lock "
        "the workers of the others out. A worker holds one stream (its emitter).",
        minimum=1,
    )
    idle_timeout_s: float = tunable(
        "BRIDGE_IDLE_TIMEOUT_S",
        60.0,
        "A publishing stream that received no batch for this long, with every batch answered, "
        "is ended (status OK) and its slot freed (seconds). A worker's emitter opens a new "
        "stream when it next has records; a stream that only holds a slot loses it.",
        above=0.0,
    )
    max_rejections_reported: int = tunable(
        "BRIDGE_MAX_REJECTIONS_REPORTED",
        8,
        "Rejections listed by reason in one BatchAck (count); all are counted.",
        minimum=0,
    )
    log_interval_s: float = tunable(
        "BRIDGE_LOG_INTERVAL_S",
        5.0,
        "Least interval between two repeated warnings of the bridge (seconds): a recurring "
        "problem (rejected batches, refused tokens) is logged at most this often.",
        minimum=0.0,
    )
    status_interval_s: float = tunable(
        "BRIDGE_STATUS_INTERVAL_S",
        1.0,
        "Refresh interval of the status line on a terminal (seconds).",
        above=0.0,
    )
    status_log_interval_s: float = tunable(
        "BRIDGE_STATUS_LOG_INTERVAL_S",
        30.0,
        "Interval of the status log line when stderr is not a terminal (seconds).",
        above=0.0,
    )
    quarantine_per_batch: int = tunable(
        "BRIDGE_QUARANTINE_PER_BATCH",
        1024,
        "Rejected lines of one published batch kept in the quarantine table (lines); all are "
        "counted and answered as rejected. Bounds what one hostile batch of tiny bad lines can "
        "make the bridge keep.",
        minimum=0,
    )
    startup_ingest_s: float = tunable(
        "BRIDGE_STARTUP_INGEST_S",
        5.0,
        "Longest `serve` spends ingesting orphaned spools before it listens (seconds); the rest "
        "is ingested in the background while it serves. A small spool is stored before the "
        "first client connects; a huge one never keeps the bridge from listening.",
        minimum=0.0,
    )
    stop_grace_s: float = tunable(
        "BRIDGE_STOP_GRACE_S",
        10.0,
        "Longest `serve` waits at SIGTERM/SIGINT for streams to finish (seconds), before the "
        "sink flushes.",
        minimum=0.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)
        for per_peer, total in (
            ("max_publishers_per_peer", "max_publishers"),
            ("max_subscribers_per_peer", "max_subscribers"),
        ):
            if getattr(self, per_peer) > getattr(self, total):
                fields = {f.name: f for f in dataclasses.fields(self)}
                key, total_key = spec_of(fields[per_peer]).key, spec_of(fields[total]).key
                raise ConfigError(
                    f"{key}: expected <= {total_key} ({getattr(self, total)}), "
                    f"got {getattr(self, per_peer)}"
                )


@dataclass(frozen=True)
class LiveConfig:
    """Live subscriber streams (:class:`~gym_gui_bridge.server.live.LiveSubscriber`)."""

    replay_page_rows: int = tunable(
        "LIVE_REPLAY_PAGE_ROWS",
        2048,
        "Records a live subscriber reads from SQLite per query while replaying (rows).",
        minimum=1,
    )
    subscriber_queue_size: int = tunable(
        "LIVE_SUBSCRIBER_QUEUE_SIZE",
        4096,
        "Events a live subscriber's RunBus queue holds before the oldest are dropped (events); "
        "the subscriber re-reads what it missed from SQLite, so this only bounds memory. Above "
        "EMITTER_BATCH_SIZE: a whole published batch fits.",
        minimum=1,
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class CreditConfig:
    """Credits of live subscribers (:class:`~gym_gui_bridge.bus.credits.CreditManager`)."""

    initial: int = tunable(
        "INITIAL_CREDITS",
        200,
        "Credits a live subscriber starts with per (run id, agent id) (events).",
        minimum=1,
    )
    threshold: int = tunable(
        "MIN_CREDITS_THRESHOLD",
        10,
        "Below this many credits a subscriber counts as starved and is throttled (events); at "
        "most INITIAL_CREDITS.",
        minimum=1,
    )
    recovery_s: float = tunable(
        "CREDIT_RECOVERY_S",
        1.0,
        "A starved live subscriber counts as recovered once its credits stayed at or above half "
        "of INITIAL_CREDITS this long (seconds). gRPC takes messages in bursts as its "
        "flow-control window opens: without this a stuck client would flap between starved and "
        "recovered.",
        minimum=0.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.threshold > self.initial:
            raise ConfigError(
                f"MIN_CREDITS_THRESHOLD: expected <= INITIAL_CREDITS ({self.initial}), "
                f"got {self.threshold}"
            )
