"""The embedded slow lane: ``start(...) -> Recorder``, the one entry point a run's start calls.

The recorder hands every record to one record sink (:mod:`cleanrl_worker.slowlane.record_sink`).
Without a bridge, a worker stores its own records (``EmbeddedSink``): the training thread
appends each record to a bounded hand-off queue (a :class:`~gym_gui_bridge.bus.feed.DequeFeed`:
a length check and a deque append; no lock, no I/O, no thread to wake), and one background
thread, a :class:`~gym_gui_bridge.store.sink.TelemetryDBSink`, takes what is there when its batch is due
(``DB_SINK_FLUSH_INTERVAL_S``, or sooner when ``DB_SINK_BATCH_SIZE`` records wait) and writes it
to the SQLite file. Several processes may write one file (WAL, busy timeout, idempotent
inserts). With a bridge, the sink is a :class:`~cleanrl_worker.emitter.emitter.BridgeEmitter`
with its own spool per process (``<run_id>.<pid>``). The sink (``sqlite3``, or ``grpc``) is
imported only here, when recording is started. The recorder, its sink and the emitter take
their tunables from the worker's config (``[recorder]``, ``[sink]``, ``[emitter]``), passed down
by the start of the run and carried along when a recorder is pickled into a vector-env worker.

Why no bus and no hand-off thread in the worker: every background wake-up in the training
process takes the GIL from the training thread, and on a busy core it also takes the CPU; an
earlier version (a hand-off thread at 100 Hz publishing to a RunBus whose sink woke per
publish) cost ~7% SPS of examples/ppo.py when pinned to one core, and ~2.3% (against ~1% now)
in the in-run A/B measurement (docs/BENCHMARKS.md, "Slow lane cost on PPO").

Lifecycle (role ``"main"``): ``start`` stores a ``started`` record. On normal exit (atexit), an
uncaught exception (``sys.excepthook``: ``failed``, error text, exit code 1), Ctrl-C
(``KeyboardInterrupt``: ``failed``, exit code 130) and SIGTERM (when the script installed no
handler, SIGTERM becomes ``SystemExit(143)``: ``failed``), everything recorded is flushed and a
``finished`` or ``failed`` record closes the run. ``finished`` has no exit code: a plain
``sys.exit(n)`` is not observable from inside the interpreter. Role ``"child"`` (vector-env
worker processes) records only what its wrappers emit and writes no lifecycle records.

Forked children (AsyncVectorEnv with the fork start method) inherit the parent's recorder:
after the fork the child drops the parent's queue, sink and connection (never closing the
inherited SQLite connection), turns into a ``"child"`` recorder and starts its own sink at its
first record; ``multiprocessing`` finalizers close it when the child exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cleanrl_worker.slowlane.exit_hooks import install_exit_handlers
from cleanrl_worker.slowlane.global_step import GlobalStepClock, VectorStepCount
from gym_gui_bridge import __version__
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.config.slowlane import EmitterConfig, RecorderConfig
from gym_gui_bridge.config.store import SinkConfig
from gym_gui_bridge.logs import (
    LOG_RECORDER_CLOSE_TIMEOUT,
    LOG_RECORDER_RECORDS_DROPPED,
    LOG_WORKER_CONFIG_DURABLE_PATH,
)
from gym_gui_bridge.protocol.records import (
    DEFAULT_AGENT_ID,
    RUN_FAILED,
    RUN_FINISHED,
    RUN_LEVEL_SLOT,
    RUN_STARTED,
    RunRecord,
    ScalarRecord,
    TelemetryEvent,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from cleanrl_worker.slowlane.episodes import EpisodeRecorderWrapper
    from cleanrl_worker.slowlane.record_sink import RecordSink

__all__ = ["STEP_MODES", "Recorder", "current", "start"]

_log = logging.getLogger(__name__)
#: FASTLANE_STEPS values: steps of the watched slot only, of every slot, of none.
STEP_MODES = ("watched", "all", "none")
_recorder: Recorder | None = None
_fork_orphans: list[Any] = []  # a parent's sink objects inherited by fork: never closed here


class Recorder:
    """Hands records to a background writer (SQLite or a bridge). Create it with :func:`start`.

    ``config`` bounds the hand-off queue and the wait at close; ``sink_config`` and
    ``emitter_config`` are given to the writer it starts (SQLite sink or emitter).
    """

    def __init__(
        self,
        run_id: str,
        *,
        db_path: str = DEFAULT_DB_PATH,
        steps: str = "watched",
        watched_slot: int | None = None,
        agent_id: str = DEFAULT_AGENT_ID,
        argv: Sequence[str] | None = None,
        role: str = "main",
        bridge: str | None = None,
        bridge_token: str | None = None,
        config: RecorderConfig = RecorderConfig(),
        sink_config: SinkConfig = SinkConfig(),
        emitter_config: EmitterConfig = EmitterConfig(),
        bridge_tls_ca: str | None = None,
    ) -> None:
        if steps not in STEP_MODES:
            raise ValueError(f"Expected steps in {STEP_MODES}, got {steps!r}")
        if role not in ("main", "child"):
            raise ValueError(f"Expected role 'main' or 'child', got {role!r}")
        self.run_id = run_id
        # absolute now: a script may chdir later, and worker processes open it later
        self.db_path = os.path.abspath(db_path)
        self.steps = steps
        self.watched_slot = watched_slot
        self.agent_id = agent_id
        self.role = role
        #: ``host:port`` of a bridge to ship to instead of ``db_path`` (None: embedded SQLite)
        self.bridge = bridge
        self._bridge_token = bridge_token
        self._bridge_tls_ca = bridge_tls_ca
        self.config, self.sink_config, self.emitter_config = config, sink_config, emitter_config
        self._argv = tuple(sys.argv if argv is None else argv)
        self._open_lock = threading.Lock()  # guards starting the sink once
        # the record sink and its put(); None until opened
        self._sink: RecordSink | None = None
        self._put: Callable[[TelemetryEvent], object] | None = None
        self._run_seq = 0
        self._scalar_seq = 0
        self._failure: tuple[str, int] | None = None  # (error text, exit code)
        self._closed = False
        self._unusable: str | None = None  # why this process cannot record (database error)
        #: records dropped because the database could not be opened or the recorder was
        #: closed (a full hand-off queue counts in the sink's ``dropped``)
        self.discarded = 0
        self._pid = os.getpid()
        self._exit_registered_pid = 0  # the child process whose exit closes this recorder
        #: maps vector steps to the script's global_step (:mod:`.global_step`)
        self.clock = GlobalStepClock(
            self.emit,
            hold_limit=config.global_step_hold,
            announce=self.record_scalar if role == "main" else None,
        )

    # --- what activation calls ------------------------------------------------------------------
    def wrap(
        self,
        env: Any,
        slot: int,
        num_envs: int = 1,
        vector_steps: VectorStepCount | None = None,
        cell: str | None = None,
    ) -> EpisodeRecorderWrapper:
        """Wrap one slot's env (around any FastLaneEnvWrapper) to record it.

        ``vector_steps`` (the slot's count, kept by its
        :class:`~cleanrl_worker.slowlane.episodes.VectorStepCounter`) puts the records on the
        run's global_step clock; in a vector-env worker process ``cell`` is where the main
        process writes how the script counts. Without ``vector_steps`` the wrapper's own steps
        x ``num_envs`` are the global_step.
        """
        from cleanrl_worker.slowlane.episodes import EpisodeRecorderWrapper  # imports gymnasium

        clock = None
        if vector_steps is not None:
            clock = self.clock
            if self.role == "child":
                clock.follow(num_envs, cell)
                self._close_at_exit()  # held records are released at close

        record_steps = self.steps == "all" or (
            self.steps == "watched" and slot == self.watched_slot
        )
        return EpisodeRecorderWrapper(
            env,
            self.emit,
            run_id=self.run_id,
            slot=slot,
            agent_id=self.agent_id,
            record_steps=record_steps,
            num_envs=num_envs,
            vector_steps=vector_steps,
            clock=clock,
        )

    def emit(self, record: TelemetryEvent) -> None:
        """Hand ``record`` to the writer. Never blocks on disk; cheap (a deque append)."""
        put = self._put
        if put is None:
            if not self._closed and self._unusable is None:
                self._open_lazily()
            put = self._put
            if put is None:
                self.discarded += 1
                return
        put(record)

    def record_scalar(self, tag: str, value: float, step: int) -> None:
        """Record one scalar of the run (what the SummaryWriter mirror calls)."""
        seq, self._scalar_seq = self._scalar_seq, self._scalar_seq + 1
        self.emit(
            ScalarRecord(
                run_id=self.run_id,
                slot=RUN_LEVEL_SLOT,
                agent_id=self.agent_id,
                seq=seq,
                wall_time=time.time(),
                tag=tag,
                value=value,
                step=step,
            )
        )
        clock = self.clock
        if not clock.decided:
            clock.observe(tag, step)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything recorded so far is in the database. False on timeout
        (default ``RECORDER_CLOSE_TIMEOUT_S``)."""
        if timeout is None:
            timeout = self.config.close_timeout_s
        return bool(self._sink.flush(timeout)) if self._sink is not None else True

    def close(
        self,
        status: str | None = None,
        error: str | None = None,
        exit_code: int | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Close the run (main role), write everything, stop the threads. Idempotent.

        ``status`` defaults to ``failed`` if a failure was seen (exception, SIGTERM), else
        ``finished``. True if everything was written within ``timeout`` seconds (default
        ``RECORDER_CLOSE_TIMEOUT_S``).
        """
        if timeout is None:
            timeout = self.config.close_timeout_s
        if self._closed or os.getpid() != self._pid:
            return True
        self.clock.settle()  # held records, mapped, before the run's last record
        if self.role == "main":
            _report_scalar_mirror_failures()
            if status is None and self._failure is not None:
                status, error, exit_code = RUN_FAILED, self._failure[0], self._failure[1]
            self._lifecycle(status or RUN_FINISHED, error, exit_code)
        self._closed = True
        self._put = None
        sink = self._sink
        if sink is None:
            return True
        if self.bridge is not None:
            # what the bridge has not acknowledged by then is safe in the disk spool
            timeout = min(timeout, self.emitter_config.close_timeout_s)
        done = sink.close(timeout)
        if sink.dropped:
            _log.error(
                "%s run %s: %d records not stored in %s (a full hand-off queue, or a spool "
                "that could not be written: the lines above name the cause)",
                LOG_RECORDER_RECORDS_DROPPED,
                self.run_id,
                sink.dropped,
                self._destination(),
            )
        if not done:
            _log.error(
                "%s run %s: records still unwritten after %.1f s (%s)",
                LOG_RECORDER_CLOSE_TIMEOUT,
                self.run_id,
                timeout,
                self._destination(),
            )
        return done

    def stats(self) -> dict[str, Any]:
        """``discarded``, ``dropped`` (refused by the sink's full hand-off),
        ``scalar_mirror_failures`` (``add_scalar`` calls not mirrored, when mirroring) and, once
        the sink is open, ``sink``: its own counters (records written, failed batches, queue
        depth)."""
        sink = self._sink
        result: dict[str, Any] = {"discarded": self.discarded, "dropped": 0}
        mirror = sys.modules.get("cleanrl_worker.patches.summary_writer")
        if mirror is not None:
            result["scalar_mirror_failures"] = mirror.mirror_failures()
        if sink is not None:
            result["dropped"] = sink.dropped
            result["sink"] = sink.stats()
        return result

    # --- internals ------------------------------------------------------------------------------
    def _open_lazily(self) -> None:
        """First record of a child process: open the database, or record nothing (logged)."""
        import sqlite3

        from gym_gui_bridge.errors import StoreError

        try:
            self._open()
        except (StoreError, OSError, sqlite3.Error) as error:
            self._unusable = str(error)
            _log.error(
                "%s run %s (pid %d): cannot record into %s: %s; this process records nothing",
                LOG_WORKER_CONFIG_DURABLE_PATH,
                self.run_id,
                os.getpid(),
                self.db_path,
                error,
            )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled into a spawned worker (an env_fn closure), a recorder becomes that process's
        own ``child`` recorder of the same run and database."""
        return (
            _attach,
            (
                self.run_id,
                self.db_path,
                self.steps,
                self.watched_slot,
                self.agent_id,
                self.bridge,
                self._bridge_token,
                self.config,
                self.sink_config,
                self.emitter_config,
                self._bridge_tls_ca,
            ),
        )

    def _open(self) -> None:
        """Start the writer (first record of this process)."""
        with self._open_lock:
            if self._sink is not None:
                return
            pid = os.getpid()
            sink: RecordSink
            if self.bridge is not None:
                from cleanrl_worker.emitter.emitter import BridgeEmitter

                # one spool per process (the script, each spawned vector-env worker)
                sink = BridgeEmitter(
                    self.bridge,
                    self.run_id,
                    token=self._bridge_token,
                    tls_ca=self._bridge_tls_ca,
                    name=f"fastlane-emitter-{pid}",
                    spool_name=f"{self.run_id}.{pid}",
                    config=self.emitter_config,
                )
            else:
                from cleanrl_worker.slowlane.record_sink import EmbeddedSink

                sink = EmbeddedSink(
                    self.db_path,
                    name=f"fastlane-db-sink-{pid}",
                    limit=self.config.buffer_limit,
                    config=self.sink_config,
                )
            self._start_sink(sink)

    def _start_sink(self, sink: RecordSink) -> None:
        """Start ``sink`` and send records to it."""
        sink.start()
        self._sink, self._put = sink, sink.put
        if self.role == "child":
            self._close_at_exit()
        _log.info(
            "%s run %s (%s, pid %d): records go to %s",
            LOG_WORKER_CONFIG_DURABLE_PATH,
            self.run_id,
            self.role,
            os.getpid(),
            self._destination(),
        )

    def _close_at_exit(self) -> None:
        """Child role: close when the process ends. multiprocessing children leave through
        os._exit (no atexit) after running their finalizers; registered at the first record
        (or held record), because multiprocessing clears the finalizers a forked child inherits
        before it runs the child's target."""
        if self._exit_registered_pid == os.getpid():
            return
        self._exit_registered_pid = os.getpid()
        import multiprocessing.util

        multiprocessing.util.Finalize(None, self.close, exitpriority=100)
        atexit.register(self.close)

    def _destination(self) -> str:
        return f"bridge {self.bridge} (spooled)" if self.bridge else self.db_path

    def _lifecycle(
        self, status: str, error: str | None = None, exit_code: int | None = None
    ) -> None:
        seq, self._run_seq = self._run_seq, self._run_seq + 1
        self.emit(
            RunRecord(
                run_id=self.run_id,
                slot=RUN_LEVEL_SLOT,
                agent_id=self.agent_id,
                seq=seq,
                wall_time=time.time(),
                status=status,
                argv=self._argv,
                version=__version__,
                pid=os.getpid(),
                error=error,
                exit_code=exit_code,
            )
        )

    def note_failure(self, error: str, exit_code: int) -> None:
        """Remember why the run is failing; ``close()`` then writes a ``failed`` record."""
        if self._failure is None:
            self._failure = (error, exit_code)

    def _after_fork_in_child(self) -> None:
        _fork_orphans.append(self._sink)  # the parent writes what it had queued
        self._open_lock = threading.Lock()
        self._sink = self._put = None
        self.role = "child"
        self._pid = os.getpid()
        self._failure = None
        self.clock.forget()


def _report_scalar_mirror_failures() -> None:
    """The run's one line (and scalar) about ``add_scalar`` calls that could not be mirrored."""
    mirror = sys.modules.get("cleanrl_worker.patches.summary_writer")
    if mirror is not None:  # imported only when mirroring was installed
        mirror.report_failures()


def current() -> Recorder | None:
    """The recorder :func:`start` created in this process, if any."""
    return _recorder


def start(
    run_id: str,
    *,
    db_path: str = DEFAULT_DB_PATH,
    steps: str = "watched",
    watched_slot: int | None = None,
    agent_id: str = DEFAULT_AGENT_ID,
    argv: Sequence[str] | None = None,
    role: str = "main",
    mirror_scalars: bool = True,
    install_handlers: bool = True,
    bridge: str | None = None,
    bridge_token: str | None = None,
    config: RecorderConfig = RecorderConfig(),
    sink_config: SinkConfig = SinkConfig(),
    emitter_config: EmitterConfig = EmitterConfig(),
    bridge_tls_ca: str | None = None,
) -> Recorder:
    """Start recording this process into the SQLite file ``db_path``; idempotent per process.

    Args:
        run_id: the run's id (the same as the fast lane's).
        db_path: SQLite file (FASTLANE_DB); created with its folder if missing.
        steps: ``watched`` (steps of ``watched_slot`` only), ``all`` or ``none``.
        watched_slot: the fast-lane slot; its steps are recorded in ``watched`` mode.
        agent_id: agent id of every record.
        argv: the script's command line for the ``started`` record (default ``sys.argv``).
        role: ``main`` (the script: lifecycle and scalars) or ``child`` (a spawned vector-env
            worker: only its slots' records).
        mirror_scalars: mirror ``SummaryWriter.add_scalar`` (main role only).
        install_handlers: atexit, ``sys.excepthook`` and, if the script has none, SIGTERM.
        bridge: ``host:port`` of a bridge: records are spooled to disk and shipped there
            (:class:`~cleanrl_worker.emitter.emitter.BridgeEmitter`) instead of written to
            ``db_path``.
        bridge_token: the bridge's shared token, if it asks for one.
        bridge_tls_ca: PEM file of the CA of a TLS bridge's certificate (None: plain text).
        config: the recorder's tunables (``[recorder]``).
        sink_config: the embedded SQLite sink's tunables (``[sink]``).
        emitter_config: the emitter's tunables (``[emitter]``), with ``bridge``.
    """
    global _recorder
    if _recorder is not None and _recorder._pid == os.getpid() and not _recorder._closed:
        return _recorder
    recorder = Recorder(
        run_id,
        db_path=db_path,
        steps=steps,
        watched_slot=watched_slot,
        agent_id=agent_id,
        argv=argv,
        role=role,
        bridge=bridge,
        bridge_token=bridge_token,
        config=config,
        sink_config=sink_config,
        emitter_config=emitter_config,
        bridge_tls_ca=bridge_tls_ca,
    )
    if role == "main":
        try:
            recorder._open()
        except BaseException as error:
            recorder._unusable = str(error)
            _recorder = None  # no recorder in this process: current() says so
            raise
        recorder._lifecycle(RUN_STARTED)
    _recorder = recorder
    os.register_at_fork(after_in_child=recorder._after_fork_in_child)
    if role == "main" and mirror_scalars:
        from cleanrl_worker.patches import summary_writer as scalars

        scalars.install(recorder.record_scalar)
    if install_handlers:
        install_exit_handlers(recorder.close, recorder.note_failure, main=role == "main")
    return recorder


def _attach(
    run_id: str,
    db_path: str,
    steps: str,
    watched_slot: int | None,
    agent_id: str,
    bridge: str | None = None,
    bridge_token: str | None = None,
    config: RecorderConfig = RecorderConfig(),
    sink_config: SinkConfig = SinkConfig(),
    emitter_config: EmitterConfig = EmitterConfig(),
    bridge_tls_ca: str | None = None,
) -> Recorder:
    """This process's recorder of ``run_id``: the current one, or a new ``child`` recorder."""
    existing = _recorder
    usable = existing is not None and not existing._closed and existing._pid == os.getpid()
    if usable and existing is not None and existing.run_id == run_id:
        return existing
    return start(
        run_id,
        db_path=db_path,
        steps=steps,
        watched_slot=watched_slot,
        agent_id=agent_id,
        role="child",
        mirror_scalars=False,
        install_handlers=False,
        bridge=bridge,
        bridge_token=bridge_token,
        config=config,
        sink_config=sink_config,
        emitter_config=emitter_config,
        bridge_tls_ca=bridge_tls_ca,
    )
