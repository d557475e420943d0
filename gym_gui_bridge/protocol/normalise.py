"""Converting foreign values of a record (numpy numbers, integer reals, a list ``argv``) to the
exact types of their domains, so the validation can accept them.

A training script hands the recorder numpy scalars and arrays, integers where numbers are
meant, tuples where lists are; :func:`normalised` converts what converts and leaves the rest as
it is, for :func:`~gym_gui_bridge.protocol.validation.check_record` to say why it is refused.

>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> normalised(ScalarRecord("r", -1, "default", 0, 1.0, tag="loss", value=3, step=1)).value
3.0
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable
from typing import Any

from gym_gui_bridge.protocol.fields import record_fields
from gym_gui_bridge.protocol.limits import JSONL_MAX_ACTION_DEPTH
from gym_gui_bridge.protocol.records import RECORD_TYPES

__all__ = ["normalised"]


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
