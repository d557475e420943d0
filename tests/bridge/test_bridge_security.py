"""The bridge refuses what it must: remote listening without a token, wrong tokens, malformed
messages; and it keeps serving afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest
from bridge_helpers import WAIT_S, free_port, start_bridge, stop_bridge, wait_healthy

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.records import ScalarRecord
from gym_gui_bridge.protocol.wire import PUBLISH_METHOD, auth_metadata, channel_options
from gym_gui_bridge.server.client import connect

pytestmark = pytest.mark.slow  # every test here starts processes


def _serve(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "serve",
            "--db",
            str(tmp_path / "b.sqlite"),
            *args,
        ],
        capture_output=True,
        timeout=WAIT_S,
        env=env,
    )


def test_non_loopback_listen_without_token_is_refused_at_start_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FASTLANE_BRIDGE_TOKEN"}
    for args in (["--listen", "0.0.0.0:1"], ["--listen", "0.0.0.0:1", "--allow-remote"]):
        result = _serve(tmp_path, *args, env=env)
        assert result.returncode == 2
        assert b"needs --allow-remote and a shared token" in result.stderr


def test_wrong_or_missing_token_gets_unauthenticated(tmp_path: Path) -> None:
    port, token = free_port(), uuid.uuid4().hex
    env = {**os.environ, "FASTLANE_BRIDGE_TOKEN": token}
    bridge = start_bridge(tmp_path / "b.sqlite", port, tmp_path / "spool", env=env)
    stub = connect(f"127.0.0.1:{port}")
    try:
        for metadata in (auth_metadata("wrong"), ()):
            with pytest.raises(grpc.RpcError) as error:
                stub.GetHealth(pb.HealthRequest(), metadata=metadata, timeout=WAIT_S)
            assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as error:
                list(
                    stub.PublishRecords(
                        iter([pb.RecordBatch(batch_id=1)]), metadata=metadata, timeout=WAIT_S
                    )
                )
            assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
        health = stub.GetHealth(pb.HealthRequest(), metadata=auth_metadata(token), timeout=WAIT_S)
        assert health.status == "serving"
    finally:
        assert stop_bridge(bridge) == 0


def test_malformed_messages_get_invalid_argument_and_the_bridge_survives(tmp_path: Path) -> None:
    port = free_port()
    bridge = start_bridge(tmp_path / "b.sqlite", port, tmp_path / "spool")
    address = f"127.0.0.1:{port}"
    try:
        channel = grpc.insecure_channel(address, options=channel_options())
        raw = channel.stream_stream(
            PUBLISH_METHOD,
            request_serializer=lambda b: b,
            response_deserializer=pb.BatchAck.FromString,
        )
        with pytest.raises(grpc.RpcError) as error:
            list(raw(iter([b"\xff\xff\xff\xff not a protobuf"]), timeout=WAIT_S))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "RecordBatch" in error.value.details()

        stub = connect(address)
        with pytest.raises(grpc.RpcError) as error:
            next(stub.StreamRunSteps(pb.StreamRequest(run_id=""), timeout=WAIT_S))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        # bad lines inside a well-formed batch are rejected one by one, with reasons
        good = encode_record(
            ScalarRecord("sec-run", -1, "default", 0, 1.0, "loss", 0.5, 1)
        ).encode()
        batch = pb.RecordBatch(batch_id=7, jsonl=good + b"\n{oops\n" + b'{"v":2}\n')
        (ack,) = list(stub.PublishRecords(iter([batch]), timeout=WAIT_S))
        assert (ack.batch_id, ack.accepted, ack.rejected, ack.dropped) == (7, 1, 2, 0)
        assert [r.code for r in ack.rejections] == ["not_json", "bad_version"]

        # the kind-specific RPC takes only its kind
        (ack,) = list(
            stub.PublishRunSteps(iter([pb.RecordBatch(batch_id=8, jsonl=good)]), timeout=WAIT_S)
        )
        assert (ack.accepted, ack.rejected, ack.rejections[0].code) == (0, 1, "wrong_kind")
        assert wait_healthy(address).records_accepted == 1
    finally:
        assert stop_bridge(bridge) == 0
