"""Cost of the slow lane on examples/ppo.py, measured inside one training run (A/B by iteration).

    python bench/bench_recording_cost.py                      # embedded SQLite recording
    python bench/bench_recording_cost.py --bridge             # shipped to a local bridge
    python bench/bench_recording_cost.py --bridge --block 2 --settle 1   # no wait, see below

Why in one run: on this shared 2-core machine two runs of the same command differ by 5-25% in
SPS, far more than the 2% the slow lane may cost, so run-against-run comparisons cannot see it.
Here one ``FASTLANE=1 examples/ppo.py --fastlane-slot 2`` process (the real script, the real
activation, recorder, SQLite file or bridge) alternates every PPO iteration between

- **on**: records go to the writer as in any run, and at the end of the iteration the harness
  waits until the writer has stored all of them (``Recorder.flush()``: committed to SQLite, or
  acknowledged by the bridge after its commit). So all the writing work of an iteration falls
  inside its own time, even the part that normally overlaps the next iteration on the other
  core: an upper bound. The wait itself is timed and reported (it includes the writer's own
  latency: a thread wake-up, the commit, for a bridge the round trip and its commit).
- **off**: the recorder discards every record at its queue (``put`` replaced by a no-op).

With ``--block N`` (N > 1) the switch happens every N iterations and nobody waits: the writer
works as in a real run, overlapping training, and its work spills into the iteration after
the one that produced the records (the spooler and the sink write every 0.25 s, about one
iteration). The first ``--settle`` iterations of every block are left out of both halves;
``--block 2 --settle 1`` compares the second iteration of each on pair (which carries the
first one's writing, as every iteration of a real run carries its predecessor's) with the
second of each off pair (nothing left to write).

Both halves keep what cannot be switched per iteration: the recording wrappers on every slot,
building the records, the SummaryWriter mirror. ``bench/bench_store_rate.py`` measures those
per step (training thread per recorded / unwatched step); this harness adds them to the
on/off difference using the iteration's step counts. Iterations 1-2 (warm-up) are dropped.

The iteration boundary is the script's last ``add_scalar`` of an iteration (``charts/SPS``),
seen through the SummaryWriter mirror. Results: median on / median off, and the median of
each on-iteration over the mean of its two off neighbours (robust to slow drift).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_helpers import free_port

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "ppo.py"
NUM_ENVS, NUM_STEPS = 4, 128  # examples/ppo.py defaults (CleanRL's)
WATCHED_SLOT = 2
ITERATION_TAG = "charts/SPS"  # the script's last scalar of each iteration
WARMUP_ITERATIONS = 2
FLUSH_TIMEOUT_S = 60.0
BRIDGE_START_TIMEOUT_S = 60.0

# Runs inside the training process: wraps the recorder's scalar hook to alternate on/off.
_TOGGLE = r"""
import json, runpy, sys, time
from cleanrl_worker.patches import summary_writer as scalars
from cleanrl_worker.slowlane import recorder as slowlane

recorder = slowlane.current()
assert recorder is not None and recorder._put is not None, "the slow lane did not start"
real_put, tag, flush_timeout, out = recorder._put, sys.argv[1], float(sys.argv[2]), sys.argv[3]
block = int(sys.argv[4])
del sys.argv[1:5]
state = {"on": True, "t": None, "n": 0}
times = {"on": [], "off": [], "flush": []}
order = []

def discard(record):
    return None

def record_scalar(name, value, step):
    recorder.record_scalar(name, value, step)
    if name != tag:
        return
    if state["on"] and block == 1:
        flush_start = time.perf_counter()
        if not recorder.flush(flush_timeout):
            raise SystemExit("flush timed out")
        times["flush"].append(time.perf_counter() - flush_start)
    now = time.perf_counter()
    if state["t"] is not None:
        key = "on" if state["on"] else "off"
        times[key].append(now - state["t"])
        order.append(key)
    state["t"] = now
    state["n"] += 1
    if state["n"] % block == 0:
        state["on"] = not state["on"]
        recorder._put = real_put if state["on"] else discard

scalars.install(record_scalar)
sys.argv[0] = sys.argv[1]
del sys.argv[1]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    with open(out, "w") as handle:
        json.dump({"order": order, "times": times}, handle)
"""


def _start_bridge(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    address = f"127.0.0.1:{free_port()}"
    bridge = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "serve",
            "--db",
            str(workdir / "bridge.sqlite"),
            "--listen",
            address,
            "--spool-dir",
            str(workdir / "bridge-spool"),
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    host, port = address.split(":")
    deadline = time.monotonic() + BRIDGE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, int(port))) == 0:
                return bridge, address
        time.sleep(0.1)
    bridge.kill()
    raise SystemExit(f"the bridge did not listen on {address}")


def blocks(order: list[str], times: dict[str, list[float]]) -> list[tuple[str, list[float]]]:
    """The run as consecutive blocks: ("on" or "off", the block's iteration times in order)."""
    result: list[tuple[str, list[float]]] = []
    cursor = {"on": 0, "off": 0}
    for key in order:
        if not result or result[-1][0] != key:
            result.append((key, []))
        result[-1][1].append(times[key][cursor[key]])
        cursor[key] += 1
    return result


def paired(runs: list[tuple[str, list[float]]], settle: int) -> list[float]:
    """Each on-block's mean iteration over the mean of the off-blocks just before and after it,
    leaving out the first ``settle`` iterations of every block (they may carry writing left
    over from the block before). Blocks of one iteration: each on-iteration over the mean of
    its two off neighbours."""
    means = [(key, statistics.fmean(v[settle:]) if len(v) > settle else None) for key, v in runs]
    ratios = []
    for (before, b), (key, value), (after, a) in zip(means, means[1:], means[2:], strict=False):
        if key == "on" and before == after == "off" and None not in (b, value, a):
            ratios.append(value / ((b + a) / 2))  # type: ignore[operator]
    return ratios


def bootstrap_median(values: list[float], rounds: int = 2000) -> tuple[float, float]:
    """2.5th and 97.5th percentiles of the median of ``values`` resampled with replacement."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(rounds))
    return medians[int(0.025 * rounds)], medians[int(0.975 * rounds) - 1]


def one_run(args: argparse.Namespace) -> tuple[list[tuple[str, list[float]]], list[float]] | None:
    """One training run: its on/off blocks (warm-up dropped) and its waits for the writer."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-recording-cost-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTLANE", "GYM_GUI_"))}
    env.update(OMP_NUM_THREADS="1", FASTLANE="1", FASTLANE_DB=str(workdir / "run.sqlite"))
    bridge = None
    if args.bridge:
        bridge, env["FASTLANE_BRIDGE"] = _start_bridge(workdir)
    out = workdir / "times.json"
    command = [
        sys.executable,
        "-c",
        _TOGGLE,
        ITERATION_TAG,
        str(FLUSH_TIMEOUT_S),
        str(out),
        str(args.block),
        str(SCRIPT),
        f"--total-timesteps={args.total_timesteps}",
        f"--num-envs={NUM_ENVS}",
        f"--num-steps={NUM_STEPS}",
        f"--fastlane-slot={WATCHED_SLOT}",
    ]
    try:
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    finally:
        if bridge is not None:
            bridge.terminate()
            bridge.wait(BRIDGE_START_TIMEOUT_S)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return None
    result = json.loads(out.read_text())
    order, times = result["order"], result["times"]
    # drop the warm-up iterations from both the order and the time lists
    for key in order[:WARMUP_ITERATIONS]:
        times[key].pop(0)
        if key == "on" and times["flush"]:
            times["flush"].pop(0)
    return blocks(order[WARMUP_ITERATIONS:], times), times["flush"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-timesteps", type=int, default=98304)
    parser.add_argument("--bridge", action="store_true", help="ship to a local bridge")
    parser.add_argument(
        "--per-recorded-step-us",
        type=float,
        default=3.44,
        help="training-thread cost of a recorded step (bench_store_rate.py), added to on",
    )
    parser.add_argument(
        "--per-unwatched-step-us",
        type=float,
        default=0.27,
        help="training-thread cost of an episodes-only step (bench_store_rate.py)",
    )
    parser.add_argument(
        "--block",
        type=int,
        default=1,
        help="iterations per on/off block; > 1: no wait for the writer (see --settle)",
    )
    parser.add_argument(
        "--settle",
        type=int,
        default=2,
        help="with --block > 1: first iterations of each block left out of the estimate",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="training runs, their pairs pooled (each its own writer)",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("Expected --runs >= 1")
    if args.block < 1 or (args.block > 1 and not 0 <= args.settle < args.block):
        parser.error("Expected --block >= 1 and 0 <= --settle < --block")
    print("command:", " ".join(sys.argv), "| mode:", "bridge" if args.bridge else "embedded SQLite")
    settle = args.settle if args.block > 1 else 0
    on_times: list[float] = []
    off_times: list[float] = []
    flushes: list[float] = []
    ratios: list[float] = []
    for _ in range(args.runs):  # pairs never span two runs
        measured = one_run(args)
        if measured is None:
            return 1
        runs, waits = measured
        on_times += [t for key, v in runs if key == "on" for t in v[settle:]]
        off_times += [t for key, v in runs if key == "off" for t in v[settle:]]
        flushes += waits
        ratios += paired(runs, settle)
    on, off = statistics.median(on_times), statistics.median(off_times)
    steps = NUM_ENVS * NUM_STEPS
    wrapper_s = NUM_STEPS * (args.per_recorded_step_us + 3 * args.per_unwatched_step_us) / 1e6
    if args.block > 1:
        print(f"blocks of {args.block} iterations, the first {settle} of each left out of both:")
    print(
        f"iterations measured: {len(on_times)} on, {len(off_times)} off ({steps} env steps each)"
        f" in {args.runs} run(s); {len(ratios)} pairs"
    )
    print(f"median iteration: on {on * 1e3:.1f} ms, off {off * 1e3:.1f} ms")
    print(f"on / off (medians):                       {on / off:.4f}")
    print(
        f"on / neighbouring off (paired): median {statistics.median(ratios):.4f}"
        f" [p25 {statistics.quantiles(ratios, n=4)[0]:.4f}, p75 {statistics.quantiles(ratios, n=4)[2]:.4f}]"
    )
    print(
        f"+ wrappers and record building (per iteration, from bench_store_rate): {wrapper_s * 1e3:.2f} ms"
    )
    total = (on + wrapper_s) / off
    print(
        f"=> SPS with the slow lane / SPS without: {1 / total:.4f} (cost {100 * (total - 1):.2f}%)"
    )
    low, high = bootstrap_median(ratios)
    extra = wrapper_s / off
    print(
        f"=> cost from the paired estimate: {100 * (statistics.median(ratios) - 1 + extra):.2f}%"
        f" (95% bootstrap interval {100 * (low - 1 + extra):.2f}% .. {100 * (high - 1 + extra):.2f}%)"
    )
    if not flushes:
        print("no wait for the writer (blocks): its work overlaps training as in a real run")
        return 0
    wait = statistics.median(flushes)
    print(
        f"of which waiting for the writer at the end of an on-iteration (median): "
        f"{wait * 1e3:.2f} ms = {100 * wait / off:.2f}% (on a free core this overlaps training)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
