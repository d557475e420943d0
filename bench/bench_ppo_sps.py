"""SPS of examples/ppo.py (CartPole, 4 envs, OMP_NUM_THREADS=1) under the fast-lane modes.

    python bench/bench_ppo_sps.py baseline unset              # works on any branch
    python bench/bench_ppo_sps.py baseline unset off on watched fastlane-only bridge --rounds 7
    python bench/bench_ppo_sps.py fastlane-only on bridge --concurrent --rounds 8

Every run is a fresh subprocess; the modes run in interleaved rounds (the order rotates each
round) so drift on a shared machine hits every mode alike. Reports per-mode median SPS, min/max,
spread ((max - min) / median), the ratio of its median to the first mode's (the baseline), and
the median of the same-round ratios (mode / baseline within one round: robust to slow drift).
SPS is the script's own ``summary: ... SPS=N`` (env steps per second of the training loop,
interpreter start-up excluded); wall seconds of the whole process are shown too. The harness
also reads the training process's CPU time (user + system, all its threads, /proc/PID/stat)
when iteration 1 reports and when the summary comes, and reports CPU microseconds per env step
of the training loop: much less sensitive to other load on the machine than SPS, and it counts
the slow lane's background threads in full (what they would cost a saturated machine).

``--concurrent`` measures differently, for costs smaller than the run-to-run noise of this
shared machine (5-25% between sequential runs): the baseline and a mode run *at the same time*,
each pinned to its own core (swapped every round), so both see the same machine load; the
ratio of the two SPS of one pair is the measurement, and the baseline paired with itself gives
the noise floor. Pinning confines a mode's background threads (recording, shipping) to the
training process's own core, so a cost measured this way is an upper bound of the cost on an
otherwise idle 2-core machine.

Modes (environment of the child; ``FASTLANE*`` / ``GYM_GUI_*`` / ``CLEANRL_*`` are cleared first):

- ``baseline``: the hook cannot run. ``python -S`` skips ``site``, so no ``.pth`` file in
  site-packages is processed; site-packages is put on ``PYTHONPATH`` so torch is still found.
  A probe checks both before measuring (no ``.pth`` path on ``sys.path``, no ``.pth`` import
  executed, ``torch`` importable).
- ``unset``: package installed, FASTLANE unset. ``off``: ``FASTLANE=0``.
- ``on``: ``FASTLANE=1 --fastlane-slot 2 --fastlane-run-id <id>``, nobody watching: the fast
  lane plus the default slow lane (every episode, slot 2's steps and the scalars into SQLite).
- ``fastlane-only``: as ``on`` with ``FASTLANE_ONLY=1``: frames only, no slow lane.
- ``watched``: as ``fastlane-only``, plus a reader process polling ``latest_frame()`` at 60 Hz
  like a viewer (the fast lane's cost while someone watches).
- ``bridge``: as ``on`` with ``FASTLANE_BRIDGE`` set: records are spooled and shipped to a
  ``gym-gui-bridge serve`` the harness runs on this machine for the whole benchmark.

Each mode first runs a short preflight; a mode that cannot work (for example no activation hook
installed, so the script's parser rejects ``--fastlane-slot``, or no segment ever appears) is
reported as unavailable with the reason, and the exit status is 3. Exit 0: all modes measured.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

import tyro
from bench_helpers import cpu_seconds, free_port

from gym_gui_bridge.fastlane import create_fastlane_name

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "ppo.py"
Mode = Literal["baseline", "unset", "off", "on", "watched", "fastlane-only", "bridge"]
FASTLANE_MODES = ("on", "watched", "fastlane-only", "bridge")
BRIDGE_START_TIMEOUT_S = 60.0  # the harness's bridge must listen within this time
_bridge_address: list[str] = []  # set while the harness runs its bridge (mode "bridge")
WATCHED_SLOT = 2  # the slot the fast-lane modes watch
NUM_ENVS = 4  # CleanRL's default, and the benchmark setting
NUM_STEPS = 128  # CleanRL's default rollout length per env and iteration
DEFAULT_TOTAL_TIMESTEPS = 98304  # 192 iterations of 4 x 128: ~25-60 s per run on this machine
PREFLIGHT_TIMESTEPS = 4096  # enough for a segment to appear, short enough to be cheap
RUN_TIMEOUT_S = 900  # one measured run; a hung child is killed and reported
POLL_INTERVAL_S = 0.5  # how often the harness checks the child and its segment
READER_HZ = 60.0  # a viewer's poll rate
READER_ATTACH_TIMEOUT_S = 60.0  # the reader gives up if no segment appears in this time
READER_EXIT_TIMEOUT_S = 5.0  # the reader should notice the writer is gone within this
SHM_DIR = Path("/dev/shm")  # Linux keeps POSIX shared-memory names as files here
EXIT_MODE_UNAVAILABLE = 3
PREFLIGHT_ROUND = -1  # round index of the short check run of each mode
_SUMMARY = re.compile(r"^summary: episodes=(\d+) .*SPS=(\d+)", re.M)
_CLEARED_PREFIXES = ("FASTLANE", "GYM_GUI_", "CLEANRL_")

_PROBE = r"""
import json, re, sys, sysconfig
report = {"no_site": sys.flags.no_site, "pth_paths_on_sys_path": [], "pth_imports_done": []}
site_dir = sysconfig.get_paths()["purelib"]
import os
for name in sorted(os.listdir(site_dir)):
    if not name.endswith(".pth"):
        continue
    for line in open(os.path.join(site_dir, name), encoding="utf-8").read().splitlines():
        line = line.strip()
        if line.startswith(("import ", "import\t")):
            for module in re.findall(r"__import__\('([\w.]+)'\)|^import\s+([\w.]+)", line):
                module = module[0] or module[1]
                top = module.split(".")[0]
                if module in sys.modules and top not in sys.stdlib_module_names:
                    report["pth_imports_done"].append(f"{name}: {module}")
        elif line and not line.startswith("#") and line in sys.path:
            report["pth_paths_on_sys_path"].append(f"{name}: {line}")
report["cleanrl_worker_loaded"] = sorted(m for m in sys.modules if m.startswith("cleanrl_worker"))
import torch
report["torch"] = torch.__version__
print(json.dumps(report))
"""


@dataclass(frozen=True)
class Args:
    """Benchmark examples/ppo.py SPS across fast-lane modes, in interleaved rounds."""

    modes: tyro.conf.Positional[tuple[Mode, ...]] = ("baseline", "unset")
    """modes to measure; the first is the baseline of the ratios"""
    rounds: int = 5
    """interleaved rounds (one run per mode per round)"""
    total_timesteps: int = DEFAULT_TOTAL_TIMESTEPS
    """--total-timesteps of each measured run"""
    python: str = sys.executable
    """interpreter of the venv to benchmark"""
    json_out: Path | None = None
    """also write the raw results here as JSON"""
    concurrent: bool = False
    """run each mode *at the same time* as the baseline, each process pinned to its own core
    (swapped every round), and report mode / baseline of each simultaneous pair; the baseline
    is also paired with itself (the A/A control that shows the noise floor). Needs 2 cores"""
    reader_run_id: str | None = None
    """internal: act as the 60 Hz viewer of this run id, then exit"""


class ModeUnavailable(RuntimeError):
    """A mode cannot run in this checkout or interpreter (message says why)."""


@dataclass
class RunResult:
    round_index: int
    sps: int
    wall_s: float
    frames_seen: int = 0
    cpu_us_per_step: float = float("nan")  # training process CPU per env step (loop only)


@dataclass
class ModeStats:
    results: list[RunResult] = field(default_factory=list)
    unavailable: str = ""


def child_env(mode: Mode, python: str) -> tuple[list[str], dict[str, str]]:
    """Interpreter command prefix and environment of one mode's child."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED_PREFIXES)}
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # the harness reads the progress lines as they are printed
    if mode == "baseline":
        site_dir = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        env["PYTHONPATH"] = site_dir
        return [python, "-S"], env
    if mode == "off":
        env["FASTLANE"] = "0"
    elif mode in FASTLANE_MODES:
        env["FASTLANE"] = "1"
        if mode in ("fastlane-only", "watched"):
            env["FASTLANE_ONLY"] = "1"
        if mode == "bridge":
            if not _bridge_address:
                raise ModeUnavailable("the harness's bridge is not running")
            env["FASTLANE_BRIDGE"] = _bridge_address[0]
    return [python], env


def start_bridge(python: str, workdir: Path) -> subprocess.Popen[bytes]:
    """``gym-gui-bridge serve`` on a free loopback port, for the ``bridge`` mode."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            python,
            "-m",
            "gym_gui_bridge.cli",
            "serve",
            "--db",
            str(workdir / "bridge.sqlite"),
            "--listen",
            address,
            "--spool-dir",
            str(workdir / "bridge-spool"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "bridge.log").open("wb"),
    )
    deadline = time.monotonic() + BRIDGE_START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                _bridge_address[:] = [address]
                return proc
        time.sleep(0.1)
    proc.kill()
    raise ModeUnavailable(f"gym-gui-bridge serve did not listen on {address}")


def probe_pth_effects(mode: Mode, python: str) -> dict[str, object]:
    """Which ``.pth`` effects (paths added, non-stdlib imports done) a mode's interpreter shows."""
    command, env = child_env(mode, python)
    done = subprocess.run(
        [*command, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    if done.returncode != 0:
        raise ModeUnavailable(f"{mode} probe failed (torch not found?): {done.stderr.strip()}")
    report: dict[str, object] = json.loads(done.stdout)
    return report


def check_baseline_skips_pth(python: str) -> None:
    """Raise unless the baseline interpreter shows no ``.pth`` effect; print a control too."""
    report = probe_pth_effects("baseline", python)
    print(f"probe, baseline (python -S): {report}")
    print(f"probe, control (normal start): {probe_pth_effects('unset', python)}")
    leaks = [report["pth_paths_on_sys_path"], report["pth_imports_done"]]
    if report["no_site"] != 1 or any(leaks) or report["cleanrl_worker_loaded"]:
        raise ModeUnavailable(f"baseline still processes .pth files: {report}")


def run_reader(run_id: str) -> int:
    """The ``watched`` mode's viewer: poll ``latest_frame()`` at READER_HZ until the writer ends."""
    from gym_gui_bridge.errors import FastLaneNotFoundError
    from gym_gui_bridge.fastlane import FastLaneReader

    stop = False

    def _on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_term)
    deadline = time.monotonic() + READER_ATTACH_TIMEOUT_S
    reader = None
    while reader is None and not stop and time.monotonic() < deadline:
        try:
            reader = FastLaneReader.attach(run_id, announce=True)
        except FastLaneNotFoundError:
            time.sleep(1.0 / READER_HZ)
    frames = polls = 0
    period = 1.0 / READER_HZ
    next_tick = time.monotonic()
    while reader is not None and not stop and reader.writer_alive():
        polls += 1
        if reader.latest_frame() is not None:
            frames += 1
        next_tick += period
        time.sleep(max(0.0, next_tick - time.monotonic()))
    if reader is not None:
        reader.close()
    print(json.dumps({"attached": reader is not None, "frames": frames, "polls": polls}))
    return 0


def _explain_failure(mode: Mode, returncode: int, stderr: str) -> str:
    tail = stderr.strip().splitlines()[-3:]
    if mode in FASTLANE_MODES and returncode == 2 and "fastlane" in stderr:
        return (
            "examples/ppo.py's parser rejected --fastlane-* (exit 2): the fast-lane activation "
            "hook (the .pth start-up line) is not installed in this interpreter"
        )
    return f"exit {returncode}: {' | '.join(tail)}"


def run_once(
    args: Args,
    mode: Mode,
    timesteps: int,
    workdir: Path,
    round_index: int,
    core: int | None = None,
    label: str = "",
) -> RunResult:
    """One child run of ``mode`` (pinned to ``core`` if given: its threads included); raises
    ModeUnavailable if it cannot work."""
    command, env = child_env(mode, args.python)
    tag = (f"r{round_index}" if round_index >= 0 else "preflight") + label
    run_id = f"bench-sps-{os.getpid()}-{tag}-{mode}"
    script_args = [
        f"--total-timesteps={timesteps}",
        f"--num-envs={NUM_ENVS}",
        f"--num-steps={NUM_STEPS}",
    ]
    if mode in FASTLANE_MODES:
        script_args += [f"--fastlane-slot={WATCHED_SLOT}", f"--fastlane-run-id={run_id}"]
    segment = SHM_DIR / create_fastlane_name(run_id)
    out_path, err_path = workdir / f"{run_id}.out", workdir / f"{run_id}.err"
    marks: dict[str, float] = {}
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.monotonic()
        child = subprocess.Popen(
            [*command, str(SCRIPT), *script_args],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            preexec_fn=None if core is None else lambda: os.sched_setaffinity(0, {core}),
        )
        follower = threading.Thread(target=_follow, args=(child, out, marks), daemon=True)
        follower.start()
        reader = None
        if mode == "watched":
            reader = subprocess.Popen(
                [args.python, __file__, f"--reader-run-id={run_id}"],
                stdout=subprocess.PIPE,
                text=True,
            )
        segment_seen = False
        try:
            while child.poll() is None:
                segment_seen = segment_seen or segment.exists()
                if time.monotonic() - started > RUN_TIMEOUT_S:
                    child.kill()
                    raise ModeUnavailable(f"run exceeded {RUN_TIMEOUT_S} s and was killed")
                time.sleep(POLL_INTERVAL_S)
            wall_s = time.monotonic() - started
        finally:
            frames = _stop_reader(reader)
            follower.join(RUN_TIMEOUT_S)
    stdout, stderr = out_path.read_text(), err_path.read_text()
    if child.returncode != 0:
        raise ModeUnavailable(_explain_failure(mode, child.returncode, stderr))
    summary = _SUMMARY.search(stdout)
    if summary is None:
        raise ModeUnavailable(f"no 'summary: ... SPS=' line in the output of {run_id}")
    if mode in FASTLANE_MODES and not segment_seen:
        raise ModeUnavailable(
            f"FASTLANE=1 but no segment {segment.name} appeared: the fast lane did not activate"
        )
    if mode == "watched" and frames <= 0:
        raise ModeUnavailable("the reader attached but received no frame from slot 2")
    cpu_steps = timesteps - NUM_ENVS * NUM_STEPS  # from the end of iteration 1 to the summary
    cpu_us = (marks["last"] - marks["first"]) / cpu_steps * 1e6 if len(marks) == 2 else math.nan
    return RunResult(
        round_index, int(summary.group(2)), wall_s, frames_seen=frames, cpu_us_per_step=cpu_us
    )


def _follow(child: subprocess.Popen[str], out: TextIO, marks: dict[str, float]) -> None:
    """Copy the child's stdout (unbuffered) to ``out``; note its CPU time when iteration 1
    reports (``first``) and when the summary line comes (``last``): the training loop's CPU."""
    assert child.stdout is not None
    for line in child.stdout:
        out.write(line)
        try:
            if "first" not in marks and line.startswith("SPS:"):
                marks["first"] = cpu_seconds(child.pid)
            elif line.startswith("summary:"):
                marks["last"] = cpu_seconds(child.pid)
        except OSError:  # the child is gone
            pass


def _stop_reader(reader: subprocess.Popen[str] | None) -> int:
    if reader is None:
        return 0
    try:
        stdout, _ = reader.communicate(timeout=READER_EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        reader.terminate()
        stdout, _ = reader.communicate(timeout=READER_EXIT_TIMEOUT_S)
    lines = stdout.strip().splitlines()
    return int(json.loads(lines[-1])["frames"]) if lines else 0


def paired_ratios(entry: ModeStats, base: ModeStats) -> list[float]:
    """SPS of ``entry`` over the baseline's SPS in the same round, for each round both ran."""
    base_by_round = {r.round_index: r.sps for r in base.results}
    return [
        r.sps / base_by_round[r.round_index]
        for r in entry.results
        if base_by_round.get(r.round_index)
    ]


def paired_cpu_ratios(entry: ModeStats, base: ModeStats) -> list[float]:
    """CPU per step of ``entry`` over the baseline's in the same round (> 1: costs more)."""
    base_by_round = {r.round_index: r.cpu_us_per_step for r in base.results}
    return [
        r.cpu_us_per_step / base_by_round[r.round_index]
        for r in entry.results
        if base_by_round.get(r.round_index) and not math.isnan(r.cpu_us_per_step)
    ]


def report(args: Args, stats: dict[Mode, ModeStats]) -> None:
    """Per mode: median/min/max SPS, spread, ratio of medians, and median of same-round ratios;
    then the training process's CPU per env step, the same way."""
    base = stats[args.modes[0]]
    base_median = statistics.median(r.sps for r in base.results) if base.results else 0.0
    print(
        f"\n{'mode':<14}{'median SPS':>11}{'min':>7}{'max':>7}{'spread':>8}{'ratio':>7}"
        f"  paired ratio: median [min, max]   runs"
    )
    for mode, entry in stats.items():
        if entry.unavailable:
            print(f"{mode:<14}unavailable: {entry.unavailable}")
        if not entry.results:
            continue
        sps = [r.sps for r in entry.results]
        median = statistics.median(sps)
        spread = (max(sps) - min(sps)) / median
        ratio = median / base_median if base_median else float("nan")
        paired = paired_ratios(entry, base) or [float("nan")]
        print(
            f"{mode:<14}{median:>11.0f}{min(sps):>7}{max(sps):>7}{spread:>8.1%}{ratio:>7.3f}"
            f"  {statistics.median(paired):.3f} [{min(paired):.3f}, {max(paired):.3f}]"
            f"   {sps}"
        )
    print(f"\n{'mode':<14}{'CPU us/step':>12}{'ratio':>7}  paired CPU ratio: median [min, max]")
    base_cpu = [r.cpu_us_per_step for r in base.results if not math.isnan(r.cpu_us_per_step)]
    for mode, entry in stats.items():
        cpu = [r.cpu_us_per_step for r in entry.results if not math.isnan(r.cpu_us_per_step)]
        if not cpu or not base_cpu:
            continue
        paired = paired_cpu_ratios(entry, base) or [float("nan")]
        print(
            f"{mode:<14}{statistics.median(cpu):>12.1f}"
            f"{statistics.median(cpu) / statistics.median(base_cpu):>7.3f}"
            f"  {statistics.median(paired):.3f} [{min(paired):.3f}, {max(paired):.3f}]"
        )


def raw_results(args: Args, stats: dict[Mode, ModeStats]) -> dict[str, object]:
    base = stats[args.modes[0]]
    modes = {
        mode: {
            "sps": [r.sps for r in entry.results],
            "rounds": [r.round_index for r in entry.results],
            "paired_ratios": paired_ratios(entry, base),
            "cpu_us_per_step": [r.cpu_us_per_step for r in entry.results],
            "paired_cpu_ratios": paired_cpu_ratios(entry, base),
            "unavailable": entry.unavailable,
        }
        for mode, entry in stats.items()
    }
    return {"command": sys.argv, "modes": modes}


def run_pairs(args: Args, live: list[Mode], workdir: Path) -> dict[Mode, list[float]]:
    """``--concurrent``: per round, each mode beside the baseline at the same time (the baseline
    beside itself first); mode SPS / baseline SPS of each pair."""
    baseline = live[0]
    ratios: dict[Mode, list[float]] = {mode: [] for mode in live}
    for round_index in range(args.rounds):
        cores = (0, 1) if round_index % 2 == 0 else (1, 0)
        for mode in live:
            with ThreadPoolExecutor(2) as pool:
                runs = [
                    pool.submit(
                        run_once,
                        args,
                        m,
                        args.total_timesteps,
                        workdir,
                        round_index,
                        core,
                        f"-{which}-{mode}",
                    )
                    for m, core, which in ((baseline, cores[0], "a"), (mode, cores[1], "b"))
                ]
                base, other = (run.result() for run in runs)
            ratios[mode].append(other.sps / base.sps)
            print(
                f"round {round_index} {baseline}@cpu{cores[0]} SPS={base.sps} | "
                f"{mode}@cpu{cores[1]} SPS={other.sps}  ratio {other.sps / base.sps:.3f}"
            )
    print(f"\n{'mode':<14}ratio to {baseline} beside it: median  mean  stdev  [min, max]")
    for mode, values in ratios.items():
        control = "  (A/A control: the noise floor)" if mode == baseline else ""
        print(
            f"{mode:<14}{statistics.median(values):>24.3f}{statistics.mean(values):>6.3f}"
            f"{statistics.stdev(values) if len(values) > 1 else 0.0:>7.3f}"
            f"  [{min(values):.3f}, {max(values):.3f}]{control}"
        )
    return ratios


def main(args: Args) -> int:
    if args.reader_run_id is not None:
        return run_reader(args.reader_run_id)
    modes = list(dict.fromkeys(args.modes))
    stats: dict[Mode, ModeStats] = {mode: ModeStats() for mode in modes}
    workdir = Path(tempfile.mkdtemp(prefix="bench-ppo-sps-"))
    print(f"command: {' '.join(sys.argv)}\npython: {args.python}\nworkdir: {workdir}")
    bridge = None
    try:
        if "bridge" in modes:
            try:
                bridge = start_bridge(args.python, workdir)
            except ModeUnavailable as error:
                stats["bridge"].unavailable = str(error)
        for mode in modes:
            try:
                if mode == "baseline":
                    check_baseline_skips_pth(args.python)
                run_once(args, mode, PREFLIGHT_TIMESTEPS, workdir, PREFLIGHT_ROUND)
            except ModeUnavailable as error:
                stats[mode].unavailable = str(error)
                print(f"mode {mode!r} unavailable: {error}", file=sys.stderr)
        live = [mode for mode in modes if not stats[mode].unavailable]
        if args.concurrent:
            if len(os.sched_getaffinity(0)) < 2:
                raise SystemExit("--concurrent needs 2 cores")
            pairs = run_pairs(args, live, workdir)
            if args.json_out is not None:
                args.json_out.write_text(
                    json.dumps({"command": sys.argv, "concurrent_ratios": pairs}, indent=2)
                )
            return EXIT_MODE_UNAVAILABLE if any(s.unavailable for s in stats.values()) else 0
        for round_index in range(args.rounds):
            shift = round_index % max(1, len(live))
            for mode in live[shift:] + live[:shift]:
                if stats[mode].unavailable:
                    continue
                try:
                    result = run_once(args, mode, args.total_timesteps, workdir, round_index)
                except ModeUnavailable as error:
                    stats[mode].unavailable = f"round {round_index}: {error}"
                    continue
                stats[mode].results.append(result)
                print(
                    f"round {round_index} {mode:<14} SPS={result.sps} wall={result.wall_s:.1f}s"
                    f" CPU={result.cpu_us_per_step:.1f}us/step",
                    flush=True,
                )
        report(args, stats)
        if args.json_out is not None:
            args.json_out.write_text(json.dumps(raw_results(args, stats), indent=2))
    finally:
        if bridge is not None:
            bridge.send_signal(signal.SIGTERM)
            bridge.wait(timeout=BRIDGE_START_TIMEOUT_S)
        shutil.rmtree(workdir, ignore_errors=True)
    return EXIT_MODE_UNAVAILABLE if any(s.unavailable for s in stats.values()) else 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Args)))
