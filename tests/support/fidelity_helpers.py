"""Run a CleanRL-style script as a user does, with and without the fast lane, and compare.

``run_family`` runs a script from tests/support/scripts twice in a temporary folder: once
alone and once with ``FASTLANE=1`` while a reader watches the ring from before training starts
(the scripts wait for a file, ``--wait-for``, right after their first ``envs.reset``). The
fidelity tests then hold the store to what the script itself printed:

- ``printed_episodes``: CleanRL's ``global_step=G, episodic_return=R`` lines, in order;
- ``stored_episodes``: the run's stored episodes as ``(global_step, return)`` in the order the
  script prints them (by global_step, then slot: CleanRL walks the slots in order);
- ``stderr_gained``: the lines the fast-lane run printed on stderr that the run alone did not,
  banner excluded.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from waits import POLL_S
from worker_helpers import SCRIPTS, attach_when_ready, clean_env, watch_until

from gym_gui_bridge.fastlane import FastLaneFrame
from gym_gui_bridge.store.queries import list_episodes, list_scalars, list_steps
from gym_gui_bridge.store.schema import open_reader

__all__ = [
    "FamilyRun",
    "check_episodes",
    "check_fidelity",
    "check_frames",
    "printed_episodes",
    "run_family",
    "stderr_gained",
]

#: What CleanRL prints per finished episode (``r`` is an array of one value on gymnasium 0.29).
EPISODE_LINE = re.compile(r"^global_step=(\d+), episodic_return=\[?\s*([-+0-9.eE]+)\s*\]?$")
#: The start-up line the fast lane adds to stderr (the only one it may add).
BANNER = re.compile(r"^cleanrl-fastlane: run \S+, ")
#: CleanRL's RecordEpisodeStatistics sums float32 rewards on gymnasium 0.29; the store sums
#: float64: they agree to float32's precision.
RETURN_RTOL = 1e-5
RUN_TIMEOUT_S = 240


@dataclass
class FamilyRun:
    """Both runs of one script and what the fast-lane run stored."""

    alone: subprocess.CompletedProcess[str]
    watched: subprocess.CompletedProcess[str]
    first_frame: FastLaneFrame | None
    episodes: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    scalars: list[dict[str, Any]]


def printed_episodes(stdout: str) -> list[tuple[int, float]]:
    """``(global_step, episodic_return)`` of every CleanRL episode line, in printed order."""
    found = []
    for line in stdout.splitlines():
        match = EPISODE_LINE.match(line.strip())
        if match:
            found.append((int(match.group(1)), float(match.group(2))))
    return found


def stored_episodes(episodes: list[dict[str, Any]]) -> list[tuple[int, float]]:
    ordered = sorted(episodes, key=lambda e: (e["global_step"], e["slot"]))
    return [(int(e["global_step"]), float(e["return"])) for e in ordered]


def stderr_gained(alone: str, watched: str) -> list[str]:
    """Lines of ``watched`` that ``alone`` does not have (as a multiset), banner excluded."""
    remaining = alone.splitlines()
    gained = []
    for line in watched.splitlines():
        if BANNER.match(line):
            continue
        if line in remaining:
            remaining.remove(line)
        else:
            gained.append(line)
    return gained


def _python_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # A login session has a private runtime folder; without one, SDL (pygame, which classic
    # control renders with) prints a complaint of its own on the first frame.
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return clean_env(XDG_RUNTIME_DIR=str(runtime), **extra)


def _run_alone(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=str(cwd),
        env=_python_env(cwd),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def _run_watched(
    command: list[str], cwd: Path, run_id: str, db: Path
) -> tuple[subprocess.CompletedProcess[str], FastLaneFrame | None]:
    go = cwd / "go"
    out, err = cwd / "watched.out", cwd / "watched.err"
    env = _python_env(cwd, FASTLANE="1", FASTLANE_RUN_ID=run_id, FASTLANE_DB=str(db))
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [*command, f"--wait-for={go}"], cwd=str(cwd), env=env, stdout=stdout, stderr=stderr
        )
        first = None
        try:
            reader = attach_when_ready(run_id)  # the first reset created the ring
            try:
                first = watch_until(reader, lambda frame: True)
                go.touch()
                # keep watching (the reader's heartbeat) until the script is done
                while proc.poll() is None:
                    reader.latest_frame()
                    time.sleep(POLL_S)
            finally:
                reader.close()
        finally:
            go.touch()
            proc.wait(timeout=RUN_TIMEOUT_S)
    return (
        subprocess.CompletedProcess(command, proc.returncode, out.read_text(), err.read_text()),
        first,
    )


def run_family(script: str, args: list[str], tmp_path: Path, run_id: str) -> FamilyRun:
    """Run ``script`` (a file in tests/support/scripts) alone, then watched with the fast lane."""
    command = [sys.executable, str(SCRIPTS / script), *args]
    alone_dir, watched_dir = tmp_path / "alone", tmp_path / "watched"
    alone_dir.mkdir()
    watched_dir.mkdir()
    alone = _run_alone(command, alone_dir)
    db = tmp_path / "telemetry.sqlite"
    watched, first = _run_watched(command, watched_dir, run_id, db)
    if not db.exists():
        return FamilyRun(alone, watched, first, [], [], [])
    conn = open_reader(db)
    try:
        return FamilyRun(
            alone,
            watched,
            first,
            list_episodes(conn, run_id),
            list_steps(conn, run_id),
            list_scalars(conn, run_id),
        )
    finally:
        conn.close()


def check_fidelity(run: FamilyRun, *, num_envs: int, convention: str) -> None:
    """The store equals what the script printed; frames flowed; stdout is the same as alone,
    stderr gained only the banner."""
    check_episodes(run, num_envs=num_envs, convention=convention)
    check_frames(run)
    # seeded scripts: watching changes nothing they print
    assert run.watched.stdout == run.alone.stdout
    gained = stderr_gained(run.alone.stderr, run.watched.stderr)
    assert gained == [], "\n".join(gained)


def check_episodes(run: FamilyRun, *, num_envs: int, convention: str) -> None:
    """Stored episodes = printed lines (count, global_step, return), every slot, in order; the
    run recorded ``convention`` as the way the script counts global_step."""
    assert run.alone.returncode == 0, run.alone.stderr
    assert run.watched.returncode == 0, run.watched.stderr
    printed = printed_episodes(run.watched.stdout)
    stored = stored_episodes(run.episodes)
    assert printed, "the script printed no episode"
    assert len(stored) == len(printed), (stored, printed)
    assert [g for g, _ in stored] == [g for g, _ in printed], (stored, printed)
    for (_, kept), (_, said) in zip(stored, printed, strict=True):
        assert abs(kept - said) <= RETURN_RTOL * max(1.0, abs(said)), (stored, printed)
    assert {e["slot"] for e in run.episodes} == set(range(num_envs)), "a slot stored nothing"
    for slot in range(num_envs):
        indexes = sorted(e["episode"] for e in run.episodes if e["slot"] == slot)
        assert indexes == list(range(len(indexes))), f"slot {slot}: gaps or duplicates"
    marks = [s["tag"] for s in run.scalars if s["tag"].startswith("fastlane/global_step/")]
    assert marks == [f"fastlane/global_step/{convention}"], marks


def check_frames(run: FamilyRun) -> None:
    """A frame at the first reset, and frames on steps while the reader watched."""
    assert run.first_frame is not None, "no frame at the first reset"
    image = run.first_frame.data
    assert image.ndim == 3 and image.shape[2] == 3 and image.std() > 0, image.shape
    assert any(s["frame_seq"] is not None for s in run.steps), "no frame while watched"
