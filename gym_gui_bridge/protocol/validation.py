"""The one validation of record values: what the codecs, the store and the wire all accept.

Whatever a decoder accepts, SQLite and the protobuf wire can hold, and what the encoders write a
decoder accepts. Each field domain (:mod:`gym_gui_bridge.protocol.fields`) has one rule here,
built from the bounds declared there (:data:`~gym_gui_bridge.protocol.fields.INTEGER_RANGES`)
and in :mod:`gym_gui_bridge.protocol.limits`: a **check** (:data:`CHECKS`), ``check(key,
value)``, that returns the value (a number as a float where the domain is a real) or raises
:class:`~gym_gui_bridge.errors.RecordDecodeError` with a reason code.

The strict JSONL decoder checks every key of a line with it; :func:`check_record` checks every
field of a record with it: the encoders' refusal, the wire's, and the reason the store
quarantines a record with. The hot paths test whole records against the same bounds, faster
(:mod:`gym_gui_bridge.protocol.storable`); values of foreign types are converted first
(:mod:`gym_gui_bridge.protocol.normalise`). Tests check that all of them agree.

>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> good = ScalarRecord("r", -1, "default", 0, 1.0, tag="loss", value=0.5, step=1)
>>> problem(good) is None
True
>>> problem(good._replace(step=2**63)).code, problem(good._replace(value=float("nan"))).code
('out_of_range', 'not_finite')
>>> problem(good._replace(tag="loss\\ud800")).code
'bad_unicode'
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable
from typing import Any

from gym_gui_bridge.errors import RecordDecodeError
from gym_gui_bridge.protocol.fields import ACTION_INTEGER_RANGE, INTEGER_RANGES, record_fields
from gym_gui_bridge.protocol.limits import (
    JSONL_MAX_ACTION_DEPTH,
    JSONL_MAX_LINE_BYTES,
    JSONL_MAX_LIST_ITEMS,
    JSONL_MAX_NAME_CHARS,
)
from gym_gui_bridge.protocol.records import RECORD_TYPES, RUN_STATUSES

__all__ = [
    "CHECKS",
    "MAX_TEXT_CHARS",
    "Check",
    "check_action",
    "check_record",
    "has_lone_surrogate",
    "problem",
    "shown",
]

#: Longest string a record may hold (characters): a string of a valid line has at most that many.
MAX_TEXT_CHARS = JSONL_MAX_LINE_BYTES
_SURROGATE = re.compile("[\ud800-\udfff]")
_ACTION_MIN, _ACTION_MAX = ACTION_INTEGER_RANGE
_INF = math.inf
_TEXT_CHARS = MAX_TEXT_CHARS

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 80
_SHOWN.maxlong = 40
_SHOWN.maxlevel = 3


def shown(value: Any) -> str:
    """``repr(value)`` cut to a readable size, whatever its size or depth (for messages)."""
    try:
        return _SHOWN.repr(value)
    except (RecursionError, ValueError, TypeError):  # a hostile __repr__, an int over 4300 digits
        return f"<{type(value).__name__}>"


def _fail(code: str, message: str) -> RecordDecodeError:
    return RecordDecodeError(code, message)


# --------------------------------------------------------------------------------------------
# Checks: one per domain, (key, value) -> value, or RecordDecodeError with a reason code
# --------------------------------------------------------------------------------------------


def _integer(name: str, value: Any, least: int, greatest: int) -> int:
    if type(value) is not int:
        raise _fail("wrong_type", f"Expected {name} to be an integer, got {shown(value)}")
    if value < least:
        code = "negative" if least >= -1 else "out_of_range"
        raise _fail(code, f"Expected {name} >= {least}, got {shown(value)}")
    if value > greatest:
        raise _fail("out_of_range", f"Expected {name} <= {greatest}, got {shown(value)}")
    return value


def _integer_check(domain: str) -> Callable[[str, Any], int]:
    least, greatest = INTEGER_RANGES[domain]

    def check(name: str, value: Any) -> int:
        if type(value) is int and least <= value <= greatest:
            return value
        return _integer(name, value, least, greatest)

    return check


def _real(name: str, value: Any) -> float:
    if type(value) is float:
        number = value
    elif type(value) is int:
        try:
            number = float(value)
        except OverflowError:
            raise _fail(
                "not_finite", f"Expected {name} to be a finite number, got {shown(value)}"
            ) from None
    else:
        raise _fail("wrong_type", f"Expected {name} to be a number, got {shown(value)}")
    if not -_INF < number < _INF:
        raise _fail("not_finite", f"Expected {name} to be finite, got {number!r}")
    return number


def _non_negative(name: str, value: Any) -> float:
    number = _real(name, value)
    if number < 0:
        raise _fail("negative", f"Expected {name} >= 0, got {number}")
    return number


def _flag(name: str, value: Any) -> bool:
    if type(value) is not bool:
        raise _fail("wrong_type", f"Expected {name} to be true or false, got {shown(value)}")
    return value


def _string(name: str, value: Any) -> str:
    if type(value) is not str:
        raise _fail("wrong_type", f"Expected {name} to be a string, got {shown(value)}")
    if len(value) > _TEXT_CHARS:
        raise _fail("too_long", f"Expected {name} of <= {_TEXT_CHARS} characters")
    if not value.isascii() and _SURROGATE.search(value):
        raise _fail(
            "bad_unicode",
            f"Expected {name} to hold Unicode scalar values, got a lone surrogate in "
            f"{shown(value)}",
        )
    return value


def _name(name: str, value: Any) -> str:
    _string(name, value)
    if not value or len(value) > JSONL_MAX_NAME_CHARS:
        raise _fail("bad_value", f"Expected {name} of 1..{JSONL_MAX_NAME_CHARS} characters")
    return value


def _status(name: str, value: Any) -> str:
    if type(value) is not str or value not in RUN_STATUSES:
        raise _fail("bad_value", f"Expected {name} in {RUN_STATUSES}, got {shown(value)}")
    return value


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if type(value) is not list and type(value) is not tuple:
        raise _fail("wrong_type", f"Expected {name} to be a list of strings, got {shown(value)}")
    if len(value) > JSONL_MAX_LIST_ITEMS:
        raise _fail("too_big", f"Expected {name} of <= {JSONL_MAX_LIST_ITEMS} items")
    for item in value:
        if type(item) is not str:
            raise _fail(
                "wrong_type", f"Expected {name} to be a list of strings, got {shown(item)} in it"
            )
        if not item.isascii():
            _string(name, item)
    if sum(map(len, value)) > _TEXT_CHARS:
        raise _fail("too_long", f"Expected {name} of <= {_TEXT_CHARS} characters in all")
    return tuple(value)


def _action_list(value: list[Any]) -> None:
    """Check a list action: its numbers, nesting and size (iterative: no deep recursion)."""
    pending = [(value, 1)]
    total = 0
    while pending:
        items, depth = pending.pop()
        total += len(items)
        if total > JSONL_MAX_LIST_ITEMS:
            raise _fail("too_big", f"Expected an action of <= {JSONL_MAX_LIST_ITEMS} items")
        for item in items:
            kind = type(item)
            if kind is float:
                if not -_INF < item < _INF:
                    raise _fail("not_finite", f"Expected a finite action, got {item!r} in it")
            elif kind is int:
                if not _ACTION_MIN <= item <= _ACTION_MAX:
                    raise _fail(
                        "out_of_range",
                        f"Expected the action's integers in the int64 range, got {shown(item)}",
                    )
            elif kind is list:
                if depth >= JSONL_MAX_ACTION_DEPTH:
                    raise _fail(
                        "too_deep", f"Expected action nested <= {JSONL_MAX_ACTION_DEPTH} deep"
                    )
                pending.append((item, depth + 1))
            elif item is not None:
                raise _fail(
                    "wrong_type",
                    f"Expected a JSON-able action (numbers, lists, null), got {shown(item)} in it",
                )


def check_action(value: Any) -> Any:
    """``value`` if it is a valid action: null, a finite number, an int64 integer, or lists of
    them nested <= ``JSONL_MAX_ACTION_DEPTH`` deep, ``JSONL_MAX_LIST_ITEMS`` items in all.

    Raises:
        RecordDecodeError: anything else (``wrong_type``, ``out_of_range``, ``not_finite``,
            ``too_deep``, ``too_big``).
    """
    kind = type(value)
    if kind is list:
        _action_list(value)
        return value
    if value is None or (kind is int and _ACTION_MIN <= value <= _ACTION_MAX):
        return value
    if kind is float:
        return _real("action", value)
    if kind is int:
        raise _fail("out_of_range", f"Expected the action in the int64 range, got {shown(value)}")
    raise _fail(
        "wrong_type", f"Expected a JSON-able action (a number, list or null), got {shown(value)}"
    )


def _action(_name: str, value: Any) -> Any:
    return check_action(value)


Check = Callable[[str, Any], Any]

#: How a value of each domain is checked: (key, value) -> the field's value.
CHECKS: dict[str, Check] = {
    "name": _name,
    "text": _string,
    "status": _status,
    "count": _integer_check("count"),
    "slot": _integer_check("slot"),
    "exit_code": _integer_check("exit_code"),
    "real": _real,
    "non_negative": _non_negative,
    "flag": _flag,
    "action": _action,
    "strings": _strings,
}


def check_record(record: Any) -> None:
    """Check every field of ``record`` (a telemetry record) against its domain.

    Raises:
        RecordDecodeError: the first field that is not valid, with its reason code (or
            ``wrong_type`` if ``record`` is not a telemetry record).
    """
    fields = _FIELDS.get(type(record))
    if fields is None:
        raise _fail("wrong_type", f"Expected a telemetry record, got {type(record).__name__}")
    for (name, optional, check), value in zip(fields, record, strict=True):
        if value is None and optional:
            continue
        check(name, value)


def problem(record: Any) -> RecordDecodeError | None:
    """Why ``record`` is not valid (see :func:`check_record`), or None if it is."""
    try:
        check_record(record)
    except RecordDecodeError as error:
        return error
    return None


# record type -> ((field name, optional, check), ...) in field order
_FIELDS: dict[type, tuple[tuple[str, bool, Check], ...]] = {
    record_type: tuple((f.name, f.optional, CHECKS[f.domain]) for f in record_fields(record_type))
    for record_type in RECORD_TYPES.values()
}


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (which no UTF-8 encoder accepts)."""
    return not text.isascii() and _SURROGATE.search(text) is not None
