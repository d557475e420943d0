"""The frozen :class:`WorkerSettings` and the validation of raw setting strings.

Nothing here reads the environment: :mod:`cleanrl_worker.settings` collects the raw strings and
calls :meth:`WorkerSettings.resolve`. Every error names the variable, flag or file it came from.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gym_gui_bridge.config.defaults import (
    DEFAULT_DB_PATH,
    FASTLANE_MAX_EDGE,
    FASTLANE_MAX_GRID,
    FASTLANE_MAX_RUN_ID,
)
from gym_gui_bridge.config.tunables import TunablesError, load_tunables
from gym_gui_bridge.fastlane.layout import validate_run_id

__all__ = ["STEPS_MODES", "VIDEO_MODES", "WorkerSettings"]

VIDEO_MODES = ("single", "grid", "off")
STEPS_MODES = ("watched", "all", "none")
_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})
_NOT_IN_RUN_ID = re.compile(r"[^A-Za-z0-9._-]+")
_MS_PER_S = 1000.0
_FIELD_OF = {"interval_ms": "fps"}
#: room for "-<yyyymmdd-HHMMSS>-<pid>" within the run id limit
_MAX_STEM = FASTLANE_MAX_RUN_ID - 40


def _error(where: str, expected: str, value: str) -> ValueError:
    from cleanrl_worker.settings import SettingsError

    return SettingsError(f"{where}: expected {expected}, got {value!r}")


def _as_bool(value: str, where: str) -> bool:
    lowered = value.lower()
    if lowered in _ON:
        return True
    if lowered in _OFF:
        return False
    raise _error(where, "1/0, true/false, yes/no or on/off", value)


def _as_int(value: str, where: str, low: int, high: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if number < low or (high is not None and number > high):
        bound = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"
        raise _error(where, bound, value)
    return number


def _as_float(value: str, where: str, *, low_exclusive: float, high: float | None = None) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > low_exclusive or (high is not None and number > high):
        bound = f"a number > {low_exclusive:g}" + ("" if high is None else f" and <= {high:g}")
        raise _error(where, bound, value)
    return number


def _choice(value: str, where: str, choices: tuple[str, ...]) -> str:
    lowered = value.lower()
    if lowered not in choices:
        raise _error(where, " | ".join(choices), value)
    return lowered


def default_run_id(argv0: str, pid: int, now: float | None = None) -> str:
    """``<script>-<YYYYmmdd-HHMMSS>-<pid>``, e.g. ``ppo-20260101-120000-4242``.

    >>> default_run_id("/home/me/cleanrl/ppo.py", 4242, now=0.0)
    'ppo-19700101-000000-4242'
    """
    stem = "" if argv0.startswith("-") else Path(argv0).stem  # -c / -m: no script name
    stem = _NOT_IN_RUN_ID.sub("-", stem).strip("-.") or "python"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stem[:_MAX_STEM]}-{stamp}-{pid}"


@dataclass(frozen=True)
class WorkerSettings:
    """Everything the worker side needs, resolved once per run. Picklable (sent to subprocesses).

    Args:
        enabled: the fast lane is on for this process.
        slot: vector-env index whose frames stream (``FASTLANE_SLOT`` / ``--fastlane-slot``).
        run_id: names the ring ``mosaic.fastlane.<run_id>`` and the run in the database.
        fps: frames-per-second cap while watched (``FASTLANE_FPS``; old
            ``CLEANRL_FASTLANE_INTERVAL_MS`` gives ``1000 / ms``).
        budget: share of wall time rendering may take (``FASTLANE_BUDGET``, 0 < b <= 1).
        video_mode: ``single`` (one slot), ``grid`` (tile the first ``grid`` slots) or ``off``.
        grid: number of slots a grid frame tiles (``FASTLANE_GRID`` / ``--fastlane-grid``).
        max_dim: longest published frame edge in pixels, 0 = as rendered.
        fastlane_only: skip the slow lane (no SQLite, no bridge), frames only.
        steps: which steps the slow lane records: ``watched`` slot, ``all`` slots or ``none``.
        db: SQLite file of the embedded slow lane (relative paths are relative to the cwd).
        bridge: ``host:port`` of a running ``gym-gui-bridge serve``, or None: records are then
            shipped there (through a disk spool) instead of into ``db``.
        bridge_token: shared token the bridge asks for (``FASTLANE_BRIDGE_TOKEN``; only an
            environment variable, never a flag, so it does not show in ``ps``).
        config: the tunables TOML file the defaults came from, or None.
        return_smoothing: weight of the newest episode return in the HUD's rolling return.
        watch_poll_s: seconds between two checks of whether a reader is watching.
        render_cost_smoothing: weight of the newest render-cost measurement.
        capacity: frames held by the ring.
        sources: (setting, where its value came from) for every setting not left at default.
    """

    enabled: bool = True
    slot: int = 0
    run_id: str = "fastlane"
    fps: float = 30.0
    budget: float = 0.03
    video_mode: str = "single"
    grid: int = 4
    max_dim: int = 0
    fastlane_only: bool = False
    steps: str = "watched"
    db: str = DEFAULT_DB_PATH
    bridge: str | None = None
    bridge_token: str | None = field(default=None, repr=False)
    config: str | None = None
    return_smoothing: float = 0.05
    watch_poll_s: float = 0.05
    render_cost_smoothing: float = 0.2
    capacity: int = 3
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def watched_slots(self) -> tuple[int, ...]:
        """Slots built with ``render_mode="rgb_array"``: one slot, the grid's, or none."""
        if self.video_mode == "off":
            return ()
        if self.video_mode == "grid":
            return tuple(range(self.grid))
        return (self.slot,)

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["sources"] = dict(self.sources)
        return values

    @classmethod
    def resolve(
        cls, raw: dict[str, tuple[str, str]], *, argv0: str, pid: int, now: float | None = None
    ) -> WorkerSettings:
        """Validate ``raw`` ({name: (value, source)}) and fill in the defaults.

        >>> s = WorkerSettings.resolve({"slot": ("2", "FASTLANE_SLOT")}, argv0="ppo.py", pid=7)
        >>> s.slot, s.video_mode, s.run_id.startswith("ppo-")
        (2, 'single', True)
        >>> WorkerSettings.resolve({"slot": ("-1", "FASTLANE_SLOT")}, argv0="ppo.py", pid=7)
        Traceback (most recent call last):
        ...
        cleanrl_worker.settings.SettingsError: FASTLANE_SLOT: expected an integer >= 0, got '-1'
        """
        raw = dict(raw)
        if "fps" in raw:
            raw.pop("interval_ms", None)  # the new name wins over the old one
        config_path = raw["config"][0] if "config" in raw else None
        try:
            tunables = load_tunables(config_path)
        except TunablesError as error:
            raise _error(raw["config"][1], "a readable tunables file", f"{error}") from None
        values: dict[str, Any] = {
            "fps": tunables.FASTLANE_FPS,
            "budget": tunables.FASTLANE_BUDGET,
            "max_dim": tunables.FASTLANE_MAX_DIM,
            "grid": tunables.FASTLANE_GRID_DEFAULT,
            "return_smoothing": tunables.FASTLANE_RETURN_SMOOTHING,
            "watch_poll_s": tunables.FASTLANE_WATCH_POLL_S,
            "render_cost_smoothing": tunables.FASTLANE_RENDER_COST_SMOOTHING,
            "capacity": tunables.FASTLANE_CAPACITY,
            "config": config_path,
        }
        for name, (value, where) in raw.items():
            values.update(_parse(name, value, where))
        if "video_mode" not in raw and "grid" in raw:
            values["video_mode"] = "grid"  # asking for a grid size asks for a grid
        if "run_id" not in values:
            values["run_id"] = default_run_id(argv0, pid, now)
        origins = {_FIELD_OF.get(name, name): where for name, (_, where) in raw.items()}
        if "video_mode" not in raw and "grid" in raw:
            origins["video_mode"] = raw["grid"][1]
        sources = tuple(sorted(origins.items()))
        return cls(**values, sources=sources)


def _parse(name: str, value: str, where: str) -> dict[str, Any]:
    """One raw setting -> {field: typed value}; raises SettingsError naming ``where``."""
    if name in {"enabled", "fastlane_only"}:
        return {name: _as_bool(value, where)}
    if name == "slot":
        return {"slot": _as_int(value, where, 0)}
    if name == "grid":
        return {"grid": _as_int(value, where, 1, FASTLANE_MAX_GRID)}
    if name == "max_dim":
        return {"max_dim": _as_int(value, where, 0, FASTLANE_MAX_EDGE)}
    if name == "fps":
        return {"fps": _as_float(value, where, low_exclusive=0.0)}
    if name == "interval_ms":
        return {"fps": _MS_PER_S / _as_float(value, where, low_exclusive=0.0)}
    if name == "budget":
        return {"budget": _as_float(value, where, low_exclusive=0.0, high=1.0)}
    if name == "video_mode":
        return {"video_mode": _choice(value, where, VIDEO_MODES)}
    if name == "steps":
        return {"steps": _choice(value, where, STEPS_MODES)}
    if name == "run_id":
        try:
            return {"run_id": validate_run_id(value)}
        except ValueError as error:
            raise _error(where, f"a valid run id ({error})", value) from None
    if name == "bridge":
        host, colon, port = value.rpartition(":")
        if not colon or not host or not port.isdigit():
            raise _error(where, "host:port", value)
        return {"bridge": value}
    if name in {"db", "config", "bridge_token"}:
        return {name: value}
    raise _error(where, "a known setting", name)
