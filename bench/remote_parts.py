"""Parts of the remote-viewing benchmarks: a CartPole frame writer, a `serve --http` bridge, gRPC
viewers, the bridge's /metrics and a run's ring counters (used by ``bench_remote_view.py``)."""

from __future__ import annotations

import json
import os
import selectors
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench_helpers import free_port

__all__ = [
    "FPS",
    "Bridge",
    "Writer",
    "cartpole_frames",
    "load",
    "percentile",
    "relay_counters",
    "ring_counters",
    "role_viewers",
    "role_writer",
    "run_bridge",
    "spread",
    "start_writer",
]

WIDTH, HEIGHT = 600, 400
FPS = 30.0  # what every viewer asks for
START_TIMEOUT_S = 60.0


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} [min {min(values):.3f}, max {max(values):.3f}]"


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values``, linear between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[max(0, min(98, int(q) - 1))]


def cartpole_frames(count: int) -> list[object]:
    """``count`` 600x400 RGB frames of CartPole-v1 under random actions (gymnasium's renderer)."""
    import gymnasium as gym
    import numpy as np

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    frames = []
    while len(frames) < count:
        frames.append(np.ascontiguousarray(env.render()))
        _, _, terminated, truncated, _ = env.step(int(rng.integers(2)))
        if terminated or truncated:
            env.reset()
    env.close()
    return frames


# --- the worker stand-in --------------------------------------------------------------------------


def role_writer(run_id: str, fps: float) -> int:
    """Publish CartPole frames at ``fps`` while the ring is watched (as the fast lane renders only
    then). Stdin: ``stats`` prints {"published", "publish_s"}; ``exit`` or EOF ends."""
    from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter

    frames = cartpole_frames(120)
    writer = FastLaneWriter.create(run_id, FastLaneConfig(WIDTH, HEIGHT, 3))
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ)
    published, publish_s, next_at = 0, 0.0, time.monotonic()
    print("ready", flush=True)
    try:
        while True:
            if writer.watched:
                start = time.perf_counter()
                writer.publish(
                    frames[published % len(frames)], FastLaneMetrics(global_step=published)
                )
                publish_s += time.perf_counter() - start
                published += 1
            next_at += 1.0 / fps
            for _ in selector.select(max(0.0, next_at - time.monotonic())):
                line = sys.stdin.readline().strip()
                if line in ("", "exit"):
                    return 0
                if line == "stats":
                    print(json.dumps({"published": published, "publish_s": publish_s}), flush=True)
            next_at = max(next_at, time.monotonic() - 1.0 / fps)
    finally:
        writer.close()


@dataclass
class Writer:
    proc: subprocess.Popen[str]
    run_id: str

    def stats(self) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write("exit\n")
            self.proc.stdin.flush()
        self.proc.wait(10)


def start_writer(script: str, run_id: str, fps: float) -> Writer:
    proc = subprocess.Popen(
        [sys.executable, script, "writer", "--run-id", run_id, "--fps", str(fps)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the writer did not start")
    return Writer(proc, run_id)


# --- the bridge --------------------------------------------------------------------------------------


@dataclass
class Bridge:
    proc: subprocess.Popen[bytes]
    address: str
    url: str


@contextmanager
def run_bridge(workdir: Path) -> Iterator[Bridge]:
    """A real ``gym-gui-bridge serve --http`` on free loopback ports, stopped at the end."""
    port, http = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTLANE")}
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "serve",
            "--db",
            str(workdir / "bridge.sqlite"),
            "--listen",
            f"127.0.0.1:{port}",
            "--http",
            f"127.0.0.1:{http}",
            "--spool-dir",
            str(workdir / "spool"),
            "--log-level",
            "WARNING",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "bridge.log").open("ab"),
    )
    bridge = Bridge(proc, f"127.0.0.1:{port}", f"http://127.0.0.1:{http}")
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(bridge.url + "/metrics", timeout=2).read()
                break
            except OSError as error:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"serve --http did not answer (see {workdir}/bridge.log)"
                    ) from error
                time.sleep(0.1)
        yield bridge
    finally:
        proc.terminate()
        proc.wait(30)


def relay_counters(bridge: Bridge, run_id: str) -> dict[str, float]:
    """The relay's counters of ``run_id`` from /metrics, parsed by prometheus_client."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(bridge.url + "/metrics", timeout=5).read().decode()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("run_id") == run_id:
                found[sample.name.removeprefix("gym_gui_bridge_")] = sample.value
    return found


def ring_counters(run_id: str) -> tuple[int, bool]:
    """(frames published, watched) of ``run_id``'s ring, read without announcing a reader."""
    from gym_gui_bridge.fastlane import FastLaneReader

    with FastLaneReader.attach(run_id, announce=False) as reader:
        status = reader.status()
        return int(status.frames_published), bool(status.watched)


# --- gRPC viewers --------------------------------------------------------------------------------------


def role_viewers(
    address: str, run_id: str, count: int, fps: float, warmup_s: float, seconds: float, paint: bool
) -> int:
    """``count`` WatchFrames streams (own channel each) for ``warmup_s + seconds``; prints one JSON
    line: per viewer the frames and bytes of the measuring window and, with ``paint``, the
    latency of each frame decoded by Qt (QImage.fromData) and painted into a 600x400 QImage."""
    from gym_gui_bridge.proto import trainer_pb2 as pb
    from gym_gui_bridge.proto import trainer_pb2_grpc as pb_grpc
    from gym_gui_bridge.server.client import open_channel

    app = None
    if paint:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtGui import QGuiApplication

        app = QGuiApplication([])  # noqa: F841 (QPainter wants the application object)
    print("started", flush=True)
    start = time.monotonic()
    begin, end = start + warmup_s, start + warmup_s + seconds
    results: list[dict[str, object]] = [{} for _ in range(count)]

    def one(index: int) -> None:
        channel = open_channel(address)
        stub = pb_grpc.TrainerServiceStub(channel)
        call = stub.WatchFrames(pb.WatchRequest(run_id=run_id, fps=fps))
        frames = wire = 0
        latency_ms: list[float] = []
        relay_ms: list[float] = []
        seqs: list[int] = []
        for frame in call:
            done_ns = _paint(frame.data, frame.width, frame.height) if paint else time.time_ns()
            now = time.monotonic()
            if now >= end:
                break
            if now >= begin:
                frames += 1
                wire += frame.ByteSize() + 5  # + gRPC's length prefix
                latency_ms.append((done_ns - frame.published_ns) / 1e6)
                relay_ms.append((frame.relayed_ns - frame.published_ns) / 1e6)
                seqs.append(frame.seq)
        call.cancel()
        channel.close()
        results[index] = {
            "frames": frames,
            "bytes": wire,
            "latency_ms": latency_ms if paint else [],
            "relay_ms": relay_ms,
            "seq_first": seqs[0] if seqs else 0,
            "seq_last": seqs[-1] if seqs else 0,
        }

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"seconds": seconds, "viewers": results}), flush=True)
    return 0


_target: list[object] = []


def _paint(data: bytes, width: int, height: int) -> int:
    """Decode ``data`` with Qt and paint it into a 600x400 image; the wall clock when done."""
    from PySide6.QtGui import QImage, QPainter

    if not _target:
        _target.append(QImage(width, height, QImage.Format.Format_RGB32))
    target = _target[0]
    image = QImage.fromData(data, "JPG")
    if image.isNull():
        raise RuntimeError("Expected a JPEG frame Qt can decode, got one it cannot")
    painter = QPainter(target)
    painter.drawImage(0, 0, image)
    painter.end()
    return time.time_ns()
