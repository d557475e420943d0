"""How the fast lane calls `render()`: quietly, quickly, and around envs a library breaks.

A shim changes nothing the env computes. For the length of one ``render()`` call made by the
fast lane it presents one attribute that ``render()`` only draws from in the form the env's
drawing code expects, and puts the original value back afterwards. The wrapper
(:class:`~cleanrl_worker.fastlane.wrapper.FastLaneEnvWrapper`) tries a shim only after the env's
own ``render()`` raised, and keeps using it for that env once it worked; an env that renders
fine never meets one.

It also keeps the first ``render()`` of a pygame-drawn env (classic control, Box2D) quiet on
a machine without a display (:func:`quiet_headless_sdl`), lets a MuJoCo env render there
(:func:`headless_mujoco_gl`), hides the warnings the fast lane's
``render()`` calls raise without disturbing the script's own warnings
(:func:`unshown_warnings`), and reads the finished picture of gymnasium's pygame-drawn envs
in a fraction of the time their own pixel copy takes (:func:`fast_pygame_pixels`).

Known cases:

- **Pendulum under gymnasium 0.29.1 and numpy 2.** ``PendulumEnv.step`` keeps the last torque
  (``last_u``) only for drawing. CleanRL's actions are float32 arrays, so ``last_u`` is a numpy
  float32 scalar (an array when the action has shape ``(1, 1)``). Under numpy 2's promotion rules
  ``scale * np.abs(last_u) / 2`` stays float32, and pygame's ``smoothscale`` refuses it ("size
  must be two numbers"; an array fails converting to a scalar). gymnasium 1.x converts with
  ``float()`` itself. The shim hands ``render()`` ``last_u`` as a Python float: the numbers
  numpy 1 computed with, so the picture is the one gymnasium 0.29.1 draws under numpy 1.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

__all__ = [
    "RenderShim",
    "fast_pygame_pixels",
    "find_shim",
    "headless_mujoco_gl",
    "quiet_headless_sdl",
    "unshown_warnings",
]

#: A shim: given the unwrapped env, a context manager within which ``render()`` works.
RenderShim = Callable[[Any], AbstractContextManager[None]]

_PENDULUM_MODULE = "gymnasium.envs.classic_control.pendulum"
#: Envs of these modules read their picture with ``np.array(pygame.surfarray.pixels3d(s))``
#: and nothing else (checked for every pygame-drawn env gymnasium 0.29.1 and 1.x ship).
_PIXEL_COPY_MODULES = "gymnasium.envs."
#: Any of these set: a display (or a chosen SDL driver) exists, SDL is left alone.
_DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
#: MuJoCo's headless OpenGL backends, cheapest first, with the libraries each loads.
_HEADLESS_GL = (
    ("egl", ("libEGL.so.1", "libEGL.so")),
    ("osmesa", ("libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so")),
)
#: The class gymnasium's MuJoCo envs derive from, as "module:QualName".
_MUJOCO_ENV = "gymnasium.envs.mujoco.mujoco_env:MujocoEnv"


def quiet_headless_sdl() -> bool:
    """Before the fast lane's first ``render()`` in a process: on a machine without a display,
    choose SDL's ``dummy`` video driver. True if it was chosen.

    pygame-drawn envs initialise SDL at their first ``render()``. With neither ``DISPLAY`` nor
    ``WAYLAND_DISPLAY`` set (a server, a container, CI) SDL probes its Wayland driver first, which
    prints ``error: XDG_RUNTIME_DIR is invalid or not set in the environment.`` on stderr, and
    then ends up with no display anyway. The script alone never renders, so that line would be
    the fast lane's. With ``SDL_VIDEODRIVER=dummy`` (set in this process's environment, so also
    in the processes it starts, and only when no display and no SDL driver are set) SDL starts
    with no display directly and prints nothing; ``rgb_array`` frames are drawn the same way.
    This reads the environment outside the worker's settings because it is SDL's variable, not
    a setting of the fast lane.
    """
    if any(os.environ.get(name) for name in _DISPLAY_VARIABLES):
        return False
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    return True


def headless_mujoco_gl(env: Any = None) -> str | None:
    """Before MuJoCo's first ``render()`` in a process: on a machine without a display, with
    ``MUJOCO_GL`` unset, choose a headless OpenGL backend for it. The backend chosen, or None.

    gymnasium's MuJoCo envs read ``MUJOCO_GL`` when they first render; unset, they try GLFW
    first, which needs a display: without one, ``render()`` raises (``mujoco.FatalError``).
    With neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` set, this sets ``MUJOCO_GL=egl`` when EGL's
    library loads (Mesa's EGL renders on the CPU where there is no GPU; the cheaper of the two
    here), else ``MUJOCO_GL=osmesa`` when OSMesa's does (Debian: ``libosmesa6``), else nothing
    (``render()`` then raises and the fast lane reports it). It is set in this process's
    environment, so the processes it starts (the renderer sidecar) draw with the same backend.
    A ``MUJOCO_GL`` the user set is never changed.

    Args:
        env: the unwrapped env about to render; nothing is done unless it is a gymnasium
            ``MujocoEnv`` (None: choose regardless, as the MuJoCo renderer sidecar does).
    """
    if os.environ.get("MUJOCO_GL") or any(os.environ.get(n) for n in _DISPLAY_VARIABLES[:2]):
        return None
    if env is not None and not _is_mujoco_env(env):
        return None
    for backend, libraries in _HEADLESS_GL:
        if any(_loads(library) for library in libraries):
            os.environ["MUJOCO_GL"] = backend
            return backend
    return None


def _is_mujoco_env(env: Any) -> bool:
    return any(f"{c.__module__}:{c.__qualname__}" == _MUJOCO_ENV for c in type(env).__mro__)


def _loads(library: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def unshown_warnings(first: bool) -> Iterator[None]:
    """Within: warnings are not shown. ``first`` (the env's first ``render()``, where
    gymnasium's env checker warns): they are ignored under ``warnings.catch_warnings()``.
    Later calls only swap ``warnings.showwarning`` for the length of the call: entering and
    leaving ``catch_warnings`` marks the process's warning filters as changed, which makes
    Python forget which warnings it has shown once, so a warning the script raises every step
    would be printed again after every frame.
    """
    if first:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
        return
    saved = warnings.showwarning
    warnings.showwarning = _drop_warning
    try:
        yield
    finally:
        warnings.showwarning = saved


def _drop_warning(*args: Any, **kwargs: Any) -> None:
    """A ``warnings.showwarning`` that shows nothing."""


@contextlib.contextmanager
def fast_pygame_pixels(env: Any) -> Iterator[None]:
    """Within: ``pygame.surfarray.pixels3d`` of a 32-bit surface returns the surface's RGB
    pixels laid out so that the copy the env makes of them is one contiguous copy, when ``env``
    (unwrapped) is one of gymnasium's pygame-drawn envs and pygame is imported.

    Those envs end ``render()`` with ``np.array(pygame.surfarray.pixels3d(surface))``: numpy
    copies the ``W x H x 3`` view of the 4-byte pixels three bytes at a time (~0.8 ms of the
    ~1.1 ms CartPole ``render()`` takes here). The same values, read as 32-bit words and
    sorted into channels one plane at a time, cost about a third of that. The frame is pixel for pixel the
    one ``render()`` returns without this; other surfaces and envs are left alone.
    """
    surfarray: Any = sys.modules.get("pygame.surfarray")
    if surfarray is None or not type(env).__module__.startswith(_PIXEL_COPY_MODULES):
        yield
        return
    original = surfarray.pixels3d

    def pixels3d(surface: Any) -> Any:
        if surface.get_bytesize() != 4:
            return original(surface)
        words = np.array(surfarray.pixels2d(surface).T)  # H x W, one contiguous copy
        planes = words.view(np.uint8).reshape(*words.shape, 4)
        rgb = np.empty((*words.shape, 3), np.uint8)
        for channel, shift in enumerate(surface.get_shifts()[:3]):
            rgb[:, :, channel] = planes[:, :, _byte_of(shift)]
        return rgb.transpose(1, 0, 2)  # W x H x 3 as pixels3d; copied as one block

    surfarray.pixels3d = pixels3d
    try:
        yield
    finally:
        surfarray.pixels3d = original


def _byte_of(shift: int) -> int:
    """Index of the byte holding the channel at bit ``shift`` of a native 32-bit word."""
    return shift // 8 if sys.byteorder == "little" else 3 - shift // 8


@contextlib.contextmanager
def _pendulum_torque_as_float(env: Any) -> Iterator[None]:
    saved = env.last_u
    env.last_u = np.asarray(saved).item()  # one element (checked by find_shim): a float
    try:
        yield
    finally:
        env.last_u = saved


def _is_pendulum_with_numpy_torque(env: Any) -> bool:
    module = sys.modules.get(_PENDULUM_MODULE)
    pendulum = getattr(module, "PendulumEnv", None)
    if pendulum is None or not isinstance(env, pendulum):
        return False
    torque = getattr(env, "last_u", None)
    return isinstance(torque, np.generic | np.ndarray) and np.size(torque) == 1


#: (applies to this unwrapped env?, the shim)
_SHIMS: tuple[tuple[Callable[[Any], bool], RenderShim], ...] = (
    (_is_pendulum_with_numpy_torque, _pendulum_torque_as_float),
)


def find_shim(env: Any) -> RenderShim | None:
    """The shim that may let ``env`` (the unwrapped env) render, or None if none applies.

    >>> import gymnasium as gym
    >>> env = gym.make("Pendulum-v1", render_mode="rgb_array")
    >>> _ = env.reset(seed=0)
    >>> _ = env.step(np.array([0.5], dtype=np.float32))
    >>> shim = find_shim(env.unwrapped)
    >>> with shim(env.unwrapped):
    ...     frame = env.render()
    >>> frame.shape, type(env.unwrapped.last_u).__name__
    ((500, 500, 3), 'float32')
    >>> find_shim(gym.make("CartPole-v1").unwrapped) is None
    True
    """
    for applies, shim in _SHIMS:
        if applies(env):
            return shim
    return None
