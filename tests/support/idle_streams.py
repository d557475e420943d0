"""A stranger for the bridge tests: opens publishing streams that never send a batch, one at a
time, and holds them until its stdin closes.

usage: idle_streams.py ADDRESS COUNT

For each stream it prints one line, as soon as its fate is known: ``held`` once the bridge
counts it among its publishers, or ``refused CODE DETAILS`` when the bridge refused it.
"""

from __future__ import annotations

import sys
import threading
import time

import grpc

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.wire import PUBLISH_METHOD, channel_options
from gym_gui_bridge.server.client import connect

_WAIT_S = 60.0


def main() -> None:
    address, count = sys.argv[1], int(sys.argv[2])
    channel = grpc.insecure_channel(address, options=channel_options())
    publish = channel.stream_stream(
        PUBLISH_METHOD,
        request_serializer=pb.RecordBatch.SerializeToString,
        response_deserializer=pb.BatchAck.FromString,
    )
    health = connect(address)
    release = threading.Event()

    def nothing() -> object:
        release.wait()
        return
        yield  # a generator that sends no batch until released

    calls = []
    for _ in range(count):
        before = health.GetHealth(pb.HealthRequest(), timeout=_WAIT_S).publishers
        call = publish(nothing())
        calls.append(call)
        deadline = time.monotonic() + _WAIT_S
        while time.monotonic() < deadline:
            if call.done():
                print(f"refused {call.code().name} {call.details()}", flush=True)
                break
            if health.GetHealth(pb.HealthRequest(), timeout=_WAIT_S).publishers > before:
                print("held", flush=True)
                break
            time.sleep(0.02)
    sys.stdin.read()  # hold the streams until the test closes our stdin
    release.set()
    for call in calls:
        call.cancel()


if __name__ == "__main__":
    main()
