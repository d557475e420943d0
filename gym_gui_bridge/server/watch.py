"""The remote-viewing RPCs: WatchFrames (a run's frames through the relay) and ListFastLanes.

A WatchFrames stream holds one :class:`~gym_gui_bridge.relay.hub.RelayWatch` while it is open
and sends each frame the watch gives (newest first, at most the asked fps). It ends when the
client cancels or the bridge stops; a run that closes or restarts leaves it open (frames resume
when the run's ring is live again). Streams are capped in all and per peer
(``RELAY_MAX_WATCHES``, ``RELAY_MAX_WATCHES_PER_PEER``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from gym_gui_bridge.fastlane.registry import scan_segments
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.relay.hub import FrameRelay

__all__ = ["fastlane_infos", "serve_watch"]

_POLL_S = 0.25  # how often a stream waiting for a frame looks at the call's state


def serve_watch(
    relay: FrameRelay,
    request: pb.WatchRequest | None,
    context: grpc.ServicerContext,
    stopping: threading.Event,
) -> Iterator[pb.Frame]:
    """The Frame messages of one WatchFrames call (INVALID_ARGUMENT for a bad request)."""
    if request is None:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Expected a WatchRequest message")
    assert request is not None
    if stopping.is_set():
        context.abort(grpc.StatusCode.UNAVAILABLE, "Expected a serving bridge, got one stopping")
    try:
        watch = relay.watch(
            request.run_id,
            fps=request.fps,
            encoding=int(request.encoding),
            quality=request.quality,
        )
    except ValueError as error:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"WatchRequest: {error}")
        raise  # not reached: abort raises
    with watch:
        context.add_callback(watch.close)
        while not stopping.is_set() and context.is_active():
            frame = watch.next(timeout_s=_POLL_S)
            if frame is not None:
                yield frame.message()
            elif watch.closed:
                return


def fastlane_infos(relay: FrameRelay) -> pb.ListFastLanesResponse:
    """The rings of this machine (readable ones), with the relay's viewers of each."""
    viewers = relay.viewers()
    response = pb.ListFastLanesResponse()
    for entry in scan_segments().entries:
        s = entry.status
        if s is None:
            continue
        response.fastlanes.add(
            run_id=s.run_id,
            width=s.width,
            height=s.height,
            channels=s.channels,
            env_slot=s.env_slot,
            state=s.state.name.lower(),
            writer_alive=s.writer_alive,
            watched=s.watched,
            frames_published=s.frames_published,
            publish_rate_hz=s.current_rate_hz(),
            remote_viewers=viewers.get(s.run_id, 0),
        )
    return response
