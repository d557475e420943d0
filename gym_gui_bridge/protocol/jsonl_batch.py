"""Encoding and decoding a whole batch of JSONL lines at once: the slow lane's bulk paths.

:func:`encode_valid_batch` (the worker's spooler) encodes a batch of records in one
``msgspec`` call, or returns ``None`` when some record needs the careful per-record encoder
(:func:`gym_gui_bridge.protocol.jsonl.encode_record`): a float that is not finite, a nested action, a
value of a foreign type (numpy). Both give lines that decode to the same records (tested).

:func:`decode_valid_batch` checks every line of a batch with typed ``msgspec`` schemas in one
call (about 2 us per step record instead of ~13 us line by line) and returns the records,
or ``None`` when it cannot vouch for *every* line. The caller then decodes the batch line by
line with the strict decoder (:func:`gym_gui_bridge.protocol.jsonl.decode_record`), which gives each
bad line its reason. So the fast path only ever accepts what the strict decoder accepts; a
test runs the malformed-record corpus and random records through both.

What the schemas cannot see is checked around them, conservatively:

- a repeated key (JSON allows it, ``msgspec`` keeps the last value): if the batch holds no
  escaped quote (``\\"``) and no whitespace before a colon (anywhere: a string holding
  ``" :"`` sends its batch line by line too), every key ends in ``":``, so the count of
  ``":`` is at least the number of keys written; the schemas make the number of *distinct*
  keys exact, so a repeated key makes the count too large. The count of plain ``:`` is
  checked first (one fast scan): equal to the number of keys, it proves the same; larger
  (a ``:`` inside a string), the ``":`` count decides. (A string value starting with ``:``
  makes that too large as well: that batch goes line by line.)
- an empty or blank line (``msgspec`` skips it, the strict decoder rejects it) and a line over
  ``JSONL_MAX_LINE_BYTES``: line by line.
- nested actions (lists): their depth and their numbers are checked by the strict decoder's
  own rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
import numpy as np

from gym_gui_bridge.errors import RecordDecodeError
from gym_gui_bridge.protocol.jsonl_decode import INT64_MAX, JSONL_VERSION, check_action
from gym_gui_bridge.protocol.limits import JSONL_MAX_LINE_BYTES, JSONL_MAX_NAME_CHARS
from gym_gui_bridge.protocol.records import (
    KIND_EPISODE,
    KIND_SCALAR,
    KIND_STEP,
    RUN_STATUSES,
    EpisodeRollup,
    RunRecord,
    ScalarRecord,
    StepRecord,
    TelemetryEvent,
)

__all__ = ["decode_valid_batch", "encode_valid_batch"]

_FLOAT_MAX = 1.7976931348623157e308  # bounds that reject the infinities msgspec parses
_Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
_Slot = Annotated[int, msgspec.Meta(ge=-1, le=INT64_MAX)]
_ExitCode = Annotated[int, msgspec.Meta(ge=-(2**31), le=INT64_MAX)]
_Finite = Annotated[float, msgspec.Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]
_NonNegative = Annotated[float, msgspec.Meta(ge=0.0, le=_FLOAT_MAX)]
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=JSONL_MAX_NAME_CHARS)]
_Status = Literal[RUN_STATUSES]  # type: ignore[valid-type]


# gc=False: a line holds numbers, strings and lists of them, never a cycle; untracked, the
# thousands decoded per batch do not drive the garbage collector.
class _Line(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, gc=False):
    v: Literal[1]  # JSONL_VERSION
    run_id: _Name
    slot: _Slot
    agent_id: _Name
    seq: _Count
    wall_time: _NonNegative


class _Step(_Line, tag="step"):
    episode: _Count
    step: _Count
    global_step: _Count
    action: int | _Finite | list[Any] | None
    reward: _Finite
    terminated: bool
    truncated: bool
    frame_seq: _Count | None


class _Episode(_Line, tag="episode", rename={"ep_return": "return"}):
    episode: _Count
    ep_return: _Finite
    length: _Count
    terminated: bool
    truncated: bool
    global_step: _Count
    duration: _NonNegative


class _Scalar(_Line, tag="scalar"):
    tag: _Name
    value: _Finite
    step: _Count


class _Run(_Line, tag="run"):
    status: _Status
    argv: list[str]
    version: str
    pid: _Count
    error: str | None
    exit_code: _ExitCode | None


assert JSONL_VERSION == 1, "update _Line.v with the version"
_DECODER = msgspec.json.Decoder(_Step | _Episode | _Scalar | _Run)
# keys per line: the struct's fields (v included) plus the "type" tag
_KEYS = {cls: len(cls.__struct_fields__) + 1 for cls in (_Step, _Episode, _Scalar, _Run)}
_NEWLINE = ord("\n")
_COLON = ord(":")
_ACTION = StepRecord._fields.index("action")


def _spaced_colon(data: bytes) -> bool:
    """Whether JSON whitespace precedes a colon anywhere in ``data``, key or string (a newline
    cannot: it ends the line). Searching one byte is ~50x faster than two, and our own lines
    hold no whitespace at all."""
    if b" " not in data and b"\t" not in data and b"\r" not in data:
        return False
    return b" :" in data or b"\t:" in data or b"\r:" in data


def _colons_and_newlines(data: bytes) -> tuple[int, int]:
    """How many ``:`` and ``\\n`` bytes ``data`` holds; numpy counts ~5x faster than bytes.count."""
    array = np.frombuffer(data, np.uint8)
    return int(np.count_nonzero(array == _COLON)), int(np.count_nonzero(array == _NEWLINE))


# A line's struct holds "v" and then the record's fields in the record's order, so a record is
# the struct's tuple without its first item (built with tuple.__new__: a NamedTuple's own
# __new__ is a Python function, ~0.4 us per record more).
_RECORD_OF: dict[Any, Any] = {_Step: StepRecord, _Episode: EpisodeRollup, _Scalar: ScalarRecord}
_astuple = msgspec.structs.astuple
_tuple_new = tuple.__new__


def _record(line: Any) -> TelemetryEvent:
    kind = type(line)
    if kind is _Run:
        return RunRecord(
            line.run_id, line.slot, line.agent_id, line.seq, line.wall_time, line.status,
            tuple(line.argv), line.version, line.pid, line.error, line.exit_code,
        )  # fmt: skip
    fields = _astuple(line)[1:]
    if kind is _Step and type(fields[_ACTION]) is list:
        fields = (*fields[:_ACTION], check_action(fields[_ACTION]), *fields[_ACTION + 1 :])
    return _tuple_new(_RECORD_OF[kind], fields)


def decode_valid_batch(data: bytes, kind: str | None = None) -> list[TelemetryEvent] | None:
    """The records of the newline-separated JSONL ``data`` (a final newline is optional), if
    every line is a valid record (of ``kind``, when given); ``None`` otherwise, or whenever
    this path cannot be sure: decode line by line then.

    >>> from gym_gui_bridge.protocol.jsonl import encode_lines
    >>> scalar = ScalarRecord("r1", -1, "default", 0, 1.5, "loss", 0.25, 100)
    >>> decode_valid_batch(encode_lines([scalar, scalar]).encode()) == [scalar, scalar]
    True
    >>> decode_valid_batch(b'{"v":1,"type":"scalar"}\\n') is None
    True
    """
    if not data:
        return None
    if len(data) > JSONL_MAX_LINE_BYTES and max(map(len, data.split(b"\n"))) > JSONL_MAX_LINE_BYTES:
        return None
    if (b"\\" in data and b'\\"' in data) or _spaced_colon(data):
        return None
    try:
        lines = _DECODER.decode_lines(data)
        colons, newlines = _colons_and_newlines(data)
        if len(lines) != newlines + (data[-1] != _NEWLINE):
            return None  # an empty or blank line, which decode_lines skips
        keys = sum([_KEYS[type(line)] for line in lines])
        if colons != keys and data.count(b'":') != keys:
            return None  # a repeated key (colons alone can be more: a ':' in a string)
        if b"[" in data:  # lists (actions, argv) to check or convert: record by record
            records = [_record(line) for line in lines]
        else:  # steps, episodes and scalars with plain values: _record, inlined
            records = [_tuple_new(_RECORD_OF[type(line)], _astuple(line)[1:]) for line in lines]
    except (msgspec.DecodeError, UnicodeDecodeError, RecordDecodeError):
        return None
    if kind is not None and any(record.kind != kind for record in records):
        return None
    return records


_ENCODER = msgspec.json.Encoder()


# What the batch encoder writes: a struct per kind whose fields are "v", "type" and then the
# record's fields in order (the JSONL keys, in the strict encoder's order), built positionally
# from a record. msgspec writes a struct's fields as they are, without checking their types:
# encode_valid_batch checks what the wire's schema would refuse before building one.
def _output_struct(record_type: Any, rename: dict[str, str] | None = None) -> Any:
    fields = [("v", int), ("type", str), *((name, Any) for name in record_type._fields)]
    return msgspec.defstruct(f"_{record_type.__name__}Line", fields, rename=rename, gc=False)


_StepOut = _output_struct(StepRecord)
_EpisodeOut = _output_struct(EpisodeRollup, {"ep_return": "return"})
_ScalarOut = _output_struct(ScalarRecord)


def _plain_action(action: Any) -> bool:
    """An action msgspec writes exactly as the strict encoder would."""
    kind = type(action)
    if action is None or kind is int:
        return True
    if kind is float:
        return action - action == 0.0  # finite
    if kind is list:  # a flat list of numbers (continuous control); nested ones: per record
        if not all(type(x) is int or type(x) is float for x in action):
            return False
        try:
            total = math.fsum(action)
        except OverflowError:
            return False
        return total - total == 0.0  # finite
    return False


def _documents(records: Sequence[TelemetryEvent]) -> list[msgspec.Struct] | None:
    """One output struct per record, or None if one of them needs the per-record encoder: a
    float that is not finite (msgspec would write ``null``), a flag that is not a bool, an
    action that is not plain, a run record (rare: the per-record encoder)."""
    out: list[msgspec.Struct] = []
    append = out.append
    # A record is a NamedTuple in its JSONL key order: it fills the struct positionally.
    # x - x == 0.0 holds for finite x only; a string raises TypeError, caught by the caller.
    r: Any
    for r in records:
        kind = type(r)
        if kind is StepRecord:
            if not (
                r.wall_time - r.wall_time == 0.0
                and r.reward - r.reward == 0.0
                and type(r.terminated) is bool
                and type(r.truncated) is bool
                and (type(r.action) is int or _plain_action(r.action))
            ):
                return None
            append(_StepOut(JSONL_VERSION, KIND_STEP, *r))
        elif kind is EpisodeRollup:
            if not (
                r.wall_time - r.wall_time == 0.0
                and r.ep_return - r.ep_return == 0.0
                and r.duration - r.duration == 0.0
                and type(r.terminated) is bool
                and type(r.truncated) is bool
            ):
                return None
            append(_EpisodeOut(JSONL_VERSION, KIND_EPISODE, *r))
        elif kind is ScalarRecord:
            if not (r.wall_time - r.wall_time == 0.0 and r.value - r.value == 0.0):
                return None
            append(_ScalarOut(JSONL_VERSION, KIND_SCALAR, *r))
        else:
            return None
    return out


def encode_valid_batch(records: Sequence[TelemetryEvent]) -> bytes | None:
    """Newline-terminated JSONL (UTF-8) of every record of ``records``, or ``None`` if one of
    them needs :func:`gym_gui_bridge.protocol.jsonl.encode_record` (which also explains a refusal).

    >>> scalar = ScalarRecord("r1", -1, "default", 0, 1.5, "loss", 0.25, 100)
    >>> encode_valid_batch([scalar])
    b'{"v":1,"type":"scalar","run_id":"r1","slot":-1,"agent_id":"default","seq":0,"wall_time":1.5,"tag":"loss","value":0.25,"step":100}\\n'
    >>> encode_valid_batch([scalar._replace(value=float("nan"))]) is None
    True
    """
    try:
        documents = _documents(records)
        if documents is None:
            return None
        return _ENCODER.encode_lines(documents)
    except (TypeError, OverflowError, msgspec.EncodeError, UnicodeEncodeError):
        return None  # a numpy value, a string where a number belongs, an integer beyond 64 bits


for _line, _record_type in _RECORD_OF.items():  # the correspondence _record relies on
    assert _line.__struct_fields__[1:] == _record_type._fields, _line
