"""``FASTLANE_BRIDGE=... python examples/ppo.py``: shipping to a bridge that dies or comes late.

Every episode of every slot and every step of the watched slot must be stored exactly once in
the bridge's database, whatever happened to the bridge while the script trained. The script's
own summary line says how many episodes it finished: the database must hold exactly those.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_helpers import free_port, start_bridge, stop_bridge
from e2e_helpers import (
    NUM_ENVS,
    WATCHED,
    bridge_cli,
    check_episodes,
    check_watched_steps,
    episodes_stored,
    ppo_args,
    start_ppo,
)
from waits import WAIT_S, wait_until

pytestmark = pytest.mark.slow

SUMMARY = re.compile(r"^summary: episodes=(\d+)", re.M)
STEPS = 4096  # about 1000 episodes over 4 envs: long enough to kill a bridge in the middle


def _finish(ppo: subprocess.Popen[str]) -> int:
    """Wait for the script; return the number of episodes its summary line reports."""
    out, err = ppo.communicate(timeout=WAIT_S * 4)
    assert ppo.returncode == 0, err
    match = SUMMARY.search(out)
    assert match, out[-2000:]
    return int(match.group(1))


@contextlib.contextmanager
def _paused(proc: subprocess.Popen[str]) -> Iterator[None]:
    """Stop ``proc`` (SIGSTOP) for the block: it cannot race ahead of the test's next step.

    Its threads stop too; nothing it shipped is lost, the gRPC stream only waits."""
    proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGCONT)


def _spooled_bytes(workdir: Path) -> int:
    """Bytes in the script's spool segments (``runs/spool`` of its working directory)."""
    total = 0
    for segment in (workdir / "runs" / "spool").glob("*/seg-*.jsonl"):
        with contextlib.suppress(FileNotFoundError):  # acknowledged and deleted meanwhile
            total += segment.stat().st_size
    return total


def _patient_exit(workdir: Path) -> str:
    """A config file for the script: at exit it waits up to WAIT_S for the bridge's
    acknowledgements (the defaults' few seconds can pass on a loaded machine while the bridge
    restarts and the worker reconnects). Returns its path, for FASTLANE_CONFIG."""
    path = workdir / "patient-exit.toml"
    path.write_text(
        f"[recorder]\nRECORDER_CLOSE_TIMEOUT_S = {WAIT_S}\n"
        f"[emitter]\nEMITTER_CLOSE_TIMEOUT_S = {WAIT_S}\n"
    )
    return str(path)


def _check_all_stored(db: Path, run_id: str, finished: int) -> None:
    episodes = check_episodes(db, run_id)
    assert len(episodes) == finished
    check_watched_steps(db, run_id, episodes)
    (run,) = [r for r in bridge_cli("runs", "--db", str(db)) if r["run_id"] == run_id]
    assert run["status"] == "finished"


def test_bridge_killed_mid_run_and_restarted_loses_and_duplicates_nothing(
    run_id: str, tmp_path: Path
) -> None:
    db, spool, port = tmp_path / "bridge.sqlite", tmp_path / "bridge-spool", free_port()
    bridge = start_bridge(db, port, spool)
    ppo = start_ppo(
        ppo_args("--fastlane-slot", str(WATCHED), num_envs=NUM_ENVS, steps=STEPS),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        FASTLANE_BRIDGE=f"127.0.0.1:{port}",
        FASTLANE_CONFIG=_patient_exit(tmp_path),
    )
    try:
        wait_until(lambda: episodes_stored(db, run_id) >= 20, WAIT_S * 2, "20 stored episodes")
        with _paused(ppo):  # however fast it trains, the bridge dies in the middle of the run
            assert ppo.poll() is None, "the run ended before the bridge was killed"
            bridge.send_signal(signal.SIGKILL)
            bridge.wait(timeout=WAIT_S)
            at_kill = _spooled_bytes(tmp_path)
        # the worker keeps training and spooling while the bridge is down
        wait_until(lambda: _spooled_bytes(tmp_path) > at_kill, what="records spooled meanwhile")
        with _paused(ppo):  # the bridge is back before the script's exit waits for it
            bridge = start_bridge(db, port, spool)
        finished = _finish(ppo)
        assert stop_bridge(bridge) == 0
    finally:
        for proc in (ppo, bridge):
            if proc.poll() is None:
                proc.kill()
    _check_all_stored(db, run_id, finished)


def test_bridge_started_after_the_worker_began_receives_everything(
    run_id: str, tmp_path: Path
) -> None:
    db, spool, port = tmp_path / "bridge.sqlite", tmp_path / "bridge-spool", free_port()
    ppo = start_ppo(
        ppo_args("--fastlane-slot", str(WATCHED), num_envs=NUM_ENVS, steps=STEPS),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        FASTLANE_BRIDGE=f"127.0.0.1:{port}",
        FASTLANE_CONFIG=_patient_exit(tmp_path),
    )
    bridge: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: _spooled_bytes(tmp_path) > 0, what="records in the worker's spool")
        with _paused(ppo):  # the bridge is up before the script's exit waits for it
            assert ppo.poll() is None, "the run ended before the bridge started"
            bridge = start_bridge(db, port, spool)
        finished = _finish(ppo)
        assert stop_bridge(bridge) == 0
    finally:
        for proc in (ppo, bridge):
            if proc is not None and proc.poll() is None:
                proc.kill()
    _check_all_stored(db, run_id, finished)
