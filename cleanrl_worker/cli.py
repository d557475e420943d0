"""``cleanrl-worker``: the worker side's command (subcommands dispatched by name, parsed by tyro).

``cleanrl-worker settings [--json] [--fastlane-* ...]`` prints the settings a training run
started from this shell would resolve, and the tunables of its config file. The bridge token is
shown as ``set`` or ``unset``, never its value. ``cleanrl-worker run [OPTIONS] -- COMMAND`` is the
trainer telemetry proxy (:mod:`cleanrl_worker.proxy`).
"""

from __future__ import annotations

import dataclasses
import json
import sys

import tyro

from cleanrl_worker import settings

__all__ = ["main"]

_PROG = "cleanrl-worker"

_ENV_HELP = """\
Turn the fast lane on for an unmodified CleanRL script with FASTLANE=1 (or any --fastlane-* flag):

    FASTLANE=1 python ppo.py --env-id CartPole-v1 --num-envs 4 --fastlane-slot 2

variables (flag)                          meaning (default)
  FASTLANE                                1 enables, 0 forces off (unset: off unless a flag is given)
  FASTLANE_SLOT (--fastlane-slot K)       vector-env slot to stream (0)
  FASTLANE_RUN_ID (--fastlane-run-id ID)  run id / ring name (<script>-<UTC time>-<pid>)
  FASTLANE_FPS (--fastlane-fps F)         frames per second cap while watched ({fps:g})
  FASTLANE_BUDGET (--fastlane-budget B)   share of wall time rendering may take ({budget:g})
  FASTLANE_VIDEO_MODE (--fastlane-video-mode M)  single | grid | off (single)
  FASTLANE_GRID (--fastlane-grid N)       grid mode: tile the first N slots ({grid}; implies grid)
  FASTLANE_MAX_DIM (--fastlane-max-dim D) downscale frames to this longest edge (0: off)
  FASTLANE_ONLY (--fastlane-only)         frames only, no slow lane
  FASTLANE_STEPS (--fastlane-steps S)     steps the slow lane records: watched | all | none
  FASTLANE_DB (--fastlane-db PATH)        slow-lane SQLite file ({db})
  FASTLANE_BRIDGE (--fastlane-bridge H:P) running gym-gui-bridge to send telemetry to (none)
  FASTLANE_BRIDGE_TOKEN                   the bridge's shared token, if it asks for one (none)
  FASTLANE_BRIDGE_TLS_CA                  CA file of a TLS bridge's certificate (none: plain)
  FASTLANE_CONFIG (--fastlane-config F)   tunables TOML file (docs/configuration.md)
older names accepted: GYM_GUI_FASTLANE_ONLY, GYM_GUI_FASTLANE_SLOT, GYM_GUI_FASTLANE_VIDEO_MODE,
GYM_GUI_FASTLANE_GRID_LIMIT, CLEANRL_RUN_ID, CLEANRL_FASTLANE_INTERVAL_MS (fps = 1000 / ms),
CLEANRL_FASTLANE_MAX_DIM. See docs/worker.md."""


def _env_help() -> str:
    """The variables table, with the defaults from their single definitions."""
    from gym_gui_bridge.config.fastlane import FrameConfig
    from gym_gui_bridge.config.paths import DEFAULT_DB_PATH

    frames = FrameConfig()
    return _ENV_HELP.format(
        fps=frames.fps, budget=frames.budget, grid=frames.grid, db=DEFAULT_DB_PATH
    )


@dataclasses.dataclass(frozen=True)
class SettingsArgs:
    """Print the worker settings resolved from this environment and any --fastlane-* flags."""

    json: bool = False
    """Print JSON instead of one 'name = value  (source)' line per setting."""


def _settings_command(argv: list[str], prog: str) -> int:
    remaining = [prog, *argv]
    try:
        flags = settings.strip_fastlane_flags(remaining)
        args = tyro.cli(SettingsArgs, args=remaining[1:], prog=prog)
        resolved = settings.load_settings(flags, argv0="script.py")
    except settings.SettingsError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    values = resolved.as_dict()  # the token only as "set" / "unset"
    sources = values.pop("sources")
    tunables = values.pop("tunables")
    values["enabled"] = settings.requested([prog, *argv])
    if args.json:
        print(json.dumps({**values, "tunables": tunables}, indent=2, sort_keys=True))
        return 0
    defaults = _default_tunables()
    width = max(len(name) for name in (*values, *tunables))
    for name, value in values.items():
        shown = value if name == "bridge_token" else repr(value)
        print(f"{name.ljust(width)} = {shown}  ({sources.get(name, 'default')})")
    for key, value in tunables.items():
        origin = resolved.config if value != defaults[key] else "default"
        print(f"{key.ljust(width)} = {value!r}  ({origin})")
    return 0


def _default_tunables() -> dict[str, object]:
    """The worker's tunables at their defaults, by key."""
    from cleanrl_worker.settings.model import WorkerSettings

    return dict(WorkerSettings().as_dict()["tunables"])


def _run_command(argv: list[str], prog: str) -> int:
    from cleanrl_worker import proxy

    return proxy.main(argv, prog=prog)


#: name -> (handler, one-line summary)
COMMANDS = {
    "run": (
        _run_command,
        "Launch a worker command, forward its JSONL telemetry, pass other output through.",
    ),
    "settings": (
        _settings_command,
        "Print the resolved fast-lane settings and where each came from.",
    ),
}


def main(argv: list[str] | None = None) -> int:
    from gym_gui_bridge import __version__
    from gym_gui_bridge.cli.dispatch import dispatch

    return dispatch(
        _PROG,
        argv,
        COMMANDS,
        intro="The worker side of cleanrl-fastlane.",
        epilog=_env_help(),
        version=__version__,
    )


if __name__ == "__main__":
    sys.exit(main())
