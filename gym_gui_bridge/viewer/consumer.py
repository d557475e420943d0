"""``FastLaneConsumer``: follows one run's ring at the display rate and emits new frames.

It is the viewer's only contact with shared memory, and it touches it only through
:class:`~gym_gui_bridge.fastlane.FastLaneReader` (which never unlinks and writes nothing but its
heartbeat), so no viewer can remove or corrupt a writer's segment.

States (``status_changed``):

- ``fastlane-unavailable``: no ring for the run yet (or the run named does not exist). The
  consumer retries attaching every ``VIEWER_ATTACH_RETRY_S``.
- ``connected``: attached to a ring whose writer is alive.
- ``reconnecting``: the writer closed the run or died; the last frame stays on screen while the
  consumer waits for a writer to publish under the run id again (a restarted run). With no run
  id given (``follow newest``), it moves on to the newest live run instead.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QObject, Qt, QTimer

from gym_gui_bridge.config.viewer import ViewerConfig
from gym_gui_bridge.errors import FastLaneError
from gym_gui_bridge.fastlane import FastLaneFrame, FastLaneReader, SegmentState, list_segments
from gym_gui_bridge.viewer.consumer_state import ConsumerState
from gym_gui_bridge.viewer.hud import STATUS_CONNECTED, STATUS_RECONNECTING, STATUS_UNAVAILABLE
from gym_gui_bridge.viewer.image import ShownFrame

__all__ = ["FastLaneConsumer", "newest_live_run"]


def _poll_interval_ms(fps: float) -> int:
    """Poll period in whole milliseconds, rounded down so polls are never slower than ``fps``."""
    return max(1, math.floor(1000 / fps))


def newest_live_run() -> str | None:
    """Run id of the newest ring whose writer is alive and has not closed it, or ``None``."""
    for entry in list_segments():
        status = entry.status
        if status is not None and status.writer_alive and status.state != SegmentState.CLOSED:
            return status.run_id
    return None


class FastLaneConsumer(ConsumerState):
    """Polls a run's ring with a ``QTimer`` and emits each newer frame once.

    Signals:
        frame_ready(ShownFrame): a newer frame, already converted to a ``QImage``.
        hud_changed(HudState): the HUD's numbers changed (emitted only on a change).
        status_changed(str): ``connected`` / ``fastlane-unavailable`` / ``reconnecting``.
        run_changed(str): the run shown changed ("" while waiting for one).

    Args:
        run_id: the run to show; ``None`` follows the newest live run.
        config: display rate (how often the ring is polled), attach retry and liveness
            intervals, frame-rate window (``VIEWER_*``).
    """

    #: A ring can always appear: this consumer never stops trying.
    gave_up = False
    waiting_hint = (
        "is the run started with FASTLANE=1 and publishing? see `gym-gui-bridge fastlanes`"
    )

    def __init__(
        self,
        run_id: str | None = None,
        *,
        config: ViewerConfig = ViewerConfig(),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(run_id, config, parent)
        self._reader: FastLaneReader | None = None
        self._dead_identity: tuple[int, int] | None = None  # (created_ns, writer_pid)
        self._seen_reattach = 0
        self._last_liveness = 0.0
        self.conversions = 0
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(_poll_interval_ms(config.fps))
        self._poll_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._poll_timer.timeout.connect(self._poll)
        self._retry_timer = QTimer(self)
        self._retry_timer.setInterval(round(config.attach_retry_s * 1000))
        self._retry_timer.timeout.connect(self._try_attach)

    # --- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Attach now if the ring exists, else keep retrying on the slow timer."""
        self._try_attach()
        if self._reader is None:
            self._retry_timer.start()

    def stop(self) -> None:
        """Stop polling and close the ring. Safe to call twice; never unlinks anything."""
        self._poll_timer.stop()
        self._retry_timer.stop()
        self._close_reader()

    def set_run(self, run_id: str | None) -> None:
        """Show another run (``None``: the newest live one) without restarting the viewer."""
        self.stop()
        self._wanted = run_id
        self._run_id = run_id or ""
        self._ever_connected = False
        self._dead_identity = None
        self.reconnect_count = self.frames_shown = self.skipped = 0
        self._meter.reset()
        self._publish_rate = 0.0
        self._set_status(STATUS_UNAVAILABLE, "")
        self.run_changed.emit(self._run_id)
        self._update_hud(reset_metrics=True)
        self.start()

    def set_paused(self, paused: bool) -> None:
        """Pause the display: no frames are copied and the viewer stops counting as watching
        (the worker then stops rendering); training is not affected."""
        self._paused = paused
        self._update_hud()

    # --- attaching -------------------------------------------------------------------------

    def _try_attach(self) -> None:
        run_id = self._wanted or newest_live_run()
        if run_id is None:
            return
        try:
            reader = FastLaneReader.attach(run_id)
            status = reader.status()
        except (FastLaneError, ValueError) as error:
            if not self._ever_connected:
                self._set_status(STATUS_UNAVAILABLE, str(error) if self._wanted else "")
            return
        identity = (status.created_ns, status.writer_pid)
        if (
            identity == self._dead_identity
            or not status.writer_alive
            or status.state == SegmentState.CLOSED
        ):
            reader.close()  # the ring of a dead or finished writer: wait for a new one
            if not self._ever_connected:
                self._set_status(STATUS_UNAVAILABLE, f"writer pid {status.writer_pid} is gone")
            return
        self._retry_timer.stop()
        if self._ever_connected:
            self.reconnect_count += 1
        if run_id != self._run_id:
            self._run_id = run_id
            self.run_changed.emit(run_id)
        self._reader = reader
        self._ever_connected = True
        self._dead_identity = None
        self._seen_reattach = 0
        self._last_shown_seq = 0
        self._frames_published = status.frames_published
        self._publish_rate = status.current_rate_hz()
        self._last_liveness = time.monotonic()
        self._set_status(STATUS_CONNECTED, "")
        self._update_hud()
        self._poll_timer.start()

    def _lose_writer(self, detail: str, identity: tuple[int, int] | None) -> None:
        self._close_reader()
        self._poll_timer.stop()
        self._dead_identity = identity
        self._publish_rate = 0.0
        self._set_status(STATUS_RECONNECTING, detail)
        self._update_hud()
        self._retry_timer.start()

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # --- polling ---------------------------------------------------------------------------

    def _poll(self) -> None:
        reader = self._reader
        if reader is None:
            return
        if not self._paused:
            try:
                frame = reader.latest_frame(only_new=True)
            except (FastLaneError, ValueError) as error:
                self._lose_writer(f"ring unreadable: {error}", None)
                return
            if reader.reattach_count != self._seen_reattach:
                self.reconnect_count += reader.reattach_count - self._seen_reattach
                self._seen_reattach = reader.reattach_count
                self._last_shown_seq = 0  # a new generation: its seqs are not comparable
            if frame is not None:
                self._show(frame)
        now = time.monotonic()
        if now - self._last_liveness >= self.config.liveness_interval_s:
            self._last_liveness = now
            self._check_liveness()

    def _show(self, frame: FastLaneFrame) -> None:
        self.conversions += 1
        self._emit_shown(ShownFrame.from_frame(frame))

    def _check_liveness(self) -> None:
        reader = self._reader
        if reader is None:
            return
        try:
            status = reader.status()
        except (FastLaneError, ValueError) as error:
            self._lose_writer(f"ring unreadable: {error}", None)
            return
        identity = (status.created_ns, status.writer_pid)
        if status.state == SegmentState.CLOSED:
            self._lose_writer("the writer closed the run", identity)
            return
        if not status.writer_alive:
            self._lose_writer(f"writer pid {status.writer_pid} is gone", identity)
            return
        self._publish_rate = status.current_rate_hz()
        self._frames_published = status.frames_published
        self._update_hud()
