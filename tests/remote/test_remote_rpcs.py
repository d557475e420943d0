"""The bridge's remote-viewing RPCs over real gRPC on 127.0.0.1: WatchFrames with its checks,
the token and TLS, ListFastLanes with the relay's viewers, and the scalar stream."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from tls_files import make_certificate
from waits import WAIT_S, wait_until

from gym_gui_bridge.cli import serve
from gym_gui_bridge.config.programs import ServeConfig
from gym_gui_bridge.config.relay import RelayConfig
from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.jsonl import encode_lines
from gym_gui_bridge.protocol.records import ScalarRecord
from gym_gui_bridge.server.app import Bridge, server_credentials
from gym_gui_bridge.server.client import connect

TOKEN = secrets.token_hex(16)
CONFIG = ServeConfig(relay=RelayConfig(detach_s=0.2, attach_poll_s=0.05))


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Bridge]:
    bridge = Bridge(tmp_path / "b.sqlite", "127.0.0.1:0", token=TOKEN, config=CONFIG)
    bridge.start()
    yield bridge
    bridge.stop(grace=1.0)


def _address(bridge: Bridge) -> str:
    return f"127.0.0.1:{bridge.port}"


class _Publisher:
    """A worker thread: publishes a frame every few ms while the ring is watched."""

    def __init__(self, writer: FastLaneWriter) -> None:
        self.writer = writer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        seq = 0
        while not self._stop.wait(0.005):
            if self.writer.watched:
                seq += 1
                frame = np.full((24, 32, 3), seq % 251, np.uint8)
                self.writer.publish(frame, FastLaneMetrics(global_step=seq))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)


@pytest.mark.parametrize(
    ("request_", "named"),
    [
        (pb.WatchRequest(run_id=""), "run id"),
        (pb.WatchRequest(run_id="../etc"), "run id"),
        (pb.WatchRequest(run_id="r", fps=500), "fps in 1..60"),
        (pb.WatchRequest(run_id="r", fps=-1), "fps in 1..60"),
        (pb.WatchRequest(run_id="r", quality=101), "quality in 1..100"),
        (pb.WatchRequest(run_id="r", encoding=5), "FrameEncoding"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_watch_request_is_invalid_argument_naming_the_value(
    bridge: Bridge, request_: pb.WatchRequest, named: str
) -> None:
    stub = connect(_address(bridge), token=TOKEN)
    with pytest.raises(grpc.RpcError) as refused:
        next(iter(stub.WatchFrames(request_, timeout=WAIT_S)))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert named in refused.value.details()
    assert bridge.relay.viewers() == {}


def test_watching_needs_the_token(bridge: Bridge, run_id: str) -> None:
    for token in (None, "x" * 32):
        stub = connect(_address(bridge), token=token)
        with pytest.raises(grpc.RpcError) as refused:
            next(iter(stub.WatchFrames(pb.WatchRequest(run_id=run_id), timeout=WAIT_S)))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError):
            stub.ListFastLanes(pb.ListFastLanesRequest(), timeout=WAIT_S)
    assert bridge.relay.viewers() == {}


def test_watch_frames_streams_the_run_and_list_fastlanes_counts_its_viewers(
    bridge: Bridge, run_id: str
) -> None:
    stub = connect(_address(bridge), token=TOKEN)
    config = FastLaneConfig(width=32, height=24, env_slot=1)
    with FastLaneWriter.create(run_id, config) as writer:
        publisher = _Publisher(writer)
        try:
            calls = [
                stub.WatchFrames(pb.WatchRequest(run_id=run_id, fps=30), timeout=WAIT_S)
                for _ in range(2)
            ]
            frames = [next(call) for call in calls for _ in range(3)]
            assert all(f.run_id == run_id and f.env_slot == 1 for f in frames)
            assert all(f.data[:2] == b"\xff\xd8" for f in frames)  # JPEG by default
            lane = next(
                f
                for f in stub.ListFastLanes(pb.ListFastLanesRequest()).fastlanes
                if f.run_id == run_id
            )
            assert lane.remote_viewers == 2 and lane.watched and lane.state == "live"
            assert (lane.width, lane.height, lane.channels, lane.env_slot) == (32, 24, 3, 1)
            for call in calls:
                call.cancel()
            wait_until(lambda: bridge.relay.viewers() == {}, what="the watches closing")
            wait_until(lambda: not writer.watched, what="the ring unwatched")
        finally:
            publisher.stop()


def test_stopping_the_bridge_ends_the_watch_streams(tmp_path: Path, run_id: str) -> None:
    bridge = Bridge(tmp_path / "b.sqlite", "127.0.0.1:0", config=CONFIG)
    bridge.start()
    call = connect(_address(bridge)).WatchFrames(pb.WatchRequest(run_id=run_id), timeout=WAIT_S)
    wait_until(lambda: bridge.relay.viewers() == {run_id: 1}, what="the watch")
    assert bridge.stop(grace=WAIT_S)
    assert list(call) == []  # ended, not hanging until its deadline
    assert call.code() in (grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE)


def test_tls_serves_clients_that_trust_its_certificate_only(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    other, _ = make_certificate(tmp_path, "other")
    tls = server_credentials(cert, key)
    bridge = Bridge(tmp_path / "b.sqlite", "127.0.0.1:0", config=CONFIG, tls=tls)
    bridge.start()
    try:
        address = _address(bridge)
        health = connect(address, tls_ca=cert).GetHealth(pb.HealthRequest(), timeout=WAIT_S)
        assert health.status == "serving"
        for stub in (connect(address), connect(address, tls_ca=other)):
            with pytest.raises(grpc.RpcError) as refused:
                stub.GetHealth(pb.HealthRequest(), timeout=5.0)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        bridge.stop(grace=1.0)


def test_serve_refuses_tls_files_it_cannot_use_naming_the_flag(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    _, other_key = make_certificate(tmp_path, "other")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    cases = [
        (["--tls-cert", str(cert)], "Expected --tls-key with --tls-cert"),
        (["--tls-cert", str(cert), "--tls-key", str(tmp_path / "nope")], "--tls-key: expected"),
        (["--tls-cert", str(not_pem), "--tls-key", str(key)], "--tls-cert: expected a PEM"),
        (["--tls-cert", str(cert), "--tls-key", str(other_key)], "private key of the cert"),
    ]
    for flags, message in cases:
        args = serve.ServeArgs(db=str(tmp_path / "b.sqlite"), listen="127.0.0.1:0")
        args = _with(args, flags)
        with pytest.raises(BridgeError, match="xpected") as refused:
            serve.build_bridge(args)
        assert message in str(refused.value)


def _with(args: serve.ServeArgs, flags: list[str]) -> serve.ServeArgs:
    import dataclasses

    values = dict(zip(flags[::2], flags[1::2], strict=True))
    return dataclasses.replace(
        args, tls_cert=values.get("--tls-cert"), tls_key=values.get("--tls-key")
    )


def _scalars(run_id: str, seqs: range) -> bytes:
    records = [
        ScalarRecord(run_id, 0, "default", s, 1.0 + s, "charts/episodic_return", float(s), s)
        for s in seqs
    ]
    return encode_lines(records).encode()


def test_stream_run_scalars_replays_then_goes_live(bridge: Bridge, run_id: str) -> None:
    stub = connect(_address(bridge), token=TOKEN)

    def publish(seqs: range, batch_id: int) -> None:
        batch = pb.RecordBatch(batch_id=batch_id, jsonl=_scalars(run_id, seqs))
        acks = list(stub.PublishRecords(iter([batch]), timeout=WAIT_S))
        assert acks[0].accepted == len(seqs)

    publish(range(0, 30), 1)  # stored before the subscriber comes
    call = stub.StreamRunScalars(pb.StreamRequest(run_id=run_id, from_seq=10), timeout=WAIT_S)
    got = []
    for scalar in call:
        got.append(scalar)
        if scalar.seq == 29:
            publish(range(20, 60), 1)  # the live part, overlapping what was replayed
        if scalar.seq == 59:
            break
    call.cancel()
    assert [s.seq for s in got] == list(range(10, 60))  # no gap, no duplicate
    assert got[5].tag == "charts/episodic_return" and got[5].value == 15.0 and got[5].step == 15


def test_watches_past_the_per_peer_cap_are_refused_naming_it(tmp_path: Path, run_id: str) -> None:
    config = ServeConfig(relay=RelayConfig(max_watches=2, max_watches_per_peer=1))
    bridge = Bridge(tmp_path / "b.sqlite", "127.0.0.1:0", config=config)
    bridge.start()
    try:
        stub = connect(_address(bridge))
        first = stub.WatchFrames(pb.WatchRequest(run_id=run_id), timeout=WAIT_S)
        wait_until(lambda: bridge.relay.viewers() == {run_id: 1}, what="the first watch")
        with pytest.raises(grpc.RpcError) as refused:
            next(iter(stub.WatchFrames(pb.WatchRequest(run_id=run_id), timeout=WAIT_S)))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "RELAY_MAX_WATCHES_PER_PEER" in refused.value.details()
        first.cancel()
        wait_until(lambda: bridge.relay.viewers() == {}, what="the slot freed")
        again = stub.WatchFrames(pb.WatchRequest(run_id=run_id), timeout=WAIT_S)
        wait_until(lambda: bridge.relay.viewers() == {run_id: 1}, what="a watch in the slot")
        again.cancel()
    finally:
        bridge.stop(grace=1.0)


def test_fastlanes_lists_a_remote_bridges_rings_and_says_why_it_cannot(
    bridge: Bridge, run_id: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from gym_gui_bridge.cli import fastlanes

    config = FastLaneConfig(width=32, height=24, env_slot=3)
    with FastLaneWriter.create(run_id, config):
        monkeypatch.setenv("FASTLANE_BRIDGE_TOKEN", TOKEN)
        assert fastlanes.main(["--bridge", _address(bridge)], "gym-gui-bridge fastlanes") == 0
        table = capsys.readouterr().out
        header, *rows = table.splitlines()
        assert header.split()[-2:] == ["WATCHED", "VIEWERS"]
        row = next(line.split() for line in rows if line.startswith(run_id))
        assert row[1] == "3" and "32x24x3" in row and row[-1] == "0"
        monkeypatch.setenv("FASTLANE_BRIDGE_TOKEN", "y" * 32)
        assert fastlanes.main(["--bridge", _address(bridge)], "gym-gui-bridge fastlanes") == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "UNAUTHENTICATED" in err
