"""``FastLaneEnvWrapper``: stream one env's frames and HUD into the fast-lane ring."""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from typing import TYPE_CHECKING, Any, SupportsFloat

import gymnasium as gym
import numpy as np

from cleanrl_worker.fastlane.frame_targets import Clock, SlotSink
from cleanrl_worker.fastlane.render_shims import (
    RenderShim,
    fast_pygame_pixels,
    find_shim,
    headless_mujoco_gl,
    quiet_headless_sdl,
    unshown_warnings,
)
from cleanrl_worker.fastlane.screen_grab import ScreenGrab, screen_grab
from gym_gui_bridge.config.fastlane import FrameConfig, RingConfig
from gym_gui_bridge.fastlane import FastLaneMetrics, FastLaneWriter
from gym_gui_bridge.fastlane.layout import STATE_MAX_BYTES

if TYPE_CHECKING:
    from cleanrl_worker.fastlane.state_render.link import SidecarLink

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
    which unlinks the ring.

    Frames never cost the run. Whatever fails on the frame path (``render()`` raising or
    returning something that is not an ``H x W`` or ``H x W x C`` uint8 image with C = 1, 3 or 4,
    reading the step for the HUD, publishing into the ring) is caught here: one line on stderr
    names the slot (or the grid) and the cause, the frames of that slot (of the whole grid if
    publishing failed) stop and its ring is closed, and ``reset()`` / ``step()`` return exactly
    what the env returned. :attr:`stopped` keeps the cause. Before giving up on a ``render()``
    that raised, a known work-around for the env is tried
    (:mod:`cleanrl_worker.fastlane.render_shims`). Exceptions that are not errors
    (``KeyboardInterrupt``, ``SystemExit``) pass through. Rendering adds nothing else to stderr:
    warnings raised inside the wrapper's ``render()`` calls are not shown, and on a machine
    without a display SDL gets its dummy driver before the first one
    (:func:`~cleanrl_worker.fastlane.render_shims.quiet_headless_sdl`).

    Args:
        env: the env to watch, built with ``render_mode="rgb_array"``.
        run_id: names the ring (``gym-gui-bridge view <run_id>``).
        slot: the vector-env index this env has (shown by viewers), -1 if none.
        frames: the frame budget and HUD tunables (``[frames]``: fps, budget, max_dim,
            return_smoothing, step_rate_window_s, watch_poll_s, render_cost_smoothing).
        ring: the ring's tunables (``[ring]``: capacity, rate_smoothing).
        sink: a shared sink (grid mode); None builds this env's own ring from the configs.
        clock: monotonic seconds, injectable for tests.
        quiet_render: hide the warnings ``render()`` raises (True when the fast lane chose the
            render mode: the script alone never renders this env, so they are not its own);
            False when the script renders the env itself and would see them anyway.

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
        quiet_render: bool = True,
    ) -> None:
        super().__init__(env)
        self._quiet_render = quiet_render
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
        self._shim: RenderShim | None = None  # in use once the env's own render() failed
        self._link: SidecarLink | None = None  # the renderer sidecar's, for a state renderer
        self._render_ms = 0.0  # cost of the newest in-process frame
        self._screen: ScreenGrab | None = None  # an emulator's screen copy (Atari), if any
        self._render_mode = "in-process"  # how this wrapper makes its frames
        self._rendered = False  # render() was called once (its warnings: see _render_once)
        self.frames_rendered = 0
        #: why this env's frames stopped (one line, as reported), None while they stream
        self.stopped: str | None = None
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
        try:
            if not self._opened:
                self._open()
            elif self._sink.wants(self.slot, self._clock(), terminal=False):
                self._publish()
        except Exception as error:  # frames never fail the run (reported once, see the class)
            self._publish_failed(error)
        if self._link is not None:
            self._serve_link(self._clock())
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not self._enabled:
            return obs, reward, terminated, truncated, info
        try:
            ended = self._count_step(reward, terminated, truncated)
        except Exception as error:  # frames never fail the run (reported once, see the class)
            self._disable(f"the HUD cannot read this step ({_describe(error)})")
            return obs, reward, terminated, truncated, info
        try:
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
        except Exception as error:
            self._publish_failed(error)
        if self._link is not None:
            self._serve_link(now)
        return obs, reward, terminated, truncated, info

    @property
    def sidecar(self) -> SidecarLink | None:
        """The renderer sidecar's link, when this env is drawn from its state (None if not)."""
        return self._link

    def close(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()
        try:
            super().close()
        finally:
            try:
                self._sink.close(self.slot)
            except Exception as error:  # the script's close() must not fail for the ring
                self._disable(f"closing the ring failed ({_describe(error)})")

    # --- internals --------------------------------------------------------------------------

    def _count_step(self, reward: Any, terminated: Any, truncated: Any) -> bool:
        """Update the HUD's numbers for one step; True if the step ended an episode."""
        self._steps += 1
        self._episode_step += 1
        self._last_reward = _number(reward)
        self._episode_return += self._last_reward
        ended = bool(terminated or truncated)
        if ended:
            self._finish_episode()
        return ended

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
            render_ms=self._render_ms,
            render_mode=self._render_mode,
        )

    def _render(self) -> np.ndarray | None:
        """The env's frame, or None after reporting why there is none (frames stop)."""
        try:
            frame = self._render_once()
        except Exception as error:  # e.g. DependencyNotInstalled (pygame), a numpy mismatch
            if self._screen is not None:  # the emulator's copy failed: render() from now on
                self._screen, self._render_mode = None, "in-process"
                return self._render()
            shim = None if self._shim is not None else find_shim(self.env.unwrapped)
            if shim is None:
                self._disable(f"render() raised {_describe(error)}")
                return None
            self._shim = shim  # a known incompatibility: render through its work-around
            try:
                frame = self._render_once()
            except Exception:
                self._disable(f"render() raised {_describe(error)}")
                return None
        problem = _image_problem(frame)
        if problem is None:
            return frame
        self._disable(f"render() returned {problem}")
        return None

    def _render_once(self) -> Any:
        """One ``render()``; with ``quiet_render`` the warnings it raises are not shown: the
        script alone never renders this env, so they are not the script's (gymnasium's env
        checker, for one, warns about an env's render metadata or a grayscale frame at the first
        ``render()``). The script's own warnings are not disturbed
        (:func:`~cleanrl_worker.fastlane.render_shims.unshown_warnings`); gymnasium's
        pygame-drawn envs hand over their picture through
        :func:`~cleanrl_worker.fastlane.render_shims.fast_pygame_pixels`."""
        screen = self._screen
        if screen is not None:
            return screen()
        _prepare_rendering()
        env = self.env.unwrapped
        first, self._rendered = not self._rendered, True
        if first:
            headless_mujoco_gl(env)
        quiet = unshown_warnings(first) if self._quiet_render else contextlib.nullcontext()
        with quiet, fast_pygame_pixels(env):
            if self._shim is None:
                return self.env.render()
            with self._shim(env):
                return self.env.render()

    def _open(self) -> None:
        self._opened = True
        mode = self.env.render_mode
        if mode != "rgb_array":
            self._disable(f"render_mode is {mode!r}, not 'rgb_array'")
            return
        self._screen = screen_grab(self.env.unwrapped)
        if self._screen is not None:
            self._render_mode = "screen"
        start = self._clock()
        frame = self._render()
        self._render_ms = (self._clock() - start) * 1e3
        if frame is None:
            return
        if self._sink.open(self.slot, frame, self._metrics()):
            self.frames_rendered += 1
            self._link = self._sidecar_link()
        else:
            self._enabled = False  # no ring (the sink said why, once): no frames for this run

    def _sidecar_link(self) -> SidecarLink | None:
        """The link to a renderer sidecar when this env can be drawn from its state, else None
        (frames stay in-process: a grid, the sidecar turned off, no renderer for the env)."""
        if not self.frames.sidecar_fps or type(self._sink) is not SlotSink:
            return None
        from cleanrl_worker.fastlane.state_render.link import SidecarLink
        from cleanrl_worker.fastlane.state_render.registry import (
            EnvDescription,
            load_renderer,
            renderer_path,
        )

        base = self.env.unwrapped
        path = renderer_path(base)
        if path is None:
            return None
        subject = f"slot {self.slot} ({self._env_name()})"
        try:
            renderer = load_renderer(path)
            description = EnvDescription.of(base)
            state = renderer.capture(base)
            if np.asarray(state).nbytes > STATE_MAX_BYTES:
                raise ValueError(
                    f"Expected a state of at most {STATE_MAX_BYTES} bytes, got "
                    f"{np.asarray(state).nbytes}"
                )
        except Exception as error:  # the renderer does not fit this env: in-process frames
            print(
                f"cleanrl-fastlane: warning: {subject}: no renderer sidecar ({_describe(error)}); "
                f"frames are rendered in-process under the frame budget",
                file=sys.stderr,
                flush=True,
            )
            return None
        return SidecarLink(
            self._sink,
            base,
            renderer,
            path,
            description,
            frames=self.frames,
            ring=self._sink.ring,
            subject=subject,
        )

    def _serve_link(self, now: float) -> None:
        """Answer the sidecar's state request and supervise it; a failure here ends the
        sidecar (frames go on in-process)."""
        link = self._link
        assert link is not None
        try:
            link.step(now, self._metrics)
        except Exception as error:
            self._link = None
            link.given_up = f"the renderer sidecar's link failed ({_describe(error)})"
            with contextlib.suppress(Exception):
                link.close()
            print(
                f"cleanrl-fastlane: warning: slot {self.slot} ({self._env_name()}): "
                f"{link.given_up}; frames are rendered in-process under the frame budget",
                file=sys.stderr,
                flush=True,
            )

    def _env_name(self) -> str:
        spec = self.env.spec
        return spec.id if spec is not None else type(self.env.unwrapped).__name__

    def _publish(self) -> None:
        start = self._clock()
        frame = self._render()
        self._render_ms = (self._clock() - start) * 1e3
        if frame is not None:
            self._sink.put(self.slot, frame, self._metrics(), start)
            self.frames_rendered += 1

    def _disable(self, reason: str) -> None:
        """This slot's frames stop: one line names the slot and ``reason``."""
        if not self._enabled:
            return
        self._enabled = False
        self._sink.drop(self.slot)
        spec = self.env.spec
        name = spec.id if spec is not None else type(self.env.unwrapped).__name__
        self._report(f"slot {self.slot} ({name})", reason)

    def _publish_failed(self, error: Exception) -> None:
        """Publishing failed: the sink's frames stop (a grid's for every tile), said once."""
        self._enabled = False
        reason = f"publishing into the ring failed ({_describe(error)})"
        if self._sink.fail(reason):
            name = self._sink.subject
            if name == f"slot {self.slot}":
                spec = self.env.spec
                name += f" ({spec.id if spec is not None else type(self.env.unwrapped).__name__})"
            self._report(name, reason)

    def _report(self, subject: str, reason: str) -> None:
        self.stopped = f"{subject} cannot stream frames: {reason}"
        print(
            f"cleanrl-fastlane: warning: {self.stopped}; training continues without frames",
            file=sys.stderr,
            flush=True,
        )


_REASON_CHARS = 300  # longest error text quoted in the one report line


@functools.cache
def _prepare_rendering() -> None:
    """Once per process, before the fast lane's first ``render()``."""
    quiet_headless_sdl()


def _describe(error: BaseException) -> str:
    """``Type: message`` on one line, shortened."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."


def _image_problem(frame: Any) -> str | None:
    """None if ``frame`` can be published, else what it is instead (for the report line)."""
    if not isinstance(frame, np.ndarray):
        return f"{type(frame).__name__}, not an image"
    shape_ok = frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (1, 3, 4))
    if frame.dtype == np.uint8 and shape_ok and frame.size:
        return None
    return (
        f"an array of shape {frame.shape} and dtype {frame.dtype}, not an H x W or H x W x C "
        f"(C = 1, 3 or 4) uint8 image"
    )


def _number(value: Any) -> float:
    """A reward as a float: Python and numpy numbers, one-element arrays (no warning)."""
    if type(value) is float:
        return value
    item = getattr(value, "item", None)
    return float(item() if callable(item) else value)
