"""Regenerate the committed stubs from ``proto/trainer.proto`` (needs the ``test`` extra).

``python -m gym_gui_bridge.proto.regen [OUT_ROOT]`` writes ``gym_gui_bridge/proto/trainer_pb2.py``,
``trainer_pb2.pyi`` and ``trainer_pb2_grpc.py`` under ``OUT_ROOT`` (default: the repository).
The proto is mapped to ``gym_gui_bridge/proto/`` so the gRPC stub imports its messages by
their package path.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["REPO_ROOT", "STUB_NAMES", "regenerate"]

#: the checkout this module lives in (``python -m gym_gui_bridge.proto.regen`` is a developer
#: tool: run it from a clone or an editable install, where proto/ exists)
REPO_ROOT = Path(__file__).resolve().parents[2]
STUB_NAMES = ("trainer_pb2.py", "trainer_pb2.pyi", "trainer_pb2_grpc.py")


def regenerate(out_root: Path = REPO_ROOT, repo_root: Path = REPO_ROOT) -> list[Path]:
    """Run protoc (grpcio-tools) on ``repo_root/proto/trainer.proto``; return the stubs' paths."""
    from grpc_tools import protoc  # lazily: only the test extra installs grpcio-tools

    proto = repo_root / "proto" / "trainer.proto"
    if not proto.exists():
        raise FileNotFoundError(f"Expected the protocol source at {proto} (run from a checkout)")
    out_root.mkdir(parents=True, exist_ok=True)
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"-Igym_gui_bridge/proto={proto.parent}",
            f"--python_out={out_root}",
            f"--pyi_out={out_root}",
            f"--grpc_python_out={out_root}",
            str(proto),
        ]
    )
    if status != 0:
        raise RuntimeError(f"Expected protoc to succeed on {proto}, got exit status {status}")
    return [out_root / "gym_gui_bridge" / "proto" / name for name in STUB_NAMES]


if __name__ == "__main__":
    for path in regenerate(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT):
        print(path)
