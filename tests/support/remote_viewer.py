"""A remote viewer for the remote-viewing tests: ``python remote_viewer.py ADDRESS RUN_ID COUNT
[--tls-ca FILE]`` (token from $FASTLANE_BRIDGE_TOKEN).

It first checks whether it can see the run's ring here (it must not: the tests run it with a
private /dev/shm), then receives COUNT frames through WatchFrames (PNG, pixel-exact) and prints
one JSON object: ``ring_visible``, and per frame its seq, slot, size, first pixel and HUD.
"""

from __future__ import annotations

import argparse
import json
import os

from gym_gui_bridge.errors import FastLaneNotFoundError
from gym_gui_bridge.fastlane import FastLaneReader, create_fastlane_name
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.relay import decode_frame
from gym_gui_bridge.server.client import connect

WAIT_S = 60.0


def ring_visible(run_id: str) -> bool:
    if os.path.exists(f"/dev/shm/{create_fastlane_name(run_id)}"):
        return True
    try:
        FastLaneReader.attach(run_id, announce=False).close()
    except FastLaneNotFoundError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("run_id")
    parser.add_argument("count", type=int)
    parser.add_argument("--tls-ca")
    args = parser.parse_args()
    report: dict[str, object] = {"ring_visible": ring_visible(args.run_id), "frames": []}
    token = os.environ.get("FASTLANE_BRIDGE_TOKEN") or None
    stub = connect(args.address, token=token, tls_ca=args.tls_ca)
    request = pb.WatchRequest(run_id=args.run_id, fps=30, encoding=pb.FRAME_ENCODING_PNG)
    call = stub.WatchFrames(request, timeout=WAIT_S)
    frames: list[dict[str, object]] = []
    for frame in call:
        pixels = decode_frame(frame.data)
        frames.append(
            {
                "seq": frame.seq,
                "env_slot": frame.env_slot,
                "size": [frame.width, frame.height, frame.channels],
                "decoded": list(pixels.shape),
                "red": int(pixels[0, 0, 0]),
                "global_step": frame.hud.global_step,
                "step_rate_hz": frame.hud.step_rate_hz,
                "published_ns": frame.published_ns,
            }
        )
        if len(frames) == args.count:
            break
    call.cancel()
    report["frames"] = frames
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
