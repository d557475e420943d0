"""The committed gRPC stubs are exactly what grpcio-tools generates from proto/trainer.proto."""

from __future__ import annotations

from pathlib import Path

from gym_gui_bridge.proto.regen import STUB_NAMES, regenerate

CHECKOUT = Path(__file__).resolve().parents[2]  # the tests check this clone's files


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    generated = regenerate(tmp_path, repo_root=CHECKOUT)
    for path, name in zip(generated, STUB_NAMES, strict=True):
        committed = CHECKOUT / "gym_gui_bridge" / "proto" / name
        assert path.read_bytes() == committed.read_bytes(), (
            f"{committed} is stale: run 'python -m gym_gui_bridge.proto.regen'"
        )


def test_stubs_import_with_the_pinned_runtime() -> None:
    from gym_gui_bridge.proto import trainer_pb2, trainer_pb2_grpc

    assert trainer_pb2.RecordBatch(batch_id=1, jsonl=b"x\n").SerializeToString()
    assert hasattr(trainer_pb2_grpc, "TrainerServiceStub")
