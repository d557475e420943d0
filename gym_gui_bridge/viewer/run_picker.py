"""``RunPicker``: a drop-down of the live fast lanes; choosing one switches the viewer to it.

What it lists comes from a lister: :func:`local_runs` (the rings on this machine) by default,
or the bridge's runs when the viewer watches through one.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from gym_gui_bridge.config.viewer import ViewerConfig
from gym_gui_bridge.fastlane import FastLaneStatus, SegmentState, log_skipped, scan_segments

__all__ = ["RunLister", "RunPicker", "describe_run", "local_runs"]

_NEWEST = "(newest live run)"
#: ``(run id, picker line)`` of each run to list, in the order to list them.
RunLister = Callable[[], list[tuple[str, str]]]


def describe_run(status: FastLaneStatus, now_ns: int | None = None) -> str:
    """One picker line: run id, slot, size, writer alive, frames per second."""
    rate = status.current_rate_hz(now_ns)
    slot = "grid" if status.env_slot < 0 else f"slot {status.env_slot}"
    alive = "alive" if status.writer_alive else "writer gone"
    size = f"{status.width}x{status.height}x{status.channels}"
    return f"{status.run_id}  |  {slot}  |  {size}  |  {alive}  |  {rate:.1f} frames/s"


def local_runs() -> list[tuple[str, str]]:
    """Your fast lanes on this machine that are not closed, live ones first, newest first."""
    scan = scan_segments()
    log_skipped(scan.skipped)  # not yours (another user's, a link, a FIFO): never listed
    statuses = [e.status for e in scan.entries if e.status is not None]
    statuses = [s for s in statuses if s.state != SegmentState.CLOSED]
    statuses.sort(key=lambda s: (not s.writer_alive, -s.created_ns))
    return [(status.run_id, describe_run(status)) for status in statuses]


class RunPicker(QComboBox):
    """Lists the runs to watch (by default your fast lanes on this machine, live ones first)
    and refreshes itself.

    The first entry follows the newest live run. ``run_selected(str)`` carries the chosen run id,
    or "" for that first entry. The list is not rebuilt while its pop-up is open. It re-lists
    the fast lanes every ``refresh_s`` seconds (``VIEWER_PICKER_REFRESH_S``), through
    ``lister`` (default :func:`local_runs`).
    """

    run_selected = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        refresh_s: float = ViewerConfig().picker_refresh_s,
        lister: RunLister = local_runs,
    ) -> None:
        super().__init__(parent)
        self._lister = lister
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._popup_open = False
        self._refreshing = False
        self.addItem(_NEWEST, "")
        self.activated.connect(self._on_activated)
        self._timer = QTimer(self)
        self._timer.setInterval(round(refresh_s * 1000))
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        self.refresh()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def run_ids(self) -> list[str]:
        """Run ids currently listed (without the "newest" entry)."""
        return [self.itemData(i) for i in range(1, self.count())]

    def refresh(self) -> None:
        """Re-list the segments; keeps the current choice selected if it still exists."""
        if self._popup_open:
            return
        listed = self._lister()
        current = self.currentData()
        self._refreshing = True
        try:
            for index in range(self.count() - 1, 0, -1):
                self.removeItem(index)
            for run_id, line in listed:
                self.addItem(line, run_id)
            index = self.findData(current)
            if index < 0 and current:  # the chosen run's ring is gone for now: keep showing it
                self.addItem(f"{current}  |  (no fast lane now)", current)
                index = self.count() - 1
            self.setCurrentIndex(max(index, 0))
        finally:
            self._refreshing = False

    def show_run(self, run_id: str) -> None:
        """Make ``run_id`` ("" = newest live) the current entry, without emitting anything."""
        index = self.findData(run_id)
        if index < 0:
            self.addItem(run_id, run_id)
            index = self.count() - 1
        self.setCurrentIndex(index)

    def select_run(self, run_id: str) -> None:
        """Choose ``run_id`` ("" = newest live) as if the user had picked it."""
        self.show_run(run_id)
        self.run_selected.emit(run_id)

    def showPopup(self) -> None:
        self.refresh()
        self._popup_open = True
        super().showPopup()

    def hidePopup(self) -> None:
        super().hidePopup()
        self._popup_open = False

    def _on_activated(self, index: int) -> None:
        if not self._refreshing:
            self.run_selected.emit(self.itemData(index) or "")
