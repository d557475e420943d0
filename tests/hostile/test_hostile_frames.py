"""Frames never cost a run: whatever fails on the frame path of a real run (the env's
``render()`` raising or returning no image, the ring refusing a frame, a grid failing), the
script exits 0, every episode of every slot is stored, stderr holds the banner and exactly one
line about frames (naming the slot or the grid, and the cause), and no traceback.

Each test runs tests/support/scripts/frame_fault_agent.py, a CleanRL-style script, with
FASTLANE=1 and an env of tests/support/scripts/render_faults.py. Faults that need frames after
the first (which are rendered only while someone watches) are watched by a reader in the test,
which lets the script finish once the frames line was printed.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import IO

import pytest
from waits import WAIT_S, wait_until
from worker_helpers import SCRIPTS, attach_when_ready, clean_env, segment_exists

from gym_gui_bridge.store.queries import list_episodes, list_runs

pytestmark = pytest.mark.slow  # every test here runs a training script

AGENT = SCRIPTS / "frame_fault_agent.py"
WITH_RING_FAULT = SCRIPTS / "with_ring_fault.py"
EPISODE_LENGTH = 8  # render_faults.EPISODE_LENGTH
FRAMES_LINE = "cannot stream frames"


class Run:
    """The script running in a subprocess; its stderr is read line by line as it comes."""

    def __init__(
        self, tmp_path: Path, run_id: str, env_id: str, *, grid: bool, fault_from: int, args: tuple
    ):
        self.db = tmp_path / "telemetry.sqlite"
        self.stop_file = tmp_path / "stop"
        command = [sys.executable]
        if fault_from:
            command += [str(WITH_RING_FAULT), str(fault_from)]
        command += [str(AGENT), f"--env-id={env_id}", f"--stop-file={self.stop_file}", *args]
        env = clean_env(FASTLANE="1", FASTLANE_RUN_ID=run_id, FASTLANE_DB=str(self.db))
        if grid:
            env["FASTLANE_GRID"] = "2"
        self.proc = subprocess.Popen(
            command,
            env=env,
            cwd=str(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err_lines: list[str] = []
        self.out_lines: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err_lines)),
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out_lines)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str] | None, lines: list[str]) -> None:
        assert stream is not None
        for line in stream:
            lines.append(line.rstrip("\n"))

    def frames_line_printed(self) -> bool:
        return any(FRAMES_LINE in line for line in self.err_lines) or self.proc.poll() is not None

    def finish(self) -> int:
        """Let the script stop; its exit code once its output is all read."""
        self.stop_file.touch()
        code = self.proc.wait(timeout=WAIT_S * 2)
        for reader in self._readers:
            reader.join(timeout=WAIT_S)
        return code


@pytest.fixture
def start(tmp_path, run_id):
    runs: list[Run] = []

    def start_run(env_id: str, *args: str, grid: bool = False, fault_from: int = 0) -> Run:
        runs.append(Run(tmp_path, run_id, env_id, grid=grid, fault_from=fault_from, args=args))
        return runs[-1]

    yield start_run
    for run in runs:  # a failed test must not leave its script running
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(timeout=WAIT_S)


def _watch_until_frames_stop(run: Run, run_id: str) -> None:
    """Watch like a viewer (a reader's heartbeat asks for frames) until the frames line."""
    wait_until(lambda: segment_exists(run_id) or run.proc.poll() is not None, what="the ring")
    assert run.proc.poll() is None, run.err_lines
    reader = attach_when_ready(run_id)
    try:

        def watched_until_stopped() -> bool:
            reader.latest_frame()  # keeps the heartbeat fresh, as a viewer's poll does
            return run.frames_line_printed()

        wait_until(watched_until_stopped, what="the line saying frames stopped")
    finally:
        reader.close()


def _check_run(run: Run, run_id: str, *, says: tuple[str, ...]) -> str:
    """Exit 0, every episode stored, stderr = banner + one frames line (returned)."""
    code = run.finish()
    err = run.err_lines
    assert code == 0, "\n".join(err)
    assert not any("Traceback" in line for line in err), "\n".join(err)
    banner = [line for line in err if line.startswith("cleanrl-fastlane: run ")]
    frames = [line for line in err if FRAMES_LINE in line]
    assert len(banner) == 1 and len(frames) == 1, "\n".join(err)
    assert len(err) == 2, f"unexpected stderr lines: {err}"
    for words in says:
        assert words in frames[0], frames[0]
    # telemetry intact: the store has every episode the script finished, with its return
    printed = [int(n) for n in run.out_lines[-1].split(":")[1].split()]
    with sqlite3.connect(run.db) as conn:
        episodes = list_episodes(conn, run_id)
        runs = {r["run_id"]: r for r in list_runs(conn)}
    assert runs[run_id]["status"] == "finished"
    assert all(e["return"] == e["length"] == EPISODE_LENGTH for e in episodes)
    stored = Counter(e["slot"] for e in episodes)
    assert [stored[slot] for slot in range(len(printed))] == printed
    assert min(printed) > 0
    assert not segment_exists(run_id)
    return frames[0]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ("RaiseAtFirst-v0", ("render() raised RuntimeError: render failed at call 1",)),
        ("ReturnsNone-v0", ("render() returned NoneType, not an image",)),
        ("FloatFrame-v0", ("shape (24, 32, 3) and dtype float64", "uint8 image")),
        ("TwoChannels-v0", ("shape (24, 32, 2) and dtype uint8",)),
        ("NoRenderMode-v0", ("render_mode is None, not 'rgb_array'",)),  # built as asked
    ],
)
def test_a_first_frame_that_fails_stops_frames_and_nothing_else(start, run_id, env, says):
    run = start(f"render_faults:{env}")
    run.stop_file.touch()  # the first frame is rendered at reset, watched or not
    line = _check_run(run, run_id, says=(f"slot 0 ({env})", *says))
    assert line.endswith("training continues without frames")


@pytest.mark.parametrize("vector", ["sync", "async"])
def test_render_raising_later_while_watched_stops_that_slots_frames(start, run_id, vector):
    # with AsyncVectorEnv the slot renders, fails and reports in its own worker process
    run = start("render_faults:RaiseLater-v0", *(["--async-envs"] if vector == "async" else []))
    _watch_until_frames_stop(run, run_id)
    _check_run(
        run, run_id, says=("slot 0", "render() raised RuntimeError: render failed at call 4")
    )


def test_the_ring_refusing_a_frame_stops_frames_and_closes_the_ring(start, run_id):
    run = start("render_faults:Healthy-v0", fault_from=3)
    _watch_until_frames_stop(run, run_id)
    _check_run(
        run,
        run_id,
        says=("slot 0", "publishing into the ring failed (OSError:", "No space left on device"),
    )


def test_a_failing_grid_stops_the_grid_once_for_all_its_tiles(start, run_id):
    # slots 0 and 1 share one grid; its publishing fails from the 4th grid frame on
    run = start("render_faults:Healthy-v0", grid=True, fault_from=4)
    _watch_until_frames_stop(run, run_id)
    _check_run(
        run, run_id, says=("the grid of slots 0..1", "publishing into the ring failed (OSError:")
    )


def test_a_grid_tile_that_stops_rendering_leaves_the_other_tiles_streaming(start, run_id):
    run = start("render_faults:LaterRaiseInSlot1-v0", grid=True)
    _watch_until_frames_stop(run, run_id)
    assert segment_exists(run_id), "the grid's ring closed although slot 0 still renders"
    _check_run(run, run_id, says=("slot 1 (LaterRaiseInSlot1-v0)", "render() raised"))
