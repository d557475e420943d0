"""The state area of a ring, and frames published by a process that is not the ring's writer.

A ring's writer can hand frame publishing to a renderer sidecar: a process that draws the
frames from the env's state (a few hundred bytes) instead of the writer rendering pixels on the
training thread. The state travels through the ring's state area (layout in
:mod:`gym_gui_bridge.fastlane.layout`), under a seqlock like the frame slots:

- the sidecar asks for a state by raising ``request``;
- the writer, once per step, compares ``request`` with the last state it wrote (one 8-byte
  load) and, when asked, copies the state and the HUD metrics of that step;
- the sidecar reads the newest complete state, draws it and publishes the frame into the
  ring's slots (:class:`DelegatePublisher`), after the writer granted it frame publishing.

Frame publishing has one owner at a time. ``frames_by`` holds the pid publishing frames, 0 for
the ring's writer. A sidecar ready to publish stores its pid in ``handoff_request``; the
writer, between two of its own publishes, stores that pid in ``frames_by`` and publishes no
frame while it stays there. The sidecar stores 0 in ``frames_by`` after its last publish (or
the writer does once the sidecar process has exited) and the writer continues the frame
sequence from ``frames_published``.
"""

from __future__ import annotations

import os
import time

import numpy as np

from gym_gui_bridge.errors import FastLaneCorruptError
from gym_gui_bridge.fastlane import _shm, layout
from gym_gui_bridge.fastlane.config import FastLaneConfig, FastLaneMetrics
from gym_gui_bridge.fastlane.layout import SegmentState
from gym_gui_bridge.fastlane.ring import (
    RingView,
    pack_metrics,
    read_static_header,
    unpack_metrics,
    write_frame,
)

__all__ = ["DelegatePublisher", "StateChannel", "StateSnapshot"]

_AREA = layout.STATE_AREA_OFFSET
_WORD = layout.WORD.pack_into
_TWO_WORDS = layout.TWO_WORDS.pack_into
_FLOAT = layout.FLOAT_WORD.pack_into
_DTYPE_BYTES = 8
_EXIT_POLL_S = 0.01  # how often remove_if_orphaned looks whether a dying writer is gone


class StateSnapshot:
    """One state read from the area: its number, the state array (owned) and its HUD."""

    __slots__ = ("captured_ns", "metrics", "seq", "state")

    def __init__(
        self, seq: int, state: np.ndarray, metrics: FastLaneMetrics, captured_ns: int
    ) -> None:
        self.seq = seq
        self.state = state
        self.metrics = metrics
        self.captured_ns = captured_ns


class StateChannel:
    """Both ends of one ring's state area (the writer's and the sidecar's methods).

    Args:
        view: the mapped ring.
    """

    def __init__(self, view: RingView) -> None:
        self._view = view
        self._words = view.state_words
        self._buf = view.buf
        self._written = 0  # writer: number of the last state written

    # --- the writer's side ---------------------------------------------------------------------

    def wanted(self) -> bool:
        """Whether the sidecar asked for a state newer than the last one written (one load)."""
        return int(self._words[layout.A_REQUEST]) > self._written

    def write(self, state: np.ndarray, metrics: FastLaneMetrics) -> int:
        """Copy ``state`` (a 1-D numeric array of at most ``STATE_MAX_BYTES``) and ``metrics``
        under the area's seqlock; return the state's number."""
        raw = np.ascontiguousarray(state)
        if raw.nbytes > layout.STATE_MAX_BYTES:
            raise ValueError(
                f"Expected a state of at most {layout.STATE_MAX_BYTES} bytes, got {raw.nbytes}"
            )
        dtype = raw.dtype.str.encode("ascii")
        if len(dtype) > _DTYPE_BYTES:
            raise ValueError(f"Expected a plain numeric state dtype, got {raw.dtype}")
        seq = max(self._written, int(self._words[layout.A_STATE_SEQ])) + 1
        buf = self._buf
        now = time.time_ns()
        _WORD(buf, _AREA + 8 * layout.A_LOCK, 2 * seq - 1)
        _TWO_WORDS(buf, _AREA + 8 * layout.A_STATE_SEQ, seq, now)
        pack_metrics(buf, _AREA + layout.A_METRICS_OFFSET, metrics)
        start = _AREA + layout.A_DTYPE_OFFSET
        buf[start : start + _DTYPE_BYTES] = dtype.ljust(_DTYPE_BYTES, b"\0")
        _WORD(buf, _AREA + 8 * layout.A_STATE_BYTES, raw.nbytes)
        start = _AREA + layout.STATE_BYTES_OFFSET
        buf[start : start + raw.nbytes] = raw.tobytes()
        _WORD(buf, _AREA + 8 * layout.A_LOCK, 2 * seq)
        self._written = seq
        return seq

    @property
    def frames_by(self) -> int:
        """Pid publishing frames now; 0 = the ring's writer."""
        return int(self._words[layout.A_FRAMES_BY])

    @property
    def handoff_request(self) -> int:
        """Pid of a sidecar ready to publish frames, 0 = none."""
        return int(self._words[layout.A_HANDOFF_REQUEST])

    def grant(self, pid: int) -> None:
        """Writer: hand frame publishing to ``pid`` (call between two publishes)."""
        self._words[layout.A_HANDOFF_REQUEST] = 0
        self._words[layout.A_FRAMES_BY] = pid

    def take_back(self) -> None:
        """Writer: frame publishing is the writer's again (the sidecar ended)."""
        self._words[layout.A_HANDOFF_REQUEST] = 0
        self._words[layout.A_FRAMES_BY] = 0

    # --- the sidecar's side --------------------------------------------------------------------

    def request(self) -> int:
        """Ask for a state newer than every one written; return the number asked for."""
        wanted = int(self._words[layout.A_STATE_SEQ]) + 1
        if int(self._words[layout.A_REQUEST]) < wanted:
            self._words[layout.A_REQUEST] = wanted
        return wanted

    def read(self, newer_than: int) -> StateSnapshot | None:
        """The newest complete state if its number is above ``newer_than``, else None."""
        words = self._words
        buf = self._buf
        for _ in range(layout.FASTLANE_READ_RETRIES):
            seq = int(words[layout.A_STATE_SEQ])
            if seq <= newer_than:
                return None
            if int(words[layout.A_LOCK]) != 2 * seq:
                continue
            values = layout.METRICS_STRUCT.unpack_from(buf, _AREA + layout.A_METRICS_OFFSET)
            captured_ns = int(words[layout.A_CAPTURED_NS])
            start = _AREA + layout.A_DTYPE_OFFSET
            dtype = bytes(buf[start : start + _DTYPE_BYTES]).rstrip(b"\0").decode("ascii")
            size = min(int(words[layout.A_STATE_BYTES]), layout.STATE_MAX_BYTES)
            start = _AREA + layout.STATE_BYTES_OFFSET
            raw = bytes(buf[start : start + size])
            if int(words[layout.A_LOCK]) != 2 * seq:
                continue
            try:
                state = np.frombuffer(raw, dtype=np.dtype(dtype)).copy()
            except (TypeError, ValueError):
                raise FastLaneCorruptError(f"state {seq}: unreadable dtype {dtype!r}") from None
            return StateSnapshot(seq, state, unpack_metrics(values), captured_ns)
        return None

    def ask_for_frames(self, pid: int) -> None:
        """Sidecar: say it is ready to publish frames (the writer grants it with ``frames_by``)."""
        self._words[layout.A_HANDOFF_REQUEST] = pid

    def give_back(self, pid: int) -> None:
        """Sidecar: hand frame publishing back, if it is still ``pid``'s."""
        if int(self._words[layout.A_HANDOFF_REQUEST]) == pid:
            self._words[layout.A_HANDOFF_REQUEST] = 0
        if int(self._words[layout.A_FRAMES_BY]) == pid:
            self._words[layout.A_FRAMES_BY] = 0


class DelegatePublisher:
    """Publishes frames into a ring another process writes, while that writer lets it.

    Attaches to the segment ``name`` (this user's regular file, header of run ``run_id``,
    written by ``writer_pid``); never creates, resizes or unlinks it, except
    :meth:`remove_if_orphaned`. Frames must have the ring's geometry.
    """

    def __init__(self, name: str, run_id: str, writer_pid: int, rate_smoothing: float) -> None:
        segment = _shm.attach(name, keep_fd=True)
        try:
            config, stored_id = read_static_header(segment)
            if stored_id != run_id:
                raise FastLaneCorruptError(
                    f"{name}: header names run {stored_id!r}, not {run_id!r}"
                )
            view = RingView(segment, config, run_id)
            if view.writer_pid != writer_pid:
                raise FastLaneCorruptError(
                    f"{name}: written by pid {view.writer_pid}, expected {writer_pid}"
                )
        except BaseException:
            segment.close()
            raise
        self.name = name
        self.run_id = run_id
        self.writer_pid = writer_pid
        self._view: RingView | None = view
        self.channel = StateChannel(view)
        self._rate = 0.0
        self._rate_smoothing = rate_smoothing
        self._last_ns = 0
        self.frames = 0

    @property
    def config(self) -> FastLaneConfig:
        return self._require().config

    @property
    def publish_rate_hz(self) -> float:
        return self._rate

    def watched(self) -> bool:
        view = self._require()
        return view.watched()

    def live(self) -> bool:
        """Whether the ring is still the live ring of its writer (not retired or closed)."""
        view = self._view
        return view is not None and view.state == SegmentState.LIVE

    def publish(self, frame: np.ndarray, metrics: FastLaneMetrics) -> int:
        """Publish ``frame`` as the ring's next frame (after ``frames_published``)."""
        view = self._require()
        if frame.shape != view.frame_shape or frame.dtype != np.uint8:
            raise ValueError(
                f"Expected a uint8 frame of shape {view.frame_shape}, got {frame.dtype} "
                f"{frame.shape}"
            )
        seq = view.frames_published + 1
        now = time.time_ns()
        write_frame(view, seq, frame, metrics, now)
        if self._last_ns and now > self._last_ns:
            self._rate += self._rate_smoothing * (1e9 / (now - self._last_ns) - self._rate)
            _FLOAT(view.buf, layout.PUBLISH_RATE_OFFSET, self._rate)
        self._last_ns = now
        self.frames += 1
        return seq

    def remove_if_orphaned(self, wait_s: float = 0.0) -> bool:
        """Close and unlink the ring if its writer is gone (it died without closing it).

        ``wait_s``: how long to wait for a dying writer to be gone (a process still exiting
        looks alive for a moment). Returns True if it was removed. A ring whose writer runs,
        or a name that now holds another ring, is left alone.
        """
        view = self._view
        if view is None:
            return False
        deadline = time.monotonic() + wait_s
        while view.writer_alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(_EXIT_POLL_S)
        view.words[layout.W_STATE] = SegmentState.CLOSED
        try:
            current = _shm.attach(self.name, keep_fd=True)
        except (OSError, ValueError, FastLaneCorruptError):
            return False
        try:
            same = os.fstat(current.fd).st_ino == os.fstat(view.segment.fd).st_ino
        except OSError:
            same = False
        finally:
            current.close()
        return same and _shm.unlink(self.name)

    def close(self) -> None:
        """Unmap the ring. Never unlinks it. Safe to call twice."""
        view = self._view
        if view is None:
            return
        view.release()
        view.segment.close()
        self._view = None

    def _require(self) -> RingView:
        view = self._view
        if view is None:
            raise ValueError(f"publisher of {self.run_id!r} is closed")
        return view
