"""The renderer sidecar: draws a run's frames from the env states the worker ships.

Started by the worker (:mod:`~cleanrl_worker.fastlane.state_render.link`) when its run is
first watched, as ``python -m cleanrl_worker.fastlane.state_render.sidecar``; never by hand.
It builds its own env of the watched kind, and at up to ``--fps`` frames per second while a
reader watches: asks the worker for the env's state (the ring's state area), restores it into
its env, renders, and publishes the frame into the run's ring, once the worker handed it frame
publishing. Every viewer sees the same ring as before.

It ends, handing frame publishing back, when no reader has watched for ``--idle-s`` seconds,
when the ring is closed or retired, or on SIGTERM. It dies with the worker: the kernel sends it
SIGTERM when the worker dies (``PR_SET_PDEATHSIG``) and it also checks its parent on every
frame; a worker that died without closing its ring (SIGKILL) leaves the ring to the sidecar,
which removes it (if the name still holds that ring) before exiting.

It runs at the CPU priority its renderer asks for (``StateRenderer.nice``) from before it builds
its env: 19 for MuJoCo, whose frames drawn on the CPU cost tens of milliseconds (at 30 frames
per second, more than a core), so it draws with the CPU training leaves idle; 0 for classic
control.

Exit status: 0 ended normally; 3 this env cannot be drawn here (the worker does not start
another sidecar for it); 1 anything else (said on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import statistics
import sys
import time
import warnings
from typing import Any

import numpy as np

from gym_gui_bridge.fastlane.ring import process_alive

#: The env cannot be drawn by a sidecar (the worker renders in-process from then on).
EXIT_UNUSABLE = 3
EXIT_FAILED = 1
_PR_SET_PDEATHSIG = 1
#: Longest the sidecar sleeps while it waits for a state or a hand-off (seconds).
_MAX_WAIT_S = 0.005
_FIRST_WAIT_S = 0.0005
_PREFIX = "cleanrl-fastlane: sidecar"
#: Frames whose median cost decides whether the picture is simplified (count), after the first
#: (which also pays for the env's first draw: an OpenGL context, textures).
_COST_SAMPLES = 5
#: Longest the sidecar waits for its dead worker to finish exiting before it removes the ring
#: (seconds): the kernel signals the sidecar while the worker is still exiting.
_OWNER_EXIT_S = 5.0


class _Stop(BaseException):
    """SIGTERM (the worker closing its env, or dying). Not an ``Exception``: the handlers that
    report a failed draw or env build must not take it for one."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Stop


def _die_with(owner: int) -> bool:
    """Ask the kernel for SIGTERM when the parent dies; False if the parent is already gone."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    return os.getppid() == owner


def _lower_priority(nice: int) -> None:
    """CPU priority ``nice`` for this process's main thread and the threads it starts later
    (an OpenGL driver's, e.g. llvmpipe's); only ever lowered."""
    with contextlib.suppress(OSError, AttributeError):
        if nice > os.getpriority(os.PRIO_PROCESS, 0):
            os.setpriority(os.PRIO_PROCESS, 0, min(nice, 19))


def _say(message: str) -> None:
    print(f"{_PREFIX}: {message}", file=sys.stderr, flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cleanrl_worker.fastlane.state_render.sidecar")
    parser.add_argument("--ring", required=True, help="segment name of the run's ring")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--owner", type=int, required=True, help="pid of the ring's writer")
    parser.add_argument("--renderer", required=True, help="StateRenderer as module:QualName")
    parser.add_argument("--env", required=True, help="EnvDescription as JSON")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--idle-s", type=float, default=10.0)
    parser.add_argument("--frame-ms", type=float, default=0.0)
    parser.add_argument("--max-dim", type=int, default=0)
    parser.add_argument("--rate-smoothing", type=float, default=0.1)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the sidecar; the exit status (module docstring)."""
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the worker, which ends us
    if not _die_with(args.owner):
        return 0
    from gym_gui_bridge.fastlane.state_area import DelegatePublisher

    try:
        publisher = DelegatePublisher(args.ring, args.run_id, args.owner, args.rate_smoothing)
    except _Stop:
        return 0
    except Exception as error:  # the ring is gone or not the worker's any more
        _say(f"cannot attach to /dev/shm/{args.ring}: {type(error).__name__}: {error}")
        return EXIT_FAILED
    me = os.getpid()
    try:
        return _serve(publisher, args)
    except _Stop:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
        with contextlib.suppress(_Stop):
            publisher.channel.give_back(me)
            # the worker died (its ring is left to us): reparented already, or still exiting
            # (a dying leader thread shows as a zombie before its children are reparented)
            if os.getppid() != args.owner or not process_alive(args.owner):
                publisher.remove_if_orphaned(wait_s=_OWNER_EXIT_S)
            publisher.close()


class _Drawer:
    """The sidecar's env and how to draw a state with it."""

    def __init__(self, args: argparse.Namespace) -> None:
        from cleanrl_worker.fastlane.render_shims import quiet_headless_sdl
        from cleanrl_worker.fastlane.state_render.registry import EnvDescription, load_renderer

        quiet_headless_sdl()
        self.renderer = load_renderer(args.renderer)
        _lower_priority(int(self.renderer.nice))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = self.renderer.make(EnvDescription.from_json(args.env))
            env.reset(seed=0)
        self.env = env
        self.base = env.unwrapped
        self.max_dim = args.max_dim
        self.frame_ms = args.frame_ms
        self._costs: list[float] | None = [] if args.frame_ms > 0 else None
        self._shim: Any = None

    def draw(self, state: np.ndarray) -> np.ndarray:
        from cleanrl_worker.fastlane.frame_targets import downscale

        started = time.perf_counter()
        self.renderer.restore(self.base, state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = self._render()
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
            raise ValueError(f"Expected render() to return a uint8 image, got {type(frame)}")
        self._note_cost((time.perf_counter() - started) * 1e3)
        return downscale(frame, self.max_dim)

    def _note_cost(self, cost_ms: float) -> None:
        """Once the first frames are drawn: a plainer picture if they cost over ``frame_ms``."""
        if self._costs is None:
            return
        self._costs.append(cost_ms)
        if len(self._costs) <= _COST_SAMPLES:
            return
        median = statistics.median(self._costs[1:])
        self._costs = None
        if median > self.frame_ms and self.renderer.simplify(self.base):
            _say(
                f"frames cost {median:.0f} ms, over FASTLANE_SIDECAR_FRAME_MS = "
                f"{self.frame_ms:g}: drawing a plainer picture from now on"
            )

    def _render(self) -> Any:
        """``render()`` as the worker's in-process path does it: the env's own, and after it
        raised, through the known work-around for the env (the same pixels)."""
        from cleanrl_worker.fastlane.render_shims import find_shim

        if self._shim is None:
            try:
                return self.base.render()
            except Exception:
                shim = find_shim(self.base)
                if shim is None:
                    raise
                self._shim = shim
        with self._shim(self.base):
            return self.base.render()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.env.close()


def _serve(publisher: Any, args: argparse.Namespace) -> int:
    from gym_gui_bridge.fastlane import FastLaneMetrics

    channel = publisher.channel
    me = os.getpid()
    try:
        drawer = _Drawer(args)
    except _Stop:
        raise
    except Exception as error:
        _say(f"cannot build the renderer's env: {type(error).__name__}: {error}")
        return EXIT_UNUSABLE
    interval = 1.0 / args.fps
    granted = False
    last_seq = 0
    idle_since: float | None = None
    next_tick = time.monotonic()
    try:
        while True:
            if os.getppid() != args.owner or not publisher.live():
                return 0
            now = time.monotonic()
            if now < next_tick:
                time.sleep(next_tick - now)
                now = time.monotonic()
            next_tick = max(next_tick + interval, now)
            if publisher.watched():
                idle_since = None
            else:
                idle_since = now if idle_since is None else idle_since
                if now - idle_since >= args.idle_s:
                    return 0
                continue
            channel.request()
            snapshot = _wait(lambda seq=last_seq: channel.read(seq), now + 4 * interval, args.owner)
            if snapshot is None:
                continue  # the env is not stepping (an update phase): nothing new to show
            started = time.perf_counter()
            try:
                frame = drawer.draw(snapshot.state)
            except Exception as error:
                _say(f"drawing a state failed: {type(error).__name__}: {error}")
                return EXIT_UNUSABLE
            cost_ms = (time.perf_counter() - started) * 1e3
            last_seq = snapshot.seq
            if not granted:
                shape = publisher.config.frame_shape
                if frame.shape != shape:
                    _say(f"frames of shape {frame.shape} do not fit the ring's {shape}")
                    return EXIT_UNUSABLE
                channel.ask_for_frames(me)
                deadline = time.monotonic() + args.idle_s
                if not _wait(lambda: channel.frames_by == me, deadline, args.owner):
                    return 0
                granted = True
                continue  # that state is old by now: the first frame shows a fresh one
            elif channel.frames_by != me:
                return 0  # the worker took frame publishing back
            m = snapshot.metrics
            publisher.publish(
                frame,
                FastLaneMetrics(
                    last_reward=m.last_reward,
                    rolling_return=m.rolling_return,
                    step_rate_hz=m.step_rate_hz,
                    frame_rate_hz=publisher.publish_rate_hz or args.fps,
                    episode=m.episode,
                    episode_step=m.episode_step,
                    global_step=m.global_step,
                    source_step=m.source_step,
                    render_ms=cost_ms,
                    render_mode="sidecar",
                ),
            )
    finally:
        drawer.close()


def _wait(ready: Any, deadline: float | None, owner: int) -> Any:
    """Poll ``ready()`` with short, growing sleeps until it is truthy, ``deadline``
    (monotonic) passes, or the owner is gone; its last value."""
    pause = _FIRST_WAIT_S
    while True:
        value = ready()
        if value or os.getppid() != owner:
            return value
        if deadline is not None and time.monotonic() >= deadline:
            return value
        time.sleep(pause)
        pause = min(pause * 2, _MAX_WAIT_S)


if __name__ == "__main__":
    sys.exit(main())
