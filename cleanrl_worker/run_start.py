"""A run starts when the script first needs one, not when the interpreter starts.

With ``FASTLANE=1`` exported every Python process runs the start-up hook (``pip``, a REPL, a
``python -c`` one-liner), and most of them never train. So activation
(:mod:`cleanrl_worker.activation`) only prepares a :class:`PendingRun`; the run starts at the
first of

- the script's first ``SyncVectorEnv`` / ``AsyncVectorEnv`` (the vector-env hook calls
  :meth:`PendingRun.start` before any slot is built or any worker process is started), or
- its first ``SummaryWriter.add_scalar`` (unless ``FASTLANE_ONLY``: frames need a vector env).

Starting the run, in order: a run id written by a live process (its fast-lane ring) or already
holding a lifecycle record in the target database or on the bridge is refused; the recorder
opens its database or spool and records ``started``; ``FASTLANE_ACTIVE_PID`` /
``FASTLANE_RUN_ID`` are exported (child processes attach to this run, never start one); one line
on stderr names the run, the watched slot, where telemetry goes and the command that opens the
viewer. Whatever stops a run from starting as asked (a database that is not SQLite, an
unwritable path, a taken run id, a slot the vector env does not have) is one line on stderr and
``SystemExit(2)`` raised where the script called: no traceback, the script's ``finally`` blocks
run, no training step is taken, no file is created.

At exit a started run is closed (``finished`` / ``failed``). A process that looked like a
training run but never started one says so in one line (:meth:`PendingRun.at_exit`); any other
process stays silent.
"""

from __future__ import annotations

import atexit
import os
import shlex
import sys
import threading
from typing import TYPE_CHECKING, Any, NoReturn

from cleanrl_worker import settings as worker_settings

if TYPE_CHECKING:
    from cleanrl_worker.settings.model import WorkerSettings
    from cleanrl_worker.slowlane.recorder import Recorder

__all__ = ["EXIT_REFUSED", "PendingRun", "current", "prepare", "start_recorder"]

#: Exit status when a run cannot start as asked (the status of a usage error, as for settings).
EXIT_REFUSED = 2
_PREFIX = "cleanrl-fastlane"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

_pending: PendingRun | None = None


def current() -> PendingRun | None:
    """This process's pending (or started) run, if activation prepared one."""
    return _pending


def prepare(settings: WorkerSettings, argv: list[str], asked: bool) -> PendingRun:
    """Hook the vector envs and the scalar mirror so that they start the run; nothing else.

    Args:
        settings: the resolved settings of the run.
        argv: the command line as given (``--fastlane-*`` flags included) for the ``started``
            record.
        asked: the command line or code asked for the fast lane explicitly (a ``--fastlane*``
            flag, ``activate(...)`` with settings): such a process that never starts a run says
            so at exit even when it does not look like a training script.
    """
    global _pending
    from cleanrl_worker.patches import envpool, unhooked, vector_env

    run = PendingRun(settings, argv, asked)
    vector_env.install(settings, run=run)
    envpool.install(settings)  # starts the run through current() at the script's first pool
    unhooked.install(settings.run_id, recording=not settings.fastlane_only)
    if not settings.fastlane_only:
        from cleanrl_worker.patches import summary_writer

        summary_writer.install(run.first_scalar)
    atexit.register(run.at_exit)  # early: runs after the script's own atexit functions
    _pending = run
    return run


class PendingRun:
    """The run of this process, started by :meth:`start` at the script's first use of it."""

    def __init__(self, settings: WorkerSettings, argv: list[str], asked: bool) -> None:
        self.settings = settings
        self.argv = list(argv)
        self.asked = asked
        #: ``pending``, then ``started`` or ``refused``
        self.state = "pending"
        self.recorder: Recorder | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()  # guards starting: a vector env and a scalar thread may race

    def start(self) -> Recorder | None:
        """Start the run now unless it is started; return its recorder (None: frames only).

        Raises:
            SystemExit: the run cannot start as asked (after one line on stderr).
        """
        with self._lock:
            if self.state != "pending" or os.getpid() != self._pid:
                return self.recorder if self.state == "started" else None
            return self._start()

    def _start(self) -> Recorder | None:
        s = self.settings
        self._refuse_a_live_run_id()
        viewer_db: str | None = None
        recorder = None
        if not s.fastlane_only:
            viewer_db = self._require_a_new_run_id()
            try:
                recorder = start_recorder(s, self.argv)
            except Exception as error:  # start-up boundary: one line and exit 2, no traceback
                self.refuse(_cannot_record(s, error))
        worker_settings.export_active_run(s.run_id)
        self.state, self.recorder = "started", recorder
        print(_banner(s, recorder, viewer_db), file=sys.stderr, flush=True)
        return recorder

    def refuse(self, message: str) -> NoReturn:
        """Print ``message`` as the run's one error line and stop: ``SystemExit(2)``."""
        self.state = "refused"
        print(f"{_PREFIX}: error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_REFUSED)

    def first_scalar(self, tag: str, value: float, step: int) -> None:
        """The scalar mirror's callback until the run starts: start it, then record."""
        recorder = self.start()
        if recorder is not None:
            recorder.record_scalar(tag, value, step)

    def at_exit(self) -> None:
        """Close a started run; or say in one line why a training script recorded no run."""
        if os.getpid() != self._pid:
            return
        if self.state == "started":
            if self.recorder is not None:
                self.recorder.close()
            return
        if self.state != "pending" or _died_of_an_exception():
            return  # refused (already said), or the traceback says what happened
        from cleanrl_worker.patches import hooked

        if hooked.frames_expected() is False:
            return  # the line naming the vector env the hooks cannot see was said
        why = self._why_no_run()
        if why is not None:
            print(
                f"{_PREFIX}: no run {self.settings.run_id}: {why}; nothing was watched or recorded",
                file=sys.stderr,
                flush=True,
            )

    # --- internals ------------------------------------------------------------------------------
    def _why_no_run(self) -> str | None:
        """Why a process that looks like a training run recorded none; None if it does not.

        It looks like one if a ``--fastlane*`` flag or code asked for the fast lane, or if it
        ran a script file (``python ppo.py``, ``python -m pkg.ppo``; not ``-c``, a console tool
        or a package's ``__main__``) that imported gymnasium.
        """
        script = sys.argv[0] if sys.argv else ""
        ran_a_script = script.endswith(".py") and os.path.basename(script) != "__main__.py"
        gym = "gymnasium" in sys.modules
        if not (self.asked or (ran_a_script and gym)):
            return None
        scalar = "" if self.settings.fastlane_only else " and logged no SummaryWriter scalar"
        if gym:
            return f"the script built no gymnasium SyncVectorEnv/AsyncVectorEnv{scalar}"
        return f"the script never imported gymnasium (no vector env to hook){scalar}"

    def _refuse_a_live_run_id(self) -> None:
        """Refuse a run id whose fast-lane ring another live process writes."""
        from gym_gui_bridge.errors import FastLaneError
        from gym_gui_bridge.fastlane import FastLaneReader, SegmentState

        run_id = self.settings.run_id
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
            self.refuse(
                f"{_run_id_source(self.settings)}: run id {run_id!r} is being written by live "
                f"process {status.writer_pid}; choose another run id"
            )

    def _require_a_new_run_id(self) -> str | None:
        """Refuse a run id the target database or bridge already holds a run of; return the
        database the viewer should read (None: its default is right, or it is not known)."""
        from cleanrl_worker.slowlane import run_ids
        from gym_gui_bridge.errors import StoreError

        s = self.settings
        if s.bridge is not None:
            timeout = s.tunables.recorder.bridge_check_timeout_s
            answer = run_ids.ask_bridge(
                s.bridge, s.bridge_token, s.run_id, timeout, tls_ca=s.bridge_tls_ca
            )
            if answer.status is not None:
                self._refuse_taken(f"on bridge {s.bridge}", answer.status)
            host = s.bridge.rpartition(":")[0]
            local = host in _LOOPBACK and answer.db_path and os.path.isabs(answer.db_path)
            return answer.db_path if local else None
        try:
            status = run_ids.stored_status(
                os.path.abspath(s.db), s.run_id, s.tunables.sink.busy_timeout_s
            )
        except (StoreError, OSError) as error:
            self.refuse(_cannot_record(s, error))
        if status is not None:
            self._refuse_taken(f"in {os.path.abspath(s.db)}", status)
        return os.path.abspath(s.db) if "db" in dict(s.sources) else None

    def _refuse_taken(self, where: str, status: str) -> NoReturn:
        s = self.settings
        self.refuse(
            f"{_run_id_source(s)}: run id {s.run_id!r} already exists {where} ({status}): a "
            "second run under it would mix its records into that run's; choose a new run id "
            "(FASTLANE_RUN_ID or --fastlane-run-id; unset, each run gets a fresh one)"
        )


def start_recorder(settings: WorkerSettings, argv: list[str]) -> Recorder:
    """Start the slow lane's recorder of ``settings``'s run (records ``started``).

    The run's exit handlers (``sys.excepthook``, SIGTERM) are installed; closing it at exit is
    the caller's (:meth:`PendingRun.at_exit`).

    Raises:
        Exception: whatever kept the database or the spool from opening (``StoreError``,
            ``sqlite3.Error``, ``OSError``, ...).
    """
    from cleanrl_worker.slowlane import recorder as slowlane
    from cleanrl_worker.slowlane.exit_hooks import install_exit_handlers

    recorder = slowlane.start(
        settings.run_id,
        db_path=settings.db,
        steps=settings.steps,
        watched_slot=settings.slot,
        argv=argv,
        bridge=settings.bridge,
        bridge_token=settings.bridge_token,
        bridge_tls_ca=settings.bridge_tls_ca,
        install_handlers=False,
        config=settings.tunables.recorder,
        sink_config=settings.tunables.sink,
        emitter_config=settings.tunables.emitter,
    )
    install_exit_handlers(recorder.close, recorder.note_failure, main=True, at_exit=False)
    return recorder


def _run_id_source(settings: WorkerSettings) -> str:
    return dict(settings.sources).get("run_id", "run id")


def _cannot_record(settings: WorkerSettings, error: BaseException) -> str:
    """The one line for a database or spool that cannot be used: the path, the cause, the fix."""
    cause = " ".join(str(error).split()) or type(error).__name__
    frames_only = "or set FASTLANE_ONLY=1 to train with frames and no telemetry"
    if settings.bridge is not None:
        from gym_gui_bridge.config.paths import EMITTER_SPOOL_DIR

        spool = os.path.abspath(EMITTER_SPOOL_DIR)
        return (
            f"cannot spool telemetry for bridge {settings.bridge} under {spool}: {cause}; fix: "
            f"start the script from a folder where {EMITTER_SPOOL_DIR} can be created and "
            f"written, {frames_only}"
        )
    source = dict(settings.sources).get("db", "FASTLANE_DB")
    return (
        f"cannot record telemetry into {os.path.abspath(settings.db)}: {cause}; fix: point "
        f"{source} at a writable path (a new file, or a cleanrl-fastlane database), {frames_only}"
    )


def _died_of_an_exception() -> bool:
    """True at exit after an uncaught exception (Python sets ``sys.last_value`` for it)."""
    return getattr(sys, "last_value", None) is not None


def _banner(settings: WorkerSettings, recorder: Any, viewer_db: str | None) -> str:
    s = settings
    from cleanrl_worker.patches import hooked

    if hooked.current() is None:
        what = "no frames (no vector env the fast lane can hook yet)"
    elif s.video_mode == "grid":
        what = f"grid of slots 0..{s.grid - 1}"
    elif s.video_mode == "off":
        what = "video off"
    else:
        what = f"slot {s.slot}"
    budget = f"<= {s.fps:g} fps and <= {s.budget:.0%} of wall time"
    if recorder is None:
        telemetry = "no telemetry"
    elif s.bridge is not None:
        telemetry = f"telemetry to bridge {s.bridge}"
    else:
        telemetry = f"telemetry to {s.db}"
    view = f"gym-gui-bridge view {s.run_id}"
    if viewer_db is not None:
        view += f" --db {shlex.quote(viewer_db)}"
    frames = "" if hooked.current() is None else f", frames {budget} while watched"
    return f"{_PREFIX}: run {s.run_id}, {what}{frames}; {telemetry}; view with: {view}"
