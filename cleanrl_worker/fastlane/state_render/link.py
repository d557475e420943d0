"""The worker's side of a renderer sidecar: start it, feed it states, hand it the frames.

:class:`SidecarLink` belongs to the wrapper of one watched slot whose env has a
:class:`~cleanrl_worker.fastlane.state_render.registry.StateRenderer`. On the training thread
it costs one 8-byte load per step (has the sidecar asked for a state?) and, once per frame
the sidecar draws, a copy of the env's state and HUD into the ring's state area. Every
``watch_poll_s`` it also

- starts the sidecar (``python -m cleanrl_worker.fastlane.state_render.sidecar``, a plain
  subprocess, not a fork of the training process) when the run is watched and none runs;
- grants it frame publishing once it asks (the wrapper then renders nothing itself);
- notices it has ended (idle, failed, killed) and takes frame publishing back: until the
  sidecar publishes, and after it ends, the wrapper renders in-process under its budget.

A sidecar that fails :data:`MAX_FAILURES` times in a row, or says the env cannot be drawn from
its state (exit status 3), is not started again for the run; one line on stderr says so.
Closing the link (the env's ``close()``, or the end of the process) ends the sidecar.
"""

from __future__ import annotations

import os
import subprocess
import sys
import weakref
from collections.abc import Callable
from typing import Any

from cleanrl_worker.fastlane.frame_targets import SlotSink
from cleanrl_worker.fastlane.state_render.registry import EnvDescription, StateRenderer
from gym_gui_bridge.config.fastlane import FrameConfig, RingConfig
from gym_gui_bridge.fastlane import FastLaneMetrics
from gym_gui_bridge.fastlane.state_area import StateChannel

__all__ = ["MAX_FAILURES", "SidecarLink"]

#: Sidecars that may fail in a row before the run stops starting them (count).
MAX_FAILURES = 3
#: Longest the worker waits for a sidecar to end after SIGTERM before killing it (seconds).
_STOP_GRACE_S = 2.0
_EXIT_UNUSABLE = 3
_MODULE = "cleanrl_worker.fastlane.state_render.sidecar"


def _end(process: subprocess.Popen[bytes]) -> None:
    """Ask the sidecar to end (SIGTERM), kill it after a grace; never raises."""
    if process.poll() is not None:
        return
    try:
        process.terminate()
        process.wait(_STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    except OSError:
        pass


class SidecarLink:
    """Starts, feeds and supervises the renderer sidecar of one watched slot.

    Args:
        sink: the slot's sink (its writer is the ring; ``sink.delegated`` stops in-process
            frames while the sidecar publishes).
        env: the unwrapped env whose state is shipped.
        renderer: its state renderer (``capture`` runs here).
        renderer_path: the renderer's ``"module:QualName"`` (the sidecar imports it).
        description: how the sidecar builds its own env.
        frames: ``sidecar_fps``, ``sidecar_idle_s``, ``watch_poll_s``, ``max_dim``.
        ring: ``rate_smoothing`` of the frames the sidecar publishes.
        subject: what the slot shows, for report lines (``"slot 0 (CartPole-v1)"``).
    """

    def __init__(
        self,
        sink: SlotSink,
        env: Any,
        renderer: StateRenderer,
        renderer_path: str,
        description: EnvDescription,
        *,
        frames: FrameConfig,
        ring: RingConfig,
        subject: str,
    ) -> None:
        self._sink = sink
        self._env = env
        self._renderer = renderer
        self._renderer_path = renderer_path
        self._description = description
        self._frames = frames
        self._ring = ring
        self._subject = subject
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: StateChannel | None = None
        self._granted = False
        self._failures = 0
        self._next_poll = 0.0
        self._next_start = 0.0
        self._finalizer: weakref.finalize[Any, Any] | None = None
        #: why no sidecar is started any more (None while one may be)
        self.given_up: str | None = None
        #: sidecars started so far
        self.started = 0

    @property
    def publishing(self) -> bool:
        """Whether the sidecar publishes the frames now."""
        return self._granted

    @property
    def pid(self) -> int | None:
        """The running sidecar's pid, None when none runs."""
        process = self._process
        return None if process is None else process.pid

    def step(self, now: float, metrics: Callable[[], FastLaneMetrics]) -> None:
        """After each step (and reset) of the env: answer a state request; supervise."""
        channel = self._channel
        if channel is not None and channel.wanted():
            channel.write(self._renderer.capture(self._env), metrics())
        if now >= self._next_poll:
            self._poll(now)

    def close(self) -> None:
        """End the sidecar and take frame publishing back. Safe to call twice."""
        process = self._process
        if process is not None:
            if self._finalizer is not None:
                self._finalizer.detach()
            _end(process)
            self._ended(process.returncode or 0, 0.0, report=False)

    # --- internals --------------------------------------------------------------------------

    def _poll(self, now: float) -> None:
        self._next_poll = now + self._frames.watch_poll_s
        process = self._process
        if process is None:
            if self.given_up is None and now >= self._next_start and self._sink.watched(now):
                self._start()
            return
        code = process.poll()
        if code is not None:
            self._ended(code, now)
            return
        channel = self._channel
        if not self._granted and channel is not None and channel.handoff_request == process.pid:
            channel.grant(process.pid)
            self._granted = True
            self._sink.delegated = True

    def _start(self) -> None:
        writer = self._sink.writer
        if writer is None or writer.closed:
            return
        channel = writer.state_channel
        if channel is None:
            return
        frames = self._frames
        command = [
            sys.executable,
            "-m",
            _MODULE,
            "--ring",
            writer.name,
            "--run-id",
            writer.run_id,
            "--owner",
            str(os.getpid()),
            "--renderer",
            self._renderer_path,
            "--env",
            self._description.to_json(),
            "--fps",
            repr(frames.sidecar_fps),
            "--idle-s",
            repr(frames.sidecar_idle_s),
            "--frame-ms",
            repr(frames.sidecar_frame_ms),
            "--max-dim",
            str(frames.max_dim),
            "--rate-smoothing",
            repr(self._ring.rate_smoothing),
        ]
        # The sidecar is one of the run's own processes: the start-up hook stays off in it.
        environment = {**os.environ, "FASTLANE": "0"}
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=environment,
                close_fds=True,
            )
        except OSError as error:
            self._give_up(f"the renderer sidecar cannot start ({error})")
            return
        self._process = process
        self._channel = channel
        self.started += 1
        self._finalizer = weakref.finalize(self, _end, process)

    def _ended(self, code: int, now: float, *, report: bool = True) -> None:
        self._process = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        writer = self._sink.writer
        if writer is not None and not writer.closed:
            writer.resume()  # frames are the writer's again, numbered after the sidecar's
        self._channel = None
        self._granted = False
        self._sink.delegated = False
        if not report:
            return
        if code == _EXIT_UNUSABLE:
            self._give_up("the renderer sidecar cannot draw this env (said above)")
        elif code != 0:
            self._failures += 1
            if self._failures >= MAX_FAILURES:
                self._give_up(f"the renderer sidecar failed {self._failures} times (status {code})")
            else:
                self._next_start = now + self._failures  # back off a second per failure
        else:
            self._failures = 0

    def _give_up(self, reason: str) -> None:
        self.given_up = reason
        print(
            f"cleanrl-fastlane: warning: {self._subject}: {reason}; frames are rendered "
            f"in-process under the frame budget",
            file=sys.stderr,
            flush=True,
        )
