"""Small gymnasium envs for testing the worker (importing this registers them).

Ids: ``cleanrl_worker.testing:SlotSignal-v0``, ``...:NoRender-v0``, ``...:SlotSignalCrash-v0``
(see :mod:`cleanrl_worker.testing.envs`).
"""

from __future__ import annotations

from cleanrl_worker.testing.envs import *  # noqa: F403
from cleanrl_worker.testing.envs import __all__ as __all__
