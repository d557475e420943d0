"""The bridge's resources, against a stranger: idle streams, stream caps per peer, per-stream
state, odd records on a live stream, and the shared token's checks.

Each case asserts what the stranger gets (a refusal naming the cap, a stream ended), that real
clients keep being served, and that a refused start-up is one line (exit status 2), no traceback.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from bridge_helpers import free_port, start_bridge, stop_bridge
from waits import WAIT_S, wait_until
from worker_helpers import SUPPORT

from gym_gui_bridge.config.bridge import BridgeConfig
from gym_gui_bridge.config.programs import ServeConfig
from gym_gui_bridge.config.spec import ConfigError
from gym_gui_bridge.logs import LOG_LIVE_RECORD_SKIPPED, LogThrottle
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.jsonl import encode_lines
from gym_gui_bridge.protocol.records import ScalarRecord, StepRecord
from gym_gui_bridge.protocol.wire import PUBLISH_METHOD, channel_options
from gym_gui_bridge.server.app import Bridge
from gym_gui_bridge.server.client import connect
from gym_gui_bridge.server.service import ENDED_METADATA_KEY

TOKEN = "0123456789abcdef0123456789abcdef"  # 32 characters


# --- helpers -----------------------------------------------------------------------------------


def _bridge(tmp_path: Path, **limits: float) -> Bridge:
    """A started in-process bridge on a free loopback port, with these BridgeConfig fields."""
    config = ServeConfig(bridge=BridgeConfig(**limits))  # type: ignore[arg-type]
    bridge = Bridge(tmp_path / "b.sqlite", "127.0.0.1:0", config=config)
    bridge.start()
    return bridge


def _step(run_id: str, seq: int, slot: int = 0, **fields: int) -> StepRecord:
    record = StepRecord(run_id, slot, "default", seq, 1.0, 0, seq, seq, 1, 0.5, False, False)
    return record._replace(**fields)


class _Streams:
    """Publishing streams opened from this process; each sends ``batches`` then blocks."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address, options=channel_options())
        self._publish = self.channel.stream_stream(
            PUBLISH_METHOD,
            request_serializer=pb.RecordBatch.SerializeToString,
            response_deserializer=pb.BatchAck.FromString,
        )
        self._release = threading.Event()
        self.calls: list[grpc.Future] = []

    def open(self, *batches: pb.RecordBatch) -> grpc.Future:
        release = self._release

        def requests() -> Iterator[pb.RecordBatch]:
            yield from batches
            release.wait()

        call = self._publish(iter(requests()), timeout=WAIT_S * 2)
        self.calls.append(call)
        return call

    def close(self) -> None:
        self._release.set()
        for call in self.calls:
            call.cancel()
        self.channel.close()


def _publishers(bridge: Bridge) -> int:
    return bridge.servicer.health().publishers


def _one_line_refusal(result: subprocess.CompletedProcess[bytes], *expected: str) -> str:
    """The single stderr line of a refused start-up; asserts exit 2 and no traceback."""
    text = result.stderr.decode()
    assert result.returncode == 2, text
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    for part in expected:
        assert part in lines[0], text
    return lines[0]


def _serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if k != "FASTLANE_BRIDGE_TOKEN"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "serve",
            "--db",
            str(tmp_path / "b.sqlite"),
            "--spool-dir",
            str(tmp_path / "spool"),
            *args,
        ],
        capture_output=True,
        timeout=WAIT_S,
        env={**environment, **env},
        cwd=tmp_path,
    )


# --- idle streams and caps ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="a stranger needs a second uid: run as root with setpriv (util-linux)",
)
def test_many_idle_streams_of_another_user_leave_room_for_real_workers(tmp_path: Path) -> None:
    config = tmp_path / "serve.toml"
    config.write_text(
        "[bridge]\nBRIDGE_MAX_PUBLISHERS = 6\nBRIDGE_MAX_PUBLISHERS_PER_PEER = 3\n"
        "BRIDGE_IDLE_TIMEOUT_S = 3600.0\n"
    )
    port = free_port()
    bridge = start_bridge(tmp_path / "b.sqlite", port, tmp_path / "spool", "--config", str(config))
    stranger = subprocess.Popen(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            str(SUPPORT / "idle_streams.py"),
            f"127.0.0.1:{port}",
            "6",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
        cwd="/",
    )
    assert stranger.stdout is not None and stranger.stdin is not None
    try:
        fates = [stranger.stdout.readline().decode().strip() for _ in range(6)]
        assert fates[:3] == ["held"] * 3, fates
        for fate in fates[3:]:  # the stranger's 4th stream on is refused, naming the cap
            assert fate.startswith("refused RESOURCE_EXHAUSTED Expected at most 3"), fates
            assert "BRIDGE_MAX_PUBLISHERS_PER_PEER" in fate and "uid 65534" in fate
        run_id = f"real-{uuid.uuid4().hex[:8]}"
        batch = pb.RecordBatch(batch_id=1, jsonl=encode_lines([_step(run_id, 0)]).encode())
        acks = list(connect(f"127.0.0.1:{port}").PublishRecords(iter([batch]), timeout=WAIT_S))
        assert [(a.batch_id, a.accepted) for a in acks] == [(1, 1)]  # a real worker gets in
    finally:
        stranger.stdin.close()
        stranger.wait(WAIT_S)
        assert stop_bridge(bridge) == 0


def test_streams_past_the_per_peer_cap_are_refused_naming_it(tmp_path: Path) -> None:
    bridge = _bridge(
        tmp_path, max_publishers=4, max_publishers_per_peer=2, max_subscribers_per_peer=1
    )
    streams = _Streams(f"127.0.0.1:{bridge.port}")
    stub = connect(f"127.0.0.1:{bridge.port}")
    watching = stub.StreamRunSteps(pb.StreamRequest(run_id="watched"), timeout=WAIT_S * 2)
    try:
        wait_until(lambda: bridge.servicer.health().subscribers == 1, what="one subscriber")
        with pytest.raises(grpc.RpcError) as error:
            next(stub.StreamRunSteps(pb.StreamRequest(run_id="watched"), timeout=WAIT_S))
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "(BRIDGE_MAX_SUBSCRIBERS_PER_PEER)" in error.value.details()
        for held in (1, 2):
            streams.open()
            wait_until(lambda held=held: _publishers(bridge) == held, what=f"{held} streams held")
        refused = streams.open()
        with pytest.raises(grpc.RpcError) as error:
            refused.result(timeout=WAIT_S)
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        details = error.value.details()
        assert "Expected at most 2 publishing streams from peer 127.0.0.1 uid" in details
        assert "(BRIDGE_MAX_PUBLISHERS_PER_PEER)" in details
        streams.calls[0].cancel()  # one ends: its slot is free again
        wait_until(lambda: _publishers(bridge) == 1, what="the cancelled stream's slot freed")
        streams.open()
        wait_until(lambda: _publishers(bridge) == 2, what="a new stream in the freed slot")
    finally:
        watching.cancel()
        streams.close()
        bridge.stop()


def test_a_per_peer_cap_above_the_total_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"BRIDGE_MAX_PUBLISHERS_PER_PEER: expected <= "):
        BridgeConfig(max_publishers=4, max_publishers_per_peer=5)
    with pytest.raises(ConfigError, match=r"BRIDGE_MAX_SUBSCRIBERS_PER_PEER: expected <= "):
        BridgeConfig(max_subscribers=2, max_subscribers_per_peer=3)


def test_an_idle_publishing_stream_is_ended_and_its_slot_freed(tmp_path: Path) -> None:
    bridge = _bridge(tmp_path, idle_timeout_s=0.5, max_publishers=2, max_publishers_per_peer=1)
    streams = _Streams(f"127.0.0.1:{bridge.port}")
    run_id = f"idle-{uuid.uuid4().hex[:8]}"
    try:
        batch = pb.RecordBatch(batch_id=7, jsonl=encode_lines([_step(run_id, 0)]).encode())
        call = streams.open(batch)  # one batch, then nothing: the client never half-closes
        acks = list(call)  # ends when the bridge ends the idle stream
        assert [(a.batch_id, a.accepted) for a in acks] == [(7, 1)]  # answered before the end
        assert call.code() == grpc.StatusCode.OK
        ended = dict(call.trailing_metadata())[ENDED_METADATA_KEY]
        assert "idle" in ended and "BRIDGE_IDLE_TIMEOUT_S" in ended
        wait_until(lambda: _publishers(bridge) == 0, what="the idle stream's slot freed")
        silent = streams.open()  # a stream that never sends anything ends too
        assert list(silent) == [] and silent.code() == grpc.StatusCode.OK
        acks = list(connect(f"127.0.0.1:{bridge.port}").PublishRecords(iter([batch])))
        assert [a.accepted for a in acks] == [1]  # the peer's one slot serves a real stream
    finally:
        streams.close()
        bridge.stop()


# --- per-stream state ---------------------------------------------------------------------------


def test_the_bus_forgets_the_streams_of_publishing_streams_that_ended(tmp_path: Path) -> None:
    bridge = _bridge(tmp_path)
    stub = connect(f"127.0.0.1:{bridge.port}")
    before = bridge.bus.streams()
    try:
        for n in range(150):  # short streams, each with its own run: 3 seq streams each
            run_id = f"short-{n}"
            records = [
                _step(run_id, 0),
                _step(run_id, 5),  # a gap: the bus logs it, keyed by the stream
                _step(run_id, 0, slot=1),
                ScalarRecord(run_id, -1, "default", 0, 1.0, "loss", 0.5, 0),
            ]
            batch = pb.RecordBatch(batch_id=1, jsonl=encode_lines(records).encode())
            assert [a.accepted for a in stub.PublishRecords(iter([batch]), timeout=WAIT_S)] == [4]
        wait_until(lambda: _publishers(bridge) == 0, what="every stream ended")
        assert bridge.bus.streams() == before  # the per-stream tables are back to their size
        assert bridge.bus._holders == {} and bridge.bus.seq_gaps() == {}
        assert bridge.sink.stats().written == 150 * 4  # and everything was stored
    finally:
        bridge.stop()


def test_a_log_throttle_keyed_by_short_lived_things_stays_small() -> None:
    throttle = LogThrottle(0.0)
    assert all(throttle.ready(("stream", n)) for n in range(10_000))
    assert len(throttle) <= 1025


# --- live streams -------------------------------------------------------------------------------


def test_a_live_stream_skips_a_record_its_message_cannot_hold_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bridge = _bridge(tmp_path)
    run_id = f"odd-{uuid.uuid4().hex[:8]}"
    call = connect(f"127.0.0.1:{bridge.port}").StreamRunSteps(
        pb.StreamRequest(run_id=run_id), timeout=WAIT_S
    )
    try:
        wait_until(lambda: bridge.servicer.health().subscribers == 1, what="the subscriber")
        odd = [
            _step(run_id, 0, slot=2**40),  # beyond the message's int32 slot
            _step(run_id, 1, frame_seq=-1),  # a negative value in an unsigned field
            _step(run_id, 3, global_step=-5),
        ]
        with caplog.at_level(logging.WARNING):
            bridge.bus.publish_many([_step(run_id, 0), odd[0], odd[1], _step(run_id, 2)])
            bridge.bus.publish_many([odd[2], _step(run_id, 4)])
            received = [(m.slot, m.seq) for _, m in zip(range(3), call, strict=False)]
        assert received == [(0, 0), (0, 2), (0, 4)]  # the stream went on past each odd record
        assert call.is_active()
        (subscriber,) = bridge.servicer._subscribers
        assert subscriber.skipped == 3
        assert any(LOG_LIVE_RECORD_SKIPPED in m for m in caplog.messages)
    finally:
        call.cancel()
        bridge.stop()


# --- tokens -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_token_shorter_than_16_characters_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "short.token"
    short.write_text("s3cret-but-15ch\n")
    short.chmod(0o600)
    line = _one_line_refusal(
        _serve(tmp_path, "--token-file", str(short)), "at least 16 characters", str(short)
    )
    assert "s3cret" not in line
    _one_line_refusal(
        _serve(tmp_path, FASTLANE_BRIDGE_TOKEN="abc"),
        "at least 16 characters in FASTLANE_BRIDGE_TOKEN, got 3",
    )


@pytest.mark.slow
def test_allow_remote_with_a_blank_token_is_refused(tmp_path: Path) -> None:
    for listen in ("127.0.0.1:0", "0.0.0.0:0"):
        result = _serve(tmp_path, "--listen", listen, "--allow-remote", FASTLANE_BRIDGE_TOKEN="  ")
        _one_line_refusal(result, "token")
    blank = tmp_path / "blank.token"
    blank.write_text("   \n")
    blank.chmod(0o600)
    result = _serve(tmp_path, "--allow-remote", "--token-file", str(blank))
    _one_line_refusal(result, "at least 16 characters", str(blank))


@pytest.mark.slow
def test_a_token_file_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    token_file = tmp_path / "bridge.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o644)
    line = _one_line_refusal(
        _serve(tmp_path, "--token-file", str(token_file)),
        "readable by its owner only",
        "mode 0644",
        f"chmod 600 {token_file}",
    )
    assert TOKEN not in line
    token_file.chmod(0o600)  # the fix works: the bridge starts with it
    port = free_port()
    env = {**os.environ, "FASTLANE_BRIDGE_TOKEN": TOKEN}
    bridge = start_bridge(
        tmp_path / "b.sqlite", port, tmp_path / "spool", "--token-file", str(token_file), env=env
    )
    assert stop_bridge(bridge) == 0


@pytest.mark.slow
def test_cleanrl_worker_settings_never_print_the_token(tmp_path: Path) -> None:
    env = {**os.environ, "FASTLANE_BRIDGE_TOKEN": TOKEN, "FASTLANE_BRIDGE": "127.0.0.1:9"}
    for extra in ([], ["--json"], ["--fastlane-slot", "x"], ["--help"]):
        result = subprocess.run(
            [sys.executable, "-m", "cleanrl_worker.cli", "settings", *extra],
            capture_output=True,
            timeout=WAIT_S,
            env=env,
            cwd=tmp_path,
        )
        shown = result.stdout + result.stderr
        assert TOKEN.encode() not in shown and TOKEN[:16].encode() not in shown, extra
        assert b"Traceback" not in shown
    assert (
        b"bridge_token"
        in subprocess.run(
            [sys.executable, "-m", "cleanrl_worker.cli", "settings"],
            capture_output=True,
            timeout=WAIT_S,
            env=env,
            cwd=tmp_path,
        ).stdout
    )
