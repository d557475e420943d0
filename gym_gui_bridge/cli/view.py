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
    from gym_gui_bridge.viewer.remote.link import BridgeTarget

_DEFAULTS = ViewerConfig()  # shown in --help: --fps and --snapshot-timeout beat --config

__all__ = ["ViewArgs", "bridge_target", "main", "view_config", "viewer_options"]

_EXIT_FAILED = 1
_EXIT_USAGE = 2  # as for a wrong flag: the command cannot run as asked
#: Flags that mean something only with --bridge, and their fields.
_BRIDGE_ONLY = {"--token-file": "token_file", "--tls-ca": "tls_ca", "--lossless": "lossless"}


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
    """Save the window to PNG once the picture is complete (a frame published while watched,
    the live panel loaded) and exit (headless: QT_QPA_PLATFORM=offscreen)."""
    fps: Annotated[float | None, unset_means("HZ", f"VIEWER_FPS, {_DEFAULTS.fps:g}")] = None
    """Display rate: how often the ring is polled for a newer frame.
    With --bridge: the most frames per second asked of the bridge."""
    snapshot_timeout: Annotated[
        float | None,
        unset_means("SECONDS", f"VIEWER_SNAPSHOT_TIMEOUT_S, {_DEFAULTS.snapshot_timeout_s:g}"),
    ] = None
    """With --snapshot: the longest wait for the complete picture. Then the window is saved
    anyway if a frame was painted (stderr says what is missing), else exit 1."""
    config: Annotated[str | None, unset_means("FILE", "none")] = None
    """TOML config file: the [viewer], [live_panel] and [remote_view] tables of configs/defaults.toml
    (docs/configuration.md). A key the viewer does not read is an error."""
    bridge: Annotated[str | None, unset_means("HOST:PORT", "this machine's shared memory")] = None
    """Watch a run on another machine through its bridge (gym-gui-bridge serve there).
    Frames, runs and curves then all come from the bridge; --db is not read."""
    token_file: Annotated[str | None, unset_means("FILE", "$FASTLANE_BRIDGE_TOKEN")] = None
    """With --bridge: file whose first line is that bridge's shared token."""
    tls_ca: Annotated[str | None, unset_means("FILE", "plain text")] = None
    """With --bridge: PEM file of the CA (or self-signed certificate) of a TLS bridge."""
    lossless: bool = False
    """With --bridge: ask for PNG frames (pixel-exact, larger) instead of JPEG."""


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


def bridge_target(args: ViewArgs) -> BridgeTarget | None:
    """The bridge of ``--bridge`` with its token and TLS CA, or None without ``--bridge``.

    Raises:
        BridgeError: the token (file or variable) is refused; flags need ``--bridge``.
        OSError: the token file cannot be read.
    """
    from gym_gui_bridge.cli.serve import TOKEN_ENV, read_token
    from gym_gui_bridge.errors import BridgeError
    from gym_gui_bridge.viewer.remote.link import BridgeTarget

    if args.bridge is None:
        given = [flag for flag, value in _BRIDGE_ONLY.items() if getattr(args, value)]
        if given:
            raise BridgeError(f"Expected --bridge HOST:PORT with {', '.join(given)}, got none")
        return None
    source = f"--token-file {args.token_file}" if args.token_file else TOKEN_ENV
    return BridgeTarget(args.bridge, read_token(args.token_file), source, args.tls_ca)


def viewer_options(
    args: ViewArgs, config: ViewConfig, bridge: BridgeTarget | None = None
) -> ViewerOptions:
    """What :func:`~gym_gui_bridge.viewer.app.run_viewer` is asked to do (imports Qt)."""
    from gym_gui_bridge.viewer.app import ViewerOptions

    return ViewerOptions(
        run_id=args.run_id,
        db_path=args.db,
        snapshot=args.snapshot,
        config=config,
        bridge=bridge,
        lossless=args.lossless,
    )


def _check_bridge(target: BridgeTarget, args: ViewArgs, config: ViewConfig, prog: str) -> int:
    """Ask the bridge for its runs once: a refused token ends here, in one line (exit 1), as
    does an unreachable bridge with --snapshot; the window shows it and keeps trying."""
    from gym_gui_bridge.viewer.remote.link import FATAL_STATUSES, BridgeLink
    from gym_gui_bridge.viewer.remote.run_list import RemoteRunList

    link = BridgeLink(target, config.remote_view)
    try:
        listing = RemoteRunList(link, config.viewer.picker_refresh_s).refresh()
    finally:
        link.close()
    if listing.status in FATAL_STATUSES or (listing.status and args.snapshot is not None):
        print(f"{prog}: {listing.detail}", file=sys.stderr)
        return _EXIT_FAILED
    if listing.status:
        print(f"{prog}: {listing.detail}; the window keeps trying", file=sys.stderr)
    elif args.run_id is None and args.snapshot is None:
        newest = listing.newest_live()
        print(
            f"{prog}: opening the newest live fast lane on {target.address}: {newest}"
            if newest
            else f"{prog}: no live fast lane on {target.address} yet; waiting for a run "
            "started there with FASTLANE=1",
            file=sys.stderr,
        )
    return 0


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
    from gym_gui_bridge.errors import BridgeError

    try:
        bridge = bridge_target(args)
    except (BridgeError, OSError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return _EXIT_FAILED
    if bridge is not None:
        try:
            code = _check_bridge(bridge, args, config, prog)
        except BridgeError as error:  # --tls-ca unreadable or not PEM
            print(f"{prog}: {error}", file=sys.stderr)
            return _EXIT_FAILED
        if code:
            return code
        return _run(args, config, bridge)
    if args.run_id is None and args.snapshot is None:
        from gym_gui_bridge.viewer.consumer import newest_live_run

        newest = newest_live_run()
        print(
            f"{prog}: opening the newest live fast lane: {newest}"
            if newest
            else f"{prog}: no live fast lane yet; waiting for a run started with FASTLANE=1",
            file=sys.stderr,
        )
    return _run(args, config, None)


def _run(args: ViewArgs, config: ViewConfig, bridge: BridgeTarget | None) -> int:
    from gym_gui_bridge.viewer.app import run_viewer

    return run_viewer(viewer_options(args, config, bridge))
