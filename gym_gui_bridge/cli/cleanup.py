"""``gym-gui-bridge cleanup``: remove segments whose writer process is gone."""

from __future__ import annotations

import dataclasses

import tyro

from gym_gui_bridge.fastlane import cleanup_segments

__all__ = ["main"]


@dataclasses.dataclass(frozen=True)
class CleanupArgs:
    """Remove fast-lane segments whose writer process is gone. Live runs are never touched."""

    dry_run: bool = False
    """Only list what would be removed."""


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(CleanupArgs, args=argv, prog=prog)
    removed = cleanup_segments(dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for entry in removed:
        pid = entry.status.writer_pid if entry.status else "?"
        reason = entry.problem or f"writer pid {pid} is gone"
        print(f"{verb} {entry.name} ({reason})")
    print(f"{verb} {len(removed)} segment(s)")
    return 0
