"""The versioned JSONL encoding of the records, and its strict decoder.

One record per line, a JSON object whose first keys are ``"v"`` (format version, 1) and
``"type"`` (``step``, ``episode``, ``scalar``, ``run``), then the record's fields by name
(``EpisodeRollup.ep_return`` is spelled ``"return"``). Field by field: ``docs/records.md``.

Encoding is on the worker's background path, so each record type gets one f-string encoder,
generated at import from its fields (:mod:`gym_gui_bridge.protocol.fields`: each field is written
as its domain says): no dict, no generic ``json.dumps`` for numbers, one call per record. The
strict decoder lives in :mod:`gym_gui_bridge.protocol.jsonl_decode` and is re-exported here:
import both directions from this module.

>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> scalar = ScalarRecord(
...     run_id="r1", slot=-1, agent_id="default", seq=0, wall_time=1.5,
...     tag="loss", value=0.25, step=100,
... )
>>> line = encode_record(scalar)
>>> line
'{"v":1,"type":"scalar","run_id":"r1","slot":-1,"agent_id":"default","seq":0,"wall_time":1.5,"tag":"loss","value":0.25,"step":100}'
>>> decode_record(line) == scalar
True
>>> decoder = JsonlDecoder()
>>> decoder.decode('{"v":1,"type":"scalar"}') is None, decoder.stats.reasons
(True, {'missing_field': 1})
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring
from typing import Any

from gym_gui_bridge.errors import RecordDecodeError, RecordEncodeError
from gym_gui_bridge.protocol.fields import compile_function, record_fields
from gym_gui_bridge.protocol.jsonl_decode import (
    JSONL_VERSION,
    DecoderStats,
    JsonlDecoder,
    decode_record,
)
from gym_gui_bridge.protocol.normalise import normalised
from gym_gui_bridge.protocol.records import RECORD_TYPES, TelemetryEvent
from gym_gui_bridge.protocol.storable import storable
from gym_gui_bridge.protocol.validation import check_record

__all__ = [
    "JSONL_VERSION",
    "DecoderStats",
    "JsonlDecoder",
    "decode_record",
    "encode_lines",
    "encode_record",
]

_INF = math.inf


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _num(value: Any, name: str) -> str:
    number = float(value)
    if number != number or number == _INF or number == -_INF:
        raise RecordEncodeError(f"Expected a finite {name}, got {number!r}")
    return repr(number)


def _action(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return _num(value, "action")
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise RecordEncodeError(f"Expected a JSON-able action, got {value!r}: {error}") from None


def _bool(value: bool) -> str:
    return "true" if value else "false"


# How a field of each domain is written: a Python expression of its value ``{v}`` (JSON text).
_WRITE = {
    "name": "_str({v})",
    "text": "_str({v})",
    "status": "_str({v})",
    "count": "int({v})",
    "slot": "int({v})",
    "exit_code": "int({v})",
    "real": '_num({v}, "{key}")',
    "non_negative": '_num({v}, "{key}")',
    "flag": "_bool({v})",
    "action": "_action({v})",
    "strings": "json.dumps(list({v}))",
}


def _encoder_source(kind: str, record_type: type) -> str:
    """The source of a record type's encoder: one f-string with a field after the other, e.g.

    ``def encode_scalar(r): return f'{{"v":1,"type":"scalar","run_id":{_str(r.run_id)},``
    ``...,"value":{_num(r.value, "value")},"step":{int(r.step)}}}'``
    """
    parts = [f'{{{{"v":{JSONL_VERSION},"type":"{kind}"']
    for field in record_fields(record_type):
        value = f"r.{field.name}"
        text = _WRITE[field.domain].format(v=value, key=field.key)
        if field.optional:
            text = f'"null" if {value} is None else {text}'
        parts.append(f',"{field.key}":{{{text}}}')
    body = "".join(parts) + "}}"
    return f"def encode_{kind}(r):\n    return f'{body}'\n"


_NAMESPACE = {
    "_str": encode_basestring,
    "_num": _num,
    "_bool": _bool,
    "_action": _action,
    "json": json,
}
#: record type -> its encoder (see ``__source__``), built once at import
_ENCODERS: dict[type, Callable[[Any], str]] = {
    record_type: compile_function(_encoder_source(kind, record_type), f"encode_{kind}", _NAMESPACE)
    for kind, record_type in RECORD_TYPES.items()
}


def encode_record(record: TelemetryEvent) -> str:
    """One JSONL line (without the newline) for ``record``: a line the strict decoder accepts.

    Values of foreign types (numpy numbers, an integer reward) are converted first
    (:func:`~gym_gui_bridge.protocol.validation.normalised`).

    Raises:
        RecordEncodeError: a value outside its field's domain (NaN or infinite numbers, an
            integer out of range, a lone surrogate, an action that is not JSON numbers, ...);
            the message starts with the decoder's reason code.
    """
    encode = _ENCODERS.get(type(record))
    if encode is None:
        raise RecordEncodeError(f"Expected a telemetry record, got {type(record).__name__}")
    if not storable(record):
        record = normalised(record)
        try:
            check_record(record)
        except RecordDecodeError as error:
            raise RecordEncodeError(str(error)) from None
    return encode(record)


def encode_lines(records: Iterable[TelemetryEvent]) -> str:
    """Encode many records as newline-terminated JSONL text."""
    return "".join(encode_record(r) + "\n" for r in records)
