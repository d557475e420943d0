"""Frames of one slot of a vector env whose slots cannot be wrapped one by one (envpool).

:class:`VectorSlotFrames` is told about each result of the watched slot that the vector env
hands the script (its observation, raw reward, whether the episode ended) and publishes frames
into the run's ring exactly as ``FastLaneEnvWrapper`` does for a gymnasium slot: the first
result creates the ring with one frame (so a viewer finds the run at once); after that a frame
is drawn only while a reader is watching and when the frame budget
(:class:`~cleanrl_worker.fastlane.budget.FrameBudget`, through
:class:`~cleanrl_worker.fastlane.frame_targets.SlotSink`) says one is due.

Where a frame comes from: the vector env's own renderer (``render``, a callable returning an
``H x W x 3`` uint8 image of the watched slot) when it has one, else the observation drawn as
an image (:func:`~cleanrl_worker.fastlane.observation_frames.observation_frame`). A renderer
that fails is dropped for the observation. Anything else that fails on the frame path (an
observation that cannot be drawn, publishing) turns frames off for the slot with one line on
stderr naming the cause; training goes on.

HUD metrics are the wrapper's (docs/worker.md): the last reward, the rolling return, the
slot's steps per second, the budget's frame rate, the episode and the step within it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from cleanrl_worker.fastlane.frame_targets import Clock, SlotSink
from cleanrl_worker.fastlane.observation_frames import observation_frame
from gym_gui_bridge.config.fastlane import FrameConfig, RingConfig
from gym_gui_bridge.fastlane import FastLaneMetrics

__all__ = ["Renderer", "VectorSlotFrames"]

#: Draws the watched slot now: an ``H x W x 3`` uint8 image, or None.
Renderer = Callable[[], "np.ndarray | None"]


class VectorSlotFrames:
    """Publishes the frames of slot ``slot`` of a vector env into the ring of ``run_id``.

    Args:
        run_id: names the ring.
        slot: the watched slot.
        name: what the slot runs, for messages (``"envpool Breakout-v5"``).
        render: the vector env's renderer for this slot, or None (observations are drawn).
        discrete_n: ``n`` of a ``Discrete(n)`` observation space (drawn as a grid).
        color_stack: whether stacked observations hold colour frames (None: guess).
        frames: the frame budget and HUD tunables (``[frames]``).
        ring: the ring's tunables (``[ring]``).
        clock: monotonic seconds, injectable for tests.
    """

    def __init__(
        self,
        run_id: str,
        slot: int,
        *,
        name: str,
        render: Renderer | None = None,
        discrete_n: int | None = None,
        color_stack: bool | None = None,
        frames: FrameConfig = FrameConfig(),
        ring: RingConfig = RingConfig(),
        clock: Clock = time.perf_counter,
    ) -> None:
        self.slot = slot
        self.name = name
        self._render = render
        self._discrete_n = discrete_n
        self._color_stack = color_stack
        self._sink = SlotSink(run_id, env_slot=slot, frames=frames, ring=ring, clock=clock)
        self._clock = clock
        self._smoothing = frames.return_smoothing
        self._rate_window_s = frames.step_rate_window_s
        self._watch_poll_s = frames.watch_poll_s
        self.enabled = True
        self._opened = False
        self.frames_published = 0
        # HUD state
        self._last_reward = 0.0
        self._rolling = 0.0
        self._finished = 0
        self._steps = 0
        self._rate = 0.0
        self._rate_mark = (0, clock())

    @property
    def last_frame_seq(self) -> int | None:
        """Fast-lane seq of the newest frame published (None before the first one)."""
        writer = self._sink.writer
        if writer is None or writer.closed or not writer.frames_published:
            return None
        return writer.frames_published

    def observe(
        self,
        observation: Any,
        *,
        reward: float,
        episode: int,
        episode_step: int,
        episode_return: float,
        ended: bool,
        stepped: bool = True,
    ) -> None:
        """One result of the watched slot: publish a frame if one is due.

        Args:
            observation: the slot's observation in this result.
            reward: the raw reward of this result.
            episode: the slot's episode index.
            episode_step: steps of that episode so far, this one included.
            episode_return: that episode's return so far, this step included.
            ended: this step ended the episode.
            stepped: False for a result that is a reset, not a step.
        """
        if stepped:
            self._hud(reward, episode_return, ended)
        if not self.enabled:
            return
        now = self._clock()
        metrics = None
        try:
            if not self._opened:
                self._opened = True
                metrics = self._metrics(episode, episode_step)
                frame = self._frame(observation)
                if frame is not None:
                    self._sink.open(self.slot, frame, metrics)
                    self.frames_published += 1
            elif self._sink.wants(self.slot, now, terminal=ended):
                metrics = self._metrics(episode, episode_step)
                frame = self._frame(observation)
                if frame is not None:
                    self._sink.put(self.slot, frame, metrics, now)
                    self.frames_published += 1
        except Exception as error:  # the frame path never takes the run down: report, stop
            self._disable(f"{type(error).__name__}: {error}")

    def close(self) -> None:
        """Close the ring (unlinking it). Safe to call more than once."""
        self._sink.close(self.slot)

    # --- internals --------------------------------------------------------------------------

    def _hud(self, reward: float, episode_return: float, ended: bool) -> None:
        self._steps += 1
        self._last_reward = reward
        if ended:
            if self._finished == 0:
                self._rolling = episode_return
            else:
                self._rolling += self._smoothing * (episode_return - self._rolling)
            self._finished += 1
        elif self._finished == 0:
            self._rolling = episode_return
        now = self._clock()
        steps, since = self._rate_mark
        elapsed = now - since
        if elapsed >= self._rate_window_s or (not self._rate and elapsed >= self._watch_poll_s):
            self._rate = (self._steps - steps) / elapsed
            if elapsed >= self._rate_window_s:
                self._rate_mark = (self._steps, now)

    def _metrics(self, episode: int, episode_step: int) -> FastLaneMetrics:
        return FastLaneMetrics(
            last_reward=self._last_reward,
            rolling_return=self._rolling,
            step_rate_hz=self._rate,
            frame_rate_hz=self._sink.rate_hz,
            episode=episode,
            episode_step=episode_step,
            global_step=self._steps,
        )

    def _frame(self, observation: Any) -> np.ndarray | None:
        render = self._render
        if render is not None:
            try:
                image = render()
            except Exception:  # a renderer this env lacks (or broken): draw observations
                image = None
            if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim in (2, 3):
                return image
            self._render = None
        frame = observation_frame(
            observation, discrete_n=self._discrete_n, color_stack=self._color_stack
        )
        if frame is None:
            shape = getattr(observation, "shape", None)
            dtype = getattr(observation, "dtype", type(observation).__name__)
            self._disable(f"its observation (shape {shape}, {dtype}) cannot be drawn")
        return frame

    def _disable(self, reason: str) -> None:
        self.enabled = False
        self._sink.drop(self.slot)
        print(
            f"cleanrl-fastlane: warning: slot {self.slot} ({self.name}) cannot stream frames: "
            f"{reason}; training continues without frames",
            file=sys.stderr,
            flush=True,
        )
