"""State renderers of gymnasium's classic-control envs.

Each picture is a function of a few numbers (``env.state``; Pendulum also draws the last
torque, ``last_u``). The state is captured with its own numpy dtype and restored as it was, so
the sidecar's ``render()`` does the same arithmetic and draws the same pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cleanrl_worker.fastlane.state_render.registry import StateRenderer

__all__ = ["AcrobotState", "CartPoleState", "MountainCarState", "PendulumState"]


class _PlainState(StateRenderer):
    """``env.state`` is an array (or a tuple of numbers) and the only thing drawn."""

    def capture(self, env: Any) -> np.ndarray:
        return np.array(env.state).ravel()

    def restore(self, env: Any, state: np.ndarray) -> None:
        env.state = state


class CartPoleState(_PlainState):
    """CartPole: cart position and pole angle (of ``state``) are drawn."""


class AcrobotState(_PlainState):
    """Acrobot: the two joint angles (of ``state``) are drawn."""


class MountainCarState(_PlainState):
    """MountainCar and MountainCarContinuous: the car's position (of ``state``) is drawn."""


#: last_u kinds in a captured Pendulum state: none yet, a float32, a float64 (or Python float).
_NO_TORQUE, _FLOAT32, _FLOAT64 = 0.0, 1.0, 2.0


class PendulumState(StateRenderer):
    """Pendulum: the angle (of ``state``) and the last torque's arrow (``last_u``).

    Captured as ``[theta, theta_dot, last_u, kind]`` (float64); ``kind`` says whether there was
    a torque and its type, which the arrow's arithmetic depends on.
    """

    def capture(self, env: Any) -> np.ndarray:
        theta, theta_dot = np.asarray(env.state, dtype=np.float64).ravel()[:2]
        torque = env.last_u
        if torque is None:
            return np.array([theta, theta_dot, 0.0, _NO_TORQUE])
        value = np.asarray(torque)
        kind = _FLOAT32 if value.dtype == np.float32 else _FLOAT64
        return np.array([theta, theta_dot, float(value.ravel()[0]), kind])

    def restore(self, env: Any, state: np.ndarray) -> None:
        theta, theta_dot, torque, kind = (float(x) for x in state[:4])
        env.state = np.array([theta, theta_dot])
        if kind == _NO_TORQUE:
            env.last_u = None
        elif kind == _FLOAT32:
            env.last_u = np.float32(torque)
        else:
            env.last_u = np.float64(torque)
