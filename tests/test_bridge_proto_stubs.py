"""The committed gRPC stubs are exactly what grpcio-tools generates from proto/trainer.proto."""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_gui_bridge.proto.regen import REPO_ROOT, STUB_NAMES, regenerate


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    generated = regenerate(tmp_path)
    for path, name in zip(generated, STUB_NAMES, strict=True):
        committed = REPO_ROOT / "gym_gui_bridge" / "proto" / name
        assert path.read_bytes() == committed.read_bytes(), (
            f"{committed} is stale: run 'python -m gym_gui_bridge.proto.regen'"
        )


def test_stubs_import_with_the_pinned_runtime() -> None:
    from gym_gui_bridge.proto import trainer_pb2, trainer_pb2_grpc

    assert trainer_pb2.RecordBatch(batch_id=1, jsonl=b"x\n").SerializeToString()
    assert hasattr(trainer_pb2_grpc, "TrainerServiceStub")
