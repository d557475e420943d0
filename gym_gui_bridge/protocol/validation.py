"""The one validation of record values: what the codecs, the store and the wire all accept.

Whatever a decoder accepts, SQLite and the protobuf wire can hold, and what the encoders write a
decoder accepts. Each field domain (:mod:`gym_gui_bridge.protocol.fields`) has one rule, built
from the same bounds (:data:`~gym_gui_bridge.protocol.fields.INTEGER_RANGES`,
:mod:`gym_gui_bridge.protocol.limits`) in two forms:

- a **check** per domain (:data:`CHECKS`): ``check(key, value)`` returns the value (a number as
  a float where the domain is a real) or raises :class:`~gym_gui_bridge.errors.RecordDecodeError`
  with a reason code. The strict JSONL decoder checks every key of a line with it;
  :func:`check_record` checks every field of a record with it: the encoder's refusal, the wire's,
  and the reason the store quarantines a record with.
- a **test** per record type (:func:`storable`): one boolean expression generated at import, true
  when every value has its exact Python type and lies in its domain, so SQLite binds the record
  as it is and the encoders write what a decoder reads back. It is conservative: a record of
  foreign values (numpy numbers, an integer reward, a list ``argv``) fails it and is valid once
  :func:`normalised` has converted them.

For whole batches, :func:`storable_all` runs the same bounds as ``msgspec`` types
(:data:`MSGSPEC_TYPES`, also the batch decoder's line schemas) in one C call per record type,
~4x faster than the test record by record; the store and the batch encoder use it first. It
leaves two things to the encodings that follow it, which refuse them anyway: a lone surrogate
(UTF-8 cannot encode it: sqlite3 and msgspec raise) and an integer beyond 64 bits in a real
field (run records, whose ``argv`` is written with escapes, are tested record by record). Tests
check that every record a decoder returns passes all of these, and that the test agrees with
the checks.

>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> good = ScalarRecord("r", -1, "default", 0, 1.0, tag="loss", value=0.5, step=1)
>>> storable(good), storable(good._replace(step=2**63)), storable(good._replace(tag="\\ud800"))
(True, False, False)
>>> problem(good._replace(step=2**63)).code, problem(good._replace(value=float("nan"))).code
('out_of_range', 'not_finite')
>>> storable(normalised(good._replace(value=3)))  # an integer value becomes 3.0
True
"""

from __future__ import annotations

import math
import numbers
import operator
import re
import reprlib
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import msgspec

from gym_gui_bridge.errors import RecordDecodeError
from gym_gui_bridge.protocol.fields import (
    ACTION_INTEGER_RANGE,
    INTEGER_RANGES,
    compile_function,
    record_fields,
)
from gym_gui_bridge.protocol.limits import (
    JSONL_MAX_ACTION_DEPTH,
    JSONL_MAX_LINE_BYTES,
    JSONL_MAX_LIST_ITEMS,
    JSONL_MAX_NAME_CHARS,
)
from gym_gui_bridge.protocol.records import RECORD_TYPES, RUN_STATUSES, RunRecord, StepRecord

__all__ = [
    "CHECKS",
    "MSGSPEC_TYPES",
    "PLAIN_ACTION",
    "check_action",
    "check_record",
    "normalised",
    "problem",
    "shown",
    "storable",
    "storable_all",
    "storable_expression",
]

_SURROGATE = re.compile("[\ud800-\udfff]")
_ACTION_MIN, _ACTION_MAX = ACTION_INTEGER_RANGE
_INF = math.inf
_TEXT_CHARS = JSONL_MAX_LINE_BYTES  # a string of a valid line has at most that many characters

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


# --------------------------------------------------------------------------------------------
# Test: one boolean expression per record type, for the hot paths
# --------------------------------------------------------------------------------------------


def _unicode(text: str) -> bool:
    return _SURROGATE.search(text) is None


def _strings_ok(values: tuple[str, ...]) -> bool:
    try:
        _strings("argv", values)
    except RecordDecodeError:
        return False
    return True


def _action_ok(value: list[Any]) -> bool:
    try:
        _action_list(value)
    except RecordDecodeError:
        return False
    return True


def _text_test(v: str, *, name: bool) -> str:
    size = f"0 < len({v}) <= {JSONL_MAX_NAME_CHARS}" if name else f"len({v}) <= {_TEXT_CHARS}"
    return f"(type({v}) is str and {size} and ({v}.isascii() or _unicode({v})))"


def _integer_test(v: str, least: int, greatest: int) -> str:
    return f"(type({v}) is int and {least} <= {v} <= {greatest})"


# How a value of each domain is tested: a Python expression of the value ``{v}`` that is true
# only for an exact Python value that the domain's check accepts unchanged.
_TESTS: dict[str, Callable[[str], str]] = {
    "name": lambda v: _text_test(v, name=True),
    "text": lambda v: _text_test(v, name=False),
    "status": lambda v: f"(type({v}) is str and {v} in _STATUSES)",
    "count": lambda v: _integer_test(v, *INTEGER_RANGES["count"]),
    "slot": lambda v: _integer_test(v, *INTEGER_RANGES["slot"]),
    "exit_code": lambda v: _integer_test(v, *INTEGER_RANGES["exit_code"]),
    "real": lambda v: f"(type({v}) is float and -_INF < {v} < _INF)",
    "non_negative": lambda v: f"(type({v}) is float and 0.0 <= {v} < _INF)",
    "flag": lambda v: f"(type({v}) is bool)",
    "action": lambda v: (
        f"({v} is None or (type({v}) is int and {_ACTION_MIN} <= {v} <= {_ACTION_MAX}) "
        f"or (type({v}) is float and -_INF < {v} < _INF) "
        f"or (type({v}) is list and _action_ok({v})))"
    ),
    "strings": lambda v: f"(type({v}) is tuple and _strings_ok({v}))",
}
#: What the generated expressions refer to (a namespace for :func:`compile_function`).
TEST_NAMESPACE: dict[str, Any] = {
    "_INF": _INF,
    "_STATUSES": RUN_STATUSES,
    "_unicode": _unicode,
    "_action_ok": _action_ok,
    "_strings_ok": _strings_ok,
}


def storable_expression(
    record_type: type,
    names: dict[str, str] | None = None,
    tests: dict[str, Callable[[str], str]] | None = None,
) -> str:
    """The test of ``record_type`` as one Python expression (names of ``TEST_NAMESPACE``),
    each field's value written as ``names[field]`` (default ``r.<field>``). ``tests`` replaces
    the test of some domains (by a stricter one: the batch encoder's plain actions)."""
    parts = []
    for field in record_fields(record_type):
        v = (names or {}).get(field.name, f"r.{field.name}")
        test = {**_TESTS, **(tests or {})}[field.domain](v)
        parts.append(f"({v} is None or {test})" if field.optional else test)
    return " and ".join(parts)


def _test_source(kind: str, record_type: type) -> str:
    """``def storable_<kind>(r)``: unpack the record (faster than attribute lookups), test."""
    names = {f.name: f"_{f.name}" for f in record_fields(record_type)}
    unpacked = ", ".join(names.values())
    return (
        f"def storable_{kind}(r):\n"
        f"    {unpacked}, = r\n"
        f"    return bool({storable_expression(record_type, names)})\n"
    )


#: record type -> its test (generated; see ``__source__``)
_STORABLE: dict[type, Callable[[Any], bool]] = {
    record_type: compile_function(
        _test_source(kind, record_type), f"storable_{kind}", TEST_NAMESPACE
    )
    for kind, record_type in RECORD_TYPES.items()
}


def storable(record: Any) -> bool:
    """Whether ``record`` is valid as it is: every value of its exact Python type and in its
    domain (SQLite binds it unchanged, the encoders write it, a decoder reads it back)."""
    test = _STORABLE.get(type(record))
    if test is None:
        return False
    try:
        return test(record)
    except (TypeError, ValueError):  # not a record of that type's length, say
        return False


# --------------------------------------------------------------------------------------------
# Normalising foreign values (numpy numbers, integer reals, list argv)
# --------------------------------------------------------------------------------------------


def _as_int(value: Any) -> Any:
    if type(value) is int or isinstance(value, bool):
        return value
    try:
        return operator.index(value)  # numpy integers
    except TypeError:
        return value


def _as_float(value: Any) -> Any:
    if type(value) is float or not isinstance(value, numbers.Real):
        return value
    try:
        return float(value)
    except (OverflowError, ValueError):
        return value


def _as_flag(value: Any) -> Any:
    if type(value) is bool:
        return value
    try:
        if value == 0 or value == 1:  # numpy bools, 0 and 1
            return bool(value)
    except (TypeError, ValueError):
        pass
    return value


def _as_str(value: Any) -> Any:
    return str(value) if isinstance(value, str) else value


def _as_action(value: Any, depth: int = 0) -> Any:
    if value is None or type(value) is int or type(value) is float:
        return value
    if depth > JSONL_MAX_ACTION_DEPTH:
        return value  # left as it is: the check says too deep
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if tolist is not None and not isinstance(value, list):
        try:
            value = tolist()
        except (TypeError, ValueError):
            return value
        if type(value) is bool:
            return int(value)
    if isinstance(value, (list, tuple)):
        return [_as_action(item, depth + 1) for item in value]
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return _as_int(value)
    if isinstance(value, numbers.Real):
        return _as_float(value)
    return value


def _as_strings(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_as_str(item) for item in value)
    return value


_NORMALISE: dict[str, Callable[[Any], Any]] = {
    "name": _as_str,
    "text": _as_str,
    "status": _as_str,
    "count": _as_int,
    "slot": _as_int,
    "exit_code": _as_int,
    "real": _as_float,
    "non_negative": _as_float,
    "flag": _as_flag,
    "action": _as_action,
    "strings": _as_strings,
}
_CONVERSIONS = {
    record_type: tuple(_NORMALISE[f.domain] for f in record_fields(record_type))
    for record_type in RECORD_TYPES.values()
}


def normalised(record: Any) -> Any:
    """``record`` with foreign values converted to the exact types of their domains (numpy
    numbers, integers in real fields, 0/1 flags, tuple actions, a list ``argv``). Values that do
    not convert stay as they are (and :func:`check_record` says why); a record that is not a
    telemetry record is returned unchanged."""
    conversions = _CONVERSIONS.get(type(record))
    if conversions is None:
        return record
    try:
        values = [
            value if value is None else convert(value)
            for convert, value in zip(conversions, record, strict=True)
        ]
    except (TypeError, ValueError, RecursionError):
        return record
    return type(record)(*values)


# --------------------------------------------------------------------------------------------
# The same bounds as msgspec types: the batch decoder's schemas and the bulk test
# --------------------------------------------------------------------------------------------

_FLOAT_MAX = sys.float_info.max  # bounds that refuse infinities and NaN


def _integers(least: int, greatest: int) -> Any:
    return Annotated[int, msgspec.Meta(ge=least, le=greatest)]


_Finite = Annotated[float, msgspec.Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]
_ActionInt = Annotated[int, msgspec.Meta(ge=ACTION_INTEGER_RANGE[0], le=ACTION_INTEGER_RANGE[1])]

#: How a value of each domain is typed for ``msgspec`` (bounds from the same tables as the
#: checks). A list action's items are checked by :func:`check_action` after it.
MSGSPEC_TYPES: dict[str, Any] = {
    "name": Annotated[str, msgspec.Meta(min_length=1, max_length=JSONL_MAX_NAME_CHARS)],
    "text": Annotated[str, msgspec.Meta(max_length=_TEXT_CHARS)],
    "status": Literal[RUN_STATUSES],
    "count": _integers(*INTEGER_RANGES["count"]),
    "slot": _integers(*INTEGER_RANGES["slot"]),
    "exit_code": _integers(*INTEGER_RANGES["exit_code"]),
    "real": _Finite,
    "non_negative": Annotated[float, msgspec.Meta(ge=0.0, le=_FLOAT_MAX)],
    "flag": bool,
    "action": _ActionInt | _Finite | list[Any] | None,
    "strings": Annotated[list[str], msgspec.Meta(max_length=JSONL_MAX_LIST_ITEMS)],
}
#: An action the batch encoder writes in one call: null, a number, a flat list of numbers.
PLAIN_ACTION = (
    _ActionInt
    | _Finite
    | Annotated[list[_ActionInt | _Finite], msgspec.Meta(max_length=JSONL_MAX_LIST_ITEMS)]
    | None
)


def _bulk_type(record_type: type, action: Any) -> Any:
    """``list[<struct>]`` where the struct takes a record (a tuple) field by field."""
    fields = []
    for field in record_fields(record_type):
        kind = action if field.domain == "action" else MSGSPEC_TYPES[field.domain]
        fields.append((field.name, kind | None if field.optional else kind))
    struct = msgspec.defstruct(f"_{record_type.__name__}Check", fields, array_like=True, gc=False)
    return list[struct]  # type: ignore[valid-type]


_BULK = {t: _bulk_type(t, MSGSPEC_TYPES["action"]) for t in RECORD_TYPES.values()}
_BULK_PLAIN = {t: _bulk_type(t, PLAIN_ACTION) for t in RECORD_TYPES.values()}
_ACTION = StepRecord._fields.index("action")


def storable_all(records: Sequence[Any], plain_actions: bool = False) -> bool:
    """Whether every record of ``records`` is valid as it is, checked in bulk (see the module's
    docstring for the two things it leaves to the encodings). ``plain_actions``: accept only
    null, numbers and flat lists of numbers as actions (what the batch encoder writes)."""
    kinds = {type(record) for record in records}
    bulk = _BULK_PLAIN if plain_actions else _BULK
    try:
        for kind in kinds:
            group = records if len(kinds) == 1 else [r for r in records if type(r) is kind]
            if kind is RunRecord:  # rare; argv is written with escapes, not refused as UTF-8
                if not all(map(storable, group)):
                    return False
                continue
            msgspec.convert(group, bulk[kind])
            if kind is StepRecord and not plain_actions:
                for record in group:
                    action = record[_ACTION]
                    if type(action) is list and not _action_ok(action):
                        return False
    except (KeyError, msgspec.ValidationError, UnicodeError):  # not a record type, a value
        return False  # out of its domain (a lone surrogate can make msgspec's message fail)
    return True
