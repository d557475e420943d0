"""The value domains of record fields, and the field table every codec derives its work from.

Each field of a record type (:mod:`gym_gui_bridge.protocol.records`) is annotated with its
*domain*, the values it may hold. The codecs look only at a record type's field table
(:func:`record_fields`: name, JSONL key, domain, optional), so the field lists are written once,
in the record types: the JSONL encoders write a field by its domain, the decoders check it by
its domain, the store converts it to a column and back, the protobuf conversion copies it by
name. A new field of a known domain needs no change elsewhere, except the SQLite schema and the
``.proto`` (both versioned formats; tests check they match the record types).

=================  ================================  ==============================================
domain             annotation                        valid values (what the strict decoder accepts)
=================  ================================  ==============================================
``name``           ``Name``                          1..``JSONL_MAX_NAME_CHARS`` characters
``text``           ``str``                           a string
``status``         ``Status``                        one of ``RUN_STATUSES``
``count``          ``Count``                         integer 0..2**63-1
``slot``           ``Slot``                          integer -1..2**31-1
``exit_code``      ``ExitCode``                      integer -2**31..2**63-1
``real``           ``float``                         finite number (an integer is accepted)
``non_negative``   ``NonNegative``                   finite number >= 0
``flag``           ``bool``                          true or false (never 0 or 1)
``action``         ``Action``                        null, a number, lists of them (nested <= 8)
``strings``        ``tuple[str, ...]``               a list of strings
=================  ================================  ==============================================

A field annotated ``X | None`` is *optional*: it may also be None (JSON ``null``).

Every string (names, texts, ``argv``'s items) must be Unicode scalar values (no lone surrogate
such as ``"\\ud800"``: neither UTF-8 nor protobuf can carry one) of at most
``JSONL_MAX_LINE_BYTES`` characters; an integer inside an action is in the int64 range; a list
(an action at every level, ``argv``) holds at most ``JSONL_MAX_LIST_ITEMS`` items in all. The
integer ranges are :data:`INTEGER_RANGES`: what SQLite's INTEGER and the protobuf messages
(``slot`` is an ``int32`` there) can hold. :mod:`gym_gui_bridge.protocol.validation` checks
all of it, for every codec, the store and the wire.

>>> from gym_gui_bridge.protocol.records import StepRecord
>>> [(f.name, f.domain, f.optional) for f in record_fields(StepRecord)][-2:]
[('truncated', 'flag', False), ('frame_seq', 'count', True)]
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

__all__ = [
    "ACTION_INTEGER_RANGE",
    "DOMAINS",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "INTEGER_RANGES",
    "JSONL_KEYS",
    "Action",
    "Count",
    "ExitCode",
    "Field",
    "Name",
    "NonNegative",
    "Slot",
    "Status",
    "compile_function",
    "record_fields",
]

Name = Annotated[str, "name"]
Status = Annotated[str, "status"]
Count = Annotated[int, "count"]
Slot = Annotated[int, "slot"]
ExitCode = Annotated[int, "exit_code"]
NonNegative = Annotated[float, "non_negative"]
#: An action as recorded: a number, a (nested) list of numbers, or None when not JSON-able.
Action = Annotated[int | float | list | None, "action"]

# domains of fields annotated with a plain type
_PLAIN = {float: "real", bool: "flag", str: "text", tuple[str, ...]: "strings"}

#: Every domain a field may have.
DOMAINS = frozenset(
    [
        "name",
        "text",
        "status",
        "count",
        "slot",
        "exit_code",
        "real",
        "non_negative",
        "flag",
        "action",
        "strings",
    ]
)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

#: The least and greatest value of each integer domain. int64 is SQLite's INTEGER; ``slot`` is
#: an ``int32`` in the protobuf messages (proto/trainer.proto), the rest fit ``uint64`` /
#: ``sint64`` there.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "count": (0, INT64_MAX),
    "slot": (-1, INT32_MAX),
    "exit_code": (INT32_MIN, INT64_MAX),
}
#: The range of an integer inside an action (the ``sint64`` ``action_int`` of the wire).
ACTION_INTEGER_RANGE = (INT64_MIN, INT64_MAX)

#: JSONL keys that differ from the field's Python name (``return`` is a Python keyword).
JSONL_KEYS = {"ep_return": "return"}


class Field(NamedTuple):
    """One field of a record type, as the codecs see it."""

    name: str
    """The attribute's name (and the SQLite column's)."""
    key: str
    """The JSONL key (the name, except where :data:`JSONL_KEYS` says otherwise)."""
    domain: str
    """What values it may hold: one of :data:`DOMAINS`."""
    optional: bool
    """Whether it may also be None (JSON null)."""


def _domain(record_type: type, name: str, hint: Any) -> tuple[str, bool]:
    """(domain, optional) of a resolved annotation."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        rest = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(rest) == 1 and len(rest) < len(typing.get_args(hint)):
            return _domain(record_type, name, rest[0])[0], True
    elif origin is Annotated:
        domain = hint.__metadata__[0]
        if domain in DOMAINS:
            return domain, False
    elif hint in _PLAIN:
        return _PLAIN[hint], False
    raise TypeError(
        f"Expected {record_type.__name__}.{name} annotated with a field domain of "
        f"gym_gui_bridge.protocol.fields, got {hint!r}"
    )


_TABLES: dict[type, tuple[Field, ...]] = {}  # record type -> its fields, built at first use


def record_fields(record_type: type) -> tuple[Field, ...]:
    """The fields of a record type (a NamedTuple), in order, with their keys and domains.

    Raises:
        TypeError: a field's annotation names no domain.
    """
    fields = _TABLES.get(record_type)
    if fields is None:
        hints = typing.get_type_hints(record_type, include_extras=True)
        fields = tuple(
            Field(name, JSONL_KEYS.get(name, name), *_domain(record_type, name, hints[name]))
            for name in record_type._fields  # type: ignore[attr-defined]
        )
        _TABLES[record_type] = fields
    return fields


def compile_function(source: str, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """The function ``name`` defined by ``source`` (Python code generated from a field table,
    as :mod:`collections` does for namedtuple), its globals ``namespace``. The source is kept as
    the function's ``__source__`` attribute, for readers and tracebacks."""
    code = compile(source, f"<generated {name}>", "exec")
    scope = dict(namespace)
    exec(code, scope)
    function = scope[name]
    function.__source__ = source
    return function
