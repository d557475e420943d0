"""``gym-gui-bridge view``: the bundled Qt viewer (needs the ``viewer`` extra, PySide6)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import tyro

from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.config.viewer import ViewerConfig

if TYPE_CHECKING:
    from gym_gui_bridge.config.programs import ViewConfig
    from gym_gui_bridge.viewer.app import ViewerOptions

_DEFAULTS = ViewerConfig()  # shown in --help: --fps and --snapshot-timeout beat --config

__all__ = ["ViewArgs", "main", "view_config", "viewer_options"]

_EXIT_FAILED = 1


@dataclasses.dataclass(frozen=True)
class ViewArgs:
    """Watch a run live: its frames with a HUD, and its episodic returns and scalars.

    Keys: space pauses the display (not training), s saves a PNG, p toggles pixel-exact
    scaling, q quits."""

    run_id: Annotated[str | None, tyro.conf.Positional, tyro.conf.arg(metavar="RUN_ID")] = None
    """Run to show; omitted: the newest live fast lane (or wait for one)."""
    db: Annotated[str, tyro.conf.arg(metavar="PATH")] = DEFAULT_DB_PATH
    """SQLite database whose episodes and scalars feed the live panel."""
    snapshot: Annotated[Path | None, tyro.conf.arg(metavar="PNG")] = None
    """Save the window as this PNG once a frame is shown, then exit (works headless with
    QT_QPA_PLATFORM=offscreen)."""
    fps: Annotated[
        float | None,
        tyro.conf.arg(metavar="HZ", help_behavior_hint=f"(default: VIEWER_FPS, {_DEFAULTS.fps:g})"),
    ] = None
    """Display rate: how often the ring is polled for a newer frame (Hz)."""
    snapshot_timeout: Annotated[
        float | None,
        tyro.conf.arg(
            metavar="SECONDS",
            help_behavior_hint=f"(default: VIEWER_SNAPSHOT_TIMEOUT_S, {_DEFAULTS.snapshot_timeout_s:g})",
        ),
    ] = None
    """With --snapshot: give up (exit 1) if no frame arrives within this many seconds."""
    config: Annotated[
        str | None, tyro.conf.arg(metavar="FILE", help_behavior_hint="(default: none)")
    ] = None
    """TOML config file: the [viewer] and [live_panel] tables of configs/defaults.toml
    (docs/configuration.md). A key the viewer does not read is an error."""
    bridge: Annotated[str | None, tyro.conf.arg(metavar="ADDR")] = None
    """Address of a bridge's live stream. Not available in this version: the live panel
    follows the SQLite database (--db)."""


def view_config(args: ViewArgs) -> ViewConfig:
    """The viewer's tunables: the ``--config`` file, then ``--fps`` / ``--snapshot-timeout``.

    Raises:
        ConfigError: the file is missing, not TOML, holds a key the viewer refuses, or a flag's
            value is out of range.
    """
    from gym_gui_bridge.config.loader import load_config
    from gym_gui_bridge.config.programs import ViewConfig

    config = load_config(args.config, ViewConfig)
    flags = {"fps": args.fps, "snapshot_timeout_s": args.snapshot_timeout}
    given = {name: value for name, value in flags.items() if value is not None}
    if given:
        config = dataclasses.replace(config, viewer=dataclasses.replace(config.viewer, **given))
    return config


def viewer_options(args: ViewArgs, config: ViewConfig) -> ViewerOptions:
    """What :func:`~gym_gui_bridge.viewer.app.run_viewer` is asked to do (imports Qt)."""
    from gym_gui_bridge.viewer.app import ViewerOptions

    return ViewerOptions(run_id=args.run_id, db_path=args.db, snapshot=args.snapshot, config=config)


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(ViewArgs, args=argv, prog=prog)
    from gym_gui_bridge.config.spec import ConfigError

    try:
        config = view_config(args)
    except ConfigError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    if args.bridge is not None:
        print(
            f"{prog}: --bridge is not available in this version (the bridge's live stream comes "
            f"later); the live panel follows {args.db} instead",
            file=sys.stderr,
        )
    from gym_gui_bridge.viewer.availability import INSTALL_HINT, qt_available

    if not qt_available():
        print(f"{prog}: the viewer needs PySide6; {INSTALL_HINT}", file=sys.stderr)
        return _EXIT_FAILED
    from gym_gui_bridge.viewer.app import run_viewer

    if args.run_id is None and args.snapshot is None:
        from gym_gui_bridge.viewer.consumer import newest_live_run

        newest = newest_live_run()
        print(
            f"{prog}: opening the newest live fast lane: {newest}"
            if newest
            else f"{prog}: no live fast lane yet; waiting for a run started with FASTLANE=1",
            file=sys.stderr,
        )
    return run_viewer(viewer_options(args, config))
