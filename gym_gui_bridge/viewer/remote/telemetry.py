"""``BridgeTelemetrySource``: the live panel fed by the bridge's live streams, not a database.

A :class:`~gym_gui_bridge.viewer.telemetry_source.TelemetrySource` for a run watched through a
bridge. Two threads (``remote-episodes``, ``remote-scalars``) hold StreamRunEpisodes and
StreamRunScalars open from the run's first record; the bridge replays what its database holds,
then sends records as they are stored. Each thread keeps what arrived in a bounded buffer
(``REMOTE_VIEW_TELEMETRY_BUFFER``, oldest dropped) that :meth:`BridgeTelemetrySource.fetch`
empties. A stream that ends or fails is called again after a backoff (see
:mod:`~gym_gui_bridge.viewer.remote.reconnecting`); the replay starts at the first record again
and what was already delivered is skipped by ``(slot, seq)``. Qt-free.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import grpc

from gym_gui_bridge.config.viewer import LivePanelConfig, RemoteViewConfig
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.viewer.remote.link import BridgeLink
from gym_gui_bridge.viewer.remote.reconnecting import ReconnectingStream
from gym_gui_bridge.viewer.telemetry_source import (
    EpisodePoint,
    ScalarPoint,
    TelemetryBatch,
    TelemetryUnavailableError,
)

__all__ = ["BridgeTelemetrySource", "RecordStream"]

Point = TypeVar("Point")


def _episode(message: pb.Episode) -> EpisodePoint:
    return EpisodePoint(
        slot=message.slot,
        episode=message.episode,
        ep_return=message.ep_return,
        length=message.length,
        wall_time=message.wall_time,
    )


def _scalar(message: pb.Scalar) -> ScalarPoint:
    return ScalarPoint(
        tag=message.tag, step=message.step, value=message.value, wall_time=message.wall_time
    )


class RecordStream(ReconnectingStream, Generic[Point]):
    """One live stream of a run (episodes or scalars) on its own thread, reconnecting.

    Args:
        link: the bridge.
        method: the stub's streaming method name (``StreamRunEpisodes``, ``StreamRunScalars``).
        run_id: the run.
        convert: message to point.
        buffer: most points held until :meth:`drain` (oldest dropped).
        name: the thread's name.
    """

    def __init__(
        self,
        link: BridgeLink,
        method: str,
        run_id: str,
        convert: Callable[[Any], Point],
        buffer: int,
        name: str,
    ) -> None:
        super().__init__(link, run_id, what=f"{method} stream", thread_name=name)
        self.method = method
        self._convert = convert
        # _lock also guards _points and _problem: shared with the fetcher
        self._points: collections.deque[Point] = collections.deque(maxlen=buffer)
        self._problem = ""
        self._last: dict[int, int] = {}  # slot -> last seq delivered (the stream's thread only)
        self.received = 0

    @property
    def problem(self) -> str:
        """Why the stream is not open now, for people ("" while it is)."""
        with self._lock:
            return self._problem

    def drain(self) -> list[Point]:
        """Every point received since the previous drain, oldest first."""
        with self._lock:
            points = list(self._points)
            self._points.clear()
        return points

    # --- the stream's thread -------------------------------------------------------------------

    def _make_call(self) -> object:
        request = pb.StreamRequest(run_id=self.run_id, from_seq=0)
        call = getattr(self.link.stub(), self.method)(request)
        with self._lock:
            self._problem = ""
        return call

    def _receive(self, message: Any) -> bool:
        last = self._last.get(message.slot, -1)
        if message.seq <= last:
            return False  # delivered before this call: the replay sends it again
        self._last[message.slot] = message.seq
        point = self._convert(message)
        with self._lock:
            self._points.append(point)
        self.received += 1
        return True

    def _down(self, status: str, detail: str) -> None:
        with self._lock:
            self._problem = detail


class BridgeTelemetrySource:
    """Episodes and scalars of a run, live from the bridge of ``link``.

    ``fetch`` raises :class:`TelemetryUnavailableError` until the first record arrives, and
    whenever nothing new came while a stream is down, with the reason (no record yet, the
    bridge unreachable or restarting, the token refused). The run's status
    (started, finished, ...) comes from ListRuns, at most every
    ``REMOTE_VIEW_STATUS_REFRESH_S``.

    The first load is complete (``TelemetryBatch.complete``) once the episode stream has
    delivered as many episodes as the bridge's first listing of the run counted (none if the
    run is not listed). Scalars carry no such count: the ones replayed alongside are usually in
    by then, but nothing waits for them.

    Args:
        link: the bridge.
        config: the live panel's tunables (for the controller; the source reads none).
        remote: buffer size and the status refresh (``[remote_view]``; default: the defaults).
    """

    def __init__(
        self,
        link: BridgeLink,
        *,
        config: LivePanelConfig = LivePanelConfig(),
        remote: RemoteViewConfig | None = None,
    ) -> None:
        self.link = link
        self.name = f"bridge:{link.address}"
        self.config = config
        self.remote = remote if remote is not None else RemoteViewConfig()
        self._run_id = ""
        self._episodes: RecordStream[EpisodePoint] | None = None
        self._scalars: RecordStream[ScalarPoint] | None = None
        self._delivered = False
        self._run_status = ""
        self._status_checked = -float("inf")
        self._expected_episodes: int | None = None  # from the first listing after opening

    @property
    def streams(self) -> tuple[RecordStream[Any], ...]:
        return tuple(s for s in (self._episodes, self._scalars) if s is not None)

    def fetch(self, run_id: str) -> TelemetryBatch:
        if run_id != self._run_id or self._episodes is None:
            self._open(run_id)
        assert self._episodes is not None and self._scalars is not None
        episodes = self._episodes.drain()
        scalars = self._scalars.drain()
        self._refresh_status()
        expected = self._expected_episodes
        complete = expected is not None and self._episodes.received >= expected
        if episodes or scalars:
            self._delivered = True
            return TelemetryBatch(tuple(episodes), tuple(scalars), self._run_status, complete)
        problem = self._episodes.problem or self._scalars.problem
        if problem:  # the curves drawn so far stay; the reason is noted
            raise TelemetryUnavailableError(problem)
        if not self._delivered:
            raise TelemetryUnavailableError(
                f"no telemetry yet: no episode or scalar of run {run_id!r} on the bridge at "
                f"{self.link.address}",
                nothing=complete,
            )
        return TelemetryBatch(run_status=self._run_status, complete=complete)

    def reset(self) -> None:
        """End the streams: the next fetch calls them again from the run's first record."""
        self._close_streams()
        self._run_id = ""

    def close(self) -> None:
        self._close_streams()

    def _open(self, run_id: str) -> None:
        self._close_streams()
        self._run_id = run_id
        buffer = self.remote.telemetry_buffer
        self._episodes = RecordStream(
            self.link, "StreamRunEpisodes", run_id, _episode, buffer, "remote-episodes"
        )
        self._scalars = RecordStream(
            self.link, "StreamRunScalars", run_id, _scalar, buffer, "remote-scalars"
        )
        self._episodes.start()
        self._scalars.start()

    def _close_streams(self) -> None:
        for stream in self.streams:
            stream.stop()
        self._episodes = self._scalars = None
        self._delivered = False
        self._run_status = ""
        self._status_checked = -float("inf")
        self._expected_episodes = None

    def _refresh_status(self) -> None:
        now = time.monotonic()
        if now - self._status_checked < self.remote.status_refresh_s:
            return
        self._status_checked = now
        try:
            runs = self.link.list_runs().runs
        except grpc.RpcError:
            return  # the streams say what is wrong; the status waits for the next refresh
        found = next((run for run in runs if run.run_id == self._run_id), None)
        if self._expected_episodes is None:
            self._expected_episodes = found.episodes if found is not None else 0
        if found is not None:
            self._run_status = found.status
