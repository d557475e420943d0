"""``ConsumerState``: the state, signals and HUD that every frame consumer shares.

:class:`~gym_gui_bridge.viewer.consumer.FastLaneConsumer` (a ring on this machine) and
:class:`~gym_gui_bridge.viewer.remote.consumer.RemoteFrameConsumer` (frames through a bridge)
differ in where frames come from, not in what the window sees of them: the run shown, a status
and its reason, the counters, and one :class:`~gym_gui_bridge.viewer.hud.HudState` emitted only
when it changes. This base class holds that part of :class:`~gym_gui_bridge.viewer.frame_source.
FrameSource`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gym_gui_bridge.config.viewer import ViewerConfig
from gym_gui_bridge.fastlane import FastLaneMetrics
from gym_gui_bridge.viewer.hud import STATUS_UNAVAILABLE, HudState, RateMeter
from gym_gui_bridge.viewer.image import ShownFrame

__all__ = ["ConsumerState"]


class ConsumerState(QObject):
    """A consumer's run, status, counters and HUD (subclasses bring the frames).

    Signals:
        frame_ready(ShownFrame): a newer frame, already converted to a ``QImage``.
        hud_changed(HudState): the HUD's numbers changed (emitted only on a change).
        status_changed(str): ``connected`` / ``fastlane-unavailable`` / ``reconnecting`` / ...
        run_changed(str): the run shown changed ("" while waiting for one).

    Args:
        run_id: the run to show; ``None`` follows the newest live run.
        config: display rate, liveness interval, frame-rate window (``VIEWER_*``).
    """

    frame_ready = Signal(object)
    hud_changed = Signal(object)
    status_changed = Signal(str)
    run_changed = Signal(str)

    def __init__(self, run_id: str | None, config: ViewerConfig, parent: QObject | None) -> None:
        super().__init__(parent)
        self.config = config
        self._wanted = run_id
        self._run_id = run_id or ""
        self._status = STATUS_UNAVAILABLE
        self._detail = ""
        self._paused = False
        self._ever_connected = False
        self._last_shown_seq = 0
        self._publish_rate = 0.0
        self._frames_published = 0
        self._meter = RateMeter(config.rate_window_s)
        self._hud = HudState(run_id=self._run_id)
        self.reconnect_count = 0
        self.frames_shown = 0
        self.skipped = 0

    # --- public state ------------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        """The run shown, or "" while waiting for one."""
        return self._run_id

    @property
    def status(self) -> str:
        return self._status

    @property
    def detail(self) -> str:
        """Why the status is what it is, for people ("" when connected)."""
        return self._detail

    @property
    def hud(self) -> HudState:
        return self._hud

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def follows_newest(self) -> bool:
        return self._wanted is None

    # --- frames, status and HUD --------------------------------------------------------------

    def _emit_shown(self, shown: ShownFrame) -> None:
        """Count ``shown`` (skipped seqs, the rate), emit it and update the HUD."""
        seq = shown.frame.seq
        if self._last_shown_seq and seq > self._last_shown_seq + 1:
            self.skipped += seq - self._last_shown_seq - 1
        self._last_shown_seq = seq
        self._frames_published = max(self._frames_published, seq)
        self.frames_shown += 1
        self._meter.tick()
        self.frame_ready.emit(shown)
        self._update_hud(frame=shown)

    def _set_status(self, status: str, detail: str) -> None:
        reason_changed = detail != self._detail
        self._detail = detail
        if status != self._status:
            self._status = status
            self.status_changed.emit(status)
        elif reason_changed:
            self._update_hud()  # same status, new reason (e.g. why attaching failed): show it

    def _update_hud(self, frame: ShownFrame | None = None, *, reset_metrics: bool = False) -> None:
        metrics, seq = self._hud.metrics, self._hud.seq
        if frame is not None:
            metrics, seq = frame.frame.metrics, frame.frame.seq
        if reset_metrics:
            metrics, seq = FastLaneMetrics(), 0
        shown = self._last_shown_seq
        hud = HudState(
            run_id=self._run_id,
            status=self._status,
            metrics=metrics,
            seq=seq,
            frames_shown_hz=round(self._meter.rate(), 1),
            publish_rate_hz=round(self._publish_rate, 1),
            backlog=max(0, self._frames_published - shown) if shown else 0,
            skipped=self.skipped,
            reconnects=self.reconnect_count,
            paused=self._paused,
            detail=self._detail,
        )
        if hud != self._hud:
            self._hud = hud
            self.hud_changed.emit(hud)
