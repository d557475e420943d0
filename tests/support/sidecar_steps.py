"""Step a watched env and pair each sidecar frame with the step whose state it drew."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from waits import WAIT_S

from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
from gym_gui_bridge.fastlane import FastLaneFrame, FastLaneReader


def sidecar_frame_of_step(reader: FastLaneReader, step: int, wait_s: float) -> FastLaneFrame | None:
    """The sidecar's frame of the state ``step`` left, polled for up to ``wait_s``; None."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        frame = reader.latest_frame()
        mode = frame.metrics.render_mode if frame is not None else ""
        if frame is not None and mode == "sidecar" and frame.metrics.global_step == step:
            return frame
        time.sleep(0.005)
    return None


def sidecar_frames_of_steps(
    env: FastLaneEnvWrapper,
    reader: FastLaneReader,
    action: Callable[[Any], Any],
    frame_wait_s: float,
) -> Iterator[tuple[int, FastLaneFrame]]:
    """Step ``env`` (resetting it at episode ends) for up to ``WAIT_S``, as a training loop
    with a viewer polling meanwhile, and yield ``(step, frame)`` for each step whose state the
    sidecar asked for and drew: the env then still holds that state. Stop iterating to stop."""
    steps = 0
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        link, channel = env.sidecar, env.writer.state_channel  # type: ignore[union-attr]
        # the sidecar asked for a state: the next step's state is the one it draws
        asked = link is not None and link.pid is not None and channel.wanted()
        _, _, terminated, truncated, _ = env.step(action(env))
        steps += 1
        if terminated or truncated:
            env.reset()
            continue
        if not asked:
            reader.latest_frame()  # a viewer polls meanwhile
            time.sleep(0.002)
            continue
        frame = sidecar_frame_of_step(reader, steps, frame_wait_s)
        if frame is not None:  # None: not yet handed frame publishing, or an earlier state
            yield steps, frame
