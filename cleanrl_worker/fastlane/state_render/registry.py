"""Which envs can be drawn from their state in another process, and how.

A :class:`StateRenderer` says, for one family of envs, how to *capture* the state that fully
determines the picture (on the training thread: a small numeric array, a few hundred bytes at
most) and how to *restore* it into a fresh env of the same kind in the renderer sidecar, whose
``render()`` then draws the same picture. Envs are matched by their unwrapped class (and its
base classes), never by id strings alone.

Add your own env family with :func:`register`. The sidecar is a separate Python process that
imports the renderer by its module and class name: define the renderer in an importable module
(not in the training script itself), and make the env importable there too (its
``gymnasium.register`` call runs when that module or the env's package is imported).

>>> import gymnasium as gym
>>> renderer = renderer_for(gym.make("CartPole-v1").unwrapped)
>>> type(renderer).__name__
'CartPoleState'
>>> renderer_for(object()) is None
True
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "EnvDescription",
    "StateRenderer",
    "class_path",
    "load_renderer",
    "register",
    "renderer_for",
]

_STATE_RENDER = "cleanrl_worker.fastlane.state_render"
_BUILTIN = f"{_STATE_RENDER}.classic_control"
_CLASSIC = "gymnasium.envs.classic_control"

#: env class path ("module:QualName") -> renderer class path; built-ins first.
_REGISTRY: dict[str, str] = {
    f"{_CLASSIC}.cartpole:CartPoleEnv": f"{_BUILTIN}:CartPoleState",
    f"{_CLASSIC}.acrobot:AcrobotEnv": f"{_BUILTIN}:AcrobotState",
    f"{_CLASSIC}.mountain_car:MountainCarEnv": f"{_BUILTIN}:MountainCarState",
    f"{_CLASSIC}.continuous_mountain_car:Continuous_MountainCarEnv": f"{_BUILTIN}:MountainCarState",
    f"{_CLASSIC}.pendulum:PendulumEnv": f"{_BUILTIN}:PendulumState",
    "gymnasium.envs.mujoco.mujoco_env:MujocoEnv": f"{_STATE_RENDER}.mujoco:MujocoState",
}


@dataclass(frozen=True)
class EnvDescription:
    """What the sidecar needs to build its own env of the watched kind.

    Args:
        env_id: the id ``gymnasium.make`` was given ("" when the env was not made by id).
        kwargs: the keyword arguments it was made with (render mode left out).
        env_class: the unwrapped env's class as ``"module:QualName"``.
    """

    env_id: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    env_class: str = ""

    @classmethod
    def of(cls, env: Any) -> EnvDescription:
        """Describe ``env`` (the unwrapped env). Raises ``ValueError`` if its make arguments
        cannot be sent to another process (not JSON)."""
        spec = getattr(env, "spec", None)
        env_id = getattr(spec, "id", "") or ""
        kwargs = {k: v for k, v in dict(getattr(spec, "kwargs", None) or {}).items()}
        kwargs.pop("render_mode", None)
        description = cls(env_id, kwargs, class_path(type(env)))
        description.to_json()  # refuse what cannot travel, here and not in the sidecar
        return description

    def to_json(self) -> str:
        try:
            return json.dumps(
                {"env_id": self.env_id, "kwargs": self.kwargs, "env_class": self.env_class}
            )
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"Expected JSON-serializable make() arguments for {self.env_id or self.env_class},"
                f" got {error}"
            ) from None

    @classmethod
    def from_json(cls, text: str) -> EnvDescription:
        data = json.loads(text)
        return cls(str(data["env_id"]), dict(data["kwargs"]), str(data["env_class"]))


class StateRenderer:
    """How to draw one family of envs from a small state. Subclass it in an importable module.

    The sidecar builds its env with :meth:`make`, resets it once, then for each frame calls
    :meth:`restore` with a state :meth:`capture` took on the training thread, and
    ``env.unwrapped.render()``. When its first frames cost more than
    ``FASTLANE_SIDECAR_FRAME_MS`` (median), it calls :meth:`simplify` once.
    """

    #: The sidecar's CPU priority while it draws this family (a nice value, 0-19). 0 suits a
    #: picture of a millisecond or two; a picture of tens of milliseconds (MuJoCo on a CPU)
    #: would take a core from training at 30 frames per second: with 19 the sidecar draws with
    #: the CPU training leaves idle, and on a machine without a spare core it draws fewer
    #: frames instead of slowing training.
    nice: int = 0

    def capture(self, env: Any) -> np.ndarray:
        """The state that determines ``env``'s picture (``env`` is the unwrapped env), as a
        1-D numeric array of at most ``STATE_MAX_BYTES`` (3840) bytes. Runs on the training
        thread, once per frame: keep it a copy of a few numbers."""
        raise NotImplementedError

    def restore(self, env: Any, state: np.ndarray) -> None:
        """Make the sidecar's unwrapped ``env`` draw what the captured env showed."""
        raise NotImplementedError

    def simplify(self, env: Any) -> bool:
        """Draw a cheaper picture with the sidecar's unwrapped ``env`` from now on, because
        its frames cost more than ``FASTLANE_SIDECAR_FRAME_MS``; False when there is none (the
        default: the picture stays as it is)."""
        return False

    def make(self, description: EnvDescription) -> Any:
        """The sidecar's env (``render_mode="rgb_array"``); by default made as the watched one
        was: ``gymnasium.make(env_id, render_mode="rgb_array", **kwargs)``, or the env class
        itself when it was not made by id."""
        import gymnasium

        if description.env_id:
            return gymnasium.make(description.env_id, render_mode="rgb_array", **description.kwargs)
        env_class = _import(description.env_class)
        return env_class(render_mode="rgb_array", **description.kwargs)


def class_path(cls: type) -> str:
    """``"module:QualName"`` of a class.

    >>> class_path(StateRenderer)
    'cleanrl_worker.fastlane.state_render.registry:StateRenderer'
    """
    return f"{cls.__module__}:{cls.__qualname__}"


def register(env_class: type | str, renderer: type[StateRenderer] | str) -> None:
    """Draw envs of ``env_class`` (and its subclasses) from their state with ``renderer``.

    Args:
        env_class: the unwrapped env's class, or its ``"module:QualName"``.
        renderer: a :class:`StateRenderer` subclass defined in an importable module (the
            sidecar imports it by name), or its ``"module:QualName"``.

    Raises:
        ValueError: ``renderer`` is defined in ``__main__`` or is not a StateRenderer.
    """
    env_key = env_class if isinstance(env_class, str) else class_path(env_class)
    if isinstance(renderer, str):
        renderer_key = renderer
    else:
        if not (isinstance(renderer, type) and issubclass(renderer, StateRenderer)):
            raise ValueError(f"Expected a StateRenderer subclass, got {renderer!r}")
        renderer_key = class_path(renderer)
    if renderer_key.startswith("__main__:"):
        raise ValueError(
            f"Expected a renderer defined in an importable module, got {renderer_key} (the "
            f"renderer process cannot import the training script)"
        )
    _REGISTRY[env_key] = renderer_key


def renderer_for(env: Any) -> StateRenderer | None:
    """The renderer registered for ``env``'s class or nearest base class, or None."""
    path = renderer_path(env)
    return None if path is None else load_renderer(path)


def renderer_path(env: Any) -> str | None:
    """``"module:QualName"`` of the renderer registered for ``env``'s class, or None."""
    for cls in type(env).__mro__:
        found = _REGISTRY.get(class_path(cls))
        if found is not None:
            return found
    return None


def load_renderer(path: str) -> StateRenderer:
    """Import and build the renderer ``"module:QualName"``."""
    renderer_class = _import(path)
    if not (isinstance(renderer_class, type) and issubclass(renderer_class, StateRenderer)):
        raise ValueError(f"Expected {path} to be a StateRenderer subclass, got {renderer_class!r}")
    return renderer_class()


def _import(path: str) -> Any:
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise ValueError(f"Expected 'module:QualName', got {path!r}")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target
