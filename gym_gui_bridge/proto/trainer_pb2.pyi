from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FrameEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRAME_ENCODING_JPEG: _ClassVar[FrameEncoding]
    FRAME_ENCODING_PNG: _ClassVar[FrameEncoding]
FRAME_ENCODING_JPEG: FrameEncoding
FRAME_ENCODING_PNG: FrameEncoding

class Step(_message.Message):
    __slots__ = ("run_id", "slot", "agent_id", "seq", "wall_time", "episode", "step", "global_step", "action_int", "action_float", "action_json", "reward", "terminated", "truncated", "frame_seq")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_FIELD_NUMBER: _ClassVar[int]
    EPISODE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_STEP_FIELD_NUMBER: _ClassVar[int]
    ACTION_INT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FLOAT_FIELD_NUMBER: _ClassVar[int]
    ACTION_JSON_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    TERMINATED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    FRAME_SEQ_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    slot: int
    agent_id: str
    seq: int
    wall_time: float
    episode: int
    step: int
    global_step: int
    action_int: int
    action_float: float
    action_json: str
    reward: float
    terminated: bool
    truncated: bool
    frame_seq: int
    def __init__(self, run_id: _Optional[str] = ..., slot: _Optional[int] = ..., agent_id: _Optional[str] = ..., seq: _Optional[int] = ..., wall_time: _Optional[float] = ..., episode: _Optional[int] = ..., step: _Optional[int] = ..., global_step: _Optional[int] = ..., action_int: _Optional[int] = ..., action_float: _Optional[float] = ..., action_json: _Optional[str] = ..., reward: _Optional[float] = ..., terminated: _Optional[bool] = ..., truncated: _Optional[bool] = ..., frame_seq: _Optional[int] = ...) -> None: ...

class Episode(_message.Message):
    __slots__ = ("run_id", "slot", "agent_id", "seq", "wall_time", "episode", "ep_return", "length", "terminated", "truncated", "global_step", "duration")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_FIELD_NUMBER: _ClassVar[int]
    EPISODE_FIELD_NUMBER: _ClassVar[int]
    EP_RETURN_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    TERMINATED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_STEP_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    slot: int
    agent_id: str
    seq: int
    wall_time: float
    episode: int
    ep_return: float
    length: int
    terminated: bool
    truncated: bool
    global_step: int
    duration: float
    def __init__(self, run_id: _Optional[str] = ..., slot: _Optional[int] = ..., agent_id: _Optional[str] = ..., seq: _Optional[int] = ..., wall_time: _Optional[float] = ..., episode: _Optional[int] = ..., ep_return: _Optional[float] = ..., length: _Optional[int] = ..., terminated: _Optional[bool] = ..., truncated: _Optional[bool] = ..., global_step: _Optional[int] = ..., duration: _Optional[float] = ...) -> None: ...

class RecordBatch(_message.Message):
    __slots__ = ("batch_id", "jsonl")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    JSONL_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    jsonl: bytes
    def __init__(self, batch_id: _Optional[int] = ..., jsonl: _Optional[bytes] = ...) -> None: ...

class Rejection(_message.Message):
    __slots__ = ("line", "code", "message")
    LINE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    line: int
    code: str
    message: str
    def __init__(self, line: _Optional[int] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class BatchAck(_message.Message):
    __slots__ = ("batch_id", "accepted", "rejected", "dropped", "rejections")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    accepted: int
    rejected: int
    dropped: int
    rejections: _containers.RepeatedCompositeFieldContainer[Rejection]
    def __init__(self, batch_id: _Optional[int] = ..., accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., dropped: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[Rejection, _Mapping]]] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ("run_id", "agent_id", "slot", "from_seq")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    agent_id: str
    slot: int
    from_seq: int
    def __init__(self, run_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., slot: _Optional[int] = ..., from_seq: _Optional[int] = ...) -> None: ...

class Scalar(_message.Message):
    __slots__ = ("run_id", "slot", "agent_id", "seq", "wall_time", "tag", "value", "step")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    slot: int
    agent_id: str
    seq: int
    wall_time: float
    tag: str
    value: float
    step: int
    def __init__(self, run_id: _Optional[str] = ..., slot: _Optional[int] = ..., agent_id: _Optional[str] = ..., seq: _Optional[int] = ..., wall_time: _Optional[float] = ..., tag: _Optional[str] = ..., value: _Optional[float] = ..., step: _Optional[int] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("run_id", "fps", "encoding", "quality")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    fps: float
    encoding: FrameEncoding
    quality: int
    def __init__(self, run_id: _Optional[str] = ..., fps: _Optional[float] = ..., encoding: _Optional[_Union[FrameEncoding, str]] = ..., quality: _Optional[int] = ...) -> None: ...

class FrameHud(_message.Message):
    __slots__ = ("last_reward", "rolling_return", "step_rate_hz", "frame_rate_hz", "episode", "episode_step", "global_step", "source_step", "render_mode", "render_ms")
    LAST_REWARD_FIELD_NUMBER: _ClassVar[int]
    ROLLING_RETURN_FIELD_NUMBER: _ClassVar[int]
    STEP_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    FRAME_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    EPISODE_FIELD_NUMBER: _ClassVar[int]
    EPISODE_STEP_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_STEP_FIELD_NUMBER: _ClassVar[int]
    SOURCE_STEP_FIELD_NUMBER: _ClassVar[int]
    RENDER_MODE_FIELD_NUMBER: _ClassVar[int]
    RENDER_MS_FIELD_NUMBER: _ClassVar[int]
    last_reward: float
    rolling_return: float
    step_rate_hz: float
    frame_rate_hz: float
    episode: int
    episode_step: int
    global_step: int
    source_step: int
    render_mode: str
    render_ms: float
    def __init__(self, last_reward: _Optional[float] = ..., rolling_return: _Optional[float] = ..., step_rate_hz: _Optional[float] = ..., frame_rate_hz: _Optional[float] = ..., episode: _Optional[int] = ..., episode_step: _Optional[int] = ..., global_step: _Optional[int] = ..., source_step: _Optional[int] = ..., render_mode: _Optional[str] = ..., render_ms: _Optional[float] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("run_id", "seq", "width", "height", "channels", "encoding", "data", "hud", "published_ns", "relayed_ns", "env_slot", "generation")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    HUD_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_NS_FIELD_NUMBER: _ClassVar[int]
    RELAYED_NS_FIELD_NUMBER: _ClassVar[int]
    ENV_SLOT_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    seq: int
    width: int
    height: int
    channels: int
    encoding: FrameEncoding
    data: bytes
    hud: FrameHud
    published_ns: int
    relayed_ns: int
    env_slot: int
    generation: int
    def __init__(self, run_id: _Optional[str] = ..., seq: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., channels: _Optional[int] = ..., encoding: _Optional[_Union[FrameEncoding, str]] = ..., data: _Optional[bytes] = ..., hud: _Optional[_Union[FrameHud, _Mapping]] = ..., published_ns: _Optional[int] = ..., relayed_ns: _Optional[int] = ..., env_slot: _Optional[int] = ..., generation: _Optional[int] = ...) -> None: ...

class ListFastLanesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FastLaneInfo(_message.Message):
    __slots__ = ("run_id", "width", "height", "channels", "env_slot", "state", "writer_alive", "watched", "frames_published", "publish_rate_hz", "remote_viewers")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    ENV_SLOT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    WRITER_ALIVE_FIELD_NUMBER: _ClassVar[int]
    WATCHED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    REMOTE_VIEWERS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    width: int
    height: int
    channels: int
    env_slot: int
    state: str
    writer_alive: bool
    watched: bool
    frames_published: int
    publish_rate_hz: float
    remote_viewers: int
    def __init__(self, run_id: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., channels: _Optional[int] = ..., env_slot: _Optional[int] = ..., state: _Optional[str] = ..., writer_alive: _Optional[bool] = ..., watched: _Optional[bool] = ..., frames_published: _Optional[int] = ..., publish_rate_hz: _Optional[float] = ..., remote_viewers: _Optional[int] = ...) -> None: ...

class ListFastLanesResponse(_message.Message):
    __slots__ = ("fastlanes",)
    FASTLANES_FIELD_NUMBER: _ClassVar[int]
    fastlanes: _containers.RepeatedCompositeFieldContainer[FastLaneInfo]
    def __init__(self, fastlanes: _Optional[_Iterable[_Union[FastLaneInfo, _Mapping]]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RunInfo(_message.Message):
    __slots__ = ("run_id", "status", "started_at", "finished_at", "episodes", "pid", "exit_code", "error")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    EPISODES_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    status: str
    started_at: float
    finished_at: float
    episodes: int
    pid: int
    exit_code: int
    error: str
    def __init__(self, run_id: _Optional[str] = ..., status: _Optional[str] = ..., started_at: _Optional[float] = ..., finished_at: _Optional[float] = ..., episodes: _Optional[int] = ..., pid: _Optional[int] = ..., exit_code: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[RunInfo]
    def __init__(self, runs: _Optional[_Iterable[_Union[RunInfo, _Mapping]]] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Health(_message.Message):
    __slots__ = ("status", "version", "uptime_s", "records_received", "records_accepted", "records_rejected", "records_dropped", "sink_written", "sink_queue_depth", "wal_bytes", "publishers", "subscribers", "subscriber_drops", "db_path", "runs")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPTIME_S_FIELD_NUMBER: _ClassVar[int]
    RECORDS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    SINK_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    SINK_QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    WAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    PUBLISHERS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBERS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBER_DROPS_FIELD_NUMBER: _ClassVar[int]
    DB_PATH_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    status: str
    version: str
    uptime_s: float
    records_received: int
    records_accepted: int
    records_rejected: int
    records_dropped: int
    sink_written: int
    sink_queue_depth: int
    wal_bytes: int
    publishers: int
    subscribers: int
    subscriber_drops: int
    db_path: str
    runs: int
    def __init__(self, status: _Optional[str] = ..., version: _Optional[str] = ..., uptime_s: _Optional[float] = ..., records_received: _Optional[int] = ..., records_accepted: _Optional[int] = ..., records_rejected: _Optional[int] = ..., records_dropped: _Optional[int] = ..., sink_written: _Optional[int] = ..., sink_queue_depth: _Optional[int] = ..., wal_bytes: _Optional[int] = ..., publishers: _Optional[int] = ..., subscribers: _Optional[int] = ..., subscriber_drops: _Optional[int] = ..., db_path: _Optional[str] = ..., runs: _Optional[int] = ...) -> None: ...
