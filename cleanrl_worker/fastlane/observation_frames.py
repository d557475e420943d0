"""Draw an observation as an image, for envs that cannot render the watched slot themselves.

A vector env whose slots the hooks cannot build with a render mode (envpool before 1.0, or an
envpool task without a renderer) still hands the script every slot's observation; the fast lane
shows the watched slot's observation instead of a render:

- an image (``H x W``, ``H x W x 1/3/4`` uint8) as it is;
- a channels-first frame stack (``C x H x W`` uint8, C small, as envpool's Atari ``4 x 84 x 84``):
  its newest frame (the last channel, or the last three when the stack is in colour);
- a small discrete observation (an integer state of a ``Discrete(n)`` space, n up to
  :data:`MAX_GRID_CELLS`): a grid of n cells with the current state lit;
- a small vector (up to :data:`MAX_BARS` numbers, e.g. CartPole's 4): one bar per number,
  ``0.5 + 0.5 * tanh(x)`` of the height, so the sign and rough size of each show.

Images smaller than :data:`MIN_EDGE` on their longest edge are scaled up by an integer factor
(nearest neighbour), so an 84 x 84 frame becomes 336 x 336. Anything else returns None.

>>> import numpy as np
>>> stack = np.zeros((4, 84, 84), np.uint8)
>>> observation_frame(stack).shape
(336, 336)
>>> observation_frame(np.int32(5), discrete_n=16).shape
(256, 256, 3)
>>> observation_frame(np.array([0.1, -2.0, 0.0, 3.0], np.float32)).shape
(128, 128, 3)
>>> observation_frame({"a": 1}) is None
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["MAX_BARS", "MAX_GRID_CELLS", "MIN_EDGE", "observation_frame"]

#: Longest edge (pixels) a drawn observation is scaled up to reach: 4 x an 84-pixel Atari frame.
MIN_EDGE = 336
#: Most states a discrete observation may have to be drawn as a grid (a 64 x 64 grid).
MAX_GRID_CELLS = 4096
#: Most numbers a vector observation may have to be drawn as bars.
MAX_BARS = 64
#: Most channels a channels-first frame stack may have (12: four stacked colour frames).
_MAX_STACK = 12
_GRID_EDGE = 256  # pixels of a grid's longest edge (each cell at least 4)
_BAR_HEIGHT = 128  # pixels of the bar chart
_BAR_WIDTH = 32  # pixels per bar
_BACKGROUND, _LINE, _LIT = 24, 72, 230  # grey levels of the drawings


def observation_frame(
    observation: Any, *, discrete_n: int | None = None, color_stack: bool | None = None
) -> np.ndarray | None:
    """The image that shows ``observation``, or None when it cannot be drawn.

    Args:
        observation: one slot's observation.
        discrete_n: states of the observation space when it is ``Discrete(n)``.
        color_stack: whether a channels-first stack holds colour frames (3 channels each);
            None guesses: colour when the channel count is a multiple of 3 and 3 or 12.
    """
    if discrete_n is not None:
        return _grid(observation, discrete_n)
    if not isinstance(observation, np.ndarray):
        return None
    if observation.dtype == np.uint8:
        return _scaled(_image(observation, color_stack))
    numeric = np.issubdtype(observation.dtype, np.number)
    if numeric and observation.ndim == 1 and 0 < observation.size <= MAX_BARS:
        return _bars(observation.astype(np.float64))
    return None


def _image(obs: np.ndarray, color_stack: bool | None) -> np.ndarray | None:
    if obs.ndim == 2:
        return obs
    if obs.ndim != 3:
        return None
    if obs.shape[2] in (1, 3, 4) and obs.shape[0] > _MAX_STACK:
        return obs[:, :, 0] if obs.shape[2] == 1 else obs  # channels last
    channels = obs.shape[0]
    if channels > _MAX_STACK or min(obs.shape[1:]) < 2:
        return None
    if color_stack is None:
        color_stack = channels in (3, 12)
    if color_stack and channels % 3 == 0:
        return np.ascontiguousarray(obs[-3:].transpose(1, 2, 0))
    return obs[-1]


def _scaled(image: np.ndarray | None) -> np.ndarray | None:
    if image is None:
        return None
    longest = max(image.shape[0], image.shape[1])
    factor = MIN_EDGE // longest
    if factor <= 1:
        return image
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def _grid(observation: Any, n: int) -> np.ndarray | None:
    if not 0 < n <= MAX_GRID_CELLS:
        return None
    try:
        state = int(observation)
    except (TypeError, ValueError):
        return None
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    cell = max(4, _GRID_EDGE // cols)
    image = np.full((rows * cell, cols * cell, 3), _BACKGROUND, np.uint8)
    image[::cell, :, :] = _LINE
    image[:, ::cell, :] = _LINE
    if 0 <= state < n:
        top, left = (state // cols) * cell, (state % cols) * cell
        image[top + 1 : top + cell, left + 1 : left + cell, :] = _LIT
    return image


def _bars(values: np.ndarray) -> np.ndarray:
    levels = 0.5 + 0.5 * np.tanh(np.nan_to_num(values))
    width = max(_BAR_WIDTH * len(values), _BAR_HEIGHT)
    bar = width // len(values)
    image = np.full((_BAR_HEIGHT, width, 3), _BACKGROUND, np.uint8)
    image[_BAR_HEIGHT // 2, :, :] = _LINE  # zero
    for k, level in enumerate(levels):
        top = _BAR_HEIGHT - round(float(level) * _BAR_HEIGHT)
        image[top:, k * bar + 1 : (k + 1) * bar - 1, :] = _LIT
    return image
