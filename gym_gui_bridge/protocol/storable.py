"""Whether a record can be stored and sent as it is: the validation's fast tests, for hot paths.

Two tests against the bounds of :mod:`gym_gui_bridge.protocol.validation` (from the same tables,
:mod:`gym_gui_bridge.protocol.fields` and :mod:`~gym_gui_bridge.protocol.limits`):

- :func:`storable`: one boolean expression per record type, generated at import, true when every
  value has its exact Python type and lies in its domain, so SQLite binds the record as it is
  and the encoders write what a decoder reads back. Conservative: a record of foreign values
  (numpy numbers, an integer reward, a list ``argv``) fails it and passes once
  :func:`~gym_gui_bridge.protocol.normalise.normalised` converted them.
- :func:`storable_all`: a whole batch against the same bounds as ``msgspec`` types
  (:data:`MSGSPEC_TYPES`, also the batch decoder's line schemas), one C call per record type,
  ~4x faster than the first test record by record; the store and the batch encoder use it
  first. It leaves two things to the encodings that follow it, which refuse them anyway: a lone
  surrogate (UTF-8 cannot encode it: sqlite3 and msgspec raise) and an integer beyond 64 bits in
  a real field (run records, whose ``argv`` is written with escapes, are tested record by
  record).

Tests check that every record a decoder returns passes both, and that they agree with the checks.

>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> good = ScalarRecord("r", -1, "default", 0, 1.0, tag="loss", value=0.5, step=1)
>>> storable(good), storable(good._replace(step=2**63)), storable(good._replace(tag="\\ud800"))
(True, False, False)
>>> storable_all([good, good._replace(seq=1)]), storable_all([good._replace(slot=2**40)])
(True, False)
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Callable, Sequence
from functools import partial
from itertools import compress
from typing import Annotated, Any, Literal

import msgspec

from gym_gui_bridge.errors import RecordDecodeError
from gym_gui_bridge.protocol.fields import (
    ACTION_INTEGER_RANGE,
    INTEGER_RANGES,
    compile_function,
    record_fields,
)
from gym_gui_bridge.protocol.limits import JSONL_MAX_LIST_ITEMS, JSONL_MAX_NAME_CHARS
from gym_gui_bridge.protocol.records import RECORD_TYPES, RUN_STATUSES, RunRecord, StepRecord
from gym_gui_bridge.protocol.validation import (
    CHECKS,
    MAX_TEXT_CHARS,
    check_action,
    has_lone_surrogate,
)

__all__ = [
    "MSGSPEC_TYPES",
    "PLAIN_ACTION",
    "TEST_NAMESPACE",
    "storable",
    "storable_all",
    "storable_expression",
]

_ACTION_MIN, _ACTION_MAX = ACTION_INTEGER_RANGE
_INF = math.inf
_TEXT_CHARS = MAX_TEXT_CHARS
_strings = CHECKS["strings"]
# --------------------------------------------------------------------------------------------
# One boolean expression per record type
# --------------------------------------------------------------------------------------------


def _unicode(text: str) -> bool:
    return not has_lone_surrogate(text)


def _strings_ok(values: tuple[str, ...]) -> bool:
    try:
        _strings("argv", values)
    except RecordDecodeError:
        return False
    return True


def _action_ok(value: list[Any]) -> bool:
    try:
        check_action(value)
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
# The same bounds as msgspec types: the batch decoder's schemas and the test in bulk
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
_action_of = operator.itemgetter(StepRecord._fields.index("action"))


def storable_all(records: Sequence[Any], plain_actions: bool = False) -> bool:
    """Whether every record of ``records`` is valid as it is, checked in bulk (see the module's
    docstring for the two things it leaves to the encodings). ``plain_actions``: accept only
    null, numbers and flat lists of numbers as actions (what the batch encoder writes)."""
    types = list(map(type, records))  # C loops (map, itemgetter) where a loop is needed
    kinds = set(types)
    bulk = _BULK_PLAIN if plain_actions else _BULK
    try:
        for kind in kinds:
            group = (
                records
                if len(kinds) == 1
                else list(compress(records, map(partial(operator.is_, kind), types)))
            )
            if kind is RunRecord:  # rare; argv is written with escapes, not refused as UTF-8
                if not all(map(storable, group)):
                    return False
                continue
            msgspec.convert(group, bulk[kind])
            if kind is StepRecord and not plain_actions:
                actions = list(map(_action_of, group))
                if list in set(map(type, actions)):
                    for action in actions:
                        if type(action) is list and not _action_ok(action):
                            return False
    except (KeyError, msgspec.ValidationError, UnicodeError):  # not a record type, a value
        return False  # out of its domain (a lone surrogate can make msgspec's message fail)
    return True
