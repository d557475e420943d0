"""``/metrics``: the bridge's counters in the Prometheus text format, read at scrape time.

:class:`BridgeCollector` is a prometheus_client custom collector: nothing is counted twice and
no thread samples in the background; each scrape reads the counters the bridge keeps anyway
(publishing streams, the sink, the RunBus, the frame relay, the rings on this machine). The
names and their meaning are listed for operators in docs/operations.md ("Metrics").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from gym_gui_bridge import __version__
from gym_gui_bridge.fastlane.registry import list_segments

if TYPE_CHECKING:
    from gym_gui_bridge.relay import FrameRelay
    from gym_gui_bridge.server.app import Bridge
    from gym_gui_bridge.web.frames import StreamStats

__all__ = ["PREFIX", "BridgeCollector", "registry_for"]

#: Every metric's name starts with this.
PREFIX = "gym_gui_bridge_"


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=labels)


def _counter(name: str, doc: str, labels: list[str] | None = None) -> CounterMetricFamily:
    return CounterMetricFamily(PREFIX + name, doc, labels=labels)


class BridgeCollector(Collector):
    """Reads a running bridge's counters on every scrape.

    Args:
        bridge: the bridge (its servicer, sink and RunBus).
        relay: the frame relay (remote viewers per run), or None if the bridge has none.
        streams: the browser view's own frame streams (None without a relay).
    """

    def __init__(
        self, bridge: Bridge, relay: FrameRelay | None, streams: StreamStats | None
    ) -> None:
        self._bridge, self._relay, self._streams = bridge, relay, streams
        self._started = time.monotonic()

    def collect(self) -> Iterator[Metric]:
        yield from self._records()
        yield from self._queues()
        yield from self._viewers()
        yield from self._fastlanes()
        info = _gauge("info", "The bridge's version (value 1).", ["version"])
        info.add_metric([__version__], 1.0)
        yield info
        uptime = _gauge("uptime_seconds", "Seconds since the browser view started.")
        uptime.add_metric([], time.monotonic() - self._started)
        yield uptime

    def _records(self) -> Iterator[Metric]:
        counters = self._bridge.servicer.counters
        with counters.lock:
            by_kind = {
                kind: (c.received, c.accepted, c.rejected, c.dropped)
                for kind, c in counters.by_kind.items()
            }
            publishers, runs = counters.publishers, len(counters.runs)
        families = [
            _counter("records_received", "Records received on publishing streams.", ["kind"]),
            _counter("records_stored", "Records acknowledged as stored in SQLite.", ["kind"]),
            _counter("records_rejected", "Records or lines refused (quarantined).", ["kind"]),
            _counter("records_dropped", "Records answered as dropped (re-sent).", ["kind"]),
        ]
        for kind, values in sorted(by_kind.items()):
            for family, value in zip(families, values, strict=True):
                family.add_metric([kind], value)
        yield from families
        streams = _gauge("publishing_streams", "Publishing streams open now.")
        streams.add_metric([], publishers)
        yield streams
        published = _gauge("runs_published", "Runs that published since the bridge started.")
        published.add_metric([], runs)
        yield published

    def _queues(self) -> Iterator[Metric]:
        sink = self._bridge.sink.stats()
        written = _counter("sink_written", "Rows the SQLite sink wrote.")
        written.add_metric([], sink.written)
        yield written
        depth = _gauge("sink_queue_depth", "Records waiting for the sink (queue + batch).")
        depth.add_metric([], sink.queued + sink.pending)
        yield depth
        failed = _counter("sink_failed_batches", "Sink batches that failed (retried).")
        failed.add_metric([], sink.failed_batches)
        yield failed
        lost = _counter("sink_lost", "Records the sink gave up on after its retries.")
        lost.add_metric([], sink.lost)
        yield lost
        labels = ["subscriber", "policy"]
        q_depth = _gauge("bus_queue_depth", "Events in a RunBus subscriber's queue.", labels)
        q_dropped = _counter("bus_dropped", "Events a subscriber's queue dropped.", labels)
        q_lost = _counter("bus_lost", "Events a durable queue lost past its cap.", labels)
        for name, stats in sorted(self._bridge.bus.overflow_stats().items()):
            key = [name, stats.policy]
            q_depth.add_metric(key, stats.depth)
            q_dropped.add_metric(key, stats.dropped)
            q_lost.add_metric(key, stats.lost)
        yield from (q_depth, q_dropped, q_lost)
        health = self._bridge.servicer.health()
        subscribers = _gauge("live_subscribers", "Live subscriber streams open now.")
        subscribers.add_metric([], health.subscribers)
        yield subscribers
        wal = _gauge("wal_bytes", "Size of the database's write-ahead log (bytes).")
        wal.add_metric([], health.wal_bytes)
        yield wal

    def _viewers(self) -> Iterator[Metric]:
        viewers = _gauge("remote_viewers", "Frame relay watches open now, per run.", ["run_id"])
        read = _counter("relay_frames_read", "Frames the relay read from a ring.", ["run_id"])
        relayed = _counter("frames_relayed", "Frames the relay handed to viewers.", ["run_id"])
        encode = _counter("relay_encode_seconds", "Time the relay spent encoding.", ["run_id"])
        attached = _gauge("relay_attached", "1 while the relay reads the run's ring.", ["run_id"])
        if self._relay is not None:
            for run_id, count in sorted(self._relay.viewers().items()):
                viewers.add_metric([run_id], count)
            for run_id, stats in sorted(self._relay.stats().items()):
                read.add_metric([run_id], stats.frames_read)
                relayed.add_metric([run_id], stats.frames_sent)
                encode.add_metric([run_id], stats.encode_s)
                attached.add_metric([run_id], 1.0 if stats.attached else 0.0)
        yield from (viewers, read, relayed, encode, attached)
        open_now, sent = self._streams.snapshot() if self._streams else ({}, {})
        web = _gauge("http_streams", "Browser frame streams open now, per run.", ["run_id"])
        for run_id, count in sorted(open_now.items()):
            web.add_metric([run_id], count)
        yield web
        frames = _counter("http_frames_sent", "Frames sent to browsers, per run.", ["run_id"])
        for run_id, count in sorted(sent.items()):
            frames.add_metric([run_id], count)
        yield frames

    def _fastlanes(self) -> Iterator[Metric]:
        labels = ["run_id", "env_slot"]
        rate = _gauge("fastlane_publish_rate_hz", "A live ring's publish rate (Hz).", labels)
        watched = _gauge("fastlane_watched", "1 while a reader watches the ring.", labels)
        published = _counter("fastlane_frames_published", "Frames the writer published.", labels)
        now = time.time_ns()
        for entry in list_segments():
            status = entry.status
            if status is None or not status.writer_alive:
                continue
            key = [status.run_id, str(status.env_slot)]
            rate.add_metric(key, status.current_rate_hz(now))
            watched.add_metric(key, 1.0 if status.watched else 0.0)
            published.add_metric(key, status.frames_published)
        yield from (rate, watched, published)


def registry_for(collector: BridgeCollector) -> CollectorRegistry:
    """A registry of its own holding only ``collector`` (not the process-wide default)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
