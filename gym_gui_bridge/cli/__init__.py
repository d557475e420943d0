"""``gym-gui-bridge``: one command, one subcommand per job.

Subcommands are looked up by name and their module imported only when run, so ``fastlanes`` never
pays for gRPC and nothing but ``view`` imports Qt. Each subcommand module exposes
``main(argv, prog) -> int`` and parses its own flags with tyro.
"""

from __future__ import annotations

import importlib
import sys

from gym_gui_bridge.cli.dispatch import Handler, dispatch

__all__ = ["COMMANDS", "main"]

#: name -> (module under gym_gui_bridge.cli, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "fastlanes": (
        "fastlanes",
        "List live fast-lane segments (run id, writer, size, frames, rate).",
    ),
    "cleanup": ("cleanup", "Remove fast-lane segments whose writer process is gone."),
    "view": ("view", "Watch a run live: frames, HUD and live curves (needs the viewer extra)."),
    "record": (
        "record",
        "Record a run's frames to an H.264 MP4 as a viewer sees them (needs the record extra).",
    ),
    "summary": ("summary", "One run at a glance: status, returns per slot, scalars."),
    "runs": ("runs", "List the runs recorded in a database (status, start, episodes)."),
    "episodes": ("episodes", "List a run's finished episodes (slot, episode, return, length)."),
    "steps": ("steps", "List a run's recorded steps (--episode N, --slot K)."),
    "scalars": ("scalars", "List a run's TensorBoard scalars (--tag T)."),
    "export": ("export", "Write a run's records as CSV or JSONL files (--format, --out DIR)."),
    "quarantine": (
        "quarantine",
        "List the lines and records the store refused, with their reasons (--run RUN_ID).",
    ),
    "serve": (
        "serve",
        "Run the bridge: gRPC TrainerService, RunBus, SQLite sink (--listen, --db).",
    ),
    "ingest": ("ingest", "Load JSONL files or an emitter's spool into a database or a bridge."),
}

_PROG = "gym-gui-bridge"


def _lazy(module_name: str) -> Handler:
    """A handler that imports ``gym_gui_bridge.cli.<module_name>`` only when it runs."""

    def run(argv: list[str], prog: str) -> int:
        module = importlib.import_module(f"gym_gui_bridge.cli.{module_name}")
        result: int = module.main(argv, prog=prog)
        return result

    return run


def main(argv: list[str] | None = None) -> int:
    from gym_gui_bridge import __version__

    commands = {name: (_lazy(module), summary) for name, (module, summary) in COMMANDS.items()}
    return dispatch(
        _PROG,
        argv,
        commands,
        intro="Watch CleanRL runs live (fast lane) and keep their telemetry (slow lane).",
        epilog=f"Run '{_PROG} COMMAND --help' for the options of one command.",
        version=__version__,
    )


if __name__ == "__main__":
    sys.exit(main())
