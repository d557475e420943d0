"""The versioned JSONL encoding of the records, and its strict decoder.

One record per line, a JSON object whose first keys are ``"v"`` (format version, 1) and
``"type"`` (``step``, ``episode``, ``scalar``, ``run``), then the record's fields by name
(``EpisodeRollup.ep_return`` is spelled ``"return"``). Field by field: ``docs/records.md``.

Encoding is on the worker's background path, so it is hand-built (no dict, no generic
``json.dumps`` for numbers). The strict decoder lives in :mod:`gym_gui_bridge.protocol.jsonl_decode` and
is re-exported here: import both directions from this module.

>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> line = encode_record(ScalarRecord("r1", -1, "default", 0, 1.5, "loss", 0.25, 100))
>>> line
'{"v":1,"type":"scalar","run_id":"r1","slot":-1,"agent_id":"default","seq":0,"wall_time":1.5,"tag":"loss","value":0.25,"step":100}'
>>> decode_record(line) == ScalarRecord("r1", -1, "default", 0, 1.5, "loss", 0.25, 100)
True
>>> decoder = JsonlDecoder()
>>> decoder.decode('{"v":1,"type":"scalar"}') is None, decoder.stats.reasons
(True, {'missing_field': 1})
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from json.encoder import encode_basestring
from typing import Any

from gym_gui_bridge.errors import RecordEncodeError
from gym_gui_bridge.protocol.jsonl_decode import (
    JSONL_VERSION,
    DecoderStats,
    JsonlDecoder,
    decode_record,
)
from gym_gui_bridge.protocol.records import (
    EpisodeRollup,
    RunRecord,
    ScalarRecord,
    StepRecord,
    TelemetryEvent,
)

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


def _opt_int(value: int | None) -> str:
    return "null" if value is None else str(int(value))


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


def _head(kind: str, r: TelemetryEvent) -> str:
    return (
        f'{{"v":{JSONL_VERSION},"type":"{kind}","run_id":{encode_basestring(r.run_id)},'
        f'"slot":{int(r.slot)},"agent_id":{encode_basestring(r.agent_id)},"seq":{int(r.seq)},'
        f'"wall_time":{_num(r.wall_time, "wall_time")}'
    )


def _bool(value: bool) -> str:
    return "true" if value else "false"


def encode_record(record: TelemetryEvent) -> str:
    """One JSONL line (without the newline) for ``record``.

    Raises:
        RecordEncodeError: a float field is NaN or infinite, or the action is not JSON-able.
    """
    r = record
    if type(r) is StepRecord:
        return (
            f'{_head("step", r)},"episode":{int(r.episode)},"step":{int(r.step)},'
            f'"global_step":{int(r.global_step)},"action":{_action(r.action)},'
            f'"reward":{_num(r.reward, "reward")},"terminated":{_bool(r.terminated)},'
            f'"truncated":{_bool(r.truncated)},"frame_seq":{_opt_int(r.frame_seq)}}}'
        )
    if type(r) is EpisodeRollup:
        return (
            f'{_head("episode", r)},"episode":{int(r.episode)},'
            f'"return":{_num(r.ep_return, "return")},"length":{int(r.length)},'
            f'"terminated":{_bool(r.terminated)},"truncated":{_bool(r.truncated)},'
            f'"global_step":{int(r.global_step)},"duration":{_num(r.duration, "duration")}}}'
        )
    if type(r) is ScalarRecord:
        return (
            f'{_head("scalar", r)},"tag":{encode_basestring(r.tag)},'
            f'"value":{_num(r.value, "value")},"step":{int(r.step)}}}'
        )
    if type(r) is RunRecord:
        error = "null" if r.error is None else encode_basestring(r.error)
        return (
            f'{_head("run", r)},"status":{encode_basestring(r.status)},'
            f'"argv":{json.dumps(list(r.argv))},"version":{encode_basestring(r.version)},'
            f'"pid":{int(r.pid)},"error":{error},"exit_code":{_opt_int(r.exit_code)}}}'
        )
    raise RecordEncodeError(f"Expected a telemetry record, got {type(record).__name__}")


def encode_lines(records: Iterable[TelemetryEvent]) -> str:
    """Encode many records as newline-terminated JSONL text."""
    return "".join(encode_record(r) + "\n" for r in records)
