"""``RemoteRunList``: the bridge's runs and fast lanes, re-listed on a background thread.

The thread (``remote-runs``) calls ListFastLanes and ListRuns every ``VIEWER_PICKER_REFRESH_S``
and keeps the newest answer; the run picker and the remote consumer only read that copy, so a
slow or unreachable bridge never blocks the window.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import grpc

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.viewer.remote.link import FATAL_STATUSES, BridgeLink, explain

__all__ = ["RemoteRunList", "RunListing", "describe_lane"]

_log = logging.getLogger(__name__)
_THREAD_NAME = "remote-runs"
_JOIN_TIMEOUT_S = 2.0  # one listing call's deadline is the worst case; the thread is a daemon
_LIVE = "live"


def describe_lane(lane: pb.FastLaneInfo) -> str:
    """One picker line for a fast lane of the bridge's machine.

    >>> describe_lane(pb.FastLaneInfo(run_id="r1", width=600, height=400, channels=3,
    ...     env_slot=2, state="live", writer_alive=True, publish_rate_hz=29.96))
    'r1  |  slot 2  |  600x400x3  |  alive  |  30.0 frames/s'
    """
    slot = "grid" if lane.env_slot < 0 else f"slot {lane.env_slot}"
    alive = "alive" if lane.writer_alive else "writer gone"
    if lane.state != _LIVE:
        alive = lane.state
    size = f"{lane.width}x{lane.height}x{lane.channels}"
    return (
        f"{lane.run_id}  |  {slot}  |  {size}  |  {alive}  |  {lane.publish_rate_hz:.1f} frames/s"
    )


@dataclass(frozen=True)
class RunListing:
    """One answer of the bridge (or why there is none).

    ``lanes``: its fast lanes; ``runs``: the runs in its database, newest first; ``status`` and
    ``detail``: "" after a good answer, else a link status and its line; ``listed``: some
    answer came at least once; ``taken_at``: ``time.monotonic()`` when the lanes were asked for.
    """

    lanes: tuple[pb.FastLaneInfo, ...] = ()
    runs: tuple[pb.RunInfo, ...] = ()
    status: str = ""
    detail: str = ""
    listed: bool = False
    taken_at: float = 0.0

    def lane(self, run_id: str) -> pb.FastLaneInfo | None:
        return next((lane for lane in self.lanes if lane.run_id == run_id), None)

    def newest_live(self) -> str | None:
        """The live fast lane of the run that started last (by the bridge's runs), or None."""
        started = {run.run_id: run.started_at for run in self.runs}
        live = [ln for ln in self.lanes if ln.state == _LIVE and ln.writer_alive]
        if not live:
            return None
        return max(live, key=lambda ln: (started.get(ln.run_id, 0.0), ln.run_id)).run_id

    def entries(self) -> list[tuple[str, str]]:
        """``(run id, picker line)``: live fast lanes first, then the other runs it knows."""
        lanes = sorted(self.lanes, key=lambda ln: (not ln.writer_alive, ln.state != _LIVE))
        shown = {lane.run_id for lane in lanes}
        listed = [(lane.run_id, describe_lane(lane)) for lane in lanes]
        for run in self.runs:
            if run.run_id not in shown:
                listed.append((run.run_id, f"{run.run_id}  |  {run.status}  |  no fast lane"))
        return listed


class RemoteRunList:
    """Keeps a fresh :class:`RunListing` of the bridge of ``link``.

    Args:
        link: the bridge.
        refresh_s: seconds between listings (``VIEWER_PICKER_REFRESH_S``).
    """

    def __init__(self, link: BridgeLink, refresh_s: float) -> None:
        self.link = link
        self.refresh_s = refresh_s
        self._lock = threading.Lock()  # guards _listing
        self._listing = RunListing()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listings = 0

    @property
    def listing(self) -> RunListing:
        with self._lock:
            return self._listing

    def entries(self) -> list[tuple[str, str]]:
        """The picker's lines (the run picker's lister)."""
        return self.listing.entries()

    def refresh(self) -> RunListing:
        """List now (blocks up to ``REMOTE_VIEW_CALL_TIMEOUT_S`` per call) and keep the answer."""
        previous = self.listing
        taken_at = time.monotonic()
        try:
            lanes = self.link.list_fastlanes()
            runs = self.link.list_runs()
        except grpc.RpcError as error:
            status, line = explain(error, self.link.target)
            listing = RunListing(
                previous.lanes, previous.runs, status, line, previous.listed, previous.taken_at
            )
        else:
            ordered = sorted(runs.runs, key=lambda run: -run.started_at)
            listing = RunListing(tuple(lanes.fastlanes), tuple(ordered), "", "", True, taken_at)
        with self._lock:
            self._listing = listing
        self.listings += 1
        return listing

    def start(self) -> None:
        """Start the named listing thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=_THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = _JOIN_TIMEOUT_S) -> None:
        """Stop listing (the thread finishes its call in flight on its own). Safe twice."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.refresh().status in FATAL_STATUSES:
                    return  # a refused token stays refused: the window says so
            except Exception:  # the thread's boundary: log, and list again next time
                _log.exception("listing the runs of the bridge at %s failed", self.link.address)
            self._stop.wait(self.refresh_s)
