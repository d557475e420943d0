"""``ViewerWindow``: run picker, frame with HUD, live panel, and the keys.

Keys: space pauses the display (training goes on), ``s`` saves a PNG of the window, ``r``
starts / stops recording the frames shown to an MP4, ``p`` toggles smooth / pixel-exact scaling,
``q`` quits.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QToolBar, QWidget

from gym_gui_bridge.errors import RecordingError
from gym_gui_bridge.viewer.frame_source import FrameSource
from gym_gui_bridge.viewer.frame_widget import FrameWidget
from gym_gui_bridge.viewer.hud import HudState
from gym_gui_bridge.viewer.image import ShownFrame
from gym_gui_bridge.viewer.live_controller import LiveTelemetryController
from gym_gui_bridge.viewer.live_panel import LivePanel
from gym_gui_bridge.viewer.recording import ViewerRecording, default_video_path
from gym_gui_bridge.viewer.run_picker import RunLister, RunPicker, local_runs

__all__ = ["ViewerWindow"]

_DEFAULT_SIZE_PX = (1000, 560)
_FRAME_STRETCH = 3  # the frame gets three parts of the width, the live panel one
_MESSAGE_MS = 3000  # how long a status-bar message stays
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


class ViewerWindow(QMainWindow):
    """The viewer's main window. Owns nothing it did not create: stop() leaves runs alone.

    Args:
        consumer: where frames come from: a ring on this machine or a bridge (not started yet;
            :meth:`start` starts it).
        controller: the live telemetry controller, or ``None`` for no live panel.
        lister: what the run picker lists (default: the fast lanes on this machine).
    """

    def __init__(
        self,
        consumer: FrameSource,
        controller: LiveTelemetryController | None = None,
        parent: QWidget | None = None,
        *,
        lister: RunLister = local_runs,
    ) -> None:
        super().__init__(parent)
        self.consumer = consumer
        self.controller = controller
        self.setWindowTitle("gym-gui-bridge view")
        self.resize(*_DEFAULT_SIZE_PX)

        self.frame_widget = FrameWidget()
        self.frame_widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.live_panel = LivePanel(controller) if controller is not None else None
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.frame_widget)
        if self.live_panel is not None:
            splitter.addWidget(self.live_panel)
            splitter.setStretchFactor(0, _FRAME_STRETCH)
            splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)

        self.picker = RunPicker(refresh_s=consumer.config.picker_refresh_s, lister=lister)
        self.picker.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        toolbar = QToolBar("run")
        toolbar.setMovable(False)
        toolbar.addWidget(QLabel(" run: "))
        toolbar.addWidget(self.picker)
        self.pause_action = self._action("Pause (space)", Qt.Key.Key_Space, self.toggle_pause)
        self.pause_action.setCheckable(True)
        self.pixel_action = self._action("Pixel-exact (p)", Qt.Key.Key_P, self.toggle_smooth)
        self.pixel_action.setCheckable(True)
        self.save_action = self._action("Save PNG (s)", Qt.Key.Key_S, lambda: self.save_png())
        self.record_action = self._action("Record (r)", Qt.Key.Key_R, lambda: self.toggle_record())
        self.record_action.setCheckable(True)
        self.quit_action = self._action("Quit (q)", Qt.Key.Key_Q, self.close)
        for action in (
            self.pause_action,
            self.pixel_action,
            self.save_action,
            self.record_action,
            self.quit_action,
        ):
            toolbar.addAction(action)
        self.addToolBar(toolbar)
        self.status_label = QLabel(consumer.status)
        self.statusBar().addWidget(self.status_label, 1)
        self.recording = ViewerRecording(parent=self)
        self.recording.failed.connect(self._on_record_failed)
        self.record_label = QLabel("")
        self.statusBar().addPermanentWidget(self.record_label)
        self._shown: ShownFrame | None = None

        consumer.frame_ready.connect(self.frame_widget.show_frame)
        consumer.frame_ready.connect(self._on_frame)
        consumer.hud_changed.connect(self._on_hud)
        consumer.status_changed.connect(self._on_status)
        consumer.run_changed.connect(self._on_run_changed)
        self.picker.run_selected.connect(self._on_run_selected)
        self.last_saved: Path | None = None

    def _action(self, text: str, key: Qt.Key, slot: object) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start following: the consumer, the picker's refresh and the live panel."""
        self.consumer.start()
        self.picker.start()
        if not self.consumer.follows_newest:
            self.picker.show_run(self.consumer.run_id)
        if self.controller is not None:
            self.controller.set_run(self.consumer.run_id)
            self.controller.start()
        if self.live_panel is not None:
            self.live_panel.start()
        self.frame_widget.setFocus()

    def stop(self) -> None:
        """Stop every timer and thread (finishing a recording) and close the ring. Never
        touches the writer."""
        if self.recording.active:
            self.toggle_record()
        self.consumer.stop()
        self.picker.stop()
        if self.live_panel is not None:
            self.live_panel.stop()
        if self.controller is not None:
            self.controller.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)

    # --- actions -------------------------------------------------------------------------------

    def toggle_pause(self) -> None:
        paused = not self.consumer.paused
        self.consumer.set_paused(paused)
        self.pause_action.setChecked(paused)

    def toggle_smooth(self) -> None:
        self.set_smooth(not self.frame_widget.smooth)

    def set_smooth(self, smooth: bool) -> None:
        self.frame_widget.set_smooth(smooth)
        self.pixel_action.setChecked(not smooth)

    def save_png(self, path: str | Path | None = None) -> Path:
        """Save the window as a person sees it; default name ``viewer-<run>-<frame>.png``."""
        if path is None:
            run = _UNSAFE_FILENAME.sub("_", self.consumer.run_id or "none")
            path = Path(f"viewer-{run}-{self.consumer.hud.seq}.png")
        target = Path(path)
        if self.live_panel is not None:
            self.live_panel.refresh()
        partial = target.with_name(target.name + ".part")  # readers never see half a PNG
        if not self.grab().save(str(partial), "PNG"):
            partial.unlink(missing_ok=True)
            raise OSError(f"could not write PNG {target}")
        os.replace(partial, target)
        self.last_saved = target
        self.statusBar().showMessage(f"saved {target}", _MESSAGE_MS)
        return target

    def toggle_record(self, path: str | Path | None = None) -> Path | None:
        """Start recording the frames shown to ``path`` (default ``<run>-<time>.mp4`` here), or
        stop and finish the file. Returns the file started or finished (``None`` if nothing)."""
        if self.recording.active:
            written = self.recording.stop()
            self.record_action.setChecked(False)
            self.record_label.setText("")
            note = f"saved {written} ({self.recording.frames} frames)" if written else "no frame"
            self.statusBar().showMessage(note, _MESSAGE_MS)
            return written
        target = Path(path) if path is not None else default_video_path(self.consumer.run_id)
        try:
            started = self.recording.start(target, self._shown)
        except (RecordingError, ImportError) as error:
            self.record_action.setChecked(False)
            self.statusBar().showMessage(f"cannot record: {error}", _MESSAGE_MS * 3)
            return None
        self.record_action.setChecked(True)
        self.record_label.setText(f"recording {started}")
        return started

    # --- signal handlers -------------------------------------------------------------------

    def _on_frame(self, shown: ShownFrame) -> None:
        self._shown = shown
        self.recording.offer(shown)

    def _on_record_failed(self, message: str) -> None:
        self.record_action.setChecked(False)
        self.record_label.setText("")
        self.statusBar().showMessage(f"recording stopped: {message}", _MESSAGE_MS * 3)

    def _on_hud(self, hud: HudState) -> None:
        self.frame_widget.set_hud(hud)
        self._on_status(hud.status)

    def _on_status(self, status: str) -> None:
        """The status bar: the fast-lane status and, when there is one, its reason."""
        detail = self.consumer.detail
        self.status_label.setText(f"{status}  {detail}" if detail else status)

    def _on_run_changed(self, run_id: str) -> None:
        if self.controller is not None:
            self.controller.set_run(run_id)
        self.setWindowTitle(f"gym-gui-bridge view - {run_id}" if run_id else "gym-gui-bridge view")

    def _on_run_selected(self, run_id: str) -> None:
        if run_id != self.consumer.run_id or not run_id:
            self.consumer.set_run(run_id or None)
