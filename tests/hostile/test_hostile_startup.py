"""Start-up faults: what is wrong is said once, in one line, and nothing is half-done.

Each case runs a real process with ``FASTLANE=1`` exported, as a user does: a database file
that is not SQLite, database and spool paths that cannot be written, a slot the vector env
does not have, a run id that already names a finished or failed run (in the database or on a
bridge), and processes that are not training runs at all. Each asserts the exit status, the
exact line on stderr (no banner, no traceback), and which files exist afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bridge_helpers import free_port, start_bridge, stop_bridge
from waits import WAIT_S, wait_until
from worker_helpers import RANDOM_AGENT, clean_env, segment_exists

pytestmark = pytest.mark.slow  # every test here starts processes

PREFIX = "cleanrl-fastlane"
FRAMES_ONLY = "or set FASTLANE_ONLY=1 to train with frames and no telemetry"
DB_FIX = (
    "fix: point FASTLANE_DB at a writable path (a new file, or a cleanrl-fastlane database), "
    + FRAMES_ONLY
)
TAKEN = (
    "a second run under it would mix its records into that run's; choose a new run id "
    "(FASTLANE_RUN_ID or --fastlane-run-id; unset, each run gets a fresh one)"
)
#: the user who cannot write a root-owned folder, when the tests run as root
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _run(
    args: list[str], cwd: Path, *, as_user: list[str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(as_user or []), *args],
        env=clean_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=WAIT_S * 2,
    )


def _agent(cwd: Path, *args: str, as_user: list[str] | None = None, **env: str):
    """``random_agent.py`` (a CleanRL-style script) with ``FASTLANE=1``, 4 envs, 200 steps."""
    return _run(
        [sys.executable, str(RANDOM_AGENT), "--total-timesteps", "200", *args],
        cwd,
        as_user=as_user,
        FASTLANE="1",
        **env,
    )


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert f"{PREFIX}: run " not in result.stderr, "the run's banner was printed"
    assert "done:" not in result.stdout, "the script trained"


def _cli(*args: str, cwd: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "gym_gui_bridge.cli", *args, "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _run_events(db: Path, run_id: str) -> list[tuple[str, int]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:  # closed: no -wal / -shm left open
        query = "SELECT status, pid FROM run_events WHERE run_id = ? ORDER BY seq"
        return [(str(s), int(p)) for s, p in conn.execute(query, (run_id,))]


# --- the database and the spool ------------------------------------------------------------------


def test_a_database_file_that_is_not_sqlite_stops_the_run_before_training(tmp_path, run_id):
    db = tmp_path / "notes.sqlite"
    db.write_text("my notes, not a database\n")
    result = _agent(tmp_path, FASTLANE_DB=str(db), FASTLANE_RUN_ID=run_id)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{PREFIX}: error: cannot record telemetry into {db}: Expected a SQLite database at "
        f"{db}, got file is not a database; {DB_FIX}"
    ]
    _no_traceback(result)
    assert db.read_text() == "my notes, not a database\n"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.sqlite"]
    assert not segment_exists(run_id)


def test_a_database_under_a_file_instead_of_a_folder_stops_the_run(tmp_path, run_id):
    blocker = tmp_path / "results"
    blocker.write_text("a file where a folder should be")
    db = blocker / "fastlane.sqlite"
    result = _agent(tmp_path, "--fastlane-db", str(db), FASTLANE_RUN_ID=run_id)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"{PREFIX}: error: cannot record telemetry into {db}: Expected a writable folder for {db}"
    )
    assert str(blocker) in line.split(", got ", 1)[1]  # the cause names the file in the way
    assert line.endswith(DB_FIX.replace("FASTLANE_DB", "--fastlane-db"))
    _no_traceback(result)
    assert blocker.read_text() == "a file where a folder should be"


@dataclass
class Locked:
    """A folder the test's user-for-the-run can read but not write, and how to run as them."""

    base: Path  # readable by that user; its subfolder ``locked`` is not writable
    locked: Path
    as_user: list[str]


@pytest.fixture
def locked() -> Iterator[Locked]:
    """As root, runs go through ``setpriv`` to uid 65534, which cannot write a root-owned 0555
    folder; as any other user, a 0555 folder of their own is enough."""
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: no second user to run as")
        as_user = NOBODY
    base = Path(tempfile.mkdtemp(prefix="fastlane-locked-"))
    base.chmod(0o755)
    folder = base / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    probe = _run(
        [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"], base, as_user=as_user
    )
    if probe.returncode == 0:
        pytest.skip("this machine lets the run's user write a 0555 folder")
    try:
        yield Locked(base, folder, as_user)
    finally:
        for path in (folder, *folder.rglob("*")):
            path.chmod(0o755)
        shutil.rmtree(base)


def test_a_database_in_an_unwritable_folder_stops_the_run(locked: Locked, run_id: str):
    db = locked.locked / "fastlane.sqlite"
    result = _agent(
        locked.base, as_user=locked.as_user, FASTLANE_DB=str(db), FASTLANE_RUN_ID=run_id
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{PREFIX}: error: cannot record telemetry into {db}: Expected a writable SQLite "
        f"database at {db}, got 'unable to open database file': check that the file and its "
        f"folder exist and are writable by this user; {DB_FIX}"
    ]
    _no_traceback(result)
    assert list(locked.locked.iterdir()) == []


def test_an_unwritable_spool_folder_stops_a_run_that_ships_to_a_bridge(locked: Locked, run_id: str):
    spool = locked.locked / "runs" / "spool"
    locked.locked.chmod(0o755)
    spool.mkdir(parents=True)
    spool.chmod(0o555)
    locked.locked.chmod(0o555)
    bridge = f"127.0.0.1:{free_port()}"  # nothing listens: the run would spool
    result = _agent(
        locked.locked,
        as_user=locked.as_user,
        FASTLANE_BRIDGE=bridge,
        FASTLANE_RUN_ID=run_id,
        HOME=str(locked.base),
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"{PREFIX}: error: cannot spool telemetry for bridge {bridge} under {spool}: "
    )
    assert "Permission denied" in line and f"runs/spool/{run_id}." in line
    assert line.endswith(
        "; fix: start the script from a folder where runs/spool can be created and written, "
        + FRAMES_ONLY
    )
    _no_traceback(result)
    assert list(spool.iterdir()) == []


def test_frames_only_never_opens_the_database(tmp_path, run_id):
    db = tmp_path / "notes.sqlite"
    db.write_text("not a database")
    result = _agent(tmp_path, FASTLANE_DB=str(db), FASTLANE_ONLY="1", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 0, result.stderr
    assert "done: 200 steps" in result.stdout
    assert f"run {run_id}, slot 0," in result.stderr and "no telemetry" in result.stderr
    assert db.read_text() == "not a database"


# --- the vector env ------------------------------------------------------------------------------

NO_SLOT = (
    f"{PREFIX}: error: --fastlane-slot: expected a slot in 0..3 (the script's SyncVectorEnv has "
    "num_envs=4), got 7"
)


def test_a_slot_the_vector_env_does_not_have_is_one_line_and_no_banner(tmp_path, run_id):
    result = _agent(tmp_path, "--fastlane-slot", "7", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [NO_SLOT]
    _no_traceback(result)
    assert list(tmp_path.iterdir()) == []  # no database
    assert not segment_exists(run_id)


def test_a_refused_start_lets_the_scripts_finally_blocks_run(tmp_path, run_id):
    script = tmp_path / "train.py"
    script.write_text(
        "import gymnasium as gym\n"
        "try:\n"
        "    envs = gym.vector.SyncVectorEnv([lambda: gym.make('CartPole-v1')] * 4)\n"
        "    print('training')\n"
        "finally:\n"
        "    print('cleanup ran')\n"
    )
    result = _run(
        [sys.executable, str(script), "--fastlane-slot", "7"],
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
    )
    assert result.returncode == 2
    assert result.stdout == "cleanup ran\n"
    assert result.stderr.splitlines() == [NO_SLOT]


# --- run ids already used ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "status", "code"), [((), "finished", 0), (("--crash-at", "3"), "failed", 1)]
)
def test_a_run_id_of_a_stored_run_is_refused(tmp_path, run_id, first, status, code):
    db = tmp_path / "runs" / "fastlane.sqlite"
    done = _agent(tmp_path, *first, FASTLANE_RUN_ID=run_id)
    assert done.returncode == code, done.stderr
    before = _run_events(db, run_id)
    assert [s for s, _ in before] == ["started", status]
    again = _agent(tmp_path, FASTLANE_RUN_ID=run_id)
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        f"{PREFIX}: error: FASTLANE_RUN_ID: run id {run_id!r} already exists in {db} "
        f"({status}): {TAKEN}"
    ]
    _no_traceback(again)
    assert _run_events(db, run_id) == before  # the first run's records, and only them
    assert sorted(p.name for p in db.parent.iterdir()) == ["fastlane.sqlite"]


def test_a_run_id_the_bridge_holds_is_refused(tmp_path, run_id):
    bridge_db, port = tmp_path / "bridge.sqlite", free_port()
    bridge = start_bridge(bridge_db, port, tmp_path / "bridge-spool")
    address = f"127.0.0.1:{port}"
    try:
        first = _agent(tmp_path, FASTLANE_BRIDGE=address, FASTLANE_RUN_ID=run_id)
        assert first.returncode == 0, first.stderr
        # the bridge is local: the viewer is pointed at the bridge's database
        (banner,) = [
            line for line in first.stderr.splitlines() if line.startswith(f"{PREFIX}: run")
        ]
        assert banner.endswith(f"view with: gym-gui-bridge view {run_id} --db {bridge_db}")
        runs = lambda: _cli("runs", "--db", str(bridge_db), cwd=tmp_path)  # noqa: E731
        wait_until(
            lambda: any(r["run_id"] == run_id and r["status"] == "finished" for r in runs()),
            what="the first run stored as finished by the bridge",
        )
        again = _agent(tmp_path, FASTLANE_BRIDGE=address, FASTLANE_RUN_ID=run_id)
    finally:
        stop_bridge(bridge)
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        f"{PREFIX}: error: FASTLANE_RUN_ID: run id {run_id!r} already exists on bridge "
        f"{address} (finished): {TAKEN}"
    ]
    _no_traceback(again)


# --- processes that are not runs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["-c", "import gymnasium"], ["-m", "pip", "--version"]], ids=["import", "pip"]
)
def test_a_process_that_builds_no_vector_env_leaves_no_trace(tmp_path, run_id, command):
    result = _run(
        [sys.executable, *command],
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "cleanrl-fastlane" not in result.stdout
    assert list(tmp_path.iterdir()) == []  # no runs/, no database, no spool
    assert not segment_exists(run_id)


def test_a_script_that_imports_gymnasium_but_builds_no_vector_env_says_so(tmp_path, run_id):
    script = tmp_path / "evaluate.py"
    script.write_text("import gymnasium as gym\nenv = gym.make('CartPole-v1')\nprint('ok')\n")
    result = _run([sys.executable, str(script)], tmp_path, FASTLANE="1", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 0
    assert result.stdout == "ok\n"
    assert result.stderr.splitlines() == [
        f"{PREFIX}: no run {run_id}: the script built no gymnasium SyncVectorEnv/AsyncVectorEnv "
        "and logged no SummaryWriter scalar; nothing was watched or recorded"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evaluate.py"]


# --- the banner ----------------------------------------------------------------------------------


def test_the_banner_names_the_database_the_viewer_must_read(tmp_path, run_id):
    db = tmp_path / "telemetry" / "mine.sqlite"
    result = _agent(tmp_path, FASTLANE_DB=str(db), FASTLANE_RUN_ID=run_id)
    assert result.returncode == 0, result.stderr
    (banner,) = [line for line in result.stderr.splitlines() if line.startswith(PREFIX)]
    assert banner.endswith(f"view with: gym-gui-bridge view {run_id} --db {db}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = banner.split("view with: gym-gui-bridge view ", 1)[1].split()
    episodes = _cli("episodes", *command, cwd=elsewhere)  # the banner's arguments, another cwd
    assert {e["slot"] for e in episodes} == {0, 1, 2, 3}
