"""``FrameStream``: one run's WatchFrames stream on a background thread, reconnecting.

The thread (``remote-frames``) keeps the call open, decodes each frame as it arrives and keeps
only the newest one not yet taken (a slow UI gets fewer, newer frames, as with a local ring).
When the call ends or fails it waits (``REMOTE_VIEW_RETRY_MIN_S``, doubling up to
``REMOTE_VIEW_RETRY_MAX_S``) and calls again; a refused token or request ends the thread
instead (retrying cannot help). The UI thread learns that something changed through
``on_change`` (called from the stream's thread; at most one call per take) and reads it with
:meth:`FrameStream.take`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from gym_gui_bridge.logs import LogThrottle
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.viewer.image import ShownFrame
from gym_gui_bridge.viewer.remote.decode import FrameDecodeError, decode_frame
from gym_gui_bridge.viewer.remote.link import FATAL_STATUSES, BridgeLink, explain

__all__ = [
    "STREAM_ENDED",
    "STREAM_LIVE",
    "STREAM_OPENING",
    "FrameStream",
    "StreamState",
]

_log = logging.getLogger(__name__)
_THREAD_NAME = "remote-frames"
_JOIN_TIMEOUT_S = 2.0  # cancelling the call wakes the thread at once; this is a safety net
_LOG_INTERVAL_S = 10.0  # decode failures are logged at most this often

#: The call is being made, or is open with no frame yet (the run has no live ring).
STREAM_OPENING = "opening"
#: Frames arrive.
STREAM_LIVE = "live"
#: The bridge ended the call; the stream calls again after the backoff.
STREAM_ENDED = "ended"


@dataclass(frozen=True)
class StreamState:
    """Where the stream stands: one of the ``STREAM_*`` states or a link status
    (``bridge-unreachable``, ``token-refused``, ``bridge-failed``), and why."""

    state: str = STREAM_OPENING
    detail: str = ""
    calls: int = 0  # calls made so far (1 = the first)


class FrameStream:
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
        self.link = link
        self.run_id = run_id
        self.request = pb.WatchRequest(
            run_id=run_id,
            fps=fps,
            encoding=encoding,  # type: ignore[arg-type]
            quality=quality,
        )
        self._on_change = on_change
        self._stop = threading.Event()
        # guards _frame, _state, _notified and _call: shared by the stream's and the UI thread
        self._lock = threading.Lock()
        self._frame: ShownFrame | None = None
        self._state = StreamState()
        self._notified = False
        self._call: grpc.Call | None = None
        self.frames_received = 0
        self.bytes_received = 0
        self.decode_errors = 0
        self._got_frames = False  # in the current call (the stream's thread only)
        self._throttle = LogThrottle(_LOG_INTERVAL_S)
        self._thread = threading.Thread(target=self._run, name=_THREAD_NAME, daemon=True)

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = _JOIN_TIMEOUT_S) -> None:
        """End the call (the bridge sees the viewer leave at once) and join the thread."""
        self._stop.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                _log.warning("%s thread did not stop within %.1f s", _THREAD_NAME, timeout_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

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

    def _run(self) -> None:
        backoff = self.link.backoff()
        calls = 0
        while not self._stop.is_set():
            calls += 1
            self._got_frames = False
            try:
                self._follow(calls)
            except grpc.RpcError as error:
                if self._stop.is_set():
                    return
                status, line = explain(error, self.link.target)
                self._publish(state=StreamState(status, line, calls))
                if status in FATAL_STATUSES:
                    return
            except Exception as error:  # the thread's boundary: say why, then try again
                _log.exception("frame stream of run %s failed", self.run_id)
                detail = f"{type(error).__name__}: {error}"
                self._publish(state=StreamState(STREAM_ENDED, detail, calls))
            else:
                if self._stop.is_set():
                    return
                detail = f"the bridge at {self.link.address} ended the frame stream"
                self._publish(state=StreamState(STREAM_ENDED, detail, calls))
            if self._got_frames:
                backoff.reset()  # it worked for a while: the next call comes soon
            self._stop.wait(backoff.next())

    def _follow(self, calls: int) -> None:
        """One WatchFrames call, until it ends (raises grpc.RpcError when it fails)."""
        if calls == 1:  # a retry keeps showing why the previous call ended until frames come
            self._publish(state=StreamState(STREAM_OPENING, "", calls))
        call = self.link.stub().WatchFrames(self.request)
        with self._lock:
            self._call = call
        if self._stop.is_set():
            call.cancel()
        try:
            for message in call:
                self.frames_received += 1
                self.bytes_received += len(message.data)
                try:
                    shown = decode_frame(message)
                except FrameDecodeError as error:
                    self.decode_errors += 1
                    if self._throttle.ready("decode"):
                        _log.warning("run %s: %s", self.run_id, error)
                    continue
                self._got_frames = True
                self._publish(shown, StreamState(STREAM_LIVE, "", calls))
        finally:
            with self._lock:
                self._call = None
