"""``ReconnectingStream``: one server-streaming gRPC call kept open on its own thread.

The frame stream (WatchFrames) and the live panel's streams (StreamRunEpisodes,
StreamRunScalars) follow the same loop: make the call, hand each message to the subclass, and
when the call ends or fails say why, wait (``REMOTE_VIEW_RETRY_MIN_S`` doubling up to
``REMOTE_VIEW_RETRY_MAX_S``, back to the minimum once a call delivered something) and call
again. A refused token or request (``token-refused``, ``bridge-failed``) ends the thread instead:
retrying cannot help. :meth:`ReconnectingStream.stop` cancels the open call, so the bridge sees
the viewer leave at once, and joins the thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import grpc

from gym_gui_bridge.viewer.remote.link import FATAL_STATUSES, BridgeLink, explain

__all__ = ["STREAM_ENDED", "ReconnectingStream"]

_log = logging.getLogger(__name__)
_JOIN_TIMEOUT_S = 2.0  # cancelling the call wakes the thread at once; this is a safety net

#: The bridge ended the call (or the thread met an unexpected error); it is called again.
STREAM_ENDED = "ended"


class ReconnectingStream:
    """Keeps one streaming call of ``run_id`` open through the bridge of ``link``.

    Subclasses make the call (:meth:`_make_call`), take its messages (:meth:`_receive`) and
    hear why it is down (:meth:`_down`). ``_lock`` guards the open call; subclasses may use it
    for what they share with other threads.

    Args:
        link: the bridge.
        run_id: the run.
        what: the stream in messages for people ("frame stream", "StreamRunScalars stream").
        thread_name: the thread's name.
    """

    def __init__(self, link: BridgeLink, run_id: str, *, what: str, thread_name: str) -> None:
        self.link = link
        self.run_id = run_id
        self.what = what
        #: calls made so far (1 = the first)
        self.calls = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._call: grpc.Call | None = None
        self._worked = False  # the current call delivered something (the thread only)
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    # --- what subclasses provide ---------------------------------------------------------------

    def _make_call(self) -> Any:
        """Start the call; return its message iterator (a ``grpc.Call``)."""
        raise NotImplementedError

    def _receive(self, message: Any) -> bool:
        """Take one message; return whether it counts as the call working (resets the backoff)."""
        raise NotImplementedError

    def _opening(self) -> None:
        """Called on the thread before each call is made (nothing by default)."""

    def _down(self, status: str, detail: str) -> None:
        """Called on the thread when a call ended (``STREAM_ENDED``) or failed (a link status),
        with why; not called once :meth:`stop` was asked."""
        raise NotImplementedError

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = _JOIN_TIMEOUT_S) -> None:
        """End the open call and join the thread. Safe to call twice."""
        self._stop.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                _log.warning("%s thread did not stop within %.1f s", self._thread.name, timeout_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # --- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.link.backoff()
        while not self._stop.is_set():
            self.calls += 1
            self._worked = False
            try:
                self._follow()
                status = STREAM_ENDED
                detail = f"the bridge at {self.link.address} ended the {self.what}"
            except grpc.RpcError as error:
                status, detail = explain(error, self.link.target)
            except Exception as error:  # the thread's boundary: say why, then try again
                _log.exception("%s of run %s failed", self.what, self.run_id)
                status, detail = STREAM_ENDED, f"{type(error).__name__}: {error}"
            if self._stop.is_set():
                return
            self._down(status, detail)
            if status in FATAL_STATUSES:
                return
            if self._worked:
                backoff.reset()  # it worked for a while: the next call comes soon
            self._stop.wait(backoff.next())

    def _follow(self) -> None:
        """One call, until it ends (raises ``grpc.RpcError`` when it fails)."""
        self._opening()
        call = self._make_call()
        with self._lock:
            self._call = call
        if self._stop.is_set():
            call.cancel()
        try:
            for message in call:
                if self._receive(message):
                    self._worked = True
        finally:
            with self._lock:
                self._call = None
