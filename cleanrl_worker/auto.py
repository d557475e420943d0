"""``import cleanrl_worker.auto``: activate the fast lane from code, as the startup hook would.

Put it first in a script (before gymnasium builds its vector envs); it honours the same
variables and ``--fastlane-*`` flags, and does nothing when the fast lane is not requested.
``cleanrl_worker.activation.activate(slot=2, ...)`` is the same with settings given in code.
"""

from __future__ import annotations

from cleanrl_worker.activation import activate

__all__: list[str] = []

activate()
