"""A script whose vector env no hook can see: one line saying so and what still works, the
script's own output and exit status unchanged, its scalars recorded, no episodes invented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from worker_helpers import SCRIPTS, clean_env

from gym_gui_bridge.store import queries
from gym_gui_bridge.store.schema import open_reader

pytestmark = pytest.mark.slow

SCRIPT = SCRIPTS / "custom_vector_env.py"


def _run(kind: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), f"--kind={kind}", "--exit-code=3"],
        cwd=str(cwd),
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("subclass", "CounterVectorEnv is a vector env the fast lane cannot hook"),
        ("plain", "the script logs scalars, but built no vector env the fast lane can hook"),
    ],
)
def test_one_line_names_what_is_not_seen_and_what_still_works(
    kind: str, subject: str, run_id: str, tmp_path: Path
) -> None:
    alone = _run(kind, tmp_path)
    db = tmp_path / "telemetry.sqlite"
    done = _run(kind, tmp_path, FASTLANE="1", FASTLANE_RUN_ID=run_id, FASTLANE_DB=str(db))
    assert alone.returncode == done.returncode == 3
    assert done.stdout == alone.stdout

    added = done.stderr.splitlines()
    for line in alone.stderr.splitlines():
        added.remove(line)
    assert len(added) == 2, added  # the one line, then the banner (the run starts after it)
    assert added[1].startswith(f"cleanrl-fastlane: run {run_id}, no frames")
    assert added[0] == (
        f"cleanrl-fastlane: {subject} (the hooks see gymnasium's SyncVectorEnv / AsyncVectorEnv "
        f"and envpool.make): run {run_id} gets no frames and no episodes; the script's "
        "add_scalar scalars and the run's start and end are still recorded"
    )

    printed = re.findall(r"episodic_return=([\d.]+)", done.stdout)
    conn = open_reader(db)
    try:
        assert len(queries.list_scalars(conn, run_id)) == len(printed) > 0
        assert queries.list_episodes(conn, run_id) == []
        assert queries.run_status(conn, run_id) == "finished"
    finally:
        conn.close()
