"""``cleanrl-worker``: the worker side's command (subcommands dispatched by name, parsed by tyro).

``cleanrl-worker settings [--json] [--fastlane-* ...]`` prints the settings a training run
started from this shell would resolve; ``cleanrl-worker run [OPTIONS] -- COMMAND`` is the
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
  FASTLANE_FPS (--fastlane-fps F)         frames per second cap while watched (30)
  FASTLANE_BUDGET (--fastlane-budget B)   share of wall time rendering may take (0.03)
  FASTLANE_VIDEO_MODE (--fastlane-video-mode M)  single | grid | off (single)
  FASTLANE_GRID (--fastlane-grid N)       grid mode: tile the first N slots (4; implies grid)
  FASTLANE_MAX_DIM (--fastlane-max-dim D) downscale frames to this longest edge (0: off)
  FASTLANE_ONLY (--fastlane-only)         frames only, no slow lane
  FASTLANE_STEPS (--fastlane-steps S)     steps the slow lane records: watched | all | none
  FASTLANE_DB (--fastlane-db PATH)        slow-lane SQLite file (runs/fastlane.sqlite)
  FASTLANE_BRIDGE (--fastlane-bridge H:P) running gym-gui-bridge to send telemetry to (none)
  FASTLANE_BRIDGE_TOKEN                   the bridge's shared token, if it asks for one (none)
  FASTLANE_CONFIG (--fastlane-config F)   tunables TOML file (see configs/defaults.toml)
older names accepted: GYM_GUI_FASTLANE_ONLY, GYM_GUI_FASTLANE_SLOT, GYM_GUI_FASTLANE_VIDEO_MODE,
GYM_GUI_FASTLANE_GRID_LIMIT, CLEANRL_RUN_ID, CLEANRL_FASTLANE_INTERVAL_MS (fps = 1000 / ms),
CLEANRL_FASTLANE_MAX_DIM. See docs/worker.md."""


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
    values = resolved.as_dict()
    sources = values.pop("sources")
    values["enabled"] = settings.requested([prog, *argv])
    if args.json:
        print(json.dumps(values, indent=2, sort_keys=True))
        return 0
    width = max(len(name) for name in values)
    for name, value in values.items():
        origin = sources.get(name, "default")
        print(f"{name.ljust(width)} = {value!r}  ({origin})")
    return 0


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
    from cleanrl_worker import __version__
    from gym_gui_bridge.cli.dispatch import dispatch

    return dispatch(
        _PROG,
        argv,
        COMMANDS,
        intro="The worker side of cleanrl-fastlane.",
        epilog=_ENV_HELP,
        version=__version__,
    )


if __name__ == "__main__":
    sys.exit(main())
