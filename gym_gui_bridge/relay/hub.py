"""The frame relay: the bridge's one reader of each watched run's ring, fanned out to watches.

``FrameRelay.watch(run_id, ...)`` opens a :class:`RelayWatch`. While at least one watch of a run
is open, the run's tap thread (``relay-<run_id>``) holds a :class:`FastLaneReader` of its ring
(announcing itself, so the worker renders) and polls it for a new frame at twice the highest
rate any watch asks for, reading each frame once. Each frame read is offered to every watch of the run; a watch keeps only the
newest one offered and not yet taken (latest-frame: a slow watch gets fewer, newer frames, the
tap and the worker never wait for it). A watch paces itself to its own fps and encodes on
:meth:`RelayWatch.next`, each (encoding, quality) once per frame whichever watch asks first.

When the last watch of a run closes, the tap stops reading at once (the worker stops rendering
once its reader heartbeat is ``FASTLANE_WATCH_TIMEOUT_S`` old) and closes the ring after
``RELAY_DETACH_S``. A watch of a run without a ring waits (state ``"waiting"``); the tap attaches
when the ring appears. A ring whose writer closed or died puts the watches in state ``"closed"``;
a new ring of the run (the run restarted) makes them ``"live"`` again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from gym_gui_bridge.config.relay import RelayConfig
from gym_gui_bridge.errors import FastLaneError
from gym_gui_bridge.fastlane.layout import (
    FASTLANE_HEARTBEAT_INTERVAL_S,
    SegmentState,
    validate_run_id,
)
from gym_gui_bridge.fastlane.reader import FastLaneReader
from gym_gui_bridge.logs import LOG_RELAY_ATTACHED, LOG_RELAY_TAP_FAILED
from gym_gui_bridge.relay.codec import FRAME_ENCODING_JPEG, JPEG_QUALITY_RANGE, encoding_name
from gym_gui_bridge.relay.frames import RelayedFrame, SharedFrame

__all__ = ["FrameRelay", "RelayRunStats", "RelayWatch"]

_log = logging.getLogger(__name__)
WAITING, LIVE, CLOSED = "waiting", "live", "closed"
# A tap polls at least this often while watched, so the reader heartbeat never lapses.
_MAX_POLL_S = 2.5 * FASTLANE_HEARTBEAT_INTERVAL_S
_JOIN_S = 2.0
_DEFAULT_CONFIG = RelayConfig()


@dataclass(frozen=True)
class RelayRunStats:
    """What the relay did for one run since the bridge started.

    ``frames_read`` counts ring reads that returned a frame (one per frame, however many watch),
    ``last_seq`` is the seq of the newest of them;
    ``frames_sent`` counts frames handed to watches; ``encodes`` and ``encode_s`` what encoding
    them took. ``state`` is the watches' state, or ``"idle"`` once the relay left the ring.
    """

    run_id: str
    watches: int
    state: str
    attached: bool
    frames_read: int
    frames_sent: int
    encodes: int
    encode_s: float
    last_seq: int


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # guards every field below
        self.frames_read = 0
        self.frames_sent = 0
        self.encodes = 0
        self.encode_s = 0.0
        self.last_seq = 0

    def encoded(self, seconds: float) -> None:
        with self.lock:
            self.encodes += 1
            self.encode_s += seconds


class RelayWatch:
    """One viewer's view of a run: the newest frame not yet given to it, at most ``fps`` a second.

    Made by :meth:`FrameRelay.watch`; close it (or use it as a context manager) when done.
    """

    def __init__(
        self, tap: _Tap, fps: float, encoding: int, quality: int, counters: _Counters
    ) -> None:
        self.run_id = tap.run_id
        self.fps = fps
        self.encoding = encoding
        self.quality = quality
        self._tap = tap
        self._counters = counters
        self._period = 1.0 / fps
        self._cond = threading.Condition()  # guards _pending, _closed, _due
        self._pending: SharedFrame | None = None
        self._closed = False
        self._due = 0.0  # time.monotonic() before which no frame is given

    @property
    def state(self) -> str:
        """``"waiting"`` (no ring yet), ``"live"`` or ``"closed"`` (watch, relay or run)."""
        return CLOSED if self._closed else self._tap.state

    @property
    def closed(self) -> bool:
        return self._closed

    def next(self, timeout_s: float = 1.0) -> RelayedFrame | None:
        """The newest frame not yet given to this watch, encoded as asked, or ``None`` if none
        came within ``timeout_s`` (or the watch is closed)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                if self._pending is not None and now >= self._due:
                    shared, self._pending = self._pending, None
                    self._due = max(self._due, now - self._period) + self._period
                    break
                if now >= deadline:
                    return None
                until = deadline if self._pending is None else min(deadline, self._due)
                self._cond.wait(until - now)
        frame = shared.relayed(self.encoding, self.quality)
        with self._counters.lock:
            self._counters.frames_sent += 1
        return frame

    def _offer(self, shared: SharedFrame) -> None:
        """Called by the tap: ``shared`` replaces whatever this watch had not taken."""
        with self._cond:
            self._pending = shared
            self._cond.notify_all()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Stop watching. Safe to call twice; the tap stops reading once no watch is left."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._pending = None
            self._cond.notify_all()
        self._tap.relay._remove(self)

    def __enter__(self) -> RelayWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RelayWatch({self.run_id!r}, {self.fps:g} fps, {encoding_name(self.encoding)}, "
            f"{self.state})"
        )


class _Tap:
    """Thread ``relay-<run_id>``: the one reader of a run's ring while it is watched."""

    def __init__(self, relay: FrameRelay, run_id: str, counters: _Counters) -> None:
        self.relay = relay
        self.run_id = run_id
        self.counters = counters
        self.state = WAITING
        self.watches: list[RelayWatch] = []  # guarded by relay._lock
        self.reader: FastLaneReader | None = None  # used by the tap thread only
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"relay-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def join(self, timeout: float) -> None:
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # --- the tap thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # the thread's boundary: log it, let the watches see "closed"
            _log.exception("%s relay tap of run %s failed", LOG_RELAY_TAP_FAILED, self.run_id)
            self.state = CLOSED
            self.relay._drop_tap(self, force=True)
        finally:
            self._detach()
            for watch in self.relay._watches_of(self):
                watch._wake()

    def _loop(self) -> None:
        config = self.relay.config
        idle_since: float | None = None
        next_check = 0.0
        while True:
            watches = self.relay._watches_of(self)
            now = time.monotonic()
            if not watches:
                if self.relay._stopping:
                    return
                idle_since = now if idle_since is None else idle_since
                if now - idle_since >= config.detach_s and self.relay._drop_tap(self):
                    return
                self._wake.wait(max(0.0, idle_since + config.detach_s - now))
                self._wake.clear()
                continue
            idle_since = None
            if self.reader is None or now >= next_check:
                next_check = now + config.attach_poll_s
                if not self._check_ring():
                    self._wake.wait(config.attach_poll_s)
                    self._wake.clear()
                    continue
            self._read(watches)
            # twice the fastest watch's rate: a frame waits at most half a period to be read
            # (a poll that finds no new frame reads one word of the header)
            fps = max(w.fps for w in watches)
            self._wake.wait(min(0.5 / fps, _MAX_POLL_S))
            self._wake.clear()

    def _check_ring(self) -> bool:
        """Attach if needed; follow the writer's closing or death. True if a ring is live."""
        reader = self.reader
        if reader is not None:
            try:
                status = reader.status()
            except (FastLaneError, OSError, ValueError):
                self._detach(WAITING)
                return False
            if status.state == SegmentState.CLOSED or not status.writer_alive:
                self._detach(CLOSED)
            else:
                return True
        try:
            reader = FastLaneReader.attach(self.run_id, announce=True)
        except (FastLaneError, OSError, ValueError):
            return False  # not there yet (or being created): keep the state
        try:
            status = reader.status()
        except (FastLaneError, OSError, ValueError):
            reader.close()  # gone between the attach and the look
            return False
        if status.state == SegmentState.CLOSED or not status.writer_alive:
            reader.close()  # a finished run's leftover, or a dead writer's
            if self.state == LIVE:
                self.state = CLOSED
            return False
        self.reader = reader
        self.state = LIVE
        _log.info("%s relay attached to run %s (%s)", LOG_RELAY_ATTACHED, self.run_id, reader.name)
        return True

    def _read(self, watches: list[RelayWatch]) -> None:
        reader = self.reader
        if reader is None:
            return
        try:
            frame = reader.latest_frame()
        except (FastLaneError, OSError):
            self._detach(WAITING)  # the segment went away under the reader
            return
        if frame is None:
            return
        with self.counters.lock:
            self.counters.frames_read += 1
            self.counters.last_seq = frame.seq
        shared = SharedFrame(self.run_id, frame, reader.config.env_slot, self.counters.encoded)
        for watch in watches:
            watch._offer(shared)

    def _detach(self, state: str | None = None) -> None:
        if state is not None:
            self.state = state
        reader, self.reader = self.reader, None
        if reader is not None:
            reader.close()
            _log.info("%s relay detached from run %s", LOG_RELAY_ATTACHED, self.run_id)


class FrameRelay:
    """The relay of one bridge: ``watch()`` a run's frames; ``viewers()``, ``stats()``.

    Args:
        config: ``[relay]`` tunables (default fps and JPEG quality, fps limit, detach delay).

    >>> relay = FrameRelay()
    >>> with relay.watch("not-started-yet", fps=10) as watch:
    ...     watch.next(timeout_s=0.01), watch.state, relay.viewers()
    (None, 'waiting', {'not-started-yet': 1})
    >>> relay.viewers()
    {}
    >>> relay.close()
    """

    def __init__(self, config: RelayConfig = _DEFAULT_CONFIG) -> None:
        self.config = config
        self._lock = threading.Lock()  # guards _taps, every tap's watches, _counters, _stopping
        self._taps: dict[str, _Tap] = {}
        self._counters: dict[str, _Counters] = {}
        self._stopping = False

    def watch(
        self,
        run_id: str,
        fps: float = 0.0,
        encoding: int = FRAME_ENCODING_JPEG,
        quality: int = 0,
    ) -> RelayWatch:
        """Start watching ``run_id``'s frames.

        Args:
            run_id: the run whose ring to read (it need not exist yet).
            fps: most frames per second to get; 0 means ``RELAY_DEFAULT_FPS``.
            encoding: ``FRAME_ENCODING_JPEG`` or ``FRAME_ENCODING_PNG``.
            quality: JPEG quality 1..100; 0 means ``RELAY_JPEG_QUALITY``.

        Raises:
            ValueError: an invalid run id, fps, encoding or quality (the message says which),
                or the relay is closed.
        """
        validate_run_id(run_id)
        fps = self._checked_fps(fps)
        encoding_name(encoding)
        low, high = JPEG_QUALITY_RANGE
        if quality == 0:
            quality = self.config.jpeg_quality
        elif not (isinstance(quality, int) and low <= quality <= high):
            raise ValueError(f"Expected quality in {low}..{high} (0: default), got {quality!r}")
        with self._lock:
            if self._stopping:
                raise ValueError("Expected an open relay, got a closed one")
            counters = self._counters.setdefault(run_id, _Counters())
            tap = self._taps.get(run_id)
            fresh = tap is None
            if tap is None:
                tap = self._taps[run_id] = _Tap(self, run_id, counters)
            watch = RelayWatch(tap, fps, encoding, quality, counters)
            tap.watches.append(watch)
        if fresh:
            tap.start()
        tap.wake()
        return watch

    def _checked_fps(self, fps: float) -> float:
        if fps == 0:
            return self.config.default_fps
        top = self.config.max_fps
        if not isinstance(fps, int | float) or not 1.0 <= fps <= top:
            raise ValueError(
                f"Expected fps in 1..{top:g} (RELAY_MAX_FPS) or 0 for the default, got {fps!r}"
            )
        return float(fps)

    def viewers(self) -> dict[str, int]:
        """Run id -> watches open now (runs with none are left out)."""
        with self._lock:
            return {run: len(t.watches) for run, t in self._taps.items() if t.watches}

    def stats(self) -> dict[str, RelayRunStats]:
        """Per run ever watched through this relay: what it read, sent and encoded."""
        with self._lock:
            runs = dict(self._counters)
            taps = dict(self._taps)
        result = {}
        for run_id, c in runs.items():
            tap = taps.get(run_id)
            with c.lock:
                result[run_id] = RelayRunStats(
                    run_id=run_id,
                    watches=len(tap.watches) if tap else 0,
                    state=tap.state if tap else "idle",
                    attached=bool(tap and tap.reader is not None),
                    frames_read=c.frames_read,
                    frames_sent=c.frames_sent,
                    encodes=c.encodes,
                    encode_s=c.encode_s,
                    last_seq=c.last_seq,
                )
        return result

    def close(self) -> None:
        """Close every watch and every ring. Safe to call twice."""
        with self._lock:
            self._stopping = True
            taps = list(self._taps.values())
            watches = [w for t in taps for w in t.watches]
        for watch in watches:
            watch.close()
        for tap in taps:
            tap.wake()
        for tap in taps:
            tap.join(_JOIN_S)

    # --- for watches and taps -----------------------------------------------------------------
    def _watches_of(self, tap: _Tap) -> list[RelayWatch]:
        with self._lock:
            return list(tap.watches)

    def _remove(self, watch: RelayWatch) -> None:
        tap = watch._tap
        with self._lock:
            if watch in tap.watches:
                tap.watches.remove(watch)
        tap.wake()

    def _drop_tap(self, tap: _Tap, *, force: bool = False) -> bool:
        """Forget ``tap`` if no watch uses it (or ``force``); True if it is gone."""
        with self._lock:
            if tap.watches and not force:
                return False
            if self._taps.get(tap.run_id) is tap:
                del self._taps[tap.run_id]
            return True
