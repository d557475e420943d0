"""State renderer of gymnasium's MuJoCo envs (``MujocoEnv``: HalfCheetah, Hopper, Walker2d, Ant,
Humanoid, ...).

A MuJoCo picture is a function of the simulation state and the camera: ``qpos`` places the
bodies (``qvel`` and ``time`` are kept so the restored state is the env's whole state as
``set_state`` takes it), ``act`` and the mocap bodies' poses count for models that have them,
and the free camera's ``lookat``/``distance``/``azimuth``/``elevation`` say where the picture
is taken from (gymnasium aims it at the bodies when the env first renders, so the sidecar's
own env would aim elsewhere). The sidecar restores the state with ``set_state(qpos, qvel)``,
which recomputes the body positions (``mj_forward``), and draws with its own model and
OpenGL context.

The sidecar draws the bodies where the step left them. An in-process ``render()`` right after
a step draws the positions MuJoCo computed at the start of the step's last physics substep
(``mj_step`` computes positions, then integrates), one ``model.opt.timestep`` earlier (0.01 s
for HalfCheetah-v5); the same state set with ``set_state`` renders pixel for pixel alike in
both processes.

This module imports neither mujoco nor gymnasium's MuJoCo envs: the sidecar builds its env
(:meth:`MujocoState.make`) after choosing a headless OpenGL backend when ``MUJOCO_GL`` is unset
and there is no display (:func:`~cleanrl_worker.fastlane.render_shims.headless_mujoco_gl`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cleanrl_worker.fastlane.render_shims import headless_mujoco_gl
from cleanrl_worker.fastlane.state_render.registry import EnvDescription, StateRenderer

__all__ = ["MujocoState"]

#: Header of a captured state: time, nq, nv, na, nmocap, has_camera, then the camera's
#: lookat (3), distance, azimuth, elevation.
_HEADER = 12
_CAMERA_AT = 6
#: What :meth:`MujocoState.simplify` turns off (``mujoco.mjtRndFlag`` names).
_EFFECTS = ("mjRND_SHADOW", "mjRND_REFLECTION", "mjRND_SKYBOX")


class MujocoState(StateRenderer):
    """gymnasium's ``MujocoEnv``: ``time``, ``qpos``, ``qvel``, ``act``, mocap poses and the
    ``rgb_array`` camera, as one float64 array.

    Layout: ``[time, nq, nv, na, nmocap, has_camera, lookat(3), distance, azimuth, elevation,
    qpos(nq), qvel(nv), act(na), mocap_pos(3 nmocap), mocap_quat(4 nmocap)]``. HalfCheetah-v5
    takes 30 numbers (240 bytes), Humanoid-v5 59; a model whose state exceeds
    ``STATE_MAX_BYTES`` keeps in-process frames (the wrapper says so when the run starts).
    A frame drawn on the CPU costs tens of milliseconds: the sidecar draws at nice 19, and
    without shadows, reflections and skybox (:meth:`simplify`) when its frames cost more than
    ``FASTLANE_SIDECAR_FRAME_MS``.
    """

    nice = 19

    def capture(self, env: Any) -> np.ndarray:
        model, data = env.model, env.data
        camera = _camera(env, create=False)
        header = np.zeros(_HEADER)
        header[:6] = (data.time, model.nq, model.nv, model.na, model.nmocap, camera is not None)
        if camera is not None:
            header[_CAMERA_AT : _CAMERA_AT + 3] = camera.lookat
            header[_CAMERA_AT + 3 :] = (camera.distance, camera.azimuth, camera.elevation)
        return np.concatenate(
            (
                header,
                data.qpos,
                data.qvel,
                data.act,
                data.mocap_pos.ravel(),
                data.mocap_quat.ravel(),
            )
        )

    def restore(self, env: Any, state: np.ndarray) -> None:
        model, data = env.model, env.data
        sizes = tuple(int(n) for n in state[1:5])
        expected = (model.nq, model.nv, model.na, model.nmocap)
        if sizes != expected:
            raise ValueError(
                f"Expected a state of a model with (nq, nv, na, nmocap) = {expected}, got {sizes}"
            )
        nq, nv, na, nmocap = sizes
        ends = np.cumsum((_HEADER, nq, nv, na, 3 * nmocap, 4 * nmocap))
        qpos, qvel, act, mocap_pos, mocap_quat = np.split(state[: ends[-1]], ends[:-1])[1:]
        data.act[:] = act
        data.mocap_pos[:] = mocap_pos.reshape(nmocap, 3)
        data.mocap_quat[:] = mocap_quat.reshape(nmocap, 4)
        data.time = float(state[0])
        env.set_state(qpos.copy(), qvel.copy())  # recomputes the body positions (mj_forward)
        if state[5]:
            camera = _camera(env, create=True)
            if camera is not None:
                camera.lookat[:] = state[_CAMERA_AT : _CAMERA_AT + 3]
                distance, azimuth, elevation = state[_CAMERA_AT + 3 : _HEADER]
                camera.distance, camera.azimuth, camera.elevation = distance, azimuth, elevation

    def simplify(self, env: Any) -> bool:
        """Drop shadows, reflections and the skybox (the bodies, floor and camera stay): on a
        CPU rasterizer (Mesa's llvmpipe) they are three quarters of a frame's cost."""
        import mujoco

        scene = getattr(_viewer(env, create=True), "scn", None)
        if scene is None:
            return False
        for flag in _EFFECTS:
            scene.flags[getattr(mujoco.mjtRndFlag, flag)] = 0
        return True

    def make(self, description: EnvDescription) -> Any:
        """The sidecar's env, made after choosing a headless OpenGL backend if ``MUJOCO_GL`` is
        unset and there is no display (mujoco is first imported here)."""
        headless_mujoco_gl()
        return super().make(description)


def _camera(env: Any, *, create: bool) -> Any:
    """The ``mjvCamera`` the env's ``rgb_array`` frames are drawn with, or None when the env
    has not rendered yet (``create``: make the viewer, as its first ``render()`` would)."""
    return getattr(_viewer(env, create=create), "cam", None)


def _viewer(env: Any, *, create: bool) -> Any:
    """gymnasium's off-screen viewer of the env's ``rgb_array`` frames, or None when the env
    has not rendered yet (``create``: make it, as the first ``render()`` would)."""
    renderer = getattr(env, "mujoco_renderer", None)
    viewers = getattr(renderer, "_viewers", None)
    if not isinstance(viewers, dict):
        return None
    viewer = viewers.get("rgb_array")
    if viewer is None and create:
        viewer = renderer._get_viewer(render_mode="rgb_array")  # type: ignore[union-attr]
    return viewer
