"""CPU used by ``gym-gui-bridge view`` showing a 600x400 RGB stream at 60 frames/s, and idle.

    python bench/bench_viewer_cpu.py [--seconds 10] [--platforms offscreen,xcb]

Processes (all real, all separate): a writer publishing 600x400x3 frames at 60/s; the viewer
(``gym-gui-bridge view RUN --fps 60``) on the Qt platform under test; and, as the baseline
measured in the same run, a bare ``FastLaneReader`` polling at the same 60 Hz without Qt and
copying every new frame (the least any viewer must do). CPU time is utime + stime from
/proc/<pid>/stat over the same window. Phase "stream": the writer publishes; phase "idle": the
writer stays alive but publishes nothing. Also reports start-up: process start to first painted
frame, from ``view --snapshot``. The xcb platform needs Xvfb (started here on a free display).
"""

from __future__ import annotations

import argparse
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from bench_helpers import cpu_seconds

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT, FPS = 600, 400, 60.0
WARMUP_S = 3.0
STARTUP_RUNS = 5
XVFB_PIPES: list[int] = []


# --- child roles ------------------------------------------------------------------------------


def role_writer(run_id: str) -> int:
    from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter

    writer = FastLaneWriter.create(run_id, FastLaneConfig(WIDTH, HEIGHT, 3))
    frames = [np.full((HEIGHT, WIDTH, 3), (i * 37) % 256, np.uint8) for i in range(8)]
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ)
    publishing, n, next_at = True, 0, time.monotonic()
    print("ready", flush=True)
    try:
        while True:
            if publishing:
                n += 1
                writer.publish(frames[n % len(frames)], FastLaneMetrics(global_step=n))
            next_at += 1.0 / FPS
            for _ in selector.select(max(0.0, next_at - time.monotonic())):
                line = sys.stdin.readline().strip()
                if line in ("", "exit"):
                    return 0
                publishing = line == "resume"
            next_at = max(next_at, time.monotonic() - 1.0 / FPS)
    finally:
        writer.close()


def role_reader(run_id: str) -> int:
    from gym_gui_bridge.fastlane import FastLaneReader

    reader = FastLaneReader.attach(run_id)
    next_at = time.monotonic()
    while True:
        reader.latest_frame(only_new=True)
        next_at += 1.0 / FPS
        time.sleep(max(0.0, next_at - time.monotonic()))


# --- orchestration -----------------------------------------------------------------------------


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    number = os.read(read_fd, 64).decode().strip()
    XVFB_PIPES.append(read_fd)  # Xvfb writes its number again on a reset: keep the pipe open
    return server, f":{number}"


def measure(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """CPU share (% of one core) of each pid over the same ``seconds``."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - start
    return {name: 100 * (cpu_seconds(pid) - before[name]) / wall for name, pid in pids.items()}


def startup(run_id: str, env: dict[str, str]) -> float:
    ages = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(STARTUP_RUNS):
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gym_gui_bridge.cli",
                    "view",
                    run_id,
                    "--snapshot",
                    f"{tmp}/s.png",
                    "--db",
                    f"{tmp}/none.sqlite",
                ],
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO,
                timeout=60,
            )
            if done.returncode != 0:
                raise RuntimeError(f"view --snapshot failed ({done.returncode}): {done.stderr}")
            ages.append(float(done.stdout.split("first frame painted ")[1].split(" s")[0]))
    return statistics.median(ages)


def import_floor() -> float:
    """Median wall time of a bare interpreter importing what the viewer cannot do without."""
    times = []
    for _ in range(STARTUP_RUNS):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import numpy, tyro, PySide6.QtWidgets"], check=True, timeout=60
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_platform(platform: str, run_id: str, writer: subprocess.Popen[str], seconds: float) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM=platform)
    xvfb = None
    if platform == "xcb":
        xvfb, display = start_xvfb()
        env["DISPLAY"] = display
    viewer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "view",
            run_id,
            "--fps",
            str(FPS),
            "--db",
            "/nonexistent/none.sqlite",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reader = subprocess.Popen([sys.executable, __file__, "--role", "reader", "--run-id", run_id])
    try:
        time.sleep(WARMUP_S)
        pids = {"viewer": viewer.pid, "bare reader": reader.pid, "writer": writer.pid}
        stream = measure(pids, seconds)
        assert writer.stdin is not None
        writer.stdin.write("pause\n")
        writer.stdin.flush()
        time.sleep(WARMUP_S)
        idle = measure(pids, seconds)
        writer.stdin.write("resume\n")
        writer.stdin.flush()
        age = startup(run_id, env)
        floor = import_floor()
    finally:
        for child in (viewer, reader):
            child.terminate()
            child.wait(10)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    print(f"\nplatform {platform}: CPU in % of one core over {seconds:g} s")
    print(f"  {'process':<12} {'stream 60 fps':>14} {'idle':>8}")
    for name in pids:
        print(f"  {name:<12} {stream[name]:>13.1f}% {idle[name]:>7.1f}%")
    base_s, base_i = max(stream["bare reader"], 0.1), max(idle["bare reader"], 0.1)
    print(
        f"  viewer / bare reader: stream {stream['viewer'] / base_s:.1f}x, "
        f"idle {idle['viewer'] / base_i:.1f}x; viewer / writer (stream): "
        f"{stream['viewer'] / max(stream['writer'], 0.1):.1f}x"
    )
    print(
        f"  start-up, process start to first painted frame (median of {STARTUP_RUNS}): {age:.2f} s;"
        f" floor (python -c 'import numpy, tyro, PySide6.QtWidgets'): {floor:.2f} s,"
        f" ratio {age / floor:.1f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=["writer", "reader"], help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per phase")
    parser.add_argument("--platforms", default="offscreen,xcb", help="Qt platforms to measure")
    args = parser.parse_args()
    if args.role == "writer":
        return role_writer(args.run_id)
    if args.role == "reader":
        return role_reader(args.run_id)
    platforms = [p for p in args.platforms.split(",") if p]
    if "xcb" in platforms and shutil.which("Xvfb") is None:
        print("Xvfb not found: skipping the xcb platform (apt-get install xvfb)")
        platforms.remove("xcb")
    run_id = f"bench-viewer-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    writer = subprocess.Popen(
        [sys.executable, __file__, "--role", "writer", "--run-id", run_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    print(
        f"stream: {WIDTH}x{HEIGHT}x3 at {FPS:g} frames/s; load average {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores"
    )
    try:
        for platform in platforms:
            run_platform(platform, run_id, writer, args.seconds)
    finally:
        if writer.stdin is not None:
            writer.stdin.write("exit\n")
            writer.stdin.flush()
        writer.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
