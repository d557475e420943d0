"""A ring read through its file descriptor, never mapped: how readers and listings see a ring.

Another process may truncate a segment at any moment (nothing in the product does, but any
process of the same user can). Touching a mapped page the file no longer has kills the process
with ``SIGBUS``, and no size check before the touch closes that window. A :class:`RingFile`
has no mapping: every read is a ``pread``/``preadv`` of the segment's descriptor, which
returns short once the file ends early, and that short read is reported as the segment being
gone (``FastLaneNotFoundError``). The presence heartbeat is one ``pwrite`` of 8 bytes into the
header, right after a read that proved the header is still there.

The seqlock is the one of :mod:`~gym_gui_bridge.fastlane.layout`: the slot's lock word comes
first in the slot, so one ``preadv`` copies the lock before the pixels, and a second read of
the lock after the copy tells whether the writer lapped the ring meanwhile.
"""

from __future__ import annotations

import os
import struct
import time

import numpy as np

from gym_gui_bridge.errors import FastLaneNotFoundError
from gym_gui_bridge.fastlane import _shm, layout
from gym_gui_bridge.fastlane.config import FastLaneConfig, FastLaneMetrics, FastLaneStatus
from gym_gui_bridge.fastlane.layout import SegmentState
from gym_gui_bridge.fastlane.ring import parse_static_header, process_alive, unpack_metrics

__all__ = ["RingFile", "SlotCopy"]

_GENERATION_AT = 16
_WRITER_PID = struct.Struct("<q")
_WRITER_PID_AT = 24
#: created_ns, state, frames_published, last_publish_ns, publish_rate_hz, reader_heartbeat_ns,
#: writer_start_ticks: the header words from offset 72 to the run id
_LIVE = struct.Struct("<QQQQdQQ")
_LIVE_AT = layout.W_CREATED_NS * 8
#: state and frames_published, read on every poll; the read ends past the heartbeat word
_POLL = struct.Struct("<QQ")
_POLL_AT = layout.W_STATE * 8
_POLL_LEN = (layout.W_READER_HEARTBEAT + 1) * 8 - _POLL_AT
_HEARTBEAT_AT = layout.W_READER_HEARTBEAT * 8
_WORD = struct.Struct("<Q")
_FRAMES_BY_AT = layout.STATE_AREA_OFFSET + layout.A_FRAMES_BY * 8
#: one read covers the header and the state area's control words up to frames_by
_STATUS_LEN = _FRAMES_BY_AT + 8
_PUBLISH_NS_AT = layout.S_PUBLISH_NS * 8


class SlotCopy:
    """A frame copied out of its slot: pixels, seq, HUD and publish time."""

    __slots__ = ("data", "metrics", "publish_ns", "seq")

    def __init__(self, data: np.ndarray, seq: int, head: bytearray) -> None:
        self.data = data
        self.seq = seq
        self.metrics = unpack_metrics(
            layout.METRICS_STRUCT.unpack_from(head, layout.METRICS_OFFSET)
        )
        self.publish_ns = _WORD.unpack_from(head, _PUBLISH_NS_AT)[0]


class RingFile:
    """One segment of a run, validated, read through its descriptor. Use :meth:`open`."""

    def __init__(
        self, file: _shm.SegmentFile, config: FastLaneConfig, run_id: str, generation: int
    ) -> None:
        self.file = file
        self.config = config
        self.run_id = run_id
        #: fixed for the segment's life (a geometry change makes a new segment)
        self.generation = generation
        self.name = file.name
        self.frame_shape = config.frame_shape
        self._stride = layout.slot_stride(config.frame_bytes)
        self._frame_bytes = config.frame_bytes
        self._expected = layout.slot_offset(config.capacity, self._stride)

    @classmethod
    def of(cls, file: _shm.SegmentFile) -> RingFile:
        """Validate the header of an open segment file (the caller still owns ``file``).

        Raises ``FastLaneNotFoundError`` if the writer has not written the header yet, and
        ``FastLaneCorruptError`` if it is not a valid ring.
        """
        head = file.read(0, layout.HEADER_SIZE)
        config, run_id = parse_static_header(file.name, file.size, head)
        return cls(file, config, run_id, _WORD.unpack_from(head, _GENERATION_AT)[0])

    @classmethod
    def open(cls, name: str) -> RingFile:
        """Open segment ``name`` and validate its header.

        Raises as :func:`_shm.open_file` and :meth:`of` do.
        """
        file = _shm.open_file(name)
        try:
            return cls.of(file)
        except BaseException:
            file.close()
            raise

    @property
    def closed(self) -> bool:
        return self.file.closed

    def close(self) -> None:
        self.file.close()

    # --- reads --------------------------------------------------------------------------------

    def _read(self, offset: int, length: int) -> bytes:
        data = self.file.read(offset, length)
        if len(data) != length:
            self._gone()
        return data

    def _gone(self) -> None:
        raise FastLaneNotFoundError(
            f"{self.name}: truncated to {self.file.file_size()} bytes under this reader "
            f"({self._expected} expected): the segment is gone"
        )

    def poll(self) -> tuple[int, int]:
        """``(state, frames_published)``: one read of 40 bytes that also covers the heartbeat."""
        state, seq = _POLL.unpack_from(self._read(_POLL_AT, _POLL_LEN))
        return state, seq

    def beat(self, now_ns: int) -> None:
        """Store the presence heartbeat (after a :meth:`poll` showed the header is there)."""
        os.pwrite(self.file.fd, _WORD.pack(now_ns), _HEARTBEAT_AT)

    def _slot_at(self, seq: int) -> int:
        return layout.slot_offset(seq % self.config.capacity, self._stride)

    def _lock_is(self, offset: int, value: int) -> bool:
        return bool(_WORD.unpack(self._read(offset, 8))[0] == value)

    def copy_frame(self, seq: int) -> SlotCopy | None:
        """Copy frame ``seq`` from its slot, or None if the writer overwrote it meanwhile."""
        offset = self._slot_at(seq)
        head = bytearray(layout.SLOT_HEADER_SIZE)
        data = np.empty(self.frame_shape, np.uint8)
        copied = os.preadv(self.file.fd, [head, data.data], offset)
        if copied != layout.SLOT_HEADER_SIZE + self._frame_bytes:
            self._gone()
        complete = 2 * seq
        if _WORD.unpack_from(head, 0)[0] != complete or not self._lock_is(offset, complete):
            return None
        return SlotCopy(data, seq, head)

    def latest_metrics(self, seq: int) -> FastLaneMetrics | None:
        """HUD metrics of frame ``seq`` and newer (read under the seqlock), None if none."""
        for _ in range(layout.FASTLANE_READ_RETRIES):
            if seq == 0:
                return None
            offset = self._slot_at(seq)
            head = self._read(offset, layout.SLOT_HEADER_SIZE)
            if _WORD.unpack_from(head, 0)[0] == 2 * seq and self._lock_is(offset, 2 * seq):
                return unpack_metrics(
                    layout.METRICS_STRUCT.unpack_from(head, layout.METRICS_OFFSET)
                )
            seq = self.poll()[1]
        return None

    def writer_alive(self) -> bool:
        head = self._read(0, _STATUS_LEN)
        pid = _WRITER_PID.unpack_from(head, _WRITER_PID_AT)[0]
        start = _LIVE.unpack_from(head, _LIVE_AT)[6]
        return process_alive(pid, start)

    def rank(self) -> tuple[bool, int, int]:
        """Sort key among a run's segments: live ones first, then the newest."""
        head = self._read(0, _STATUS_LEN)
        pid = _WRITER_PID.unpack_from(head, _WRITER_PID_AT)[0]
        created, state, *_, start = _LIVE.unpack_from(head, _LIVE_AT)
        live = state == SegmentState.LIVE and process_alive(pid, start)
        return (live, self.generation, created)

    def status(self) -> FastLaneStatus:
        """Everything the header says now, and the HUD of the newest frame."""
        head = self._read(0, _STATUS_LEN)
        pid = _WRITER_PID.unpack_from(head, _WRITER_PID_AT)[0]
        created, state, seq, last_ns, rate, beat, start = _LIVE.unpack_from(head, _LIVE_AT)
        watched = beat != 0 and time.monotonic_ns() - beat < layout.FASTLANE_WATCH_TIMEOUT_S * 1e9
        config = self.config
        return FastLaneStatus(
            run_id=self.run_id,
            name=self.name,
            generation=self.generation,
            writer_pid=pid,
            writer_alive=process_alive(pid, start),
            width=config.width,
            height=config.height,
            channels=config.channels,
            capacity=config.capacity,
            env_slot=config.env_slot,
            state=SegmentState(state) if state in (1, 2, 3) else SegmentState.CLOSED,
            frames_published=seq,
            last_publish_ns=last_ns,
            publish_rate_hz=rate,
            watched=watched,
            created_ns=created,
            size_bytes=self.file.size,
            latest_metrics=self.latest_metrics(seq),
            frames_by=_WORD.unpack_from(head, _FRAMES_BY_AT)[0],
        )
