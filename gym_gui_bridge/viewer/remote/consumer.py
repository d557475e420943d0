"""``RemoteFrameConsumer``: a run's frames through a bridge, with the local consumer's signals.

It is what :class:`~gym_gui_bridge.viewer.consumer.FastLaneConsumer` is for a ring on this
machine, for a run on the bridge's machine: the window cannot tell them apart. Frames come from
a :class:`~gym_gui_bridge.viewer.remote.frame_stream.FrameStream` (one WatchFrames call, on its
own thread); the writer's liveness and publish rate from the
:class:`~gym_gui_bridge.viewer.remote.run_list.RemoteRunList` (ListFastLanes).

Statuses, as the local viewer's plus the link's:

- ``fastlane-unavailable``: the bridge has no live fast lane for the run (yet), or, following
  the newest run, none at all.
- ``connected``: frames arrive.
- ``reconnecting``: the writer closed the run or died, or the bridge ended the stream; the last
  frame stays while the stream waits (a restarted run's frames come on the same stream).
- ``bridge-unreachable``: no answer from the bridge; the stream retries with backoff.
- ``token-refused`` / ``bridge-failed``: the bridge refused the token or the request; retrying
  cannot help, so the consumer stops (``gave_up``).

Pausing ends the stream, so the bridge stops watching the run (and the worker stops rendering
once nobody else watches).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from gym_gui_bridge.config.viewer import RemoteViewConfig, ViewerConfig
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.viewer.consumer_state import ConsumerState
from gym_gui_bridge.viewer.hud import STATUS_CONNECTED, STATUS_RECONNECTING, STATUS_UNAVAILABLE
from gym_gui_bridge.viewer.image import ShownFrame
from gym_gui_bridge.viewer.remote.frame_stream import (
    STREAM_ENDED,
    STREAM_LIVE,
    STREAM_OPENING,
    FrameStream,
    StreamState,
)
from gym_gui_bridge.viewer.remote.link import FATAL_STATUSES, BridgeLink
from gym_gui_bridge.viewer.remote.run_list import RemoteRunList

__all__ = ["RemoteFrameConsumer"]

_LIVE = "live"


class RemoteFrameConsumer(ConsumerState):
    """Shows ``run_id`` (``None``: the newest live run) from the bridge of ``link``.

    Args:
        run_id: the run to show; ``None`` follows the newest live run on the bridge's machine.
        link: the bridge.
        runs: the bridge's run list (started and stopped with this consumer).
        config: display rate (the fps asked of the bridge), liveness check interval, frame-rate
            window (``VIEWER_*``).
        remote: JPEG quality asked for (``REMOTE_VIEW_JPEG_QUALITY``; default: the defaults).
        lossless: ask for PNG frames (pixel-exact) instead of JPEG.
    """

    _stream_changed = Signal()  # emitted on the stream's thread, delivered on this one

    def __init__(
        self,
        run_id: str | None,
        *,
        link: BridgeLink,
        runs: RemoteRunList,
        config: ViewerConfig = ViewerConfig(),
        remote: RemoteViewConfig | None = None,
        lossless: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(run_id, config, parent)
        self.link, self.runs = link, runs
        self.remote = remote if remote is not None else RemoteViewConfig()
        self.encoding = pb.FRAME_ENCODING_PNG if lossless else pb.FRAME_ENCODING_JPEG
        self._stream: FrameStream | None = None
        self._gave_up = False
        self._lane_gone = False
        self._last_frame_at = 0.0  # time.monotonic() of the newest frame shown
        self._generation = -1
        self._stream_changed.connect(self._on_stream_changed)
        self._check_timer = QTimer(self)
        self._check_timer.setInterval(round(config.liveness_interval_s * 1000))
        self._check_timer.timeout.connect(self._check)

    # --- public state (the rest of FrameSource is ConsumerState's) ---------------------------

    @property
    def gave_up(self) -> bool:
        return self._gave_up

    @property
    def waiting_hint(self) -> str:
        return (
            f"is the run started with FASTLANE=1 on the machine of the bridge at "
            f"{self.link.address}, and publishing? the picker lists that machine's fast lanes"
        )

    @property
    def stream(self) -> FrameStream | None:
        """The open frame stream (None while paused or waiting for a run)."""
        return self._stream

    # --- control -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start listing the bridge's runs and watching the run (or the newest live one)."""
        self.runs.start()
        self._open()
        self._check_timer.start()

    def stop(self) -> None:
        """End the frame stream and the listing. Safe to call twice."""
        self._check_timer.stop()
        self._close()
        self.runs.stop()

    def set_run(self, run_id: str | None) -> None:
        """Show another run (``None``: the newest live one) without restarting the viewer."""
        self._close()
        self._wanted = run_id
        self._run_id = run_id or ""
        self._reset_counts()
        self._gave_up = False
        self._set_status(STATUS_UNAVAILABLE, "")
        self.run_changed.emit(self._run_id)
        self._update_hud(reset_metrics=True)
        self._open()

    def set_paused(self, paused: bool) -> None:
        """Pause the display: the stream ends, so the bridge stops watching the run for us."""
        if paused == self._paused:
            return
        self._paused = paused
        if paused:
            self._close()
        else:
            self._open()
        self._update_hud()

    # --- the stream ------------------------------------------------------------------------------

    def _open(self) -> None:
        if self._paused or self._gave_up or self._stream is not None:
            return
        run_id = self._wanted or self.runs.listing.newest_live()
        if run_id is None:
            listing = self.runs.listing
            if listing.status:  # the bridge cannot be listed: say why
                self._gave_up = listing.status in FATAL_STATUSES
                self._set_status(listing.status, listing.detail)
            else:
                where = f"on the bridge at {self.link.address}"
                self._set_status(STATUS_UNAVAILABLE, f"no live fast lane {where} yet")
            return  # the check timer tries again
        if run_id != self._run_id:
            self._run_id = run_id
            self._reset_counts()
            self.run_changed.emit(run_id)
        self._stream = FrameStream(
            self.link,
            run_id,
            fps=self.config.fps,
            encoding=self.encoding,
            quality=self.remote.jpeg_quality,
            on_change=self._stream_changed.emit,
        )
        self._stream.start()

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()

    def _reset_counts(self) -> None:
        self._ever_connected = self._lane_gone = False
        self._last_shown_seq, self._generation = 0, -1
        self.reconnect_count = self.frames_shown = self.skipped = 0
        self._meter.reset()
        self._publish_rate, self._frames_published = 0.0, 0

    def _on_stream_changed(self) -> None:
        stream = self._stream
        if stream is None:
            return  # a late signal of a stream already closed
        frame, state = stream.take()
        self._apply(state)
        if frame is not None:
            self._show(frame)
        else:
            self._update_hud()

    def _show(self, shown: ShownFrame) -> None:
        frame = shown.frame
        if frame.generation != self._generation:
            if self._generation >= 0:
                self.reconnect_count += 1  # a new ring generation or a restarted writer
            self._generation, self._last_shown_seq = frame.generation, 0
        self._last_frame_at = time.monotonic()
        self._emit_shown(shown)

    def _apply(self, state: StreamState) -> None:
        if state.state == STREAM_LIVE:
            if self._status == STATUS_RECONNECTING and self._lane_gone:
                self.reconnect_count += 1  # a restarted writer, found on the same stream
                self._last_shown_seq = 0  # its seqs start again
            self._lane_gone = False
            self._ever_connected = True
            self._set_status(STATUS_CONNECTED, "")
        elif state.state in (STREAM_OPENING, STREAM_ENDED):
            if self._lane_gone:
                return  # the check already said why: the writer is gone
            waiting = STATUS_RECONNECTING if self._ever_connected else STATUS_UNAVAILABLE
            self._set_status(waiting, state.detail or self._waiting_reason())
        else:  # a link status: unreachable, refused, failed
            self._gave_up = state.state in FATAL_STATUSES
            self._set_status(state.state, state.detail)

    def _waiting_reason(self) -> str:
        lane = self.runs.listing.lane(self._run_id)
        where = f"on the bridge at {self.link.address}"
        if lane is None:
            return f"no fast lane for run {self._run_id!r} {where}"
        if lane.state != _LIVE or not lane.writer_alive:
            return f"the fast lane of run {self._run_id!r} {where} has no live writer"
        return f"waiting for the first frame of run {self._run_id!r} {where}"

    # --- the periodic check ------------------------------------------------------------------

    def _check(self) -> None:
        """Follow the listing: the writer's liveness and rate, the newest run, a late start."""
        listing = self.runs.listing
        if self._stream is None:
            self._open()
            return
        lane = listing.lane(self._run_id)
        ended = ""
        if lane is not None:
            self._publish_rate = lane.publish_rate_hz
            self._frames_published = max(self._frames_published, lane.frames_published)
            if lane.state != _LIVE:
                ended = "the writer closed the run"
            elif not lane.writer_alive:
                ended = "the writer is gone"
        elif listing.listed and not listing.status:
            ended = "the run's fast lane is gone"
        # a frame newer than the listing means a (restarted) writer is alive after all
        fresh = listing.taken_at > self._last_frame_at
        if ended and fresh and self._status == STATUS_CONNECTED and not self._paused:
            self._lane_gone = True
            self._publish_rate = 0.0
            self._set_status(STATUS_RECONNECTING, ended)
        if self.follows_newest and ended and fresh:
            newest = listing.newest_live()
            if newest is not None and newest != self._run_id:
                self._close()
                self._open()
        self._update_hud()
