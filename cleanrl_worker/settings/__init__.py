"""Worker settings: the ONLY module of the worker that reads ``os.environ`` and ``--fastlane-*``.

Two layers, so that the interpreter-start hook stays cheap:

* This module imports nothing but ``os`` and ``sys`` (both already loaded by then). It answers
  "is the fast lane requested?" (:func:`requested`), "are we a child of an active run?"
  (:func:`is_child_of_active_run`), removes the ``--fastlane-*`` flags from ``sys.argv``
  (:func:`strip_fastlane_flags`) and collects the raw strings (:func:`raw_sources`).
* :func:`load_settings` turns those raw strings into the frozen :class:`WorkerSettings`
  (defined in :mod:`cleanrl_worker.settings.model`, which is only imported when the fast lane is
  on: ``dataclasses`` alone costs more than the whole inert hook).

Precedence, highest first: ``--fastlane-*`` flags, ``FASTLANE_*`` variables, the older names
(``GYM_GUI_FASTLANE_*``, ``CLEANRL_*``), the config file named by ``FASTLANE_CONFIG`` /
``--fastlane-config`` (docs/configuration.md), the defaults in :mod:`gym_gui_bridge.config`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs more than this module
if TYPE_CHECKING:
    from typing import Any

    from cleanrl_worker.settings.model import WorkerSettings

__all__ = [
    "ACTIVE_PID_VAR",
    "FLAGS",
    "SettingsError",
    "WorkerSettings",
    "export_active_run",
    "is_child_of_active_run",
    "is_own_tool",
    "load_settings",
    "raw_sources",
    "requested",
    "strip_fastlane_flags",
]

#: Set by an activated parent; a process that inherits it is that run's child, not a new run.
ACTIVE_PID_VAR = "FASTLANE_ACTIVE_PID"

#: --flag -> (setting name, takes a value). Every flag also accepts ``--flag=VALUE``.
FLAGS: dict[str, tuple[str, bool]] = {
    "--fastlane": ("enabled", False),
    "--fastlane-slot": ("slot", True),
    "--fastlane-run-id": ("run_id", True),
    "--fastlane-fps": ("fps", True),
    "--fastlane-budget": ("budget", True),
    "--fastlane-video-mode": ("video_mode", True),
    "--fastlane-grid": ("grid", True),
    "--fastlane-max-dim": ("max_dim", True),
    "--fastlane-only": ("fastlane_only", False),
    "--fastlane-steps": ("steps", True),
    "--fastlane-db": ("db", True),
    "--fastlane-bridge": ("bridge", True),
    "--fastlane-config": ("config", True),
}

#: setting name -> environment variables, strongest first (older aliases after ours).
ENV_VARS: dict[str, tuple[str, ...]] = {
    "enabled": ("FASTLANE",),
    "slot": ("FASTLANE_SLOT", "GYM_GUI_FASTLANE_SLOT"),
    "run_id": ("FASTLANE_RUN_ID", "CLEANRL_RUN_ID"),
    "fps": ("FASTLANE_FPS",),
    "interval_ms": ("CLEANRL_FASTLANE_INTERVAL_MS",),
    "budget": ("FASTLANE_BUDGET",),
    "video_mode": ("FASTLANE_VIDEO_MODE", "GYM_GUI_FASTLANE_VIDEO_MODE"),
    "grid": ("FASTLANE_GRID", "GYM_GUI_FASTLANE_GRID_LIMIT"),
    "max_dim": ("FASTLANE_MAX_DIM", "CLEANRL_FASTLANE_MAX_DIM"),
    "fastlane_only": ("FASTLANE_ONLY", "GYM_GUI_FASTLANE_ONLY"),
    "steps": ("FASTLANE_STEPS",),
    "db": ("FASTLANE_DB",),
    "bridge": ("FASTLANE_BRIDGE",),
    "bridge_token": ("FASTLANE_BRIDGE_TOKEN",),
    "bridge_tls_ca": ("FASTLANE_BRIDGE_TLS_CA",),
    "config": ("FASTLANE_CONFIG",),
}

_OFF = frozenset({"0", "false", "no", "off"})
_ON = frozenset({"1", "true", "yes", "on"})
_FLAG_PREFIX = "--fastlane"
_OWN_TOOLS = frozenset({"cleanrl-worker", "gym-gui-bridge"})


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the variable or flag."""


def _is_fastlane_flag(arg: str) -> bool:
    return (
        arg == _FLAG_PREFIX or arg.startswith(_FLAG_PREFIX + "-") or arg.startswith("--fastlane=")
    )


def requested(argv: list[str] | None = None) -> bool:
    """Whether this process asked for the fast lane. Cheap: three lookups and one argv scan.

    ``FASTLANE=0`` (or false/no/off) wins over everything; otherwise ``FASTLANE=1``, the old
    ``GYM_GUI_FASTLANE_ONLY=1``, ``FASTLANE_ONLY=1`` or any ``--fastlane*`` flag turns it on.
    An unrecognised ``FASTLANE`` value counts as a request, so that :func:`load_settings`
    reports it instead of silently doing nothing.
    """
    switch = os.environ.get("FASTLANE")
    if switch is not None:
        value = switch.strip().lower()
        if value in _OFF:
            return False
        if value:
            return True
    args = sys.argv if argv is None else argv
    for name in ("FASTLANE_ONLY", "GYM_GUI_FASTLANE_ONLY"):
        if os.environ.get(name, "").strip().lower() in _ON:
            return True
    return any(arg.startswith(_FLAG_PREFIX) and _is_fastlane_flag(arg) for arg in args[1:])


def is_own_tool() -> bool:
    """True in ``cleanrl-worker`` / ``gym-gui-bridge``: they read settings, they never train."""
    return bool(sys.argv) and os.path.basename(sys.argv[0]) in _OWN_TOOLS


def is_child_of_active_run() -> bool:
    """True in a process started by an activated run (AsyncVectorEnv worker, subprocess)."""
    marker = os.environ.get(ACTIVE_PID_VAR)
    return bool(marker) and marker != str(os.getpid())


def export_active_run(run_id: str) -> None:
    """Tell child processes which run they belong to (and that they must not start another)."""
    os.environ[ACTIVE_PID_VAR] = str(os.getpid())
    os.environ["FASTLANE_RUN_ID"] = run_id


def strip_fastlane_flags(argv: list[str]) -> dict[str, str]:
    """Remove every ``--fastlane*`` flag from ``argv`` in place; return {flag: value}.

    Handles ``--flag VALUE``, ``--flag=VALUE`` and the boolean flags (``--fastlane-only``,
    ``--fastlane``), which take no separate value. Arguments after a bare ``--`` are left alone.
    Unknown ``--fastlane-*`` flags are removed too and reported by :func:`load_settings`.

    >>> argv = ["ppo.py", "--seed", "1", "--fastlane-slot", "2", "--fastlane-only", "--x=3"]
    >>> strip_fastlane_flags(argv), argv
    ({'--fastlane-slot': '2', '--fastlane-only': 'true'}, ['ppo.py', '--seed', '1', '--x=3'])
    """
    found: dict[str, str] = {}
    kept: list[str] = argv[:1]
    index = 1
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            kept.extend(argv[index - 1 :])
            break
        if not _is_fastlane_flag(arg):
            kept.append(arg)
            continue
        name, has_value, value = arg.partition("=")
        takes_value = FLAGS.get(name, ("", True))[1]
        if not has_value:
            if not takes_value:
                value = "true"
            elif index < len(argv) and not argv[index].startswith("--"):
                value = argv[index]
                index += 1
            else:
                raise SettingsError(f"{name}: expected a value after the flag, got none")
        found[name] = value
    argv[:] = kept
    return found


def raw_sources(flags: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Every given setting as {name: (raw value, where it came from)}, strongest source wins."""
    for flag in flags:
        if flag not in FLAGS:
            known = ", ".join(sorted(FLAGS))
            raise SettingsError(f"{flag}: unknown flag; expected one of {known}")
    raw: dict[str, tuple[str, str]] = {}
    for name, variables in ENV_VARS.items():
        for variable in variables:
            value = os.environ.get(variable)
            if value is not None and value.strip():
                raw[name] = (value.strip(), variable)
                break
    for flag, value in flags.items():
        raw[FLAGS[flag][0]] = (value, flag)
    return raw


def load_settings(
    flags: dict[str, str] | None = None, argv0: str | None = None, **overrides: Any
) -> WorkerSettings:
    """Build the settings of this process from its environment and the stripped ``flags``.

    Args:
        flags: what :func:`strip_fastlane_flags` removed from ``sys.argv`` (none: read no flags).
        argv0: the script path the run id is derived from (default ``sys.argv[0]``).
        **overrides: settings given in code (``cleanrl_worker.auto`` users, tests); strongest.

    Raises:
        SettingsError: a value is invalid; the message names its variable or flag.
    """
    from cleanrl_worker.settings.model import WorkerSettings

    raw = raw_sources(flags or {})
    for name, value in overrides.items():
        raw[name] = (str(value), f"{name}=")
    return WorkerSettings.resolve(
        raw, argv0=sys.argv[0] if argv0 is None else argv0, pid=os.getpid()
    )


def __getattr__(name: str) -> Any:
    # WorkerSettings lives in settings_model so that importing this module stays cheap.
    if name == "WorkerSettings":
        from cleanrl_worker.settings.model import WorkerSettings

        return WorkerSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
