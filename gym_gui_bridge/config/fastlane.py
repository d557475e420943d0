"""Tunables of the fast lane in the worker: the ring it writes and the budget of its frames.

Read by the worker from ``[ring]`` and ``[frames]``. The ring's fixed limits (largest edge,
most slots, longest run id, ...) are not tunables: they are part of the ring's format, in
:mod:`gym_gui_bridge.fastlane.layout`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gym_gui_bridge.config.spec import check_fields, tunable

__all__ = ["FrameConfig", "RingConfig"]


# The ring's limits are imported when a bound is checked, not with this module: the fast-lane
# package imports these configs for its defaults.
def _max_capacity() -> int:
    from gym_gui_bridge.fastlane.layout import FASTLANE_MAX_CAPACITY

    return FASTLANE_MAX_CAPACITY


def _max_edge() -> int:
    from gym_gui_bridge.fastlane.layout import FASTLANE_MAX_EDGE

    return FASTLANE_MAX_EDGE


def _max_grid() -> int:
    from gym_gui_bridge.fastlane.layout import FASTLANE_MAX_GRID

    return FASTLANE_MAX_GRID


@dataclass(frozen=True)
class RingConfig:
    """The ring a worker writes (:class:`~gym_gui_bridge.fastlane.FastLaneWriter`)."""

    capacity: int = tunable(
        "FASTLANE_CAPACITY",
        3,
        "Frames held by one ring (count). Two would do for a single reader; three gives a slow "
        "reader a whole extra publish period before the slot it is copying is overwritten.",
        minimum=2,
        maximum=_max_capacity,
    )
    rate_smoothing: float = tunable(
        "FASTLANE_RATE_SMOOTHING",
        0.1,
        "Smoothing of the writer's publish-rate estimate shown by viewers and `fastlanes` "
        "(weight of the newest interval, 0..1).",
        above=0.0,
        maximum=1.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class FrameConfig:
    """When the worker renders, and its HUD (:class:`~cleanrl_worker.fastlane.wrapper.FastLaneEnvWrapper`).

    ``fps``, ``budget``, ``max_dim`` and ``grid`` are also settings of their own
    (``FASTLANE_FPS``, ``--fastlane-fps``, ...): a variable or flag beats the file.
    """

    fps: float = tunable(
        "FASTLANE_FPS",
        30.0,
        "Frames per second the wrapper may render while watched (Hz). 30 is smooth to a person.",
        above=0.0,
    )
    budget: float = tunable(
        "FASTLANE_BUDGET",
        0.03,
        "Share of wall time the wrapper may spend rendering and publishing (fraction). "
        "Rendering a CartPole frame is ~1.7 ms against ~50 us per 4-env step: 3% keeps training "
        "within its budget.",
        above=0.0,
        maximum=1.0,
    )
    max_dim: int = tunable(
        "FASTLANE_MAX_DIM",
        0,
        "Longest edge of a published frame (pixels); larger renders are downscaled by an "
        "integer stride. 0 = no limit.",
        minimum=0,
        maximum=_max_edge,
    )
    grid: int = tunable(
        "FASTLANE_GRID_DEFAULT",
        4,
        "Tiles a grid-mode frame shows when FASTLANE_GRID is not given (count of vector-env "
        "slots).",
        minimum=1,
        maximum=_max_grid,
    )
    return_smoothing: float = tunable(
        "FASTLANE_RETURN_SMOOTHING",
        0.05,
        "Weight of the newest finished episode's return in the HUD's rolling return (0..1): "
        "rolling += FASTLANE_RETURN_SMOOTHING * (episode_return - rolling). 0.05 averages ~20 "
        "episodes.",
        above=0.0,
        maximum=1.0,
    )
    step_rate_window_s: float = tunable(
        "FASTLANE_STEP_RATE_WINDOW_S",
        1.0,
        "Window over which the HUD's env steps/s is measured (seconds). PPO alternates "
        "rollouts (fast stepping) with updates (no stepping); a one-second window shows the "
        "rate training really gets instead of flickering between the two.",
        above=0.0,
    )
    watch_poll_s: float = tunable(
        "FASTLANE_WATCH_POLL_S",
        0.05,
        "How often the wrapper asks the ring whether a reader is watching (seconds). The check "
        "reads shared memory; doing it every step would cost more than the step itself for "
        "cheap envs.",
        above=0.0,
    )
    sidecar_fps: float = tunable(
        "FASTLANE_SIDECAR_FPS",
        30.0,
        "Frames per second the renderer sidecar draws while watched (Hz): the display rate. A "
        "watched env with a state renderer (classic control, or one you registered) is drawn "
        "from its state by that process, off the training thread, which pays a state copy of "
        "a few hundred bytes per frame. 0: always render in-process under FASTLANE_BUDGET.",
        minimum=0.0,
    )
    sidecar_frame_ms: float = tunable(
        "FASTLANE_SIDECAR_FRAME_MS",
        10.0,
        "Longest the renderer sidecar's frame may cost before it draws a plainer picture, where "
        "the env's state renderer has one (milliseconds, the median of its first frames). "
        "MuJoCo drops shadows, reflections and the skybox: drawn on the CPU (no GPU) a frame "
        "costs ~40 ms with them, ~10 ms without, and 30 frames per second must fit in the core "
        "training leaves idle. 0: always the full picture.",
        minimum=0.0,
    )
    sidecar_idle_s: float = tunable(
        "FASTLANE_SIDECAR_IDLE_S",
        10.0,
        "The renderer sidecar ends after nobody watched the run for this long (seconds); the "
        "next viewer starts a new one (about a second of in-process frames until it draws).",
        above=0.0,
    )
    render_cost_smoothing: float = tunable(
        "FASTLANE_RENDER_COST_SMOOTHING",
        0.2,
        "Weight of the newest measurement in the wrapper's render-cost estimate (0..1), which "
        "spaces frames under FASTLANE_BUDGET.",
        above=0.0,
        maximum=1.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)
