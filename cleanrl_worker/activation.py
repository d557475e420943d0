"""Turn the fast lane on inside an unmodified training script, at interpreter start.

Called by the ``cleanrl_fastlane.pth`` import line (every Python start in the environment), by
the PEP 829 ``cleanrl_fastlane.start`` entry point on Python 3.15+ (which then skips the
``.pth`` line), by ``cleanrl_worker/sitecustomize.py`` and by ``import cleanrl_worker.auto``.

With ``FASTLANE`` unset and no ``--fastlane*`` flag, :func:`activate` does two environment
lookups and one argv scan and returns: nothing else is imported. When requested it

1. removes every ``--fastlane*`` flag from ``sys.argv`` (the script's parser never sees them),
2. resolves :class:`~cleanrl_worker.settings.model.WorkerSettings` (bad values: one line on
   stderr naming the variable or flag, exit status 2, before the script runs),
3. exports ``FASTLANE_ACTIVE_PID`` / ``FASTLANE_RUN_ID`` so child processes (AsyncVectorEnv
   workers, multiprocessing) never start a run of their own,
4. hooks ``SyncVectorEnv`` / ``AsyncVectorEnv`` (see :mod:`cleanrl_worker.patches.vector_env`)
   and ``envpool.make`` (:mod:`cleanrl_worker.patches.envpool`), and watches for vector envs
   none of them can see (:mod:`cleanrl_worker.patches.unhooked`),
5. prints one line on stderr: run id, slot, frame budget and the command that opens the viewer.

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
    _refuse_a_live_run_id(resolved.run_id, dict(resolved.sources).get("run_id", "run id"))
    from cleanrl_worker.patches import envpool, unhooked, vector_env

    settings.export_active_run(resolved.run_id)
    recorder = _start_slow_lane(resolved, original_argv)
    vector_env.install(resolved, recorder)
    envpool.install(resolved, recorder)
    unhooked.install(resolved.run_id, recording=recorder is not None)
    _active = resolved
    print(_banner(resolved, recorder), file=sys.stderr, flush=True)
    return resolved


def _start_slow_lane(resolved: WorkerSettings, argv: list[str]) -> Any:
    """The recorder of the slow lane, or None with FASTLANE_ONLY (frames only).

    A database that cannot be opened is a warning, not a failed run: frames still stream.
    """
    if resolved.fastlane_only:
        return None
    from cleanrl_worker.slowlane import recorder as slowlane
    from gym_gui_bridge.errors import StoreError

    try:
        return slowlane.start(
            resolved.run_id,
            db_path=resolved.db,
            steps=resolved.steps,
            watched_slot=resolved.slot,
            argv=argv,
            bridge=resolved.bridge,
            bridge_token=resolved.bridge_token,
            config=resolved.tunables.recorder,
            sink_config=resolved.tunables.sink,
            emitter_config=resolved.tunables.emitter,
        )
    except StoreError as error:
        print(
            f"{_PREFIX}: warning: telemetry is not recorded: {error}", file=sys.stderr, flush=True
        )
        return None


def _refuse_a_live_run_id(run_id: str, source: str) -> None:
    """Stop now, not at the first reset, if another live process writes this run id."""
    from gym_gui_bridge.errors import FastLaneError
    from gym_gui_bridge.fastlane import FastLaneReader, SegmentState

    try:
        with FastLaneReader.attach(run_id, announce=False) as reader:
            status = reader.status()
    except (FastLaneError, OSError, ValueError):
        return  # no segment, or a broken one the writer will replace
    if (
        status.writer_alive
        and status.state == SegmentState.LIVE
        and status.writer_pid != os.getpid()
    ):
        _fail(
            f"{source}: run id {run_id!r} is being written by live process "
            f"{status.writer_pid}; choose another run id"
        )


def _strip_or_exit() -> dict[str, str]:
    try:
        return settings.strip_fastlane_flags(sys.argv)
    except settings.SettingsError as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    print(f"{_PREFIX}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_BAD_SETTINGS)


def _banner(resolved: WorkerSettings, recorder: Any) -> str:
    if resolved.video_mode == "grid":
        what = f"grid of slots 0..{resolved.grid - 1}"
    elif resolved.video_mode == "off":
        what = "video off"
    else:
        what = f"slot {resolved.slot}"
    budget = f"<= {resolved.fps:g} fps and <= {resolved.budget:.0%} of wall time"
    if recorder is None:
        telemetry = "no telemetry"
    elif resolved.bridge is not None:
        telemetry = f"telemetry to bridge {resolved.bridge}"
    else:
        telemetry = f"telemetry to {resolved.db}"
    return (
        f"{_PREFIX}: run {resolved.run_id}, {what}, frames {budget} while watched; "
        f"{telemetry}; view with: gym-gui-bridge view {resolved.run_id}"
    )
