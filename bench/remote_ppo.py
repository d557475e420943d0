"""PPO (``examples/ppo.py``) with the bridge: the ``sps`` and ``sps-blocks`` subcommands of
``bench_remote_view.py`` and the viewers they start (its ``watch-ctl`` and ``local-reader``
roles)."""

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
from pathlib import Path
from typing import Any

from remote_parts import FPS, Bridge, load, relay_counters, ring_counters, run_bridge, spread

__all__ = ["cmd_sps", "cmd_sps_blocks", "role_local_reader", "role_watch_ctl"]

CLI = str(Path(__file__).with_name("bench_remote_view.py"))


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


def _ppo(run_id: str, timesteps: int) -> tuple[dict[str, str], list[str]]:
    """Environment and command of an ``examples/ppo.py`` run with the fast lane on, slot 2
    watched as ``run_id``, one torch thread, this process's fast-lane settings left out."""
    from bench_ppo_sps import NUM_ENVS, NUM_STEPS, SCRIPT

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
    return env, command


def ppo_run(
    args: argparse.Namespace, mode: str, timesteps: int, workdir: Path, tag: str
) -> dict[str, float]:
    from bench_ppo_sps import _SUMMARY, NUM_ENVS, NUM_STEPS, _follow

    run_id = f"bench-rsps-{os.getpid()}-{tag}-{mode}"
    env, command = _ppo(run_id, timesteps)
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
                    CLI,
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
                [sys.executable, CLI, "local-reader", "--run-id", run_id],
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
        command = [sys.executable, CLI, "watch-ctl", "--kind", kind]
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

    from remote_blocks import run_blocks

    run_id = f"bench-rblk-{os.getpid()}-{phase}"
    env, command = _ppo(run_id, args.total_timesteps)
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
        failed: list[str] = []

        def check() -> None:
            try:
                seen.append(ring_counters(run_id))
            except Exception as error:  # no ring yet, or one being replaced: count it
                failed.append(f"{type(error).__name__}: {error}")

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
            if len(seen) == len(result.blocks):  # one sample at the end of each block
                per: dict[str, list[int]] = {"local": [], "remote": []}
                for i in range(1, len(seen)):
                    per[result.blocks[i][0]].append(seen[i][0] - seen[i - 1][0])
                print(
                    "watched: frames the worker published per block, median: "
                    + ", ".join(f"{k} {statistics.median(v):g}" for k, v in per.items() if v)
                )
        child.wait(60)
    if failed:
        print(f"{phase}: {len(failed)} ring samples failed, e.g. {failed[-1]}")
    print(
        f"{phase}: blocks (name, mean iteration ms, iterations): "
        + " ".join(f"{n[0]}{1000 * m:.0f}/{c}" for n, m, c in result.blocks)
    )
    print(f"{phase}: {result.summary()}; {load()}", flush=True)
