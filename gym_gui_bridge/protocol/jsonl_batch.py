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
- list actions: their numbers, depth and size are checked by the validation's own rule
  (:func:`~gym_gui_bridge.protocol.validation.check_action`).
- a lone surrogate (``"\\ud800"``): msgspec refuses it in any string, so its batch goes line
  by line, and the strict decoder rejects it (``bad_unicode``).
- a line nested too deep for msgspec (it raises ``RecursionError``): line by line.

The schemas, the encoder's structs and its checks are built at import from the record types'
fields and their domains (:mod:`gym_gui_bridge.protocol.fields`: the integer ranges, ``slot`` an
int32; :mod:`gym_gui_bridge.protocol.limits`), so they cannot drift from the strict codec, which
is built from the same fields. The batch encoder writes only records that pass the validation's
test (:func:`~gym_gui_bridge.protocol.validation.storable`), so it never writes a line the
decoders reject.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any, Literal

import msgspec
import numpy as np

from gym_gui_bridge.protocol.fields import (
    JSONL_KEYS,
    compile_function,
    record_fields,
)
from gym_gui_bridge.protocol.jsonl_decode import JSONL_VERSION
from gym_gui_bridge.protocol.limits import (
    JSONL_MAX_LINE_BYTES,
)
from gym_gui_bridge.protocol.records import (
    RECORD_TYPES,
    RunRecord,
    StepRecord,
    TelemetryEvent,
)
from gym_gui_bridge.protocol.storable import MSGSPEC_TYPES, storable_all
from gym_gui_bridge.protocol.validation import check_action

__all__ = ["decode_valid_batch", "encode_valid_batch"]

# How a field of each domain is typed in the schemas: what msgspec checks while decoding (the
# validation's bounds, as msgspec types).
_TYPES = MSGSPEC_TYPES


def _line_struct(kind: str, record_type: type) -> Any:
    """The schema of a record type's lines: "v", then the record's fields in order, tagged by
    "type". gc=False: a line holds numbers, strings and lists of them, never a cycle; untracked,
    the thousands decoded per batch do not drive the garbage collector."""
    fields: list[tuple[str, Any]] = [("v", Literal[1])]  # JSONL_VERSION
    for field in record_fields(record_type):
        kind_of_value = _TYPES[field.domain]
        fields.append((field.name, kind_of_value | None if field.optional else kind_of_value))
    return msgspec.defstruct(
        f"_{record_type.__name__}Line",
        fields,
        tag_field="type",
        tag=kind,
        rename=JSONL_KEYS,
        forbid_unknown_fields=True,
        gc=False,
    )


assert JSONL_VERSION == 1, "update _line_struct's v with the version"
#: line schema -> record type, for every kind
_RECORD_OF: dict[Any, Any] = {
    _line_struct(kind, record_type): record_type for kind, record_type in RECORD_TYPES.items()
}
_LINE_OF = {record_type: line for line, record_type in _RECORD_OF.items()}
_StepLine, _RunLine = _LINE_OF[StepRecord], _LINE_OF[RunRecord]
_DECODER = msgspec.json.Decoder(functools.reduce(operator.or_, _RECORD_OF))  # any of them
# keys per line: the struct's fields (v included) plus the "type" tag
_KEYS = {line: len(line.__struct_fields__) + 1 for line in _RECORD_OF}
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


# A line's struct holds "v" and then the record's fields in the record's order (it is built
# from them), so a record is the struct's tuple without its first item, built with
# tuple.__new__: a NamedTuple's own __new__ is a Python function, ~0.4 us per record more.
_astuple = msgspec.structs.astuple
_tuple_new = tuple.__new__


def _record(line: Any) -> TelemetryEvent:
    kind = type(line)
    if kind is _RunLine:  # rare: by name
        fields = msgspec.structs.asdict(line)
        del fields["v"]
        return RunRecord(**{**fields, "argv": tuple(line.argv)})
    values = _astuple(line)[1:]
    if kind is _StepLine and type(values[_ACTION]) is list:
        check_action(values[_ACTION])  # numbers, depth and size: the strict decoder's rule
    return _tuple_new(_RECORD_OF[kind], values)


def decode_valid_batch(data: bytes, kind: str | None = None) -> list[TelemetryEvent] | None:
    """The records of the newline-separated JSONL ``data`` (a final newline is optional), if
    every line is a valid record (of ``kind``, when given); ``None`` otherwise, or whenever
    this path cannot be sure: decode line by line then.

    >>> from gym_gui_bridge.protocol.jsonl import encode_lines
    >>> from gym_gui_bridge.protocol.records import ScalarRecord
    >>> scalar = ScalarRecord(
    ...     run_id="r1", slot=-1, agent_id="default", seq=0, wall_time=1.5,
    ...     tag="loss", value=0.25, step=100,
    ... )
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
    except (ValueError, RecursionError):  # msgspec's errors, RecordDecodeError, nesting too deep
        return None
    if kind is not None and any(record.kind != kind for record in records):
        return None
    return records


# What the batch encoder writes: a struct per kind whose fields are "v", "type" and then the
# record's fields in order (the JSONL keys, in the strict encoder's order), built positionally
# from a record. msgspec writes a struct's fields as they are, without checking their types:
# encode_valid_batch checks what the wire's schema would refuse before building one.
def _output_struct(record_type: Any) -> Any:
    fields = [("v", int), ("type", str), *((name, Any) for name in record_type._fields)]
    return msgspec.defstruct(f"_{record_type.__name__}Out", fields, rename=JSONL_KEYS, gc=False)


#: Kinds written in a batch. Not run records (rare): the strict encoder writes their argv with
#: json.dumps's separators, msgspec would not.
_BATCHED = ("step", "episode", "scalar")


def _documents_source() -> str:
    """The source of ``_documents``, one branch per batched kind (generated, so that each
    record costs no call beyond building its struct)."""
    lines = ["def _documents(records):", "    out = []", "    append = out.append"]
    lines += ["    for r in records:", "        kind = type(r)"]
    for number, kind in enumerate(_BATCHED):
        name = RECORD_TYPES[kind].__name__
        lines += [
            f"        {'elif' if number else 'if'} kind is {name}:",
            f"            append(_{name}Out({JSONL_VERSION}, {kind!r}, *r))",
        ]
    lines += ["        else:", "            return None", "    return out", ""]
    return "\n".join(lines)


#: One output struct per record, or None if one of them is a run record. Generated at import
#: (see its ``__source__``).
_documents = compile_function(
    _documents_source(),
    "_documents",
    {
        **{RECORD_TYPES[kind].__name__: RECORD_TYPES[kind] for kind in _BATCHED},
        **{f"_{RECORD_TYPES[k].__name__}Out": _output_struct(RECORD_TYPES[k]) for k in _BATCHED},
    },
)
_ENCODER = msgspec.json.Encoder()


def encode_valid_batch(records: Sequence[TelemetryEvent]) -> bytes | None:
    """Newline-terminated JSONL (UTF-8) of every record of ``records``, or ``None`` if one of
    them needs :func:`gym_gui_bridge.protocol.jsonl.encode_record` (which also explains a refusal).

    >>> from gym_gui_bridge.protocol.records import ScalarRecord
    >>> scalar = ScalarRecord(
    ...     run_id="r1", slot=-1, agent_id="default", seq=0, wall_time=1.5,
    ...     tag="loss", value=0.25, step=100,
    ... )
    >>> encode_valid_batch([scalar])
    b'{"v":1,"type":"scalar","run_id":"r1","slot":-1,"agent_id":"default","seq":0,"wall_time":1.5,"tag":"loss","value":0.25,"step":100}\\n'
    >>> encode_valid_batch([scalar._replace(value=float("nan"))]) is None
    True
    """
    # the validation in bulk: values of their types and domains, actions plain (a float that
    # is not finite, which msgspec would write as null; a flag that is not a bool; an integer
    # out of its range; a nested action: the per-record encoder's)
    if not storable_all(records, plain_actions=True):
        return None
    try:
        documents = _documents(records)
        if documents is None:
            return None
        return _ENCODER.encode_lines(documents)
    except (TypeError, OverflowError, msgspec.EncodeError, UnicodeEncodeError):
        return None  # a numpy value, a lone surrogate, an integer beyond 64 bits
