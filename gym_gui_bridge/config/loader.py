"""Reading a config file for one program: every key takes effect or is refused.

A config file is TOML with one table per component; the keys are the tunables' names in
capitals (``[sink]`` ``DB_SINK_BATCH_SIZE = 4096``). Keys are found by name, so a key may sit
in any table (files written for earlier versions keep working) or at the top level. Refused,
with one line naming the file and the key:

- a key nobody knows (with the closest known name, if any),
- a key another program reads (saying which),
- a fixed limit or a path (saying where it is set instead),
- a value of the wrong type or out of range ("expected X, got Y").

>>> import tempfile, os
>>> from gym_gui_bridge.config.programs import ServeConfig, ViewConfig
>>> path = os.path.join(tempfile.mkdtemp(), "bridge.toml")
>>> with open(path, "w") as handle:
...     _ = handle.write("[sink]\\nDB_SINK_BATCH_SIZE = 4096\\n")
>>> load_config(path, ServeConfig).sink.batch_size
4096
>>> load_config(path, ViewConfig)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gym_gui_bridge.config.spec.ConfigError: ...bridge.toml: DB_SINK_BATCH_SIZE is not read by \
gym-gui-bridge view --config; it is read by the worker (FASTLANE_CONFIG / --fastlane-config), \
gym-gui-bridge serve --config
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from gym_gui_bridge.config.programs import KeyEntry, key_index, tables
from gym_gui_bridge.config.spec import PROGRAM_NAMES, ConfigError, check_value, describe

__all__ = ["RETIRED", "load_config"]

Bundle = TypeVar("Bundle")

_FIXED_RING = "a fixed limit of the ring format (gym_gui_bridge/fastlane/layout.py), not a tunable"
_FIXED_RECORDS = (
    "a fixed limit of the record formats (gym_gui_bridge/protocol/limits.py), not a tunable"
)
_UNUSED = "no longer a tunable: nothing used it"
#: Names earlier config files may hold that are not tunables (any more), and why.
RETIRED: Mapping[str, str] = {
    "FASTLANE_MAX_CAPACITY": _FIXED_RING,
    "FASTLANE_MAX_EDGE": _FIXED_RING,
    "FASTLANE_MAX_RUN_ID": _FIXED_RING,
    "FASTLANE_MAX_GRID": _FIXED_RING,
    "FASTLANE_WATCH_TIMEOUT_S": _FIXED_RING,
    "FASTLANE_HEARTBEAT_INTERVAL_S": _FIXED_RING,
    "FASTLANE_READ_RETRIES": _FIXED_RING,
    "FASTLANE_CREATE_GRACE_S": _FIXED_RING,
    "FASTLANE_STALE_PUBLISH_S": _FIXED_RING,
    "JSONL_MAX_LINE_BYTES": _FIXED_RECORDS,
    "JSONL_MAX_ACTION_DEPTH": _FIXED_RECORDS,
    "JSONL_MAX_NAME_CHARS": _FIXED_RECORDS,
    "GRPC_MAX_MESSAGE_BYTES": _FIXED_RECORDS,
    "DEFAULT_DB_PATH": "a path, not a tunable: give FASTLANE_DB (worker) or --db",
    "BRIDGE_DEFAULT_LISTEN": "an address, not a tunable: give --listen to gym-gui-bridge serve",
    "EMITTER_SPOOL_DIR": "a path, not a tunable: give --spool-dir",
    "RUNBUS_DEFAULT_QUEUE_SIZE": "no longer a tunable: see RUNBUS_UI_PATH_QUEUE_SIZE",
    "LIVE_STEP_QUEUE_SIZE": _UNUSED,
    "LIVE_EPISODE_QUEUE_SIZE": _UNUSED,
}


def _items(document: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for name, value in document.items():
        if isinstance(value, dict):
            yield from value.items()
        else:
            yield name, value  # a key outside any table


def _refusal(key: str, program: str, entry: KeyEntry | None) -> str:
    """Why ``program`` refuses ``key``."""
    if entry is None:
        if key in RETIRED:
            return f"{key} is {RETIRED[key]}"
        import difflib  # only for this message

        close = difflib.get_close_matches(key, list(key_index()) + list(RETIRED), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{key}: unknown key{hint}; the keys are listed in configs/defaults.toml"
    readers = ", ".join(PROGRAM_NAMES[p] for p in entry.programs) or "no program"
    why = f" ({entry.spec.not_read})" if entry.spec.not_read else ""
    return f"{key} is not read by {PROGRAM_NAMES[program]}{why}; it is read by {readers}"


def _typed(entry: KeyEntry, value: Any) -> Any:
    """``value`` as the tunable's type, or raise ConfigError saying what was expected."""
    expected = describe(entry.spec, entry.kind)
    if entry.kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not check_value(entry.spec, entry.kind, value):
        raise ConfigError(f"{entry.spec.key}: expected {expected}, got {value!r}")
    return value


def _read(path: str | Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: expected a config file, found none") from None
    except OSError as error:
        raise ConfigError(f"{path}: expected a readable config file, got {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: expected TOML, got: {error}") from None


def load_config(path: str | Path | None, bundle: type[Bundle]) -> Bundle:
    """The configs of ``bundle``'s program: defaults, overridden by the file at ``path``.

    Args:
        path: a TOML config file, or None for the defaults.
        bundle: :class:`~gym_gui_bridge.config.programs.WorkerConfig`, ``ServeConfig`` or
            ``ViewConfig``: the program reading the file.

    Raises:
        ConfigError: the file is missing, not TOML, or holds a key this program refuses; the
            message is one line naming the file and the key.
    """
    if path is None:
        return bundle()
    program: str = bundle.PROGRAM  # type: ignore[attr-defined]
    index = key_index()
    reads = dict(tables(bundle))
    chosen: dict[str, dict[str, Any]] = {name: {} for name in reads}
    seen: set[str] = set()
    try:
        for key, value in _items(_read(path)):
            entry = index.get(key)
            if entry is None or program not in entry.programs or entry.table not in reads:
                raise ConfigError(_refusal(key, program, entry))
            if key in seen:
                raise ConfigError(f"{key}: given twice")
            seen.add(key)
            chosen[entry.table][entry.field] = _typed(entry, value)
        return bundle(**{name: reads[name](**values) for name, values in chosen.items()})
    except ConfigError as error:
        message = str(error)
        raise ConfigError(
            message if message.startswith(f"{path}: ") else f"{path}: {message}"
        ) from None
