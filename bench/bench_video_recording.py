"""CPU of ``gym-gui-bridge record`` at 30 fps on a CartPole ring, and the MP4's size per minute.

    python bench/bench_video_recording.py [--rounds 5] [--seconds 20] [--fps 30]

Processes (all real, all separate): a writer publishing real CartPole-v1 frames (600x400x3,
rendered once from a random-action rollout before the clock starts, then replayed) at 30
frames/s, as the worker's budget caps a watched run; the recorder
(``gym-gui-bridge record RUN OUT.mp4 --fps 30``); and, as the baseline measured in the same
round, a bare ``FastLaneReader`` polling at the same rate and copying every new frame (the least
any recorder must do). CPU time is utime + stime from /proc/<pid>/stat over the same window,
taken after the recorder's first encoded frames (start-up and imports are left out). Each round
ends the recording with SIGINT; the file's size divided by its video length gives bytes per
minute. Rounds run one after another; the report gives the median and the range. Also, in
this process, the CPU time ``Mp4Recorder.add`` takes per frame (the encoder alone).
"""

from __future__ import annotations

import argparse
import os
import signal
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
WRITER_FPS = 30.0
ROLLOUT_FRAMES = 300  # ten seconds of CartPole at 30 frames/s, replayed in a loop
WARMUP_S = 2.0


# --- child roles ------------------------------------------------------------------------------


def _cartpole_frames() -> list[np.ndarray]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # headless: no display probe, no warning
    import gymnasium as gym

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    frames = []
    for _ in range(ROLLOUT_FRAMES):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        frames.append(env.render())
        if terminated or truncated:
            env.reset()
    env.close()
    return frames


def role_writer(run_id: str) -> int:
    from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # exit through `finally`: unlink
    frames = _cartpole_frames()
    height, width = frames[0].shape[:2]
    writer = FastLaneWriter.create(run_id, FastLaneConfig(width, height, 3))
    print("ready", flush=True)
    n, next_at = 0, time.monotonic()
    try:
        while True:
            n += 1
            writer.publish(frames[n % len(frames)], FastLaneMetrics(global_step=n))
            next_at += 1.0 / WRITER_FPS
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at, time.monotonic() - 1.0 / WRITER_FPS)
    finally:
        writer.close()


def role_reader(run_id: str, fps: float) -> int:
    from gym_gui_bridge.fastlane import FastLaneReader

    reader = FastLaneReader.attach(run_id)
    next_at = time.monotonic()
    while True:
        reader.latest_frame(only_new=True)
        next_at += 1.0 / fps
        time.sleep(max(0.0, next_at - time.monotonic()))


# --- orchestration -----------------------------------------------------------------------------


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def one_round(run_id: str, seconds: float, fps: float, folder: Path) -> dict[str, float]:
    out = folder / f"round-{uuid.uuid4().hex[:6]}.mp4"
    partial = out.with_name(out.name + ".part")
    recorder = subprocess.Popen(
        [sys.executable, "-m", "gym_gui_bridge.cli", "record", run_id, str(out), "--fps", str(fps)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
    )
    reader = subprocess.Popen(
        [sys.executable, __file__, "--role", "reader", "--run-id", run_id, "--fps", str(fps)]
    )
    try:
        _wait_for(lambda: partial.exists() and partial.stat().st_size > 0, 60, "first frames")
        time.sleep(WARMUP_S)
        pids = {"recorder": recorder.pid, "bare reader": reader.pid}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        start = time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - start
        used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    finally:
        recorder.send_signal(signal.SIGINT)
        out_text, err_text = recorder.communicate(timeout=60)
        reader.terminate()
        reader.wait(10)
    if recorder.returncode != 0:
        raise RuntimeError(f"record failed ({recorder.returncode}): {err_text}")
    frames = int(out_text.split("recorded ")[1].split(" frames")[0])
    size = out.stat().st_size
    return {
        "recorder_pct": 100 * used["recorder"] / wall,
        "reader_pct": 100 * used["bare reader"] / wall,
        "video_s": frames / fps,
        "bytes": size,
        "mb_per_min": size / (frames / fps) * 60 / 1e6,
    }


def encode_cost(fps: float, folder: Path) -> float:
    """Milliseconds of CPU per frame that ``Mp4Recorder.add`` takes on CartPole frames (in this
    process: the encoder alone, without reading the ring)."""
    from gym_gui_bridge.recording import Mp4Recorder

    frames = _cartpole_frames()
    height, width = frames[0].shape[:2]
    recorder = Mp4Recorder.open(folder / "encode.mp4", width, height, fps)
    start = time.process_time()
    for frame in frames:
        recorder.add(frame)
    recorder.close()
    return 1000 * (time.process_time() - start) / len(frames)


def _spread(values: list[float], fmt: str) -> str:
    return (
        f"median {statistics.median(values):{fmt}} (range {min(values):{fmt}}-{max(values):{fmt}})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=["writer", "reader"], help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5, help="recordings measured")
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window per round")
    parser.add_argument("--fps", type=float, default=30.0, help="recording frame rate")
    args = parser.parse_args()
    if args.role == "writer":
        return role_writer(args.run_id)
    if args.role == "reader":
        return role_reader(args.run_id, args.fps)
    run_id = f"bench-record-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    writer = subprocess.Popen(
        [sys.executable, __file__, "--role", "writer", "--run-id", run_id],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    print(
        f"ring: CartPole-v1 frames 600x400x3 at {WRITER_FPS:g} frames/s; recording at "
        f"{args.fps:g} fps; {args.rounds} rounds of {args.seconds:g} s; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    results = []
    encode_ms = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.rounds):
                encode_ms.append(encode_cost(args.fps, Path(tmp)))
            for index in range(args.rounds):
                result = one_round(run_id, args.seconds, args.fps, Path(tmp))
                results.append(result)
                print(
                    f"  round {index + 1}: recorder {result['recorder_pct']:.1f}% of a core, "
                    f"bare reader {result['reader_pct']:.1f}%, video {result['video_s']:.1f} s, "
                    f"{result['bytes']} bytes ({result['mb_per_min']:.2f} MB/min)"
                )
    finally:
        writer.terminate()
        writer.wait(10)
    recorder = [r["recorder_pct"] for r in results]
    reader = [r["reader_pct"] for r in results]
    ratio = [r["recorder_pct"] / max(r["reader_pct"], 0.1) for r in results]
    size = [r["mb_per_min"] for r in results]
    print(f"recorder CPU, % of one core: {_spread(recorder, '.1f')}")
    print(f"bare reader CPU, % of one core: {_spread(reader, '.1f')}")
    print(f"recorder / bare reader: {_spread(ratio, '.1f')}")
    print(f"file size, MB per minute of video: {_spread(size, '.2f')}")
    print(
        f"Mp4Recorder.add alone, CPU ms per frame ({ROLLOUT_FRAMES} CartPole frames, encoder "
        f"threads included): {_spread(encode_ms, '.2f')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
