"""Instructions a watched slot adds to a CartPole vector step, and where they go (callgrind).

    python bench/watch_cost_callgrind.py --hooked               # per-step and per-frame costs
    python bench/watch_cost_callgrind.py --hooked --annotate 40  # where a frame's instructions go
    python bench/watch_cost_callgrind.py --hooked --env-id BreakoutNoFrameskip-v4 \
        --step-ms 2.9 --render-ms 0 --low 100 --high 400          # Atari: the emulator's screen

A 4-env CartPole-v1 ``SyncVectorEnv`` as CleanRL builds it (``RecordEpisodeStatistics`` on each
slot), slot 2 rendering into a real ring through ``FastLaneEnvWrapper``, is stepped N times
with fixed pseudo-random actions under ``valgrind --tool=callgrind``. ``--hooked`` builds it as
``FASTLANE=1 --fastlane-slot 2`` does (the start-up hook's vector-env patch, with the slow
lane's recorder on every slot; its records are dropped instead of stored: the training
thread's share only); without it, the wrapper is put on slot 2 by hand. The wrapper's clock is
simulated: ``--step-ms`` per vector step, plus ``--render-ms`` for each ``render()``, so the
frame budget (30 frames/s and 3% of wall time by default) asks for the same frames in every run,
whatever the load of the machine. The defaults give a frame every ~67 vector steps: the rate a
60 Hz viewer gets from a CartPole PPO run (~20 frames/s at ~5,300 SPS).

``--env-id BreakoutNoFrameskip-v4`` (any ``*NoFrameskip-v4`` id, needs ale-py) steps Atari envs
instead, each with CleanRL's frame skipping (``MaxAndSkipEnv``, 4 emulator frames per step):
the watched slot's frames are then copies of the emulator's screen (``screen`` mode), whose
cost is counted, so ``--render-ms 0``; ``--step-ms 2.9`` is a 4-env Atari PPO's vector step
(~1,400 SPS), giving a frame every ~12 vector steps (the 30 frames/s cap). ALE under callgrind
is slow (~0.3 s per vector step): use a few hundred steps.

Configurations:

- ``unwatched``: nobody watches (the wrapper's per-step bookkeeping only).
- ``watched``: a reader is watching: frames are rendered and published under the budget.
- ``render-only``: at the frames the watched run renders, the harness calls the env's own
  ``render()`` (as a script would) and publishes nothing: the cost of that picture without the
  fast lane.

Each configuration runs at two step counts; the difference over the extra steps is the cost of
one vector step, free of start-up costs; ``watched - unwatched`` per frame is what a frame costs
the training thread. Instruction counts do not depend on the machine's load. ``--annotate N``
instead runs the long watched and unwatched configurations once more, keeping their profiles,
and prints the N C functions whose inclusive instructions grow most with the frames (watched
minus unwatched, per frame; from ``callgrind_annotate --inclusive=yes``). Python functions are
not named there (they all run inside ``_PyEval_EvalFrameDefault``), the C work they call is.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

NUM_ENVS = 4
WATCHED = 2


def _make_base(env_id: str, render_mode: str | None = None):  # type: ignore[no-untyped-def]
    """``gym.make(env_id)``; an Atari id gets the frame skipping of CleanRL's Atari stack."""
    import gymnasium as gym

    if not env_id.endswith("NoFrameskip-v4"):
        return gym.make(env_id, render_mode=render_mode)
    import ale_py

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "support", "scripts"))
    from atari_wrappers import MaxAndSkipEnv

    gym.register_envs(ale_py)
    return MaxAndSkipEnv(gym.make(env_id, render_mode=render_mode), skip=4)


def _child(
    mode: str,
    steps: int,
    step_ms: float,
    fps: float,
    render_ms: float,
    hooked: bool,
    env_id: str = "CartPole-v1",
) -> None:
    import gymnasium as gym
    import numpy as np

    from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
    from gym_gui_bridge.config.fastlane import FrameConfig

    now = [0.0]

    def clock() -> float:
        return now[0]

    frame_config = FrameConfig(fps=fps, sidecar_fps=0)  # in-process frames: what is counted
    if hooked:  # as FASTLANE=1 --fastlane-slot 2 hooks the script's vector env
        from cleanrl_worker.fastlane import frame_targets
        from cleanrl_worker.patches import vector_env
        from cleanrl_worker.settings import load_settings
        from cleanrl_worker.slowlane import recorder as slowlane

        frame_targets.SlotSink.__init__.__kwdefaults__["clock"] = clock
        FastLaneEnvWrapper.__init__.__kwdefaults__["clock"] = clock
        folder = tempfile.mkdtemp(prefix="bench-watch-callgrind-")
        config = os.path.join(folder, "in-process.toml")  # in-process frames: what is counted
        with open(config, "w") as file:
            file.write("[frames]\nFASTLANE_SIDECAR_FPS = 0\n")
        os.environ["FASTLANE_CONFIG"] = config
        recorder = slowlane.Recorder(
            "bench", db_path=os.path.join(folder, "x.sqlite"), steps="watched", watched_slot=WATCHED
        )
        recorder._put = lambda record: None  # the training thread's share only
        settings = load_settings(
            {},
            run_id=f"bench-watch-callgrind-{os.getpid()}",
            slot=WATCHED,
            fps=fps,
        )
        vector_env.install(settings, recorder)

    def make(slot: int):  # type: ignore[no-untyped-def]
        def thunk():  # type: ignore[no-untyped-def]
            if hooked or slot != WATCHED:
                return gym.wrappers.RecordEpisodeStatistics(_make_base(env_id))
            env = FastLaneEnvWrapper(
                _make_base(env_id, "rgb_array"),
                run_id=f"bench-watch-callgrind-{os.getpid()}",
                slot=slot,
                frames=frame_config,
                clock=clock,
            )
            return gym.wrappers.RecordEpisodeStatistics(env)

        return thunk

    envs = gym.vector.SyncVectorEnv([make(i) for i in range(NUM_ENVS)])
    if hooked:
        clock_of = getattr(recorder, "clock", None)
        if clock_of is not None and not clock_of.decided:
            clock_of._decide("after_step")
    wrapper = envs.envs[WATCHED]
    while not isinstance(wrapper, FastLaneEnvWrapper):
        wrapper = wrapper.env
    env = wrapper.env
    render = env.render

    def timed_render():  # type: ignore[no-untyped-def]
        now[0] += render_ms / 1000.0  # the simulated clock: every frame costs render_ms
        return render()

    env.render = timed_render  # type: ignore[method-assign]
    sink = wrapper._sink
    sink.watched = lambda now: mode != "unwatched"  # type: ignore[method-assign]
    if mode == "render-only":  # the watched run's frames, render() only: no check, no publish

        def publish() -> None:
            start = clock()
            env.render()
            sink.budget.spent(start, clock())
            wrapper.frames_rendered += 1

        wrapper._publish = publish  # type: ignore[method-assign]
    rng = np.random.default_rng(0)
    actions = rng.integers(0, int(envs.single_action_space.n), size=(steps, NUM_ENVS))
    envs.reset(seed=0)
    for index in range(steps):
        now[0] += step_ms / 1000.0
        envs.step(actions[index])
    print(f"frames={wrapper.frames_rendered}")
    envs.close()


def _run(mode: str, steps: int, args: argparse.Namespace, out: str = "/dev/null") -> tuple:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            mode,
            str(steps),
            f"--step-ms={args.step_ms}",
            f"--fps={args.fps}",
            f"--render-ms={args.render_ms}",
            f"--env-id={args.env_id}",
            *(["--hooked"] if args.hooked else []),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "SDL_VIDEODRIVER": "dummy"},
    )
    collected = re.search(r"Collected : (\d+)", done.stderr)
    frames = re.search(r"frames=(\d+)", done.stdout)
    if collected is None or frames is None:
        raise RuntimeError(f"Expected 'Collected' and 'frames=', got: {done.stderr[-500:]}")
    return int(collected.group(1)), int(frames.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--low", type=int, default=500, help="vector steps of the short run")
    parser.add_argument("--high", type=int, default=2500, help="vector steps of the long run")
    parser.add_argument("--step-ms", type=float, default=0.75, help="simulated ms per step")
    parser.add_argument("--fps", type=float, default=30.0, help="the wrapper's frame cap")
    parser.add_argument("--render-ms", type=float, default=1.5, help="simulated ms a render takes")
    parser.add_argument(
        "--hooked", action="store_true", help="the real hook: FASTLANE=1 with the slow lane"
    )
    parser.add_argument(
        "--annotate", type=int, default=0, help="only: the top N C functions of a frame"
    )
    parser.add_argument(
        "--env-id", default="CartPole-v1", help="CartPole-v1, or an Atari *NoFrameskip-v4 id"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(
            args.child[0],
            int(args.child[1]),
            args.step_ms,
            args.fps,
            args.render_ms,
            args.hooked,
            args.env_id,
        )
        return
    if args.annotate:
        annotate(args, args.annotate)
        return
    extra = args.high - args.low
    results = {}
    for mode in ("unwatched", "watched", "render-only"):
        low, frames_low = _run(mode, args.low, args)
        high, frames_high = _run(mode, args.high, args)
        results[mode] = ((high - low) / extra, frames_high - frames_low)
    base = results["unwatched"][0]
    frames = results["watched"][1]
    print(f"vector steps {args.low} -> {args.high}: {frames} more frames in the watched run")
    for mode, (per_step, extra_frames) in results.items():
        print(f"{mode:<12}{per_step:>12,.0f} instructions per vector step ({extra_frames} frames)")
    per_frame = (results["watched"][0] - base) * extra / frames
    render = (results["render-only"][0] - base) * extra / results["render-only"][1]
    print(f"a watched frame costs the training thread {per_frame:,.0f} instructions;")
    print(f"the env's own render() of it {render:,.0f} ({per_frame / render:.2f}x)")


def _inclusive(path: str) -> dict[str, int]:
    """Inclusive instructions per C function (``file:function``) of one callgrind profile."""
    shown = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    costs: dict[str, int] = {}
    for line in shown.splitlines():
        match = re.match(r"^\s*([\d,]+) \([^)]*\)\s+(\S.*?)(?: \[.*\])?$", line)
        if match is not None:
            name = match.group(2).rsplit(":", 1)[-1]
            costs[name] = max(costs.get(name, 0), int(match.group(1).replace(",", "")))
    return costs


def annotate(args: argparse.Namespace, top: int) -> None:
    """The C functions whose inclusive instructions grow most with the frames: the long
    watched run's profile minus the long unwatched run's, per frame."""
    folder = tempfile.mkdtemp(prefix="bench-watch-callgrind-")
    profiles, frames = {}, {}
    for mode in ("watched", "unwatched"):
        out = os.path.join(folder, f"{mode}.out")
        _, frames[mode] = _run(mode, args.high, args, out)
        profiles[mode] = _inclusive(out)
    count = frames["watched"] - frames["unwatched"]
    watched, unwatched = profiles["watched"], profiles["unwatched"]
    grown = {name: cost - unwatched.get(name, 0) for name, cost in watched.items()}
    print(f"\nper frame ({count} frames), inclusive instructions, watched minus unwatched:")
    for name, cost in sorted(grown.items(), key=lambda item: -item[1])[:top]:
        print(f"{cost / count:>14,.0f}  {name}")
    print(f"profiles: {folder}")


if __name__ == "__main__":
    main()
