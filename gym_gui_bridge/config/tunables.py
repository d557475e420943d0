"""Tunables: the constants of :mod:`gym_gui_bridge.config.defaults`, overridden by a TOML file.

The file has one table per lane (any table name is accepted, it is only for people) whose keys
are the constants' names, e.g.::

    [runbus]
    RUNBUS_UI_PATH_QUEUE_SIZE = 1024

``configs/defaults.toml`` lists every tunable with its default. An unknown name or a value of the
wrong type is an error naming the key and the file, raised before anything starts.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gym_gui_bridge.config import defaults as constants

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["Tunables", "TunablesError", "default_values", "load_tunables"]


class TunablesError(ValueError):
    """A tunables file names an unknown tunable or gives one a value of the wrong type."""


def default_values() -> dict[str, Any]:
    """Every tunable and its default, from the constants module."""
    return {name: getattr(constants, name) for name in dir(constants) if name.isupper()}


@dataclass(frozen=True)
class Tunables:
    """Read-only view of the tunables in effect; attribute access by constant name.

    >>> Tunables().RUNBUS_UI_PATH_QUEUE_SIZE
    512
    """

    values: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType(default_values()))
    source: str = "defaults"

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"no tunable named {name!r}") from None


def _check_type(key: str, value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float))
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise TunablesError(
            f"{where}: expected {key} to be {type(default).__name__}, got {value!r}"
        )
    if isinstance(value, (int, float)) and value < 0:
        raise TunablesError(f"{where}: expected {key} >= 0, got {value!r}")
    return value


def load_tunables(path: str | Path | None = None) -> Tunables:
    """Defaults overridden by the TOML file at ``path`` (none: the defaults)."""
    values = default_values()
    if path is None:
        return Tunables(MappingProxyType(values))
    where = str(path)
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise TunablesError(f"{where}: no such tunables file") from None
    except tomllib.TOMLDecodeError as error:
        raise TunablesError(f"{where}: not valid TOML: {error}") from None
    for table_name, table in document.items():
        items = table.items() if isinstance(table, dict) else [(table_name, table)]
        for key, value in items:
            if key not in values:
                raise TunablesError(f"{where}: unknown tunable {key!r}")
            values[key] = _check_type(key, value, values[key], where)
    return Tunables(MappingProxyType(values), source=where)
