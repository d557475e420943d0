"""The HUD's numbers: training metrics from the frame, and the fast lane's own instrumentation.

Qt-free, so it can be formatted and tested anywhere.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field

from gym_gui_bridge.config.viewer import ViewerConfig
from gym_gui_bridge.fastlane import FastLaneMetrics

__all__ = ["HudState", "RateMeter", "format_hud_lines"]

STATUS_CONNECTED = "connected"
STATUS_UNAVAILABLE = "fastlane-unavailable"
STATUS_RECONNECTING = "reconnecting"


@dataclass(frozen=True)
class HudState:
    """Everything the HUD overlay shows at one moment.

    Args:
        run_id: the run shown ("" while waiting for one).
        status: ``connected`` / ``fastlane-unavailable`` / ``reconnecting``.
        metrics: HUD metrics published with the newest frame shown.
        seq: seq of the newest frame shown (0 = none yet).
        frames_shown_hz: frames this viewer painted per second, over the last window.
        publish_rate_hz: the writer's own publish rate (0 when it stopped publishing).
        backlog: frames the writer published after the newest one shown (head - shown).
        skipped: frames published since attaching that this viewer never showed.
        reconnects: re-attachments (new generation or restarted writer) since start.
        paused: the display is paused (training is not).
        detail: a short human reason for the status ("writer pid 123 is gone").
    """

    run_id: str = ""
    status: str = STATUS_UNAVAILABLE
    metrics: FastLaneMetrics = field(default_factory=FastLaneMetrics)
    seq: int = 0
    frames_shown_hz: float = 0.0
    publish_rate_hz: float = 0.0
    backlog: int = 0
    skipped: int = 0
    reconnects: int = 0
    paused: bool = False
    detail: str = ""


def format_hud_lines(hud: HudState) -> list[str]:
    """The overlay's text, one string per line.

    >>> lines = format_hud_lines(HudState(run_id="r1", status="connected", seq=7,
    ...     metrics=FastLaneMetrics(last_reward=1.0, rolling_return=12.5, step_rate_hz=4300,
    ...                             episode=3, episode_step=41)))
    >>> lines[0]
    'r1  connected'
    >>> lines[1]
    'reward 1  return 12.5  env steps/s 4300'
    >>> lines[2]
    'episode 3  step 41  frame 7'
    >>> format_hud_lines(HudState(frames_shown_hz=29.5, metrics=FastLaneMetrics(
    ...     step_rate_hz=4300, render_mode="sidecar", render_ms=1.84)))[4]
    'render sidecar 1.84 ms  frames/s 29.5 vs env steps/s 4300'
    """
    m = hud.metrics
    status = hud.status + ("  (paused)" if hud.paused else "")
    if hud.detail:
        status += f"  - {hud.detail}"
    return [
        f"{hud.run_id or '(waiting for a run)'}  {status}",
        f"reward {m.last_reward:.4g}  return {m.rolling_return:.4g}  "
        f"env steps/s {m.step_rate_hz:.0f}",
        f"episode {m.episode}  step {m.episode_step}  frame {hud.seq}",
        f"shown/s {hud.frames_shown_hz:.1f}  publish/s {hud.publish_rate_hz:.1f}  "
        f"backlog {hud.backlog}  skipped {hud.skipped}  reconnects {hud.reconnects}",
        f"render {m.render_mode or 'unknown'} {m.render_ms:.2f} ms  "
        f"frames/s {hud.frames_shown_hz:.1f} vs env steps/s {m.step_rate_hz:.0f}",
    ]


class RateMeter:
    """Events per second over a sliding window (default ``VIEWER_RATE_WINDOW_S``).

    >>> meter = RateMeter(window_s=1.0)
    >>> for t in (0.0, 0.25, 0.5, 0.75):
    ...     meter.tick(now=t)
    >>> meter.rate(now=0.9)
    4.0
    >>> meter.rate(now=5.0)
    0.0
    """

    def __init__(self, window_s: float = ViewerConfig().rate_window_s) -> None:
        if window_s <= 0:
            raise ValueError(f"Expected a positive window, got {window_s}")
        self._window = window_s
        self._times: collections.deque[float] = collections.deque()

    def tick(self, now: float | None = None) -> None:
        self._times.append(time.monotonic() if now is None else now)
        self._trim(self._times[-1])

    def rate(self, now: float | None = None) -> float:
        self._trim(time.monotonic() if now is None else now)
        return len(self._times) / self._window

    def reset(self) -> None:
        self._times.clear()

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()
