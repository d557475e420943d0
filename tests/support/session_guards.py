"""A pytest plugin with two checks for the whole suite (tests/conftest.py registers it).

- **A test that starts a process is marked ``slow``.** The plugin wraps the places a test
  process starts another one (``subprocess.Popen``, ``multiprocessing`` processes, ``os.fork``)
  and records which test did. A test that started one without the ``slow`` marker fails, so
  ``pytest -m "not slow"`` stays a quick loop.
- **Tests leave the user's ``runs/`` alone.** The files under ``runs/`` of the rootdir (the
  checkout) and of the invocation directory are listed (paths, sizes, modification times)
  before and after the session; any difference fails the session, naming what changed.

Standalone use: ``pytest -p session_guards`` with tests/support on ``PYTHONPATH``.
"""

from __future__ import annotations

import multiprocessing.process
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["describe_runs_change", "runs_listing"]

RunsListing = dict[str, tuple[int, int]] | None


class _ChildProcessWatch:
    """Records the child processes started while a test (setup, call or teardown) runs."""

    def __init__(self) -> None:
        self.current: str | None = None  # node id of the running test
        self.started: dict[str, list[str]] = {}  # node id -> what it started
        self._undo: list[Callable[[], None]] = []
        self._fork_hook = False

    def install(self) -> None:
        watch = self
        popen_init = subprocess.Popen.__init__
        process_start = multiprocessing.process.BaseProcess.start

        def recording_popen_init(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
            watch.record(f"subprocess.Popen({args!r})")
            popen_init(self, args, *rest, **kwargs)

        def recording_start(self: multiprocessing.process.BaseProcess) -> None:
            watch.record(f"multiprocessing {type(self).__name__} {self.name}")
            process_start(self)

        subprocess.Popen.__init__ = recording_popen_init  # type: ignore[assignment, method-assign]
        multiprocessing.process.BaseProcess.start = recording_start  # type: ignore[method-assign]
        self._undo = [
            lambda: setattr(subprocess.Popen, "__init__", popen_init),
            lambda: setattr(multiprocessing.process.BaseProcess, "start", process_start),
        ]
        if not self._fork_hook:  # cannot be unregistered: it records only while a test runs
            os.register_at_fork(before=lambda: watch.record("os.fork()"))
            self._fork_hook = True

    def uninstall(self) -> None:
        for undo in self._undo:
            undo()
        self._undo = []

    def record(self, what: str) -> None:
        if self.current is not None:
            self.started.setdefault(self.current, []).append(what)

    def take(self, nodeid: str) -> list[str]:
        """What ``nodeid`` started so far (forgotten afterwards)."""
        return self.started.pop(nodeid, [])


_children = _ChildProcessWatch()
_runs_before: dict[Path, RunsListing] = {}


def runs_listing(folder: Path) -> RunsListing:
    """``{relative path: (size, mtime_ns)}`` of every file under ``folder``; None if absent."""
    if not folder.is_dir():
        return None
    listing = {}
    for path in sorted(folder.rglob("*")):
        try:
            if path.is_file():
                info = path.stat()
                listing[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
        except FileNotFoundError:  # removed while listing
            continue
    return listing


def describe_runs_change(folder: Path, before: RunsListing, after: RunsListing) -> str:
    """``""`` if ``before`` equals ``after``, else what changed under ``folder``, in words."""
    if before == after:
        return ""
    if before is None:
        return f"{folder} did not exist before the tests and does now"
    if after is None:
        return f"{folder} was removed during the tests"
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    parts = [
        f"{label}: {', '.join(paths[:5])}{' ...' if len(paths) > 5 else ''}"
        for label, paths in (("added", added), ("removed", removed), ("changed", changed))
        if paths
    ]
    return f"{folder} changed during the tests ({'; '.join(parts)})"


# --- hooks -----------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: tests that start processes")
    _children.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    _children.uninstall()


def pytest_sessionstart(session: pytest.Session) -> None:
    folders = {session.config.rootpath / "runs", session.config.invocation_params.dir / "runs"}
    for folder in folders:
        _runs_before[folder.resolve()] = runs_listing(folder)


def pytest_sessionfinish(session: pytest.Session) -> None:
    changes = [describe_runs_change(f, b, runs_listing(f)) for f, b in _runs_before.items()]
    changes = [change for change in changes if change]
    if not changes:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "a test wrote outside its temporary folders", red=True)
        for change in changes:
            reporter.write_line(change)
        reporter.write_line(
            "Give every process a test starts a temporary working directory (tmp_path) or an "
            "explicit --db / FASTLANE_DB there. (A run of your own in this folder during the "
            "tests changes runs/ too.)"
        )
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    _children.current = item.nodeid
    try:
        yield
    finally:
        _children.current = None
        _children.take(item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    if call.when == "setup" or item.get_closest_marker("slow") is not None:
        return  # what the setup started is reported with the call
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    started = _children.take(item.nodeid)
    if started and report.passed:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} started {len(started)} child process(es) but is not marked slow "
            f"(mark it @pytest.mark.slow, or its module with pytestmark = pytest.mark.slow); "
            f"the first: {started[0]}"
        )
