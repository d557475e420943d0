"""A state renderer whose sidecar cannot build its env, for the sidecar's failure tests.

Imported by the test process and, by name, by the sidecar it starts (tests/support must be on
the sidecar's PYTHONPATH).
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from cleanrl_worker.fastlane.state_render import StateRenderer, register
from cleanrl_worker.fastlane.state_render.classic_control import CartPoleState


class UnbuildableCartPole(CartPoleEnv):
    """A CartPole whose state renderer fails in the sidecar."""


class UnbuildableState(CartPoleState):
    def make(self, description: Any) -> Any:
        raise RuntimeError("no env for you")


register(UnbuildableCartPole, UnbuildableState)

__all__ = ["StateRenderer", "UnbuildableCartPole", "UnbuildableState"]
