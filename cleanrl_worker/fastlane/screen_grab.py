"""Frames of emulator envs copied straight from the emulator's screen, no ``render()`` call.

An Atari env (ale-py's ``AtariEnv``, and shimmy's for gymnasium 0.29) keeps its screen in the
emulator: ``ale.getScreenRGB()`` copies it (210 x 160 x 3, about 100 KB) in tens of
microseconds, and it is exactly what the env's ``render()`` returns in ``rgb_array`` mode. The
fast lane takes it directly on the training thread: no wrapper chain, no checker, no warnings
filter, and the frame says ``screen`` in the HUD. It still runs only while watched and under
the frame budget; at this cost the budget's fps cap is what limits it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["ScreenGrab", "screen_grab"]

#: Copies the current screen: an ``H x W x 3`` uint8 image.
ScreenGrab = Callable[[], np.ndarray]


def screen_grab(env: Any) -> ScreenGrab | None:
    """The screen copy of ``env`` (the unwrapped env) when it is an emulator env rendering
    ``rgb_array``, else None.

    >>> screen_grab(object()) is None
    True
    """
    if getattr(env, "render_mode", None) != "rgb_array":
        return None
    ale = getattr(env, "ale", None)
    grab = getattr(ale, "getScreenRGB", None)
    if not callable(grab):
        return None
    return grab
