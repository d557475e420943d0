"""Remote viewing through a real ``gym-gui-bridge serve --http``: latency, wire and bridge cost,
and what it costs a PPO run.

    python bench/bench_remote_view.py latency [--rounds 5 --seconds 10]
    python bench/bench_remote_view.py wire [--rounds 5 --seconds 10 --viewers 10]
    OMP_NUM_THREADS=1 python bench/bench_remote_view.py sps [--rounds 5 --total-timesteps 49152]
    OMP_NUM_THREADS=1 python bench/bench_remote_view.py sps-blocks [--total-timesteps 393216]

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

``sps-blocks``: the same comparisons inside one training run each (``remote_blocks.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_helpers import cpu_seconds
from remote_parts import (
    FPS,
    Bridge,
    Writer,
    load,
    percentile,
    relay_counters,
    ring_counters,
    role_viewers,
    role_writer,
    run_bridge,
    spread,
    start_writer,
)
from remote_ppo import cmd_sps, cmd_sps_blocks, role_local_reader, role_watch_ctl

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
