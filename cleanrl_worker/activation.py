"""Turn the fast lane on inside an unmodified training script, at interpreter start.

Called by the ``cleanrl_fastlane.pth`` import line (every Python start in the environment), by
the PEP 829 ``cleanrl_fastlane.start`` entry point on Python 3.15+ (which then skips the
``.pth`` line), by ``cleanrl_worker/sitecustomize.py`` and by ``import cleanrl_worker.auto``.

With ``FASTLANE`` unset and no ``--fastlane*`` flag, :func:`activate` does two environment
lookups and one argv scan and returns: nothing else is imported. When requested it

1. removes every ``--fastlane*`` flag from ``sys.argv`` (the script's parser never sees them),
2. resolves :class:`~cleanrl_worker.settings.model.WorkerSettings` (bad values: one line on
   stderr naming the variable or flag, exit status 2, before the script runs),
3. prepares the run (:func:`cleanrl_worker.run_start.prepare`): hooks ``SyncVectorEnv`` /
   ``AsyncVectorEnv`` (:mod:`cleanrl_worker.patches.vector_env`), ``envpool.make``
   (:mod:`cleanrl_worker.patches.envpool`) and ``SummaryWriter.add_scalar`` so that the
   script's first vector env (or first scalar) starts the run, and watches for vector envs none
   of them can see (:mod:`cleanrl_worker.patches.unhooked`).

Nothing is printed, created or recorded here: a process that never builds a vector env and
never logs a scalar (``pip``, ``python -c 'import gymnasium'``) leaves no trace. The run's
database, its ``started`` record, the exported ``FASTLANE_ACTIVE_PID`` / ``FASTLANE_RUN_ID``
and the one line naming the run come when it starts (:mod:`cleanrl_worker.run_start`).

Calling it again is a no-op, which matters: ``.pth`` lines run twice in some virtualenvs.
"""

from __future__ import annotations

import os
import sys

from cleanrl_worker import settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from cleanrl_worker.settings.model import WorkerSettings

__all__ = ["EXIT_BAD_SETTINGS", "activate", "activate_at_startup", "active_settings"]

#: Exit status for invalid settings (the status argparse/tyro use for usage errors).
EXIT_BAD_SETTINGS = 2
_PREFIX = "cleanrl-fastlane"

_done = False  # set once this process activated, failed, or turned out to be a child
_active: WorkerSettings | None = None


def active_settings() -> WorkerSettings | None:
    """The settings of the active run in this process, or None when the fast lane is off."""
    return _active


def activate_at_startup() -> None:
    """Entry point of the ``.pth`` / ``.start`` / ``sitecustomize`` hooks.

    An exception cannot leave a ``.pth`` line cleanly (``SystemExit`` there is a fatal
    interpreter error), so bad settings are reported here and the process exits directly.
    """
    try:
        activate()
    except SystemExit as stop:
        sys.stderr.flush()
        os._exit(stop.code if isinstance(stop.code, int) else EXIT_BAD_SETTINGS)


def activate(**overrides: Any) -> WorkerSettings | None:
    """Activate the fast lane if this process asked for it; return its settings or None.

    Only the first activation of a process counts: once active (say ``FASTLANE=1`` at start),
    later calls return those settings and ignore ``overrides``.

    Args:
        **overrides: settings given in code, strongest of all sources (e.g. ``slot=2``).

    Raises:
        SystemExit: a setting is invalid (after printing one line naming it on stderr).
    """
    global _done, _active
    if _done:
        return _active
    if settings.is_child_of_active_run() or settings.is_own_tool():
        _done = True
        return None  # the parent's run (its env thunks carry all a child needs), or our CLI
    if not (overrides or settings.requested()):
        if any(arg.startswith("--fastlane") for arg in sys.argv[1:]):
            _strip_or_exit()  # FASTLANE=0 with flags: still keep them from the script
        return None  # not final: a later explicit activate() (cleanrl_worker.auto) may still
    _done = True
    original_argv = list(sys.argv)
    flags = _strip_or_exit()
    try:
        resolved = settings.load_settings(flags, **overrides)
    except settings.SettingsError as error:
        _fail(str(error))
    if not resolved.enabled:
        return None
    from cleanrl_worker import run_start

    run_start.prepare(resolved, original_argv, asked=bool(flags or overrides))
    _active = resolved
    return resolved


def _strip_or_exit() -> dict[str, str]:
    try:
        return settings.strip_fastlane_flags(sys.argv)
    except settings.SettingsError as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    print(f"{_PREFIX}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_BAD_SETTINGS)
