"""Watching a run from a machine that cannot see its shared memory: a real worker, a real
``gym-gui-bridge serve`` with TLS and a token, and a viewer in its own mount namespace with a
private /dev/shm. The worker renders only while the remote viewer watches."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from bridge_helpers import free_port, rows_stored, start_bridge, stop_bridge
from tls_files import make_certificate
from waits import WAIT_S, wait_until
from worker_helpers import SUPPORT, clean_env, segment_exists

from gym_gui_bridge.cli import fastlanes
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.server.client import connect

pytestmark = pytest.mark.slow  # starts a worker, a bridge and a viewer

SEED, SLOT = 10, 2
VIEWER = SUPPORT / "remote_viewer.py"
#: the worker steps until the test stops it (SIGINT); the bound is only a backstop
LONG_RUN = ("--min-seconds", "600", "--step-sleep", "0.001", "--seed", str(SEED))


def _private_shm_command(*argv: str) -> list[str]:
    """``argv`` run in a new mount namespace whose /dev/shm is an empty tmpfs of its own."""
    script = 'mount -t tmpfs tmpfs /dev/shm && exec "$0" "$@"'
    return ["unshare", "-m", "sh", "-c", script, *argv]


def _lane(stub: object, run_id: str) -> pb.FastLaneInfo | None:
    answer = stub.ListFastLanes(pb.ListFastLanesRequest(), timeout=WAIT_S)  # type: ignore[attr-defined]
    return next((f for f in answer.fastlanes if f.run_id == run_id), None)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="a private /dev/shm needs root and unshare(1)",
)
def test_a_viewer_without_the_rings_shared_memory_watches_through_a_tls_bridge(
    tmp_path: Path, run_id: str, start_script, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    cert, key = make_certificate(tmp_path)
    token = secrets.token_hex(16)
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "FASTLANE_BRIDGE_TOKEN": token}
    bridge = start_bridge(
        tmp_path / "bridge.sqlite",
        port,
        tmp_path / "spool",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        env=env,
        tls_ca=cert,
    )
    # the script logs no scalar: records are sent at once, not held until it would
    worker_config = tmp_path / "worker.toml"
    worker_config.write_text("[recorder]\nRECORDER_GLOBAL_STEP_HOLD = 1\n")
    try:
        # the worker ships its records to the bridge over TLS, as a cluster node does
        worker = start_script(
            "--num-envs", "4", "--fastlane-slot", str(SLOT), *LONG_RUN,
            FASTLANE="1", FASTLANE_RUN_ID=run_id, FASTLANE_CONFIG=str(worker_config),
            FASTLANE_BRIDGE=address, FASTLANE_BRIDGE_TOKEN=token,
            FASTLANE_BRIDGE_TLS_CA=str(cert),
        )  # fmt: skip
        wait_until(lambda: segment_exists(run_id) or worker.poll() is not None, what="the ring")
        assert worker.poll() is None, worker.communicate()[1]
        stub = connect(address, token=token, tls_ca=cert)

        # nobody watches: the worker steps (its episodes reach the bridge) and renders nothing
        # beyond the reset frame every run publishes
        db = tmp_path / "bridge.sqlite"
        wait_until(lambda: rows_stored(db, run_id, "episodes") >= 5, what="episodes stored")
        lane = _lane(stub, run_id)
        assert lane is not None and lane.env_slot == SLOT and lane.writer_alive
        assert not lane.watched and lane.remote_viewers == 0 and lane.frames_published <= 1
        monkeypatch.setenv("FASTLANE_BRIDGE_TOKEN", token)
        capsys.readouterr()
        assert fastlanes.main(["--bridge", address, "--tls-ca", str(cert), "--json"], "x") == 0
        row = next(r for r in json.loads(capsys.readouterr().out) if r["run_id"] == run_id)
        assert (row["watched"], row["viewers"], row["slot"]) == ("no", 0, SLOT)

        # the token is required, and so is the CA
        with pytest.raises(grpc.RpcError) as refused:
            _lane(connect(address, tls_ca=cert), run_id)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as plain:
            connect(address, token=token).GetHealth(pb.HealthRequest(), timeout=5)
        assert plain.value.code() == grpc.StatusCode.UNAVAILABLE

        # a viewer in a mount namespace of its own: it cannot see the ring, yet gets its frames
        viewer = subprocess.run(
            _private_shm_command(
                sys.executable, str(VIEWER), address, run_id, "20", "--tls-ca", str(cert)
            ),
            env=clean_env(FASTLANE_BRIDGE_TOKEN=token),
            capture_output=True,
            text=True,
            timeout=WAIT_S * 2,
        )
        assert viewer.returncode == 0, viewer.stderr
        report = json.loads(viewer.stdout)
        assert report["ring_visible"] is False
        frames = report["frames"]
        assert len(frames) == 20
        seqs = [f["seq"] for f in frames]
        assert seqs == sorted(set(seqs)) and seqs[0] >= 1
        assert all(f["env_slot"] == SLOT for f in frames)
        assert all(f["red"] == SEED + SLOT for f in frames)  # the pixels of slot 2's env
        assert all(f["decoded"] == [f["size"][1], f["size"][0], 3] for f in frames)
        steps = [f["global_step"] for f in frames]
        assert steps == sorted(steps) and steps[-1] > steps[0]  # the HUD of each frame
        assert frames[-1]["step_rate_hz"] > 0

        # the viewer is gone: the relay stops reading and the ring is unwatched within seconds
        lane = wait_until(
            lambda: (x := _lane(stub, run_id)) is not None and not x.watched and x,
            timeout=10.0,
            what=f"the ring unwatched once the viewer left ({_lane(stub, run_id)})",
        )
        assert lane.remote_viewers == 0 and lane.frames_published > 20
    finally:
        code = stop_bridge(bridge)
    assert code == 0
    worker.send_signal(signal.SIGINT)
    worker.communicate(timeout=WAIT_S)
