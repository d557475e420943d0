"""Binary layout of a fast-lane segment, and the run-id / name rules.

A segment is one POSIX shared-memory object named ``mosaic.fastlane.<run_id>``
(``/dev/shm/mosaic.fastlane.<run_id>`` on Linux), created by its single writer with mode 0600.
All integers are little-endian. Every field a peer reads while another process may write it is
an aligned 8-byte word, written and read with single stores/loads.

Header (256 bytes, offset 0)::

    off  size  field               written by  meaning
    0    8     magic               writer      b"MOSAICFL"
    8    4     layout_version      writer      LAYOUT_VERSION (u32)
    12   4     header_size         writer      256 (u32)
    16   8     generation          writer      1 for a run's first segment, +1 per geometry change
    24   8     writer_pid          writer      pid of the writer process (i64)
    32   4     width               writer      frame width in pixels (u32)
    36   4     height              writer      frame height in pixels (u32)
    40   4     channels            writer      1, 3 or 4 (u32)
    44   4     pixel_format        writer      PixelFormat code (u32)
    48   4     capacity            writer      number of frame slots (u32)
    52   4     env_slot            writer      vector-env index shown, -1 grid/unknown (i32)
    56   8     slot_stride         writer      bytes from one slot to the next (u64)
    64   8     frame_bytes         writer      width * height * channels (u64)
    72   8     created_ns          writer      time.time_ns() at creation (u64)
    80   8     state               writer      SegmentState code (u64)
    88   8     frames_published    writer      seq of the newest complete frame, 0 = none (u64)
    96   8     last_publish_ns     writer      time.time_ns() of that publish (u64)
    104  8     publish_rate_hz     writer      smoothed publishes per second (f64)
    112  8     reader_heartbeat_ns readers     time.monotonic_ns() of the latest reader poll (u64)
    120  8     writer_start_ticks  writer      writer's start time from /proc, 0 unknown (u64)
    128  128   run_id              writer      UTF-8, NUL padded

The writer fills the header with the magic zero and writes the magic last, with one 8-byte
store: a segment whose magic is zero is being created (or was never set up by a writer), and a
reader that sees the magic sees the whole header.

State area (4096 bytes, offset 256): the channel between the writer and a renderer sidecar
that draws frames from the env's state in another process (``cleanrl_worker.fastlane.
state_render``). Offsets relative to the area::

    0    8     request             sidecar     state number the sidecar wants next (u64)
    8    8     lock                writer      2n-1 while state n is being written, 2n once complete
    16   8     state_seq           writer      n (u64)
    24   8     captured_ns         writer      time.time_ns() of the capture (u64)
    32   80    metrics             writer      METRICS_STRUCT: the HUD of the step captured
    112  8     dtype               writer      numpy dtype string of the state, ASCII, NUL padded
    120  8     state_bytes         writer      length of the state (u64)
    128  8     frames_by           writer      pid publishing frames now; 0 = the ring's writer
    136  8     handoff_request     sidecar     pid of a sidecar ready to publish frames, 0 = none
    144  112   reserved
    256  3840  state               writer      the state's bytes

The writer copies a state only when ``request`` is past the last state it wrote: one 8-byte
load per step while a sidecar runs, a copy of a few hundred bytes per frame. Frame publishing
has one owner at a time: the writer grants it to a sidecar that asks (``handoff_request``) by
storing the sidecar's pid in ``frames_by`` between two of its own publishes, and takes it back
(continuing the frame sequence from ``frames_published``) when the sidecar stores 0 there or
exits.

Slot ``i`` (``capacity`` of them, offset ``4352 + i * slot_stride``)::

    0    8     lock                writer      2n-1 while frame n is being written, 2n once complete
    8    8     frame_seq           writer      n (u64)
    16   8     publish_ns          writer      time.time_ns() of the publish (u64)
    24   80    metrics             writer      METRICS_STRUCT, see FastLaneMetrics
    104  24    reserved
    128  ...   pixels              writer      frame_bytes, row-major H x W x C uint8

Frame ``n`` (n = 1, 2, ...) goes to slot ``n % capacity``. The protocol is a seqlock: the
writer sets ``lock = 2n-1``, writes metrics and pixels, sets ``lock = 2n``, then advances
``frames_published`` to ``n``. A reader reads ``frames_published`` (n), checks ``lock == 2n``,
copies, and checks ``lock == 2n`` again; a mismatch means the writer lapped the ring during the
copy and the reader retries with the newer frame. Lock values only grow, so a slot can never
look unchanged after being rewritten. The stores are ordered by x86-64's total store order; on
weakly ordered CPUs the protocol relies on the interpreter's own barriers (see docs/fastlane.md).

A geometry change never reuses a header: the writer marks the old segment ``RETIRED``, unlinks
its name and creates a fresh segment with ``generation + 1``; readers see ``RETIRED`` and attach
to the new one.

When ``mosaic.fastlane.<run_id>`` is taken by something that is not the writer's own regular
file (another user's segment, a directory, a link), the writer uses an alternate name
``mosaic.fastlane.<run_id>+<8 random hex digits>``; readers look a run up by its plain name
first, then by its alternates (the header's run id says whose frames they are).
"""

from __future__ import annotations

import enum
import re
import struct
import sys

__all__ = [
    "FASTLANE_CREATE_GRACE_S",
    "FASTLANE_HEARTBEAT_INTERVAL_S",
    "FASTLANE_MAX_CAPACITY",
    "FASTLANE_MAX_EDGE",
    "FASTLANE_MAX_GRID",
    "FASTLANE_MAX_RUN_ID",
    "FASTLANE_READ_RETRIES",
    "FASTLANE_STALE_PUBLISH_S",
    "FASTLANE_WATCH_TIMEOUT_S",
    "HEADER_SIZE",
    "LAYOUT_VERSION",
    "MAGIC",
    "METRICS_STRUCT",
    "NAME_PREFIX",
    "RENDER_MODES",
    "RUN_NAME_SEPARATOR",
    "SLOTS_OFFSET",
    "SLOT_HEADER_SIZE",
    "STATE_AREA_OFFSET",
    "STATE_AREA_SIZE",
    "STATE_MAX_BYTES",
    "PixelFormat",
    "SegmentState",
    "alternate_fastlane_name",
    "create_fastlane_name",
    "is_name_of_run",
    "run_id_of_name",
    "slot_stride",
    "validate_run_id",
]

MAGIC = b"MOSAICFL"
LAYOUT_VERSION = 2
HEADER_SIZE = 256
#: Where the state area starts, and its size (bytes); the frame slots follow it.
STATE_AREA_OFFSET = HEADER_SIZE
STATE_AREA_SIZE = 4096
SLOTS_OFFSET = STATE_AREA_OFFSET + STATE_AREA_SIZE
#: Offset of the state's bytes in the state area, and the most a state may hold (bytes).
STATE_BYTES_OFFSET = 256
STATE_MAX_BYTES = STATE_AREA_SIZE - STATE_BYTES_OFFSET
SLOT_HEADER_SIZE = 128
NAME_PREFIX = "mosaic.fastlane."
#: Separates a run id from the token of an alternate segment name. Run ids cannot hold it, so
#: an alternate name never equals another run's plain name.
RUN_NAME_SEPARATOR = "+"

# --- Fixed limits and timings of the ring. Not tunables: writers, readers and the tools that
# list and clean segments run in different processes and must agree on them. -----------------

#: Upper bound on ring slots (count); keeps memory "a handful of frames".
FASTLANE_MAX_CAPACITY = 16
#: Largest accepted frame edge (pixels). 4096 x 4096 x 4 is 64 MiB per slot: already a lot.
FASTLANE_MAX_EDGE = 4096
#: Longest accepted run id (characters); the segment name adds 16 and must stay a short path.
FASTLANE_MAX_RUN_ID = 100
#: Most tiles a grid frame may show (count). 64 small frames already make an unreadable mosaic.
FASTLANE_MAX_GRID = 64
#: A reader counts as watching while its heartbeat is younger than this (seconds). Viewers poll
#: at 30-60 Hz, so one second tolerates a stalled UI thread without flapping.
FASTLANE_WATCH_TIMEOUT_S = 1.0
#: Readers refresh the heartbeat at most this often (seconds): one shared-cache-line write per
#: interval instead of one per poll. Well below FASTLANE_WATCH_TIMEOUT_S.
FASTLANE_HEARTBEAT_INTERVAL_S = 0.1
#: Attempts a reader makes to copy a frame the writer keeps overwriting (count), before it
#: returns ``None`` for this poll. Only a writer lapping the whole ring mid-copy exhausts it.
FASTLANE_READ_RETRIES = 8
#: An unreadable segment younger than this may be one a writer is creating right now
#: (seconds); ``cleanup`` leaves it alone. Creating takes microseconds: 5 s is generous.
FASTLANE_CREATE_GRACE_S = 5.0
#: A writer whose last publish is older than this has a current publish rate of 0 (seconds):
#: its smoothed estimate (``publish_rate_hz``) only changes when it publishes.
FASTLANE_STALE_PUBLISH_S = 2.0

# Fixed part of the header, written once at creation (offsets 0..79).
STATIC_STRUCT = struct.Struct("<8sIIQqIIIIIiQQQ")
RUN_ID_OFFSET = 128
RUN_ID_BYTES = 128

# Offsets of the 8-byte words that change while the segment lives (header, in words of 8).
W_CREATED_NS = 72 // 8
W_STATE = 80 // 8
W_FRAMES_PUBLISHED = 88 // 8
W_LAST_PUBLISH_NS = 96 // 8
W_PUBLISH_RATE = 104 // 8  # float64 view
W_READER_HEARTBEAT = 112 // 8
W_WRITER_START = 120 // 8

# Byte offsets of the words the writer stores on every publish.
FRAMES_PUBLISHED_OFFSET = 88  # followed by last_publish_ns at 96
PUBLISH_RATE_OFFSET = 104
# Native-order (little-endian on every supported CPU) structs for single-store word writes.
WORD = struct.Struct("@Q")
TWO_WORDS = struct.Struct("@QQ")
FLOAT_WORD = struct.Struct("@d")
if sys.byteorder != "little":  # pragma: no cover - no big-endian CPU runs this
    raise ImportError("the fast-lane layout is little-endian; this CPU is not")

# Slot header words (in words of 8, relative to the slot start).
S_LOCK = 0
S_FRAME_SEQ = 1
S_PUBLISH_NS = 2
METRICS_OFFSET = 24
#: last_reward, rolling_return, step_rate_hz, frame_rate_hz (f64); episode, episode_step,
#: global_step, frame_source_step (i64); render_ms (f64); render_mode (i64, see RENDER_MODES).
METRICS_STRUCT = struct.Struct("<ddddqqqqdq")
#: How a frame was made, by its code in the metrics' render_mode word. Code 0: not said.
RENDER_MODES = ("", "in-process", "sidecar", "screen")
#: render mode name -> code
RENDER_MODE_CODES = {name: code for code, name in enumerate(RENDER_MODES)}

# State area words (in words of 8, relative to the area's start).
A_REQUEST = 0
A_LOCK = 1
A_STATE_SEQ = 2
A_CAPTURED_NS = 3
A_METRICS_OFFSET = 32
A_DTYPE_OFFSET = 112
A_STATE_BYTES = 120 // 8
A_FRAMES_BY = 128 // 8
A_HANDOFF_REQUEST = 136 // 8

_RUN_ID_RE = re.compile(r"[A-Za-z0-9._-]+")
_ALIGN = 64


class PixelFormat(enum.IntEnum):
    """How the bytes of one pixel are to be read."""

    GRAY8 = 1
    RGB8 = 3
    RGBA8 = 4

    @classmethod
    def for_channels(cls, channels: int) -> PixelFormat:
        try:
            return cls(channels)
        except ValueError:
            raise ValueError(f"Expected 1, 3 or 4 channels, got {channels}") from None


class SegmentState(enum.IntEnum):
    """Life cycle of one segment, stored in the header's ``state`` word."""

    LIVE = 1
    RETIRED = 2  # replaced by a newer generation; re-attach by name
    CLOSED = 3  # the writer closed the run


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` if it may name a segment, else raise ``ValueError`` saying why."""
    if not isinstance(run_id, str):
        raise ValueError(f"Expected run id to be a str, got {type(run_id).__name__}")
    if not run_id or len(run_id) > FASTLANE_MAX_RUN_ID:
        raise ValueError(
            f"Expected a run id of 1 to {FASTLANE_MAX_RUN_ID} characters, got {len(run_id)}"
        )
    if not _RUN_ID_RE.fullmatch(run_id) or run_id in {".", ".."}:
        raise ValueError(
            f"Expected a run id of letters, digits, '.', '_' and '-' only, got {run_id!r}"
        )
    return run_id


def create_fastlane_name(run_id: str) -> str:
    """Name of the shared-memory segment of ``run_id``.

    >>> create_fastlane_name("ppo-cartpole-1")
    'mosaic.fastlane.ppo-cartpole-1'
    """
    return NAME_PREFIX + validate_run_id(run_id)


def alternate_fastlane_name(run_id: str, token: str) -> str:
    """Alternate segment name of ``run_id``, used when its plain name is taken by something
    that is not the writer's own file.

    >>> alternate_fastlane_name("ppo-cartpole-1", "0a1b2c3d")
    'mosaic.fastlane.ppo-cartpole-1+0a1b2c3d'
    """
    return create_fastlane_name(run_id) + RUN_NAME_SEPARATOR + token


def run_id_of_name(name: str) -> str:
    """The run id a segment name (plain or alternate) is for.

    >>> run_id_of_name("mosaic.fastlane.ppo-cartpole-1+0a1b2c3d")
    'ppo-cartpole-1'
    """
    return name[len(NAME_PREFIX) :].split(RUN_NAME_SEPARATOR, 1)[0]


def is_name_of_run(name: str, run_id: str) -> bool:
    """Whether ``name`` is the plain or an alternate segment name of ``run_id``."""
    return name.startswith(NAME_PREFIX) and run_id_of_name(name) == run_id


def slot_offset(index: int, stride: int) -> int:
    """Byte offset of slot ``index`` in a segment whose slots are ``stride`` bytes apart."""
    return SLOTS_OFFSET + index * stride


def slot_stride(frame_bytes: int) -> int:
    """Bytes between two slots: header plus pixels, rounded up to a cache line."""
    raw = SLOT_HEADER_SIZE + frame_bytes
    return (raw + _ALIGN - 1) // _ALIGN * _ALIGN
