"""Remote viewing through a real ``gym-gui-bridge serve --http``: latency, wire and bridge cost,
and what it costs a PPO run.

    python bench/bench_remote_view.py latency [--rounds 5 --seconds 10]
    python bench/bench_remote_view.py wire [--rounds 5 --seconds 10 --viewers 10]
    OMP_NUM_THREADS=1 python bench/bench_remote_view.py sps [--rounds 5 --total-timesteps 49152]

``latency``: a writer process publishes 600x400 CartPole-v1 frames (gymnasium's renderer) at
30 fps while its ring is watched; the bridge relays them. (a) a gRPC viewer process watches at
30 fps, decodes each JPEG with Qt (``QImage.fromData``, offscreen) and paints it into a
600x400 QImage; latency = ``time.time_ns()`` after the paint - ``Frame.published_ns`` (the
writer's ``time.time_ns()`` at publish). (b) the watch page in headless chromium: a script
added to the page notes each WebSocket frame's ``published_ns`` by seq and, when the page has
drawn that frame on its canvas (it sets ``data-frame-seq`` right after ``drawImage``),
``Date.now()`` minus it; also at the next animation frame (the frame is on screen then). Both
are wall clocks of this one machine. Rounds alternate (a) and (b) (the order rotates).

``wire``: per round, phases with 0, 1 and N gRPC viewers (receive only, at 30 fps; own channel
each) of one run, order rotating. Per phase: bytes received per viewer per second (each
message's size + gRPC's 5-byte prefix), the bridge process's CPU (utime + stime,
/proc/PID/stat) in % of one core, the writer's CPU and publish time per frame, and from the
bridge's /metrics and the ring: ring reads per published frame and encodes per frame read.

``sps``: ``examples/ppo.py`` (CleanRL's PPO loop: CartPole-v1, 4 envs, 128 steps, CPU,
``OMP_NUM_THREADS=1``; SPS is its own ``summary: ... SPS=N``), ``FASTLANE=1
--fastlane-slot 2`` with the slow lane into its SQLite file, in interleaved rounds of four modes:
``alone`` (no bridge process), ``bridge-idle`` (a ``serve --http`` running, nobody watching;
the ring is sampled every 0.5 s and must never be watched nor show a frame past the one it is
created with),
``remote`` (the bridge running and one gRPC viewer at 30 fps, receive only: a remote viewer
decodes on its own machine), ``local`` (the bridge running and a ``FastLaneReader`` polling at
30 Hz, copying each new frame). Paired ratios per round: bridge-idle / alone, remote / local.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench_helpers import cpu_seconds
from remote_parts import (
    Bridge,
    Writer,
    percentile,
    relay_counters,
    ring_counters,
    role_viewers,
    role_writer,
    run_bridge,
    start_writer,
)

FPS = 30.0
WARMUP_S = 3.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Added to the watch page: the latency of each frame it draws (see the module docstring).
PAGE_PROBE = """
(() => {
  window.__lat = []; window.__raf = [];
  const published = new Map();
  const Native = window.WebSocket;
  function Probe(url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") return;
      const view = new DataView(event.data);
      const length = view.getUint32(0);
      const header = JSON.parse(new TextDecoder().decode(new Uint8Array(event.data, 4, length)));
      published.set(String(header.seq), header.published_ns / 1e6);
    });
    return socket;
  }
  Probe.prototype = Native.prototype;
  window.WebSocket = Probe;
  new MutationObserver(() => {
    const at = published.get(document.body.dataset.frameSeq);
    if (at === undefined) return;
    window.__lat.push(Date.now() - at);
    requestAnimationFrame(() => window.__raf.push(Date.now() - at));
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-frame-seq"]});
})();
"""


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} [min {min(values):.3f}, max {max(values):.3f}]"


# --- viewers ---------------------------------------------------------------------------------------


class Viewers:
    """A process of ``count`` gRPC viewers; ``started()`` once their clock runs."""

    def __init__(self, bridge: Bridge, run_id: str, count: int, seconds: float, paint: bool):
        command = [sys.executable, __file__, "viewers", "--address", bridge.address]
        command += ["--run-id", run_id, "--count", str(count), "--seconds", str(seconds)]
        self.proc = subprocess.Popen(
            command + (["--paint"] if paint else []), stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "started":
            raise RuntimeError("the viewers did not start")

    def result(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.proc.wait(30)
        return dict(json.loads(line))


# --- latency -----------------------------------------------------------------------------------


def grpc_round(bridge: Bridge, run_id: str, seconds: float) -> tuple[list[float], list[float]]:
    """(publish -> painted, publish -> encoded by the relay) of each frame, in ms."""
    viewers = Viewers(bridge, run_id, 1, seconds, paint=True)
    got = viewers.result()["viewers"][0]
    return list(got["latency_ms"]), list(got["relay_ms"])


def browser_round(
    browser: Any, bridge: Bridge, run_id: str, seconds: float
) -> tuple[list[float], list[float]]:
    page = browser.new_page()
    page.add_init_script(PAGE_PROBE)
    page.goto(f"{bridge.url}/runs/{run_id}")
    deadline = time.monotonic() + 30.0  # (wait_for_function would eval: the page's CSP forbids)
    while page.evaluate("document.body.dataset.frames") is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the watch page drew no frame within 30 s")
        time.sleep(0.1)
    time.sleep(WARMUP_S)
    page.evaluate("window.__lat = []; window.__raf = []")
    time.sleep(seconds)
    drawn, shown = page.evaluate("[window.__lat.slice(), window.__raf.slice()]")
    page.close()
    return list(drawn), list(shown)


def row(name: str, values: list[float]) -> str:
    return (
        f"{name:<28}{len(values):>7}{percentile(values, 50):>9.1f}{percentile(values, 95):>9.1f}"
        f"{max(values):>9.1f}"
    )


def cmd_latency(args: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright

    run_id = f"bench-remote-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    print(
        f"latency: 600x400 CartPole frames at {FPS:g} fps, {args.rounds} rounds of "
        f"{args.seconds:g} s per viewer; {load()}"
    )
    grpc_all: list[float] = []
    relay_all: list[float] = []
    drawn_all: list[float] = []
    shown_all: list[float] = []
    per_round: list[tuple[float, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, run_bridge(Path(tmp)) as bridge:
        writer = start_writer(__file__, run_id, FPS)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for index in range(args.rounds):
                    order = ["grpc", "browser"] if index % 2 == 0 else ["browser", "grpc"]
                    for which in order:
                        if which == "grpc":
                            grpc, relay = grpc_round(bridge, run_id, args.seconds)
                        else:
                            drawn, shown = browser_round(browser, bridge, run_id, args.seconds)
                    grpc_all += grpc
                    relay_all += relay
                    drawn_all += drawn
                    shown_all += shown
                    stats = (percentile(grpc, 50), percentile(grpc, 95))
                    stats += (percentile(drawn, 50), percentile(drawn, 95))
                    per_round.append(stats)
                    print(
                        f"round {index} ({'/'.join(order)}): gRPC+Qt p50 {stats[0]:.1f} p95 "
                        f"{stats[1]:.1f} ms ({len(grpc)} frames); browser drawn p50 {stats[2]:.1f}"
                        f" p95 {stats[3]:.1f} ms ({len(drawn)} frames); {load()}",
                        flush=True,
                    )
                browser.close()
        finally:
            writer.stop()
    print(f"\n{'viewer':<28}{'frames':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}   (all rounds)")
    print(row("gRPC, Qt decode + paint", grpc_all))
    print(row("  of which publish -> encoded", relay_all))
    print(row("browser, drawn on canvas", drawn_all))
    print(row("browser, next animation frame", shown_all))
    for k, name in enumerate(["gRPC p50", "gRPC p95", "browser p50", "browser p95"]):
        print(f"per round {name}: {spread([r[k] for r in per_round])} ms")
    return 0


# --- wire and bridge CPU -------------------------------------------------------------------------


def measure_phase(bridge: Bridge, writer: Writer, count: int, seconds: float) -> dict[str, float]:
    viewers = Viewers(bridge, writer.run_id, count, seconds, paint=False) if count else None
    time.sleep(WARMUP_S)
    cpu0 = {"bridge": cpu_seconds(bridge.proc.pid), "writer": cpu_seconds(writer.proc.pid)}
    relay0, ring0, pub0 = (
        relay_counters(bridge, writer.run_id),
        ring_counters(writer.run_id),
        writer.stats(),
    )
    start = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - start
    cpu1 = {"bridge": cpu_seconds(bridge.proc.pid), "writer": cpu_seconds(writer.proc.pid)}
    relay1, ring1, pub1 = (
        relay_counters(bridge, writer.run_id),
        ring_counters(writer.run_id),
        writer.stats(),
    )
    result = {f"{k}_cpu_pct": 100 * (cpu1[k] - cpu0[k]) / wall for k in cpu0}
    published = ring1[0] - ring0[0]
    reads = relay1.get("relay_frames_read_total", 0) - relay0.get("relay_frames_read_total", 0)
    encode_s = relay1.get("relay_encode_seconds_total", 0) - relay0.get(
        "relay_encode_seconds_total", 0
    )
    result |= {
        "published_per_s": published / wall,
        "reads_per_frame": reads / published if published else 0.0,
        "encode_ms_per_read": 1000 * encode_s / reads if reads else 0.0,
        "publish_us": 1e6
        * (pub1["publish_s"] - pub0["publish_s"])
        / max(1, pub1["published"] - pub0["published"]),
        "watched": float(ring1[1]),
    }
    if viewers is not None:
        got = viewers.result()["viewers"]
        per = [v["bytes"] / seconds for v in got]
        result["viewer_kB_per_s"] = statistics.median(per) / 1000
        result["viewer_fps"] = statistics.median(v["frames"] / seconds for v in got)
        result["frame_kB"] = statistics.median(v["bytes"] / max(1, v["frames"]) for v in got) / 1000
    else:
        time.sleep(1.0)
    return result


def cmd_wire(args: argparse.Namespace) -> int:
    run_id = f"bench-wire-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    counts = [0, 1, args.viewers]
    print(
        f"wire: 600x400 CartPole frames at {FPS:g} fps, {args.rounds} rounds of {counts} "
        f"viewers, {args.seconds:g} s each; {load()}"
    )
    table: dict[int, list[dict[str, float]]] = {c: [] for c in counts}
    with tempfile.TemporaryDirectory() as tmp, run_bridge(Path(tmp)) as bridge:
        writer = start_writer(__file__, run_id, FPS)
        try:
            for index in range(args.rounds):
                shift = index % len(counts)
                for count in counts[shift:] + counts[:shift]:
                    result = measure_phase(bridge, writer, count, args.seconds)
                    table[count].append(result)
                    print(
                        f"round {index} viewers={count}: "
                        + ", ".join(f"{k} {v:.2f}" for k, v in result.items()),
                        flush=True,
                    )
        finally:
            writer.stop()
    keys = sorted({k for rows in table.values() for r in rows for k in r})
    print(f"\nmedians over {args.rounds} rounds [min, max]; {load()}")
    for count, rows in table.items():
        print(f"viewers={count}")
        for key in keys:
            values = [r[key] for r in rows if key in r]
            if values:
                print(
                    f"  {key:<20} {statistics.median(values):>9.2f} [{min(values):.2f}, {max(values):.2f}]"
                )
    for key in ("writer_cpu_pct", "publish_us", "bridge_cpu_pct"):
        pairs = [
            b[key] / a[key]
            for a, b in zip(table[1], table[args.viewers], strict=True)
            if a[key] > 0
        ]
        if pairs:
            print(f"paired {key} {args.viewers} viewers / 1 viewer: {spread(pairs)}")
    return 0


# --- PPO SPS -----------------------------------------------------------------------------------------


MODES = ("alone", "bridge-idle", "remote", "local")


def role_local_reader(run_id: str, fps: float) -> int:
    """A local viewer: poll the ring at ``fps``, copying each new frame, until stdin closes."""
    from gym_gui_bridge.errors import FastLaneNotFoundError
    from gym_gui_bridge.fastlane import FastLaneReader

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    reader = None
    frames = 0
    while not stop.is_set():
        if reader is None:
            try:
                reader = FastLaneReader.attach(run_id, announce=True)
            except FastLaneNotFoundError:
                stop.wait(1 / fps)
                continue
        if reader.latest_frame() is not None:
            frames += 1
        stop.wait(1 / fps)
    print(json.dumps({"frames": frames}), flush=True)
    return 0


def ppo_run(
    args: argparse.Namespace, mode: str, timesteps: int, workdir: Path, tag: str
) -> dict[str, float]:
    from bench_ppo_sps import _SUMMARY, NUM_ENVS, NUM_STEPS, SCRIPT, _follow

    run_id = f"bench-rsps-{os.getpid()}-{tag}-{mode}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FASTLANE", "GYM_GUI_", "CLEANRL_"))
    }
    env |= {"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "FASTLANE": "1"}
    command = [
        sys.executable,
        str(SCRIPT),
        f"--total-timesteps={timesteps}",
        f"--num-envs={NUM_ENVS}",
        f"--num-steps={NUM_STEPS}",
        "--fastlane-slot=2",
        f"--fastlane-run-id={run_id}",
    ]
    run_dir = workdir / f"{tag}-{mode}"
    run_dir.mkdir()
    samples: list[tuple[int, bool]] = []
    watcher: subprocess.Popen[str] | None = None
    with run_bridge(run_dir / "bridge") if mode != "alone" else contextlib.nullcontext() as bridge:
        child = subprocess.Popen(
            command,
            cwd=run_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=(run_dir / "err").open("w"),
            text=True,
        )
        if mode == "remote":
            assert bridge is not None
            watcher = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "viewers",
                    "--address",
                    bridge.address,
                    "--run-id",
                    run_id,
                    "--count",
                    "1",
                    "--seconds",
                    "100000",
                    "--warmup",
                    "0",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
        elif mode == "local":
            watcher = subprocess.Popen(
                [sys.executable, __file__, "local-reader", "--run-id", run_id],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                with contextlib.suppress(Exception):  # not created yet, or gone
                    samples.append(ring_counters(run_id))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        marks: dict[str, float] = {}
        out = io.StringIO()
        _follow(child, out, marks)  # the training loop's CPU: iteration 1 to the summary
        child.wait(1800)
        stdout = out.getvalue()
        stop.set()
        sampler.join()
        if mode == "remote" and bridge is not None:
            got = relay_counters(bridge, run_id)
            frames_seen = got.get("frames_relayed_total", 0.0)
        if watcher is not None:
            if mode == "local":
                frames_seen = float(
                    json.loads(watcher.communicate(timeout=30)[0].splitlines()[-1])["frames"]
                )
            else:
                watcher.terminate()
                watcher.wait(30)
    summary = _SUMMARY.search(stdout)
    if child.returncode != 0 or summary is None:
        raise RuntimeError(f"{mode}: exit {child.returncode}, see {run_dir}/err")
    published = max((s[0] for s in samples), default=-1)
    watched = any(s[1] for s in samples)
    cpu_steps = timesteps - NUM_ENVS * NUM_STEPS
    cpu_us = (marks["last"] - marks["first"]) / cpu_steps * 1e6 if len(marks) == 2 else float("nan")
    result = {
        "sps": float(summary.group(2)),
        "cpu_us_per_step": cpu_us,
        "published": float(published),
        "watched": float(watched),
    }
    if mode in ("remote", "local"):
        result["frames_seen"] = frames_seen
        if frames_seen <= 0:
            raise RuntimeError(f"{mode}: the viewer saw no frame")
    if mode in ("alone", "bridge-idle") and (published > 1 or watched):  # 1: the ring's first
        raise RuntimeError(
            f"{mode}: nobody watches, yet the ring shows {published} frames, watched={watched}"
        )
    return result


def cmd_sps(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-remote-sps-"))
    print(
        f"sps: examples/ppo.py, {args.total_timesteps} steps per run, {args.rounds} rounds of "
        f"{MODES}; {load()}\nworkdir {workdir}"
    )
    for mode in MODES:
        ppo_run(args, mode, 4096, workdir, "preflight")
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    for index in range(args.rounds):
        shift = index % len(MODES)
        for mode in MODES[shift:] + MODES[:shift]:
            result = ppo_run(args, mode, args.total_timesteps, workdir, f"r{index}")
            runs[mode].append(result)
            print(
                f"round {index} {mode:<12} "
                + " ".join(f"{k}={v:g}" for k, v in result.items())
                + f"; {load()}",
                flush=True,
            )
    print(f"\n{'mode':<12}{'median SPS':>11}{'min':>7}{'max':>7}{'spread':>8}")
    for mode, rows in runs.items():
        sps = [r["sps"] for r in rows]
        print(
            f"{mode:<12}{statistics.median(sps):>11.0f}{min(sps):>7.0f}{max(sps):>7.0f}"
            f"{(max(sps) - min(sps)) / statistics.median(sps):>8.1%}"
        )
    for key in ("sps", "cpu_us_per_step"):
        for a, b in (("bridge-idle", "alone"), ("remote", "local")):
            ratios = [x[key] / y[key] for x, y in zip(runs[a], runs[b], strict=True)]
            print(f"paired {key} {a} / {b}: {spread(ratios)}  all: {[round(r, 3) for r in ratios]}")
    cpu = {m: statistics.median(r["cpu_us_per_step"] for r in rows) for m, rows in runs.items()}
    print(
        "median training-loop CPU per env step (us): "
        + ", ".join(f"{m} {v:.1f}" for m, v in cpu.items())
    )
    return 0


# --- PPO iteration time in blocks inside one run -------------------------------------------------


def role_watch_ctl(kind: str, address: str, run_id: str) -> int:
    """Watch ``run_id`` while stdin last said ``on`` (``remote``: a WatchFrames stream at 30 fps,
    receive only; ``local``: a FastLaneReader polled at 30 Hz); ``ok`` after each command."""
    from gym_gui_bridge.fastlane import FastLaneReader
    from gym_gui_bridge.proto import trainer_pb2 as pb
    from gym_gui_bridge.proto import trainer_pb2_grpc as pb_grpc
    from gym_gui_bridge.server.client import open_channel

    stub = pb_grpc.TrainerServiceStub(open_channel(address)) if kind == "remote" else None
    current: list[Any] = []  # (stop event, call or None, thread)

    def remote(stop: threading.Event, call: Any) -> None:
        with contextlib.suppress(Exception):  # cancelled
            for _ in call:
                pass

    def local(stop: threading.Event) -> None:
        from gym_gui_bridge.errors import FastLaneNotFoundError

        while not stop.is_set():
            try:
                reader = FastLaneReader.attach(run_id, announce=True)
            except FastLaneNotFoundError:  # the run has not made its ring yet
                stop.wait(1 / FPS)
                continue
            with reader:
                while not stop.wait(1 / FPS):
                    reader.latest_frame()

    for line in sys.stdin:
        command = line.strip()
        if command == "on" and not current:
            stop = threading.Event()
            if stub is not None:
                call = stub.WatchFrames(pb.WatchRequest(run_id=run_id, fps=FPS))
                thread = threading.Thread(target=remote, args=(stop, call), daemon=True)
            else:
                call = None
                thread = threading.Thread(target=local, args=(stop,), daemon=True)
            thread.start()
            current[:] = [stop, call, thread]
        elif command == "off" and current:
            stop, call, thread = current
            stop.set()
            if call is not None:
                call.cancel()
            thread.join(5)
            current.clear()
        print("ok", flush=True)
    return 0


class WatchCtl:
    def __init__(self, kind: str, bridge: Bridge, run_id: str) -> None:
        command = [sys.executable, __file__, "watch-ctl", "--kind", kind]
        command += ["--address", bridge.address, "--run-id", run_id]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def say(self, command: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise RuntimeError(f"watch-ctl did not take {command!r}")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(10)


def cmd_sps_blocks(args: argparse.Namespace) -> int:
    print(
        f"sps-blocks: examples/ppo.py, {args.total_timesteps} steps per run, blocks of "
        f"{args.block:g} s (settle {args.settle:g} s); {load()}"
    )
    for phase in args.phases.split(","):
        _blocks_phase(args, phase)
    return 0


def _blocks_phase(args: argparse.Namespace, phase: str) -> None:
    """One PPO run with blocks of ``phase`` (idle: alone / bridge-idle; watched: local / remote)."""
    import signal

    from bench_ppo_sps import NUM_ENVS, NUM_STEPS, SCRIPT
    from remote_blocks import run_blocks

    run_id = f"bench-rblk-{os.getpid()}-{phase}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FASTLANE", "GYM_GUI_", "CLEANRL_"))
    }
    env |= {"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "FASTLANE": "1"}
    command = [
        sys.executable,
        str(SCRIPT),
        f"--total-timesteps={args.total_timesteps}",
        f"--num-envs={NUM_ENVS}",
        f"--num-steps={NUM_STEPS}",
        "--fastlane-slot=2",
        f"--fastlane-run-id={run_id}",
    ]
    with tempfile.TemporaryDirectory() as tmp, run_bridge(Path(tmp) / "bridge") as bridge:
        child = subprocess.Popen(
            command,
            cwd=tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        seen: list[tuple[int, bool]] = []

        def check() -> None:
            with contextlib.suppress(Exception):
                seen.append(ring_counters(run_id))

        if phase == "idle":

            def switch(name: str) -> None:
                bridge.proc.send_signal(signal.SIGSTOP if name == "alone" else signal.SIGCONT)

            try:
                result = run_blocks(
                    child, ("alone", "bridge-idle"), switch, args.block, args.settle, check
                )
            finally:
                bridge.proc.send_signal(signal.SIGCONT)
            if any(w for _, w in seen) or max((p for p, _ in seen), default=0) > 1:
                raise RuntimeError(f"nobody watched, yet the ring showed {seen[-1]}")
            print(
                f"idle: ring sampled {len(seen)} times: at most "
                f"{max((p for p, _ in seen), default=0)} frame published, never watched"
            )
        else:
            ctl = {
                "local": WatchCtl("local", bridge, run_id),
                "remote": WatchCtl("remote", bridge, run_id),
            }
            active: list[str] = []

            def switch(name: str) -> None:
                ctl[name].say("on")  # the other watcher stays on a moment: always watched
                time.sleep(0.3)
                for other in active:
                    ctl[other].say("off")
                active[:] = [name]

            try:
                result = run_blocks(
                    child, ("local", "remote"), switch, args.block, args.settle, check
                )
                relayed = relay_counters(bridge, run_id)
            finally:
                for c in ctl.values():
                    c.close()
            print(
                f"watched: ring watched in {sum(w for _, w in seen)}/{len(seen)} samples; "
                f"relay: {relayed.get('relay_frames_read_total', 0):.0f} frames read, "
                f"{relayed.get('frames_relayed_total', 0):.0f} sent"
            )
        child.wait(60)
    print(
        f"{phase}: blocks (name, mean iteration ms, iterations): "
        + " ".join(f"{n[0]}{1000 * m:.0f}/{c}" for n, m, c in result.blocks)
    )
    print(f"{phase}: {result.summary()}; {load()}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("latency", "wire", "sps", "sps-blocks"):
        p = sub.add_parser(name)
        p.add_argument("--rounds", type=int, default=5)
        p.add_argument("--seconds", type=float, default=10.0, help="measuring window per phase")
        p.add_argument("--viewers", type=int, default=10, help="wire: viewers of the largest phase")
        p.add_argument("--total-timesteps", type=int, default=49152, help="sps: steps per run")
        p.add_argument("--block", type=float, default=4.0, help="sps-blocks: seconds per block")
        p.add_argument(
            "--settle", type=float, default=1.0, help="sps-blocks: left out after a switch"
        )
        p.add_argument("--phases", default="idle,watched", help="sps-blocks: idle, watched")
    p = sub.add_parser("writer")  # child roles
    p.add_argument("--run-id", required=True)
    p.add_argument("--fps", type=float, default=FPS)
    p = sub.add_parser("viewers")
    p.add_argument("--address", required=True)
    p.add_argument("--run-id", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--warmup", type=float, default=WARMUP_S)
    p.add_argument("--paint", action="store_true")
    p = sub.add_parser("watch-ctl")
    p.add_argument("--kind", choices=["remote", "local"], required=True)
    p.add_argument("--address", required=True)
    p.add_argument("--run-id", required=True)
    p = sub.add_parser("local-reader")
    p.add_argument("--run-id", required=True)
    args = parser.parse_args()
    if args.command == "writer":
        return role_writer(args.run_id, args.fps)
    if args.command == "viewers":
        return role_viewers(
            args.address, args.run_id, args.count, FPS, args.warmup, args.seconds, args.paint
        )
    if args.command == "watch-ctl":
        return role_watch_ctl(args.kind, args.address, args.run_id)
    if args.command == "local-reader":
        return role_local_reader(args.run_id, FPS)
    commands = {
        "latency": cmd_latency,
        "wire": cmd_wire,
        "sps": cmd_sps,
        "sps-blocks": cmd_sps_blocks,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
