"""``FastLaneEnvWrapper``: stream one env's frames and HUD into the fast-lane ring."""

from __future__ import annotations

import sys
import time
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from cleanrl_worker.fastlane.frame_targets import Clock, SlotSink
from gym_gui_bridge.config.fastlane import FrameConfig, RingConfig
from gym_gui_bridge.fastlane import FastLaneMetrics, FastLaneWriter

__all__ = ["FastLaneEnvWrapper"]


class FastLaneEnvWrapper(gym.Wrapper[Any, Any, Any, Any]):
    """Publishes the env's rendered frames and HUD metrics to the shared-memory ring of a run.

    The env must be built with ``render_mode="rgb_array"``. The first reset renders once and
    creates the ring ``mosaic.fastlane.<run_id>``, so a viewer can find the run at once. After
    that the wrapper renders only while a reader is watching (checked every
    ``frames.watch_poll_s``) and only when a frame is due under the budget: at most
    ``frames.fps`` frames per second and at most ``frames.budget`` of wall time, the lower wins (see :mod:`cleanrl_worker.fastlane.budget`). The step that
    ends an episode is rendered whenever the wall-time cap allows, even between two frames of
    the fps cap, so short episodes show their last frame.

    HUD metrics published with each frame (:class:`~gym_gui_bridge.fastlane.FastLaneMetrics`):
    the last reward, the rolling return (the current episode's return until one finishes, then
    ``rolling += return_smoothing * (episode_return - rolling)`` per finished episode), env
    steps per second of this env (steps, not frames, over ``frames.step_rate_window_s``), the
    frame rate the budget allows, the episode index and the step within it. The wrapper sits on a single env, below any vector
    autoreset, so its episode bookkeeping is the same on gymnasium 0.29 and 1.x.

    ``close()`` (or the end of the process, even by an exception or Ctrl-C) closes the writer,
    which unlinks the ring. An env that cannot render ``rgb_array`` gets a one-line warning on
    stderr and runs on without frames.

    Args:
        env: the env to watch, built with ``render_mode="rgb_array"``.
        run_id: names the ring (``gym-gui-bridge view <run_id>``).
        slot: the vector-env index this env has (shown by viewers), -1 if none.
        frames: the frame budget and HUD tunables (``[frames]``: fps, budget, max_dim,
            return_smoothing, step_rate_window_s, watch_poll_s, render_cost_smoothing).
        ring: the ring's tunables (``[ring]``: capacity, rate_smoothing).
        sink: a shared sink (grid mode); None builds this env's own ring from the configs.
        clock: monotonic seconds, injectable for tests.

    Example:
        >>> import gymnasium as gym
        >>> from gym_gui_bridge.fastlane import FastLaneReader
        >>> env = FastLaneEnvWrapper(
        ...     gym.make("CartPole-v1", render_mode="rgb_array"), run_id="doctest-wrapper", slot=0
        ... )
        >>> _ = env.reset(seed=0)
        >>> reader = FastLaneReader.attach("doctest-wrapper")
        >>> frame = reader.latest_frame()
        >>> frame.data.shape, frame.metrics.episode
        ((400, 600, 3), 0)
        >>> reader.close()
        >>> env.close()
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        run_id: str,
        slot: int = -1,
        *,
        frames: FrameConfig = FrameConfig(),
        ring: RingConfig = RingConfig(),
        sink: SlotSink | None = None,
        clock: Clock = time.perf_counter,
    ) -> None:
        super().__init__(env)
        self.run_id = run_id
        self.slot = slot
        self.frames = frames
        self._sink = sink or SlotSink(
            run_id, env_slot=max(slot, -1), frames=frames, ring=ring, clock=clock
        )
        self._clock = self._sink.clock
        self._return_smoothing = frames.return_smoothing
        self._watch_poll_s = frames.watch_poll_s
        self._rate_window_s = frames.step_rate_window_s
        self._enabled = True
        self._opened = False
        self.frames_rendered = 0
        # HUD state
        self._last_reward = 0.0
        self._episode = 0
        self._episode_step = 0
        self._episode_return = 0.0
        self._rolling_return = 0.0
        self._finished_episodes = 0
        self._steps = 0
        self._step_rate = 0.0
        self._rate_mark = (0, self._clock())  # (steps, time) at the last rate update

    @property
    def writer(self) -> FastLaneWriter | None:
        """The ring writer, created at the first reset (None before, or without frames)."""
        return self._sink.writer

    @property
    def last_frame_seq(self) -> int | None:
        """Fast-lane seq of the newest frame published (None before the first one).

        The slow lane's recorder reads it around each step to tag the step that produced a
        frame (``StepRecord.frame_seq``).
        """
        writer = self._sink.writer
        if writer is None or writer.closed or not writer.frames_published:
            return None
        return writer.frames_published

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        if self._episode_step:
            self._episode += 1
        self._episode_step = 0
        self._episode_return = 0.0
        if not self._enabled:
            return obs, info
        if not self._opened:
            self._open()
        elif self._sink.wants(self.slot, self._clock(), terminal=False):
            self._publish()
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        self._episode_step += 1
        self._last_reward = float(reward)
        self._episode_return += self._last_reward
        ended = bool(terminated or truncated)
        if ended:
            self._finish_episode()
        if self._enabled:
            now = self._clock()
            steps, since = self._rate_mark
            elapsed = now - since
            if elapsed >= self._rate_window_s:
                self._step_rate = (self._steps - steps) / elapsed
                self._rate_mark = (self._steps, now)
            elif not self._step_rate and elapsed >= self._watch_poll_s:
                self._step_rate = (self._steps - steps) / elapsed  # until a full window passed
            if self._sink.wants(self.slot, now, terminal=ended):
                self._publish()
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._sink.close(self.slot)

    # --- internals --------------------------------------------------------------------------

    def _finish_episode(self) -> None:
        if self._finished_episodes == 0:
            self._rolling_return = self._episode_return
        else:
            self._rolling_return += self._return_smoothing * (
                self._episode_return - self._rolling_return
            )
        self._finished_episodes += 1

    def _metrics(self) -> FastLaneMetrics:
        rolling = self._rolling_return if self._finished_episodes else self._episode_return
        return FastLaneMetrics(
            last_reward=self._last_reward,
            rolling_return=rolling,
            step_rate_hz=self._step_rate,
            frame_rate_hz=self._sink.rate_hz,
            episode=self._episode,
            episode_step=self._episode_step,
            global_step=self._steps,
        )

    def _render(self) -> np.ndarray | None:
        try:
            frame = self.env.render()
        except gym.error.Error as error:  # e.g. DependencyNotInstalled (pygame)
            self._disable(f"render() failed: {error}")
            return None
        if isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim in (2, 3):
            return frame
        self._disable(f"render() returned {type(frame).__name__}, not a uint8 image")
        return None

    def _open(self) -> None:
        self._opened = True
        mode = self.env.render_mode
        if mode != "rgb_array":
            self._disable(f"render_mode is {mode!r}, not 'rgb_array'")
            return
        frame = self._render()
        if frame is None:
            return
        if self._sink.open(self.slot, frame, self._metrics()):
            self.frames_rendered += 1
        else:
            self._enabled = False  # no ring (the sink said why, once): no frames for this run

    def _publish(self) -> None:
        start = self._clock()
        frame = self._render()
        if frame is not None:
            self._sink.put(self.slot, frame, self._metrics(), start)
            self.frames_rendered += 1

    def _disable(self, reason: str) -> None:
        self._enabled = False
        self._sink.drop(self.slot)
        spec = self.env.spec
        name = spec.id if spec is not None else type(self.env.unwrapped).__name__
        print(
            f"cleanrl-fastlane: warning: slot {self.slot} ({name}) cannot stream frames: "
            f"{reason}; training continues without frames",
            file=sys.stderr,
            flush=True,
        )
