"""The cost of watching a run: SPS watched / not watched, and the frames a 60 Hz viewer gets.

    python bench/watch_cost.py                                  # CartPole and Pendulum, 5 rounds
    python bench/watch_cost.py cartpole --rounds 9 --total-timesteps 65536
    python bench/watch_cost.py atari --rounds 3
    python bench/watch_cost.py halfcheetah --render-modes default in-process
    python bench/watch_cost.py cartpole --render-modes default in-process   # compare render modes

Each workload is a CleanRL-style PPO script run as users run it (``FASTLANE=1 --fastlane-slot
2``, the slow lane on unless ``--fastlane-only``), one torch thread, in a fresh process per run:

- ``cartpole``: ``examples/ppo.py`` (CleanRL's ``ppo.py`` loop), CartPole-v1, 4 envs.
- ``pendulum``: ``tests/support/scripts/ppo_continuous_pendulum.py`` (``ppo_continuous_action``
  style), Pendulum-v1, 4 envs.
- ``atari``: ``tests/support/scripts/atari_ppo.py`` (``ppo_atari`` style wrapper stack),
  BreakoutNoFrameskip-v4 through ale-py, 4 envs.
- ``halfcheetah``: ``tests/support/scripts/continuous_ppo.py`` (``ppo_continuous_action``
  style), HalfCheetah-v5 through mujoco (the ``mujoco`` extra), 4 envs; MuJoCo renders through
  EGL or OSMesa when there is no display (``MUJOCO_GL``, chosen by the worker if unset).

A round runs each workload *not watched* and *watched* (a reader process polling
``FastLaneReader.latest_frame()`` at 60 Hz, as a viewer does), once per render mode, in an order
that alternates every round, so drift on a shared machine hits both alike. The results are the
paired ratios: watched SPS / not-watched SPS of the same round (median, min-max), the same for
the training process's CPU time per env step (user + system, all its threads, between its
first and last ``global_step=`` lines: steadier than SPS when other jobs load the machine), the
frames per second the reader received while the env stepped (new frames between its first and
its last, over that time), and the reader's own CPU (% of one core). Each run's line also
shows the time its training thread waited, runnable, for a core per env step
(``/proc/PID/schedstat``; also in ``--json-out``) and the load average at its end.

SPS is the script's own ``summary: ... SPS=N`` line when it prints one; otherwise the harness
timestamps the script's ``global_step=N, episodic_return=...`` lines as they are printed and
takes (last N - first N) / (time between them): env steps per second of the training loop,
start-up excluded.

Render modes: ``--render-modes`` lists the modes of the watched runs. ``default`` leaves the
worker's default (a renderer sidecar for envs that have a state renderer, in-process rendering
for the others); ``in-process`` turns the sidecar off through a config file
(``FASTLANE_CONFIG`` with ``[frames] FASTLANE_SIDECAR_FPS = 0``), so the two can be compared in
the same rounds. The report shows the render mode the frames' HUD metrics announced
(``sidecar``, ``in-process``, ``screen``). ``--render-modes unwatched`` adds a second run
nobody watches: its ratios to the first are the spread of two identical runs on this machine.
``full-picture`` keeps the sidecar's full picture however much a frame costs (``[frames]
FASTLANE_SIDECAR_FRAME_MS = 0``; MuJoCo otherwise drops shadows, reflections and skybox).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

import tyro
from bench_helpers import cpu_seconds

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "tests" / "support" / "scripts"
Workload = Literal["cartpole", "pendulum", "atari", "halfcheetah"]
WATCHED_SLOT = 2
NUM_ENVS = 4
DEFAULT_MODE = "default"  # the worker's default: the renderer sidecar where the env has one
IN_PROCESS = "in-process"  # the sidecar turned off by a config file
UNWATCHED = "unwatched"  # a second unwatched run: the spread of two identical runs
FULL_PICTURE = "full-picture"  # the sidecar never simplifies (FASTLANE_SIDECAR_FRAME_MS = 0)
RenderMode = Literal["default", "in-process", "unwatched", "full-picture"]
READER_HZ = 60.0
STEPPING_GAP_S = 0.25  # a longer wait for a frame is a phase without env steps (PPO's update)
READER_ATTACH_TIMEOUT_S = 120.0
READER_EXIT_TIMEOUT_S = 10.0
RUN_TIMEOUT_S = 1800.0
_CLEARED_PREFIXES = ("FASTLANE", "GYM_GUI_", "CLEANRL_")
_SUMMARY = re.compile(r"^summary: .*SPS=(\d+)")
_GLOBAL_STEP = re.compile(r"^global_step=(\d+)")


@dataclass(frozen=True)
class Script:
    path: Path
    args: tuple[str, ...]
    total_timesteps: int  # default per run: ~20-60 s on a quiet 2-core machine


SCRIPTS_BY_WORKLOAD: dict[str, Script] = {
    "cartpole": Script(
        REPO / "examples" / "ppo.py",
        ("--env-id=CartPole-v1", f"--num-envs={NUM_ENVS}", "--num-steps=128"),
        65536,
    ),
    "pendulum": Script(
        SCRIPTS / "ppo_continuous_pendulum.py",
        ("--env-id=Pendulum-v1", f"--num-envs={NUM_ENVS}", "--num-steps=128"),
        65536,
    ),
    "atari": Script(
        SCRIPTS / "atari_ppo.py",
        ("--env-id=BreakoutNoFrameskip-v4", f"--num-envs={NUM_ENVS}", "--num-steps=128"),
        32768,
    ),
    "halfcheetah": Script(
        SCRIPTS / "continuous_ppo.py",
        ("--env-id=HalfCheetah-v5", f"--num-envs={NUM_ENVS}", "--num-steps=128"),
        131072,  # the sidecar needs a few seconds to start (mujoco, the model, a GL context)
    ),
}


@dataclass(frozen=True)
class Args:
    """SPS watched / not watched and a 60 Hz viewer's frame rate, in paired interleaved rounds."""

    workloads: tyro.conf.Positional[tuple[Workload, ...]] = ("cartpole", "pendulum")
    """which PPO runs to measure"""
    rounds: int = 5
    """paired rounds (each: one unwatched run and one watched run per render mode)"""
    total_timesteps: int = 0
    """--total-timesteps of each run (0: the workload's default)"""
    render_modes: tuple[RenderMode, ...] = (DEFAULT_MODE,)
    """render modes of the watched runs: default (the worker's choice), in-process (no sidecar),
    unwatched (nobody watches: a second baseline run, the spread of two identical runs),
    full-picture (the sidecar never simplifies its picture)"""
    first_round: int = 0
    """index of the first round (the order alternates with it: odd rounds run watched first)"""
    fastlane_only: bool = False
    """FASTLANE_ONLY=1 (frames, no slow lane) in every run"""
    reader_nice: int = 0
    """niceness of the 60 Hz reader process (19: it runs only when a core is otherwise idle)"""
    python: str = sys.executable
    """interpreter of the venv to benchmark"""
    json_out: Path | None = None
    """also write the raw results here"""
    reader_run_id: str | None = None
    """internal: act as the 60 Hz viewer of this run id, then exit"""


@dataclass
class Run:
    sps: float
    cpu_us_per_step: float = float("nan")  # training process CPU per env step (loop only)
    wait_us_per_step: float = float("nan")  # its main thread's wait for a core per env step
    frames: int = 0  # new frames the reader received
    fps: float = float("nan")  # their rate between the first and the last
    stepping_fps: float = float("nan")  # their rate while the env steps (update phases left out)
    reader_cpu: float = float("nan")  # the reader's CPU, % of one core, while attached
    render_mode: str = "?"


@dataclass
class Cell:
    runs: dict[int, Run] = field(default_factory=dict)  # round -> run


class RunFailed(RuntimeError):
    pass


def run_reader(run_id: str) -> int:
    """Poll the run's ring at READER_HZ until its writer is gone; print what arrived as JSON."""
    from gym_gui_bridge.errors import FastLaneError
    from gym_gui_bridge.fastlane import FastLaneReader

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = time.monotonic() + READER_ATTACH_TIMEOUT_S
    reader = None
    while reader is None and not stop.is_set() and time.monotonic() < deadline:
        try:
            reader = FastLaneReader.attach(run_id, announce=True)
        except FastLaneError:
            time.sleep(1.0 / READER_HZ)
    stamps: list[float] = []
    attached_at, cpu_at = time.monotonic(), time.process_time()
    period = 1.0 / READER_HZ
    next_tick = time.monotonic()
    mode = "?"
    try:
        while reader is not None and not stop.is_set() and reader.writer_alive():
            frame = reader.latest_frame()
            if frame is not None:
                stamps.append(time.monotonic())
                mode = str(getattr(frame.metrics, "render_mode", mode))
            next_tick += period
            time.sleep(max(0.0, next_tick - time.monotonic()))
    except FastLaneError:
        pass  # the writer went away between two polls
    if reader is not None:
        reader.close()
    elapsed = time.monotonic() - attached_at
    cpu_percent = (time.process_time() - cpu_at) / elapsed * 100 if elapsed > 0 else float("nan")
    # the first frame is the one the ring is created with, before anyone watched
    watched = stamps[1:]
    span = watched[-1] - watched[0] if len(watched) > 1 else 0.0
    fps = (len(watched) - 1) / span if span > 0 else float("nan")
    # while the env steps: PPO's update phases (no steps, so no new frame) are left out
    gaps = [b - a for a, b in itertools.pairwise(watched) if b - a < STEPPING_GAP_S]
    stepping_fps = len(gaps) / sum(gaps) if gaps else float("nan")
    print(
        json.dumps(
            {
                "attached": reader is not None,
                "frames": len(watched),
                "fps": fps,
                "stepping_fps": stepping_fps,
                "render_mode": mode,
                "cpu_percent": cpu_percent,
            }
        )
    )
    return 0


def child_env(args: Args, render_mode: str | None, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED_PREFIXES)}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", FASTLANE="1")
    if args.fastlane_only:
        env["FASTLANE_ONLY"] = "1"
    settings = {
        IN_PROCESS: "FASTLANE_SIDECAR_FPS = 0",
        FULL_PICTURE: "FASTLANE_SIDECAR_FRAME_MS = 0",
    }
    if render_mode in settings:
        config = workdir / f"{render_mode}.toml"
        config.write_text(f"[frames]\n{settings[render_mode]}\n")
        env["FASTLANE_CONFIG"] = str(config)
    return env


def run_once(args: Args, workload: str, render_mode: str | None, workdir: Path, tag: str) -> Run:
    """One training run; ``render_mode`` None: nobody watches."""
    script = SCRIPTS_BY_WORKLOAD[workload]
    steps = args.total_timesteps or script.total_timesteps
    run_id = f"watchcost-{os.getpid()}-{tag}"
    command = [
        args.python,
        str(script.path),
        *script.args,
        f"--total-timesteps={steps}",
        f"--fastlane-slot={WATCHED_SLOT}",
        f"--fastlane-run-id={run_id}",
    ]
    marks: list[tuple[float, int, float, float]] = []
    summary: list[float] = []
    err_path = workdir / f"{run_id}.err"
    with (workdir / f"{run_id}.out").open("w") as out, err_path.open("w") as err:
        child = subprocess.Popen(
            command,
            cwd=workdir,
            env=child_env(args, render_mode, workdir),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        follower = threading.Thread(target=_follow, args=(child, out, marks, summary))
        follower.start()
        reader = None
        if render_mode not in (None, UNWATCHED):
            nice = ["nice", "-n", str(args.reader_nice)] if args.reader_nice else []
            reader = subprocess.Popen(
                [*nice, args.python, __file__, f"--reader-run-id={run_id}"],
                stdout=subprocess.PIPE,
                text=True,
            )
        try:
            child.wait(RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        finally:
            seen = _stop_reader(reader)
            follower.join()
    if child.returncode != 0:
        tail = " | ".join(err_path.read_text().strip().splitlines()[-3:])
        raise RunFailed(f"{workload} exited {child.returncode}: {tail}")
    if summary:
        sps = summary[-1]
    elif len(marks) >= 2 and marks[-1][0] > marks[0][0]:
        sps = (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])
    else:
        raise RunFailed(f"{workload}: no SPS line and fewer than two global_step lines")
    run = Run(sps)
    if len(marks) == 2 and marks[1][1] > marks[0][1]:
        run.cpu_us_per_step = (marks[1][2] - marks[0][2]) / (marks[1][1] - marks[0][1]) * 1e6
        run.wait_us_per_step = (marks[1][3] - marks[0][3]) / (marks[1][1] - marks[0][1]) * 1e6
    if seen is not None:
        if not seen.get("attached") or not seen.get("frames"):
            raise RunFailed(f"{workload}: the reader received no frame of slot {WATCHED_SLOT}")
        run.frames, run.fps = int(seen["frames"]), float(seen["fps"])
        run.stepping_fps = float(seen["stepping_fps"])
        run.render_mode = str(seen["render_mode"])
        run.reader_cpu = float(seen.get("cpu_percent", float("nan")))
    return run


def run_delay(pid: int) -> float:
    """Seconds the main thread of ``pid`` has waited, runnable, for a core
    (``/proc/PID/schedstat``): what a training loop loses to other processes. NaN where the
    kernel keeps no such statistics."""
    try:
        with open(f"/proc/{pid}/schedstat") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def _follow(child: subprocess.Popen[str], out: TextIO, marks: list, summary: list) -> None:
    """Copy the child's stdout, noting the time and the child's CPU seconds at its
    ``global_step=N`` lines as they come (the first and the newest are kept)."""
    assert child.stdout is not None
    for line in child.stdout:
        now = time.monotonic()
        out.write(line)
        if (match := _GLOBAL_STEP.match(line)) is not None:
            try:
                mark = (now, int(match.group(1)), cpu_seconds(child.pid), run_delay(child.pid))
            except OSError:  # the child is gone
                continue
            marks[1:] = [mark] if marks else []
            if not marks:
                marks.append(mark)
        elif (match := _SUMMARY.match(line)) is not None:
            summary.append(float(match.group(1)))


def _stop_reader(reader: subprocess.Popen[str] | None) -> dict | None:
    if reader is None:
        return None
    try:
        stdout, _ = reader.communicate(timeout=READER_EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        reader.terminate()
        stdout, _ = reader.communicate(timeout=READER_EXIT_TIMEOUT_S)
    lines = stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def _spread(values: list[float], digits: int = 3) -> str:
    if not values:
        return "n/a"
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def report(args: Args, cells: dict[tuple[str, str | None], Cell]) -> dict[str, object]:
    """Print one table per workload; return the raw numbers."""
    raw: dict[str, object] = {"command": sys.argv, "rounds": args.rounds}
    print(
        f"\n{'workload':<10}{'watched by':<12}{'runs':>5}{'SPS':>7}{'CPU us/step':>12}"
        "  SPS ratio: median [min, max]  CPU ratio: median [min, max]  viewer fps"
        "  fps while stepping  reader CPU  mode"
    )
    for workload in args.workloads:
        base = cells[(workload, None)].runs
        rows: dict[str, object] = {}
        for mode in (None, *args.render_modes):
            runs = cells[(workload, mode)].runs
            paired = [(r, base[i]) for i, r in runs.items() if i in base]
            ratios = [r.sps / b.sps for r, b in paired]
            cpu = [r.cpu_us_per_step / b.cpu_us_per_step for r, b in paired]
            cpu = [c for c in cpu if c == c]
            fps = [r.fps for r in runs.values() if r.fps == r.fps]
            stepping = [r.stepping_fps for r in runs.values() if r.stepping_fps == r.stepping_fps]
            reader = [r.reader_cpu for r in runs.values() if r.reader_cpu == r.reader_cpu]
            sps = statistics.median(r.sps for r in runs.values()) if runs else 0.0
            own = [
                r.cpu_us_per_step for r in runs.values() if r.cpu_us_per_step == r.cpu_us_per_step
            ]
            label = "nobody" if mode is None else mode
            line = f"{workload:<10}{label:<12}{len(runs):>5}{sps:>7.0f}"
            line += f"{statistics.median(own) if own else float('nan'):>12.1f}"
            if mode is not None:
                line += f"  {_spread(ratios):<28}  {_spread(cpu):<28}  {_spread(fps, 1)}"
                line += f"  {_spread(stepping, 1)}"
                line += f"  {_spread(reader, 1)}%  {','.join(sorted({r.render_mode for r in runs.values()}))}"
            print(line)
            rows[label] = {
                "sps": {i: r.sps for i, r in runs.items()},
                "cpu_us_per_step": {i: r.cpu_us_per_step for i, r in runs.items()},
                "wait_us_per_step": {i: r.wait_us_per_step for i, r in runs.items()},
                "paired_sps_ratios": ratios,
                "paired_cpu_ratios": cpu,
                "viewer_fps": fps,
                "viewer_fps_while_stepping": stepping,
                "reader_cpu_percent": reader,
                "frames": [r.frames for r in runs.values()],
                "render_mode_seen": sorted({r.render_mode for r in runs.values()}),
            }
        raw[workload] = rows
    return raw


def main(args: Args) -> int:
    if args.reader_run_id is not None:
        return run_reader(args.reader_run_id)
    workdir = Path(tempfile.mkdtemp(prefix="watch-cost-"))
    print(f"command: {' '.join(sys.argv)}\npython: {args.python}\nworkdir: {workdir}", flush=True)
    configs: list[str | None] = [None, *args.render_modes]
    cells = {(w, m): Cell() for w in args.workloads for m in configs}
    failed = False
    try:
        for round_index in range(args.first_round, args.first_round + args.rounds):
            for workload in args.workloads:
                order = configs if round_index % 2 == 0 else configs[::-1]
                for mode in order:
                    tag = f"r{round_index}-{workload}-{mode or 'nobody'}"
                    try:
                        run = run_once(args, workload, mode, workdir, tag)
                    except RunFailed as error:
                        print(f"round {round_index} {tag}: FAILED {error}", flush=True)
                        failed = True
                        continue
                    cells[(workload, mode)].runs[round_index] = run
                    extra = (
                        f" frames={run.frames} fps={run.fps:.1f} stepping={run.stepping_fps:.1f}"
                        if mode not in (None, UNWATCHED)
                        else ""
                    )
                    load = os.getloadavg()[0]
                    print(
                        f"round {round_index} {tag}: SPS={run.sps:.0f}{extra} "
                        f"cpu_us/step={run.cpu_us_per_step:.0f} "
                        f"wait_us/step={run.wait_us_per_step:.0f} load={load:.2f}",
                        flush=True,
                    )
        raw = report(args, cells)
        if args.json_out is not None:
            args.json_out.write_text(json.dumps(raw, indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Args)))
