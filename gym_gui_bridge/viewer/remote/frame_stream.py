"""``FrameStream``: one run's WatchFrames stream on a background thread, reconnecting.

The thread (``remote-frames``) keeps the call open, decodes each frame as it arrives and keeps
only the newest one not yet taken (a slow UI gets fewer, newer frames, as with a local ring).
When the call ends or fails it waits and calls again; a refused token or request ends the
thread instead (see :mod:`~gym_gui_bridge.viewer.remote.reconnecting`). The UI thread learns that something changed through
``on_change`` (called from the stream's thread; at most one call per take) and reads it with
:meth:`FrameStream.take`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from gym_gui_bridge.logs import LogThrottle
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.viewer.image import ShownFrame
from gym_gui_bridge.viewer.remote.decode import FrameDecodeError, decode_frame
from gym_gui_bridge.viewer.remote.link import BridgeLink
from gym_gui_bridge.viewer.remote.reconnecting import STREAM_ENDED, ReconnectingStream

__all__ = [
    "STREAM_ENDED",
    "STREAM_LIVE",
    "STREAM_OPENING",
    "FrameStream",
    "StreamState",
]

_log = logging.getLogger(__name__)
_THREAD_NAME = "remote-frames"
_LOG_INTERVAL_S = 10.0  # decode failures are logged at most this often

#: The call is being made, or is open with no frame yet (the run has no live ring).
STREAM_OPENING = "opening"
#: Frames arrive.
STREAM_LIVE = "live"


@dataclass(frozen=True)
class StreamState:
    """Where the stream stands: one of the ``STREAM_*`` states or a link status
    (``bridge-unreachable``, ``token-refused``, ``bridge-failed``), and why."""

    state: str = STREAM_OPENING
    detail: str = ""
    calls: int = 0  # calls made so far (1 = the first)


class FrameStream(ReconnectingStream):
    """Follows ``run_id``'s frames through the bridge of ``link``.

    Args:
        link: the bridge.
        run_id: the run to watch.
        fps: most frames per second to ask for (the bridge may refuse more than its limit).
        encoding: ``FRAME_ENCODING_JPEG`` (live view) or ``FRAME_ENCODING_PNG`` (pixel-exact).
        quality: JPEG quality (0: the bridge's default).
        on_change: called from the stream's thread when :meth:`take` has something new.
    """

    def __init__(
        self,
        link: BridgeLink,
        run_id: str,
        *,
        fps: float,
        encoding: int = pb.FRAME_ENCODING_JPEG,
        quality: int = 0,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(link, run_id, what="frame stream", thread_name=_THREAD_NAME)
        self.request = pb.WatchRequest(
            run_id=run_id,
            fps=fps,
            encoding=encoding,  # type: ignore[arg-type]
            quality=quality,
        )
        self._on_change = on_change
        # _lock also guards _frame, _state and _notified: shared with the UI thread
        self._frame: ShownFrame | None = None
        self._state = StreamState()
        self._notified = False
        self.frames_received = 0
        self.bytes_received = 0
        self.decode_errors = 0
        self._throttle = LogThrottle(_LOG_INTERVAL_S)

    # --- the UI thread ---------------------------------------------------------------------

    def take(self) -> tuple[ShownFrame | None, StreamState]:
        """The newest frame not taken yet (or ``None``) and the stream's state now."""
        with self._lock:
            frame, self._frame = self._frame, None
            self._notified = False
            return frame, self._state

    # --- the thread ----------------------------------------------------------------------------

    def _publish(self, frame: ShownFrame | None = None, state: StreamState | None = None) -> None:
        with self._lock:
            if frame is not None:
                self._frame = frame
            if state is not None:
                self._state = state
            notify = not self._notified
            self._notified = True
        if notify:
            self._on_change()

    def _opening(self) -> None:
        if self.calls == 1:  # a retry keeps showing why the previous call ended until frames come
            self._publish(state=StreamState(STREAM_OPENING, "", 1))

    def _make_call(self) -> object:
        return self.link.stub().WatchFrames(self.request)

    def _receive(self, message: pb.Frame) -> bool:
        self.frames_received += 1
        self.bytes_received += len(message.data)
        try:
            shown = decode_frame(message)
        except FrameDecodeError as error:
            self.decode_errors += 1
            if self._throttle.ready("decode"):
                _log.warning("run %s: %s", self.run_id, error)
            return False
        self._publish(shown, StreamState(STREAM_LIVE, "", self.calls))
        return True

    def _down(self, status: str, detail: str) -> None:
        self._publish(state=StreamState(status, detail, self.calls))
