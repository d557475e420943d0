"""Render off the training thread: ship an env's state, draw it in a renderer sidecar.

- :mod:`~cleanrl_worker.fastlane.state_render.registry`: env class -> :class:`StateRenderer`
  (how to capture the state on the training thread, how to draw it elsewhere); users add their
  own with :func:`register`.
- :mod:`~cleanrl_worker.fastlane.state_render.classic_control` and
  :mod:`~cleanrl_worker.fastlane.state_render.mujoco`: the built-in renderers (gymnasium's
  classic-control envs; its MuJoCo envs).
- :mod:`~cleanrl_worker.fastlane.state_render.link`: the worker's side (starts the sidecar,
  answers its state requests, hands it frame publishing).
- :mod:`~cleanrl_worker.fastlane.state_render.sidecar`: the renderer process
  (``python -m cleanrl_worker.fastlane.state_render.sidecar``).
"""

from __future__ import annotations

from cleanrl_worker.fastlane.state_render.registry import (
    EnvDescription,
    StateRenderer,
    register,
    renderer_for,
)

__all__ = ["EnvDescription", "StateRenderer", "register", "renderer_for"]
