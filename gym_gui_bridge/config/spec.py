"""How a tunable is declared: a dataclass field with its TOML key, doc, bounds and readers.

Every component's config (``SinkConfig``, ``EmitterConfig``, ...) is a frozen dataclass whose
fields are made by :func:`tunable`. The field holds the default (written nowhere else); its
metadata holds the operator's name of the key in TOML files (``DB_SINK_BATCH_SIZE``), the doc
(unit and why that value), the accepted range and, when it differs from the programs reading the
field's table, which programs read the key. :func:`check_fields` validates an instance against
that range; the configs call it in ``__post_init__``, so an out-of-range value is refused however
it arrives (TOML file, environment variable, code).

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo:
...     size: int = tunable("DEMO_SIZE", 8, "Items held (count).", minimum=1)
...     def __post_init__(self) -> None:
...         check_fields(self)
>>> Demo(size=0)
Traceback (most recent call last):
...
gym_gui_bridge.config.spec.ConfigError: DEMO_SIZE: expected an integer >= 1, got 0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

__all__ = [
    "PROGRAM_NAMES",
    "SERVE",
    "VIEW",
    "WORKER",
    "ConfigError",
    "Spec",
    "check_fields",
    "check_value",
    "describe",
    "spec_of",
    "specs",
    "tunable",
]

#: The programs that read config files, and how a person names each of them in messages.
WORKER = "worker"
SERVE = "serve"
VIEW = "view"
PROGRAM_NAMES = {
    WORKER: "the worker (FASTLANE_CONFIG / --fastlane-config)",
    SERVE: "gym-gui-bridge serve --config",
    VIEW: "gym-gui-bridge view --config",
}

#: A bound is a number, or a function returning one (a fixed limit defined in a module that
#: cannot be imported when the config module is).
Bound = int | float | Callable[[], int | float] | None


class ConfigError(ValueError):
    """A tunable has a value of the wrong type or out of range, or a config file is refused.

    The message names the key (and, from the loader, the file).
    """


class Spec(NamedTuple):
    """What the metadata of one tunable field says."""

    key: str
    doc: str
    minimum: Bound
    maximum: Bound
    above: Bound
    read_by: tuple[str, ...] | None
    not_read: str


def tunable(
    key: str,
    default: int | float,
    doc: str,
    *,
    minimum: Bound = None,
    maximum: Bound = None,
    above: Bound = None,
    read_by: tuple[str, ...] | None = None,
    not_read: str = "",
) -> Any:
    """A dataclass field holding a tunable's default.

    Args:
        key: the name of the key in TOML files (and of the value in docs and logs).
        default: the default value; its type (int or float) is the tunable's type.
        doc: what the value means, its unit in parentheses, and why it has this default.
        minimum: smallest accepted value (inclusive).
        maximum: largest accepted value (inclusive).
        above: the value must be greater than this (exclusive lower bound).
        read_by: the programs that read the key from a file, when not every program reading
            the field's table does (``()``: none; the field is then a default for code only).
        not_read: why the programs left out of ``read_by`` do not read it (for their error).
    """
    metadata = {
        "spec": Spec(key, doc, minimum, maximum, above, read_by, not_read),
    }
    return dataclasses.field(default=default, metadata=metadata)


def spec_of(field: dataclasses.Field[Any]) -> Spec:
    """The :class:`Spec` of a field made by :func:`tunable`."""
    spec = field.metadata.get("spec")
    if not isinstance(spec, Spec):
        raise TypeError(f"Expected a field made by tunable(), got {field.name!r}")
    return spec


def specs(config: Any) -> Iterator[tuple[dataclasses.Field[Any], Spec]]:
    """(field, spec) of every tunable of a config class or instance, in declaration order."""
    for field in dataclasses.fields(config):
        yield field, spec_of(field)


def _resolve(bound: Bound) -> int | float | None:
    return bound() if callable(bound) else bound


def _fmt(number: int | float) -> str:
    return str(number) if isinstance(number, int) else f"{number:g}"


def describe(spec: Spec, kind: type) -> str:
    """The accepted values in words, as error messages and the generated TOML say them.

    >>> describe(Spec("K", "", 1, 64, None, None, ""), int)
    'an integer in 1..64'
    >>> describe(Spec("K", "", None, 1, 0, None, ""), float)
    'a number > 0 and <= 1'
    """
    low, high, above = _resolve(spec.minimum), _resolve(spec.maximum), _resolve(spec.above)
    noun = "an integer" if kind is int else "a number"
    if low is not None and high is not None:
        return f"{noun} in {_fmt(low)}..{_fmt(high)}"
    words = noun
    if above is not None:
        words += f" > {_fmt(above)}"
    elif low is not None:
        words += f" >= {_fmt(low)}"
    if high is not None:
        joiner = " and <= " if (above is not None or low is not None) else " <= "
        words += joiner + _fmt(high)
    return words


def check_value(spec: Spec, kind: type, value: Any) -> bool:
    """Whether ``value`` (already of the right Python type) is in the accepted range."""
    if isinstance(value, bool) or not isinstance(value, int if kind is int else (int, float)):
        return False
    low, high, above = _resolve(spec.minimum), _resolve(spec.maximum), _resolve(spec.above)
    if value != value:  # NaN
        return False
    if low is not None and value < low:
        return False
    if above is not None and not value > above:
        return False
    return not (high is not None and value > high)


def check_fields(config: Any) -> None:
    """Raise :class:`ConfigError` naming the first field of ``config`` out of its range."""
    for field, spec in specs(config):
        value = getattr(config, field.name)
        kind = type(field.default)
        if not check_value(spec, kind, value):
            raise ConfigError(f"{spec.key}: expected {describe(spec, kind)}, got {value!r}")
