"""The in-process picture of an env, as the fast-lane wrapper draws it."""

from __future__ import annotations

from typing import Any

import numpy as np

from cleanrl_worker.fastlane.render_shims import find_shim


def render(env: Any) -> np.ndarray:
    """``render()`` of ``env``'s unwrapped env as the wrapper does it in-process: the env's own,
    or through its known work-around when that raises (Pendulum on gymnasium 0.29.1 + numpy 2)."""
    base = env.unwrapped
    try:
        return base.render()
    except TypeError:
        shim = find_shim(base)
        assert shim is not None
        with shim(base):
            return base.render()


def classic_param(env_id: str) -> Any:
    """``env_id`` as a test parameter; Acrobot runs under gymnasium 1.x only: under 0.29.1 with
    numpy 2 its own ``step()`` fails (``np.float_``), so no run can train it there."""
    import pytest

    if env_id.startswith("Acrobot"):
        return pytest.param(env_id, marks=pytest.mark.gymnasium_line("1"))
    return env_id
