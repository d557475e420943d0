"""Typed views over one mapped segment: header words, slot locks, pixel arrays.

Shared by the writer and the readers; knows the layout, not the protocol's policy.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from gym_gui_bridge.errors import FastLaneCorruptError, FastLaneNotFoundError
from gym_gui_bridge.fastlane import layout
from gym_gui_bridge.fastlane._shm import Segment
from gym_gui_bridge.fastlane.config import FastLaneConfig, FastLaneMetrics
from gym_gui_bridge.fastlane.layout import PixelFormat

_METRICS_PACK = layout.METRICS_STRUCT.pack_into
_MODE_CODES = layout.RENDER_MODE_CODES
# Native-order structs: CPython packs each native item with one 8-byte memcpy, i.e. one store,
# so a reader never sees half a word. ("<Q" would be packed byte by byte.)
_WORD = layout.WORD.pack_into
_TWO_WORDS = layout.TWO_WORDS.pack_into

__all__ = [
    "RingView",
    "pack_metrics",
    "parse_static_header",
    "process_alive",
    "process_start_ticks",
    "publish_header",
    "read_static_header",
    "unpack_metrics",
    "write_frame",
    "write_static_header",
]


def process_start_ticks(pid: int) -> int:
    """Start time of ``pid`` in clock ticks since boot (Linux), 0 if unknown.

    Stored next to the pid so a recycled pid is not mistaken for the writer.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return 0
    # Field 22; the command name (field 2) may hold spaces, so count from its closing paren.
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return 0


def process_alive(pid: int, start_ticks: int = 0) -> bool:
    """Whether ``pid`` runs and, when ``start_ticks`` is known, is the same process."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if start_ticks:
        current = process_start_ticks(pid)
        if current and current != start_ticks:
            return False
    try:  # a zombie has exited: only its exit status is left
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
        if stat[stat.rfind(b")") + 2 :].startswith(b"Z"):
            return False
    except OSError:
        pass
    return True


def pack_metrics(buf: Any, offset: int, m: FastLaneMetrics) -> None:
    """Store ``m`` at ``offset`` of ``buf`` as :data:`~layout.METRICS_STRUCT`."""
    _METRICS_PACK(
        buf,
        offset,
        m.last_reward,
        m.rolling_return,
        m.step_rate_hz,
        m.frame_rate_hz,
        m.episode,
        m.episode_step,
        m.global_step,
        m.source_step,
        m.render_ms,
        _MODE_CODES.get(m.render_mode, 0),
    )


def unpack_metrics(values: tuple[Any, ...]) -> FastLaneMetrics:
    """The metrics of an unpacked :data:`~layout.METRICS_STRUCT` (an unknown mode code: "")."""
    code = int(values[9])
    mode = layout.RENDER_MODES[code] if 0 <= code < len(layout.RENDER_MODES) else ""
    return FastLaneMetrics(
        last_reward=values[0],
        rolling_return=values[1],
        step_rate_hz=values[2],
        frame_rate_hz=values[3],
        episode=values[4],
        episode_step=values[5],
        global_step=values[6],
        source_step=values[7],
        render_ms=values[8],
        render_mode=mode,
    )


def write_frame(
    view: RingView, seq: int, frame: np.ndarray, metrics: FastLaneMetrics, now_ns: int
) -> None:
    """Publish frame ``seq`` (same geometry as the ring) under its slot's seqlock, then
    advance ``frames_published``. The caller is the ring's one frame publisher."""
    buf = view.buf
    start, pixels = view.slots[seq % view.capacity]
    _WORD(buf, start, 2 * seq - 1)  # odd: being written
    _TWO_WORDS(buf, start + 8, seq, now_ns)
    pack_metrics(buf, start + layout.METRICS_OFFSET, metrics)
    np.copyto(pixels, frame, casting="no")
    _WORD(buf, start, 2 * seq)  # even: complete
    _TWO_WORDS(buf, layout.FRAMES_PUBLISHED_OFFSET, seq, now_ns)


class RingView:
    """Numpy views into a mapped segment. Views must be dropped (``release``) before unmapping."""

    def __init__(self, segment: Segment, config: FastLaneConfig, run_id: str) -> None:
        self.segment = segment
        self.config = config
        self.run_id = run_id
        buf = segment.buf
        self.stride = layout.slot_stride(config.frame_bytes)
        self.words = np.frombuffer(buf, dtype="<u8", count=layout.HEADER_SIZE // 8)
        self.floats = np.frombuffer(buf, dtype="<f8", count=layout.HEADER_SIZE // 8)
        #: the state area's control words (see layout): request, lock, seq, ..., frames_by
        self.state_words = np.frombuffer(
            buf, dtype="<u8", count=layout.STATE_BYTES_OFFSET // 8, offset=layout.STATE_AREA_OFFSET
        )
        self.buf = buf
        self.capacity = config.capacity
        self.frame_shape = config.frame_shape
        self.slot_words: list[np.ndarray] = []
        self.pixels: list[np.ndarray] = []
        for index in range(config.capacity):
            start = layout.slot_offset(index, self.stride)
            self.slot_words.append(np.frombuffer(buf, dtype="<u8", count=3, offset=start))
            flat = np.frombuffer(
                buf,
                dtype=np.uint8,
                count=config.frame_bytes,
                offset=start + layout.SLOT_HEADER_SIZE,
            )
            self.pixels.append(flat.reshape(config.frame_shape))
        #: per slot: (byte offset, pixel array), the writer's hot path
        self.slots = [(self.slot_offset(i), pixels) for i, pixels in enumerate(self.pixels)]

    @staticmethod
    def required_size(config: FastLaneConfig) -> int:
        return layout.slot_offset(config.capacity, layout.slot_stride(config.frame_bytes))

    def slot_offset(self, index: int) -> int:
        return layout.slot_offset(index, self.stride)

    # --- header fields -----------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return int(self.words[2])

    @property
    def writer_pid(self) -> int:
        return int(self.words[3].view("<i8"))

    @property
    def state(self) -> int:
        return int(self.words[layout.W_STATE])

    @property
    def frames_published(self) -> int:
        return int(self.words[layout.W_FRAMES_PUBLISHED])

    def watched(self, now_ns: int | None = None) -> bool:
        beat = int(self.words[layout.W_READER_HEARTBEAT])
        if beat == 0:
            return False
        now = time.monotonic_ns() if now_ns is None else now_ns
        return now - beat < layout.FASTLANE_WATCH_TIMEOUT_S * 1e9

    def writer_alive(self) -> bool:
        return process_alive(self.writer_pid, int(self.words[layout.W_WRITER_START]))

    def release(self) -> None:
        """Drop every view so the mapping can be closed."""
        self.words = self.floats = self.state_words = np.empty(0, dtype="<u8")
        self.slot_words = []
        self.pixels = []
        self.slots = []


def write_static_header(
    segment: Segment, config: FastLaneConfig, run_id: str, generation: int
) -> None:
    """Fill the fixed part of a fresh header, all but the magic (see :func:`publish_header`)."""
    buf = segment.buf
    encoded = run_id.encode("utf-8")
    buf[layout.RUN_ID_OFFSET : layout.RUN_ID_OFFSET + layout.RUN_ID_BYTES] = encoded.ljust(
        layout.RUN_ID_BYTES, b"\0"
    )
    layout.STATIC_STRUCT.pack_into(
        buf,
        0,
        bytes(len(layout.MAGIC)),
        layout.LAYOUT_VERSION,
        layout.HEADER_SIZE,
        generation,
        os.getpid(),
        config.width,
        config.height,
        config.channels,
        int(PixelFormat.for_channels(config.channels)),
        config.capacity,
        config.env_slot,
        layout.slot_stride(config.frame_bytes),
        config.frame_bytes,
        time.time_ns(),
    )


def publish_header(segment: Segment) -> None:
    """Write the magic, last and with one 8-byte store: a reader sees a segment as a ring only
    once its whole header (run id, geometry, state, writer start) is in place; before, it is
    "being created"."""
    layout.WORD.pack_into(segment.buf, 0, int.from_bytes(layout.MAGIC, "little"))


def read_static_header(segment: Segment) -> tuple[FastLaneConfig, str]:
    """Validate a mapped segment's header and return its geometry and run id.

    See :func:`parse_static_header`.
    """
    head = bytes(segment.buf[: min(segment.size, layout.HEADER_SIZE)])
    return parse_static_header(segment.name, segment.size, head)


def parse_static_header(name: str, size: int, head: bytes) -> tuple[FastLaneConfig, str]:
    """Validate the header bytes ``head`` of segment ``name`` (``size`` bytes long) and return
    its geometry and run id.

    Raises ``FastLaneCorruptError`` naming what is wrong for anything that is not a valid ring,
    and ``FastLaneNotFoundError`` for a segment whose writer has not written the header yet.
    """
    if size < layout.HEADER_SIZE or len(head) < layout.HEADER_SIZE:
        raise FastLaneCorruptError(
            f"{name}: {min(size, len(head))} bytes, smaller than a fast-lane header "
            f"({layout.HEADER_SIZE})"
        )
    fields = layout.STATIC_STRUCT.unpack_from(head, 0)
    (
        magic,
        version,
        header_size,
        generation,
        _pid,
        width,
        height,
        channels,
        pixel_format,
        capacity,
        env_slot,
        stride,
        frame_bytes,
        _created,
    ) = fields
    if magic == bytes(len(layout.MAGIC)):
        # a writer has sized the segment but not yet written the header (microseconds)
        raise FastLaneNotFoundError(f"{name}: being created (no header yet)")
    if magic != layout.MAGIC:
        raise FastLaneCorruptError(f"{name}: bad magic {magic!r}, expected {layout.MAGIC!r}")
    if version != layout.LAYOUT_VERSION:
        raise FastLaneCorruptError(
            f"{name}: layout version {version}, this reader understands {layout.LAYOUT_VERSION}"
        )
    if header_size != layout.HEADER_SIZE or generation < 1:
        raise FastLaneCorruptError(f"{name}: header size {header_size} / generation {generation}")
    try:
        config = FastLaneConfig(width, height, channels, capacity=capacity, env_slot=env_slot)
    except ValueError as error:
        raise FastLaneCorruptError(f"{name}: impossible geometry: {error}") from None
    if pixel_format != int(PixelFormat.for_channels(channels)):
        raise FastLaneCorruptError(f"{name}: pixel format {pixel_format} with {channels} channels")
    if frame_bytes != config.frame_bytes or stride != layout.slot_stride(frame_bytes):
        raise FastLaneCorruptError(f"{name}: slot sizes do not match the frame geometry")
    if size < RingView.required_size(config):
        raise FastLaneCorruptError(
            f"{name}: {size} bytes, the header promises {RingView.required_size(config)}"
        )
    raw_id = head[layout.RUN_ID_OFFSET : layout.RUN_ID_OFFSET + layout.RUN_ID_BYTES]
    try:
        run_id = raw_id.rstrip(b"\0").decode("utf-8")
    except UnicodeDecodeError:
        raise FastLaneCorruptError(f"{name}: run id is not UTF-8") from None
    return config, run_id
