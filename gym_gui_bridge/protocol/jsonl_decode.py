"""The strict decoder of JSONL records (format: :mod:`gym_gui_bridge.protocol.jsonl`, docs/records.md).

Decoding reads untrusted input (other processes, other languages, files): every line is checked
completely and a bad line is rejected with a reason code, never half-accepted.
:class:`JsonlDecoder` counts what it accepted and rejected and never raises. Import both from
:mod:`gym_gui_bridge.protocol.jsonl`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gym_gui_bridge.errors import RecordDecodeError
from gym_gui_bridge.protocol.fields import INT64_MAX, record_fields
from gym_gui_bridge.protocol.limits import JSONL_MAX_LINE_BYTES
from gym_gui_bridge.protocol.records import RECORD_TYPES, TelemetryEvent
from gym_gui_bridge.protocol.validation import CHECKS, Check, check_action, shown

__all__ = [
    "INT64_MAX",
    "JSONL_VERSION",
    "DecoderStats",
    "JsonlDecoder",
    "check_action",
    "decode_record",
]

#: Version written in every line's ``"v"``; a decoder rejects any other.
JSONL_VERSION = 1


def _fail(code: str, message: str) -> RecordDecodeError:
    return RecordDecodeError(code, message)


def _or_null(check: Check) -> Check:
    def check_or_null(name: str, value: Any) -> Any:
        return None if value is None else check(name, value)

    return check_or_null


def _field_checks(record_type: type) -> tuple[tuple[str, Check], ...]:
    return tuple(
        (f.key, _or_null(CHECKS[f.domain]) if f.optional else CHECKS[f.domain])
        for f in record_fields(record_type)
    )


# type -> (record class, ((JSON key, check), ...) in the record's field order)
_SCHEMAS = {kind: (cls, _field_checks(cls)) for kind, cls in RECORD_TYPES.items()}
_KEYS = {
    kind: frozenset(k for k, _ in checks) | {"v", "type"} for kind, (_, checks) in _SCHEMAS.items()
}


def _reject_constant(token: str) -> float:
    raise _fail("not_finite", f"Expected finite numbers, got {token}")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _fail("duplicate_key", "Expected each key once per object, got a repeated key")
    return result


# built once: json.loads(..., hook=...) would build a new decoder per line (2x slower)
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_reject_constant)


def decode_record(line: bytes | str) -> TelemetryEvent:
    """Parse and validate one JSONL line (a trailing newline is allowed).

    Every value is checked by its domain's rule (:mod:`gym_gui_bridge.protocol.validation`), so
    a record this returns can be stored in SQLite and sent as protobuf as it is.

    Raises:
        RecordDecodeError: with ``code`` (e.g. ``not_json``, ``wrong_type``) and a message;
            never another exception, whatever ``line`` holds.
    """
    if isinstance(line, (bytes, bytearray, memoryview)):
        if len(line) > JSONL_MAX_LINE_BYTES:
            raise _fail("too_long", f"Expected <= {JSONL_MAX_LINE_BYTES} bytes, got {len(line)}")
        try:
            text = bytes(line).decode("utf-8")
        except UnicodeDecodeError as error:
            raise _fail("not_utf8", f"Expected UTF-8, got invalid byte at {error.start}") from None
    elif isinstance(line, str):
        text = line
        if (
            len(text) * 4 > JSONL_MAX_LINE_BYTES
            and len(text.encode("utf-8", "surrogatepass")) > JSONL_MAX_LINE_BYTES
        ):
            raise _fail("too_long", f"Expected <= {JSONL_MAX_LINE_BYTES} bytes")
    else:
        raise _fail("wrong_type", f"Expected bytes or str, got {type(line).__name__}")
    try:
        document = _DECODER.decode(text)
    except RecordDecodeError:
        raise
    except (ValueError, RecursionError) as error:  # incl. an integer of over 4300 digits
        raise _fail("not_json", f"Expected JSON, got {str(error)[:120]}") from None
    try:
        return _record(document)
    except RecordDecodeError:
        raise
    except (ArithmeticError, TypeError, ValueError, RecursionError) as error:  # never expected
        raise _fail("bad_value", f"Expected a valid record, got {type(error).__name__}") from None


def _record(document: Any) -> TelemetryEvent:
    if type(document) is not dict:
        raise _fail("not_object", f"Expected a JSON object, got {type(document).__name__}")
    version = document.get("v")
    if type(version) is not int or version != JSONL_VERSION:
        raise _fail("bad_version", f"Expected v={JSONL_VERSION}, got {shown(version)}")
    kind = document.get("type")
    schema = _SCHEMAS.get(kind) if type(kind) is str else None
    if schema is None:
        raise _fail("bad_type", f"Expected type in {sorted(_SCHEMAS)}, got {shown(kind)}")
    record_class, fields = schema
    assert isinstance(kind, str)
    unknown = document.keys() - _KEYS[kind]
    if unknown:
        raise _fail(
            "unknown_field", f"Expected only v1 {kind} fields, got {shown(sorted(unknown))}"
        )
    values = []
    for key, check in fields:
        if key not in document:
            raise _fail("missing_field", f"Expected field {key!r} in a {kind} record")
        values.append(check(key, document[key]))
    # the values are in the record's field order (the schema is its field table): positional
    # construction spares building a dict of keyword arguments per line
    record: TelemetryEvent = record_class(*values)
    return record


@dataclass
class DecoderStats:
    """What a :class:`JsonlDecoder` saw: accepted and rejected lines, rejections by reason."""

    accepted: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None


class JsonlDecoder:
    """Decodes lines one by one, counting instead of raising. Not thread-safe: one per reader.

    >>> d = JsonlDecoder()
    >>> [d.decode(x) for x in (b"{", b"[]", b"\\xff")]
    [None, None, None]
    >>> d.stats.rejected, sorted(d.stats.reasons)
    (3, ['not_json', 'not_object', 'not_utf8'])
    """

    def __init__(self) -> None:
        self.stats = DecoderStats()

    def decode(self, line: bytes | str) -> TelemetryEvent | None:
        """The record on ``line``, or None if it was rejected (see :attr:`stats`)."""
        try:
            record = decode_record(line)
        except RecordDecodeError as error:
            stats = self.stats
            stats.rejected += 1
            stats.reasons[error.code] = stats.reasons.get(error.code, 0) + 1
            stats.last_error = str(error)
            return None
        self.stats.accepted += 1
        return record
