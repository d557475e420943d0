"""Old home of the test envs, kept so ids like ``cleanrl_worker.testing_envs:SlotSignal-v0`` work.

Importing it registers the envs of :mod:`cleanrl_worker.testing.envs`, where they live now.
"""

from __future__ import annotations

from cleanrl_worker.testing.envs import *  # noqa: F403
from cleanrl_worker.testing.envs import __all__ as __all__
