"""``gym-gui-bridge view``: the bundled Qt viewer (needs the ``viewer`` extra, PySide6)."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import tyro

from gym_gui_bridge.cli.arguments import DbPath, unset_means
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.config.viewer import ViewerConfig

if TYPE_CHECKING:
    from gym_gui_bridge.config.programs import ViewConfig
    from gym_gui_bridge.viewer.app import ViewerOptions

_DEFAULTS = ViewerConfig()  # shown in --help: --fps and --snapshot-timeout beat --config

__all__ = ["ViewArgs", "main", "view_config", "viewer_options"]

_EXIT_FAILED = 1
_EXIT_USAGE = 2  # as for a wrong flag: the command cannot run as asked


@dataclasses.dataclass(frozen=True)
class ViewArgs:
    """Watch a run live: its frames with a HUD, and its episodic returns and scalars.

    Keys: space pauses the display (not training), s saves a PNG, p toggles pixel-exact
    scaling, q quits."""

    run_id: Annotated[
        str | None, tyro.conf.Positional, unset_means("[RUN_ID]", "the newest live run")
    ] = None
    """Run to show; without it, the newest live fast lane (or the first one to start)."""
    db: DbPath = DEFAULT_DB_PATH
    """SQLite database whose episodes and scalars feed the live panel."""
    snapshot: Annotated[Path | None, unset_means("PNG", "open a window")] = None
    """Save the window to PNG at the first frame and exit (headless: QT_QPA_PLATFORM=offscreen)."""
    fps: Annotated[float | None, unset_means("HZ", f"VIEWER_FPS, {_DEFAULTS.fps:g}")] = None
    """Display rate: how often the ring is polled for a newer frame."""
    snapshot_timeout: Annotated[
        float | None,
        unset_means("SECONDS", f"VIEWER_SNAPSHOT_TIMEOUT_S, {_DEFAULTS.snapshot_timeout_s:g}"),
    ] = None
    """With --snapshot: give up (exit 1) if no frame arrives within this many seconds."""
    config: Annotated[str | None, unset_means("FILE", "none")] = None
    """TOML config file: the [viewer] and [live_panel] tables of configs/defaults.toml
    (docs/configuration.md). A key the viewer does not read is an error."""


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
        return _EXIT_USAGE
    from gym_gui_bridge.viewer.availability import INSTALL_HINT, missing_display, qt_available

    if not qt_available():
        print(f"{prog}: the viewer needs PySide6; {INSTALL_HINT}", file=sys.stderr)
        return _EXIT_FAILED
    if missing_display(os.environ):
        print(
            f"{prog}: no display (DISPLAY and WAYLAND_DISPLAY are unset); save a PNG instead with "
            f"'QT_QPA_PLATFORM=offscreen {prog} --snapshot out.png', or open the window on a "
            f"virtual display with 'xvfb-run {prog}'",
            file=sys.stderr,
        )
        return _EXIT_USAGE
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
