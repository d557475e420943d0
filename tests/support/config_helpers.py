"""Helpers of the config tests: every tunable key, and a file setting one to another value."""

from __future__ import annotations

from pathlib import Path

from gym_gui_bridge.config.programs import KeyEntry, key_index
from gym_gui_bridge.config.spec import SERVE, VIEW, WORKER

KEYS = key_index()
SERVE_KEYS = sorted(key for key, entry in KEYS.items() if SERVE in entry.programs)
VIEW_KEYS = sorted(key for key, entry in KEYS.items() if VIEW in entry.programs)
WORKER_KEYS = sorted(key for key, entry in KEYS.items() if WORKER in entry.programs)


def other_value(entry: KeyEntry) -> int | float:
    """A valid value that is not the default (and keeps cross-key rules: min <= max)."""
    default: int | float = getattr(entry.config(), entry.field)
    return default + 1 if entry.kind is int else default / 2


def write_config(folder: Path, key: str) -> tuple[Path, int | float]:
    """``folder/KEY.toml`` setting only ``key`` (in its table) to :func:`other_value`."""
    entry = KEYS[key]
    value = other_value(entry)
    path = folder / f"{key}.toml"
    path.write_text(f"[{entry.table}]\n{key} = {value!r}\n")
    return path, value
