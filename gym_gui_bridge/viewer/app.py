"""Running the viewer: the window for people, or ``--snapshot`` for scripts and headless servers."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.config.programs import ViewConfig
from gym_gui_bridge.viewer.consumer import FastLaneConsumer
from gym_gui_bridge.viewer.image import ShownFrame
from gym_gui_bridge.viewer.live_controller import LiveTelemetryController
from gym_gui_bridge.viewer.main_window import ViewerWindow
from gym_gui_bridge.viewer.telemetry_source import SqliteTelemetrySource

if TYPE_CHECKING:
    from gym_gui_bridge.viewer.remote.link import BridgeLink, BridgeTarget

__all__ = ["ViewerOptions", "build_window", "process_age_s", "run_viewer"]

_EXIT_OK = 0
_EXIT_FAILED = 1
_CHECK_MS = 20  # how often --snapshot checks whether the picture is complete
#: Harmless notes of Qt's offscreen platform that would only confuse people reading --snapshot.
_QUIET_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if message not in _QUIET_QT_MESSAGES:
        print(message, file=sys.stderr)


@dataclass(frozen=True)
class ViewerOptions:
    """What ``gym-gui-bridge view`` was asked to do (see cli/view.py for each field).

    ``config`` holds the viewer's tunables (``[viewer]``, ``[live_panel]``, ``[remote_view]``):
    what ``--config`` loaded, with ``--fps`` and ``--snapshot-timeout`` applied on top. With
    ``bridge`` the frames and curves come from that bridge instead of this machine's shared
    memory and ``db_path``; ``lossless`` then asks it for PNG frames instead of JPEG.
    """

    run_id: str | None = None
    db_path: str = DEFAULT_DB_PATH
    snapshot: Path | None = None
    config: ViewConfig = field(default_factory=ViewConfig)
    bridge: BridgeTarget | None = None
    lossless: bool = False


def process_age_s() -> float:
    """Seconds since this process started (Linux /proc; clock-tick resolution), -1 if unknown."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            stat = handle.read()
        with open("/proc/uptime", "rb") as handle:
            uptime = float(handle.read().split()[0])
    except OSError:
        return -1.0
    start_ticks = int(stat[stat.rfind(b")") + 2 :].split()[19])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def build_window(options: ViewerOptions, link: BridgeLink | None = None) -> ViewerWindow:
    """The window with its consumer and live controller, not started yet.

    With ``options.bridge``, everything remote shares ``link`` (a new one if not given; the
    caller closes it after the window stopped).
    """
    viewer, panel = options.config.viewer, options.config.live_panel
    if options.bridge is None:
        consumer = FastLaneConsumer(options.run_id, config=viewer)
        source = SqliteTelemetrySource(options.db_path, config=panel)
        return ViewerWindow(consumer, LiveTelemetryController(source, config=panel))
    from gym_gui_bridge.viewer.remote.consumer import RemoteFrameConsumer
    from gym_gui_bridge.viewer.remote.link import BridgeLink
    from gym_gui_bridge.viewer.remote.run_list import RemoteRunList
    from gym_gui_bridge.viewer.remote.telemetry import BridgeTelemetrySource

    remote = options.config.remote_view
    link = link or BridgeLink(options.bridge, remote)
    runs = RemoteRunList(link, viewer.picker_refresh_s)
    remote_consumer = RemoteFrameConsumer(
        options.run_id,
        link=link,
        runs=runs,
        config=viewer,
        remote=remote,
        lossless=options.lossless,
    )
    bridge_source = BridgeTelemetrySource(link, config=panel, remote=remote)
    controller = LiveTelemetryController(bridge_source, config=panel)
    return ViewerWindow(remote_consumer, controller, lister=runs.entries)


def run_viewer(options: ViewerOptions) -> int:
    """Open the viewer and run Qt's event loop; return the process exit code."""
    qInstallMessageHandler(_qt_message)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    link: BridgeLink | None = None
    if options.bridge is not None:
        from gym_gui_bridge.viewer.remote.link import BridgeLink

        link = BridgeLink(options.bridge, options.config.remote_view)
    try:
        return _run_window(app, build_window(options, link), options)
    finally:
        if link is not None:
            link.close()


def _run_window(app: QApplication, window: ViewerWindow, options: ViewerOptions) -> int:
    first_paint: list[float] = []

    def on_first_paint() -> None:
        first_paint.append(process_age_s())

    window.frame_widget.first_frame_painted.connect(on_first_paint)
    if options.snapshot is None:
        window.show()
        window.start()
        code = app.exec()
        window.stop()
        return int(code)
    return _snapshot(app, window, options, first_paint)


class _Picture:
    """What ``--snapshot`` waits for before saving: the picture a person watching would see.

    A frame painted that the writer published after this viewer started watching (a frame
    newer than the first one shown: the ring's newest frame when the viewer attached may have
    been published long before, while nobody watched), and the live panel's first load done
    (the source sent what it held of the run, or said it holds nothing).
    """

    def __init__(self, window: ViewerWindow) -> None:
        self.window = window
        self.first: tuple[int, int] | None = None  # (generation, seq) of the first frame shown
        self.fresh = False
        window.consumer.frame_ready.connect(self._on_frame)

    def _on_frame(self, shown: ShownFrame) -> None:
        key = (shown.frame.generation, shown.frame.seq)
        if self.first is None:
            self.first = key
        elif key != self.first:
            self.fresh = True

    @property
    def panel_loaded(self) -> bool:
        panel = self.window.live_panel
        return panel is None or panel.snapshot.loaded

    @property
    def complete(self) -> bool:
        return self.fresh and self.panel_loaded

    def missing(self) -> str:
        """What the picture still lacks, for people ("" if nothing)."""
        parts = []
        if not self.fresh and self.first is not None:
            parts.append(
                f"no frame newer than frame {self.first[1]}, which may predate this viewer"
            )
        if not self.panel_loaded:
            panel = self.window.live_panel
            reason = panel.snapshot.reason if panel is not None else ""
            parts.append("the live panel had not loaded" + (f" ({reason})" if reason else ""))
        return "; ".join(parts)


def _snapshot(
    app: QApplication, window: ViewerWindow, options: ViewerOptions, first_paint: list[float]
) -> int:
    """Wait (bounded) for the complete picture, save the window as a PNG, quit.

    At the timeout: saved anyway if a frame was painted (one line on stderr says what was
    missing), exit 1 if not.
    """
    assert options.snapshot is not None
    target = options.snapshot
    timeout_s = options.config.viewer.snapshot_timeout_s
    result = {"code": _EXIT_FAILED}
    picture = _Picture(window)

    def save() -> None:
        checker.stop()
        deadline.stop()
        try:
            window.save_png(target)
        except OSError as error:
            print(f"gym-gui-bridge view: {error}", file=sys.stderr)
            app.exit(_EXIT_FAILED)
            return
        hud = window.consumer.hud
        print(
            f"saved {target} (run {hud.run_id}, frame {hud.seq}, "
            f"first frame painted {first_paint[0]:.2f} s after process start)"
        )
        result["code"] = _EXIT_OK
        app.exit(_EXIT_OK)

    def check() -> None:
        if first_paint and picture.complete:
            save()

    def on_deadline() -> None:
        if first_paint:
            print(
                f"gym-gui-bridge view: saving after {timeout_s:g} s (--snapshot-timeout): "
                f"{picture.missing()}",
                file=sys.stderr,
            )
            save()
            return
        consumer = window.consumer
        what = f"run {consumer.run_id!r}" if consumer.run_id else "any live run"
        print(
            f"gym-gui-bridge view: no frame from {what} within {timeout_s:g} s "
            f"(status {consumer.status}{': ' + consumer.detail if consumer.detail else ''}); "
            f"{consumer.waiting_hint}",
            file=sys.stderr,
        )
        app.exit(_EXIT_FAILED)

    def stop_if_hopeless() -> None:
        consumer = window.consumer
        if consumer.gave_up and result["code"] != _EXIT_OK:
            print(f"gym-gui-bridge view: {consumer.detail}", file=sys.stderr)
            app.exit(_EXIT_FAILED)

    # QTimer objects, not QTimer.singleShot(callable), which crashed PySide6 at interpreter
    # exit here. The check runs from the event loop, so a save follows the paint of the frame.
    checker = QTimer()
    checker.setInterval(_CHECK_MS)
    checker.timeout.connect(check)
    window.consumer.status_changed.connect(stop_if_hopeless)  # e.g. a refused token
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(on_deadline)
    deadline.start(round(timeout_s * 1000))
    checker.start()
    window.show()
    window.start()
    app.exec()
    deadline.stop()
    checker.stop()
    window.stop()
    window.close()
    return result["code"]
