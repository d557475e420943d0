"""The frozen :class:`WorkerSettings` and the validation of raw setting strings.

Nothing here reads the environment: :mod:`cleanrl_worker.settings` collects the raw strings and
calls :meth:`WorkerSettings.resolve`. Every error names the variable, flag or file it came from.
The settings carry the worker's component configs (:class:`~gym_gui_bridge.config.programs.
WorkerConfig`: ring, frames, recorder, emitter, sink), read from the config file, with the
frame settings given as variables or flags (``FASTLANE_FPS``, ...) applied on top.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gym_gui_bridge.config.fastlane import FrameConfig
from gym_gui_bridge.config.loader import load_config
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.config.programs import WorkerConfig, key_index
from gym_gui_bridge.config.spec import WORKER, ConfigError, check_value, describe, spec_of
from gym_gui_bridge.fastlane.layout import FASTLANE_MAX_RUN_ID, validate_run_id

__all__ = ["STEPS_MODES", "VIDEO_MODES", "WorkerSettings"]

VIDEO_MODES = ("single", "grid", "off")
STEPS_MODES = ("watched", "all", "none")
_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})
_NOT_IN_RUN_ID = re.compile(r"[^A-Za-z0-9._-]+")
_MS_PER_S = 1000.0
_FIELD_OF = {"interval_ms": "fps"}
#: settings that are also tunables of the [frames] table: a variable or flag beats the file
_FRAME_SETTINGS = ("fps", "budget", "max_dim", "grid")
_FRAME_FIELDS = {f.name: f for f in dataclasses.fields(FrameConfig)}
#: the settings as_dict() shows, in this order (then the tunables by key)
_SHOWN = (
    "enabled",
    "slot",
    "run_id",
    "fps",
    "budget",
    "video_mode",
    "grid",
    "max_dim",
    "fastlane_only",
    "steps",
    "db",
    "bridge",
    "bridge_token",
    "bridge_tls_ca",
    "config",
)
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


def _as_positive(value: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0:
        raise _error(where, "a number > 0", value)
    return number


def _as_tunable(name: str, value: str, where: str) -> int | float:
    """``value`` parsed and checked as the [frames] tunable ``name`` (same range as in files)."""
    field = _FRAME_FIELDS[name]
    spec, kind = spec_of(field), type(field.default)
    number: int | float
    try:
        number = int(value) if kind is int else float(value)
    except ValueError:
        number = float("nan")
    if not check_value(spec, kind, number):
        raise _error(where, describe(spec, kind), value)
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
        video_mode: ``single`` (one slot), ``grid`` (tile the first ``grid`` slots) or ``off``.
        fastlane_only: skip the slow lane (no SQLite, no bridge), frames only.
        steps: which steps the slow lane records: ``watched`` slot, ``all`` slots or ``none``.
        db: SQLite file of the embedded slow lane (relative paths are relative to the cwd).
        bridge: ``host:port`` of a running ``gym-gui-bridge serve``, or None: records are then
            shipped there (through a disk spool) instead of into ``db``.
        bridge_token: shared token the bridge asks for (``FASTLANE_BRIDGE_TOKEN``; only an
            environment variable, never a flag, so it does not show in ``ps``; never printed).
        bridge_tls_ca: PEM file of the CA that signed a TLS bridge's certificate
            (``FASTLANE_BRIDGE_TLS_CA``); None: the connection to the bridge is plain text.
        config: the config file the tunables came from (``FASTLANE_CONFIG``), or None.
        tunables: the configs of the worker's components (ring, frames, recorder, emitter,
            sink): the file's values, and the frame settings given as variables or flags.
        sources: (setting, where its value came from) for every setting not left at default.

    ``fps``, ``budget``, ``max_dim`` and ``grid`` are the ``[frames]`` tunables of the same
    names (``FASTLANE_FPS``, ...), so that the variable, the flag and the file set one value.
    """

    enabled: bool = True
    slot: int = 0
    run_id: str = "fastlane"
    video_mode: str = "single"
    fastlane_only: bool = False
    steps: str = "watched"
    db: str = DEFAULT_DB_PATH
    bridge: str | None = None
    bridge_token: str | None = field(default=None, repr=False)
    bridge_tls_ca: str | None = None
    config: str | None = None
    tunables: WorkerConfig = field(default_factory=WorkerConfig)
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def fps(self) -> float:
        """Frames-per-second cap while watched (``FASTLANE_FPS``; old
        ``CLEANRL_FASTLANE_INTERVAL_MS`` gives ``1000 / ms``)."""
        return self.tunables.frames.fps

    @property
    def budget(self) -> float:
        """Share of wall time rendering may take (``FASTLANE_BUDGET``, 0 < b <= 1)."""
        return self.tunables.frames.budget

    @property
    def max_dim(self) -> int:
        """Longest published frame edge in pixels (``FASTLANE_MAX_DIM``), 0 = as rendered."""
        return self.tunables.frames.max_dim

    @property
    def grid(self) -> int:
        """Slots a grid frame tiles (``FASTLANE_GRID``; file: ``FASTLANE_GRID_DEFAULT``)."""
        return self.tunables.frames.grid

    @property
    def watched_slots(self) -> tuple[int, ...]:
        """Slots built with ``render_mode="rgb_array"``: one slot, the grid's, or none."""
        if self.video_mode == "off":
            return ()
        if self.video_mode == "grid":
            return tuple(range(self.grid))
        return (self.slot,)

    def as_dict(self) -> dict[str, Any]:
        """The settings by name, then the other tunables the worker reads, by key (``FASTLANE_FPS``
        and the other frame settings are shown once, as settings). The token only as ``set`` /
        ``unset``: it is never printed."""
        values: dict[str, Any] = {name: getattr(self, name) for name in _SHOWN}
        values["bridge_token"] = "unset" if self.bridge_token is None else "set"
        frame_keys = {spec_of(_FRAME_FIELDS[name]).key for name in _FRAME_SETTINGS}
        values["tunables"] = {
            key: getattr(getattr(self.tunables, entry.table), entry.field)
            for key, entry in key_index().items()
            if WORKER in entry.programs and key not in frame_keys
        }
        values["sources"] = dict(self.sources)
        return values

    @classmethod
    def resolve(
        cls, raw: dict[str, tuple[str, str]], *, argv0: str, pid: int, now: float | None = None
    ) -> WorkerSettings:
        """Validate ``raw`` ({name: (value, source)}) and fill in the defaults.

        >>> s = WorkerSettings.resolve({"slot": ("2", "FASTLANE_SLOT")}, argv0="ppo.py", pid=7)
        >>> s.slot, s.video_mode, s.run_id.startswith("ppo-"), s.tunables.ring.capacity
        (2, 'single', True, 3)
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
            tunables = load_config(config_path, WorkerConfig)
        except ConfigError as error:
            from cleanrl_worker.settings import SettingsError

            raise SettingsError(f"{raw['config'][1]}: {error}") from None
        values: dict[str, Any] = {"config": config_path}
        for name, (value, where) in raw.items():
            values.update(_parse(name, value, where))
        frames = {name: values.pop(name) for name in _FRAME_SETTINGS if name in values}
        if frames:
            tunables = dataclasses.replace(
                tunables, frames=dataclasses.replace(tunables.frames, **frames)
            )
        if "video_mode" not in raw and "grid" in raw:
            values["video_mode"] = "grid"  # asking for a grid size asks for a grid
        if "run_id" not in values:
            values["run_id"] = default_run_id(argv0, pid, now)
        origins = {_FIELD_OF.get(name, name): where for name, (_, where) in raw.items()}
        if "video_mode" not in raw and "grid" in raw:
            origins["video_mode"] = raw["grid"][1]
        defaults = FrameConfig()
        for name in _FRAME_SETTINGS:  # a frame setting the file changed came from the file
            if name not in origins and getattr(tunables.frames, name) != getattr(defaults, name):
                origins[name] = str(config_path)
        sources = tuple(sorted(origins.items()))
        return cls(**values, tunables=tunables, sources=sources)


def _parse(name: str, value: str, where: str) -> dict[str, Any]:
    """One raw setting -> {field: typed value}; raises SettingsError naming ``where``."""
    if name in {"enabled", "fastlane_only"}:
        return {name: _as_bool(value, where)}
    if name == "slot":
        return {"slot": _as_int(value, where, 0)}
    if name in _FRAME_SETTINGS:
        return {name: _as_tunable(name, value, where)}
    if name == "interval_ms":
        return {"fps": _MS_PER_S / _as_positive(value, where)}
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
    if name == "bridge_tls_ca":
        return {name: os.path.abspath(value)}  # the script may chdir; spawned workers too
    raise _error(where, "a known setting", name)
