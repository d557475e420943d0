"""Every tunable of both lanes, in one place, each with its unit and why it has that value.

These are the defaults. ``configs/defaults.toml`` lists the same names; a TOML file passed with
``--config FILE`` (bridge) or ``FASTLANE_CONFIG=FILE`` (worker) overrides any of them, see
:mod:`gym_gui_bridge.config.tunables`. A test keeps this module and ``configs/defaults.toml`` in step.

The names in capitals that also appear in the original briefing (``RUNBUS_UI_PATH_QUEUE_SIZE``,
``DB_SINK_WRITER_QUEUE_SIZE``, ...) are kept on purpose: operators of the older system know them.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# Fast lane: the shared-memory ring
# --------------------------------------------------------------------------------------------

#: Frames held by one ring (count). Two would do for a single reader; three gives a slow reader
#: a whole extra publish period before the slot it is copying is overwritten.
FASTLANE_CAPACITY = 3
#: Upper bound on ring slots a config may ask for (count); keeps memory "a handful of frames".
FASTLANE_MAX_CAPACITY = 16
#: Largest accepted frame edge (pixels). 4096 x 4096 x 4 is 64 MiB per slot: already a lot.
FASTLANE_MAX_EDGE = 4096
#: A reader counts as watching while its heartbeat is younger than this (seconds). Viewers poll
#: at 30-60 Hz, so one second tolerates a stalled UI thread without flapping.
FASTLANE_WATCH_TIMEOUT_S = 1.0
#: Readers refresh the heartbeat at most this often (seconds): one shared-cache-line write per
#: interval instead of one per poll.
FASTLANE_HEARTBEAT_INTERVAL_S = 0.1
#: Attempts a reader makes to copy a frame the writer keeps overwriting (count), before it
#: returns ``None`` for this poll. Only a writer lapping the whole ring mid-copy exhausts it.
FASTLANE_READ_RETRIES = 8
#: Smoothing of the writer's publish-rate estimate (weight of the newest interval, 0..1).
FASTLANE_RATE_SMOOTHING = 0.1
#: An unreadable segment younger than this may be one a writer is creating right now
#: (seconds); ``cleanup`` leaves it alone. Creating takes microseconds: 5 s is generous.
FASTLANE_CREATE_GRACE_S = 5.0
#: A writer whose last publish is older than this has a current publish rate of 0 (seconds):
#: its smoothed estimate only changes when it publishes.
FASTLANE_STALE_PUBLISH_S = 2.0
#: Longest accepted run id (characters); the segment name adds 16 and must stay a short path.
FASTLANE_MAX_RUN_ID = 100

# --------------------------------------------------------------------------------------------
# Fast lane: the worker's frame budget (FastLaneEnvWrapper)
# --------------------------------------------------------------------------------------------

#: Frames per second the wrapper may render while watched (Hz). 30 is smooth to a person.
FASTLANE_FPS = 30.0
#: Share of wall time the wrapper may spend rendering and publishing (fraction). Rendering a
#: CartPole frame is ~1.7 ms against ~50 us per 4-env step: 3% keeps training within its budget.
FASTLANE_BUDGET = 0.03
#: Longest edge of a published frame (pixels); larger renders are downscaled. 0 = no limit.
FASTLANE_MAX_DIM = 0
#: Weight of the newest finished episode's return in the HUD's rolling return (0..1):
#: rolling += FASTLANE_RETURN_SMOOTHING * (episode_return - rolling). 0.05 averages ~20 episodes.
#: Window over which the HUD's env steps/s is measured (seconds). PPO alternates rollouts
#: (fast stepping) with updates (no stepping); a one-second window shows the rate training
#: really gets instead of flickering between the two.
FASTLANE_STEP_RATE_WINDOW_S = 1.0
FASTLANE_RETURN_SMOOTHING = 0.05
#: How often the wrapper asks the ring whether a reader is watching (seconds). The check reads
#: shared memory; doing it every step would cost more than the step itself for cheap envs.
FASTLANE_WATCH_POLL_S = 0.05
#: Weight of the newest measurement in the wrapper's render-cost estimate (0..1).
FASTLANE_RENDER_COST_SMOOTHING = 0.2
#: Tiles a grid-mode frame shows when FASTLANE_GRID is not given (count of vector-env slots).
FASTLANE_GRID_DEFAULT = 4
#: Most tiles a grid frame may show (count). 64 small frames already make an unreadable mosaic.
FASTLANE_MAX_GRID = 64

# --------------------------------------------------------------------------------------------
# Slow lane: RunBus (dual path)
# --------------------------------------------------------------------------------------------

#: Fast-path (UI) subscriber queue (events). Small: latency matters more than completeness.
RUNBUS_UI_PATH_QUEUE_SIZE = 512
#: Durable-path subscriber queue on the bus (events). Large: the sink must never miss a record.
RUNBUS_DB_PATH_QUEUE_SIZE = 65536
#: Queue size for subscribers that do not ask for one (events).
RUNBUS_DEFAULT_QUEUE_SIZE = 2048
#: Hard cap of a durable subscriber's queue (events). A durable queue never drops below this;
#: past its soft bound it only logs. Beyond this cap (a consumer stalled for minutes at full
#: training speed, ~60 MB of records) it drops the newest and counts them as lost, so memory
#: stays bounded even when the disk is gone.
RUNBUS_DURABLE_HARD_LIMIT = 262144
#: Least interval between two sequence-gap log lines of one stream (seconds); all gaps are
#: counted either way.
RUNBUS_GAP_LOG_INTERVAL_S = 1.0
#: Live step buffer kept by LiveTelemetryController until a panel exists (steps).
LIVE_STEP_QUEUE_SIZE = 64
#: Live episode buffer kept by LiveTelemetryController until a panel exists (episodes).
LIVE_EPISODE_QUEUE_SIZE = 32

# --------------------------------------------------------------------------------------------
# Slow lane: SQLite sink
# --------------------------------------------------------------------------------------------

#: Records the sink's writer thread may hold before publishers see back-pressure (records).
DB_SINK_WRITER_QUEUE_SIZE = 16384
#: Records per write transaction (records). SQLite's own rate flattens above ~256 rows, but each
#: batch also costs the sink one hand-over of the GIL, which waits up to the interpreter's 5 ms
#: switch interval while the training thread runs Python: 2048 measured 0.6-0.8x of SQLite's
#: ceiling end to end against 0.4x for 512 (bench/bench_store_rate.py).
DB_SINK_BATCH_SIZE = 2048
#: Longest a half-full batch waits before it is written anyway (seconds).
DB_SINK_FLUSH_INTERVAL_S = 0.25
#: Pages in the WAL before the sink runs a passive checkpoint (pages of 4 KiB).
DB_SINK_CHECKPOINT_PAGES = 4096
#: Attempts for a failing batch before it is set aside and retried later (count).
DB_SINK_MAX_RETRIES = 5
#: Queue depth above which the sink logs LOG_SERVICE_DB_SINK_QUEUE_DEPTH (records).
DB_SINK_QUEUE_PRESSURE = 8192
#: How long one write waits for another process's lock before the batch counts as failed
#: (seconds). Several workers share one file; their transactions last milliseconds.
DB_SINK_BUSY_TIMEOUT_S = 5.0
#: First pause after a failed batch (seconds); doubled per failure up to the maximum below.
DB_SINK_RETRY_BACKOFF_S = 0.05
#: Longest pause between two attempts at a failing batch (seconds).
DB_SINK_RETRY_BACKOFF_MAX_S = 2.0
#: WAL file size SQLite truncates back to after a checkpoint (bytes). Bounds disk use.
DB_SINK_WAL_LIMIT_BYTES = 64 * 1024 * 1024
#: Longest ``stop()`` waits for the writer thread to flush and exit (seconds).
DB_SINK_STOP_TIMEOUT_S = 10.0
#: Least interval between two queue-depth / batch-failure log lines (seconds).
DB_SINK_LOG_INTERVAL_S = 5.0
#: Default database file of the embedded store, relative to the working directory (path).
#: Same default as the worker's FASTLANE_DB and the inspection commands' --db.
DEFAULT_DB_PATH = "runs/fastlane.sqlite"

# --------------------------------------------------------------------------------------------
# Slow lane: gRPC bridge and live subscribers
# --------------------------------------------------------------------------------------------

#: Default address of ``gym-gui-bridge serve`` (host:port). Loopback unless asked otherwise.
BRIDGE_DEFAULT_LISTEN = "127.0.0.1:50055"
#: Records per gRPC batch sent by the worker's emitter (records). Per-message costs (gRPC on
#: both sides, the bridge's decode call and ack) are paid once per batch: 1024 takes ~2 us of
#: CPU per record off the bridge compared with 256 (docs/BENCHMARKS.md); ~220 KB of JSONL.
EMITTER_BATCH_SIZE = 1024
#: Credits a live subscriber starts with per (run id, agent id) (events).
INITIAL_CREDITS = 200
#: Below this many credits a subscriber counts as starved and is throttled (events).
MIN_CREDITS_THRESHOLD = 10
#: A starved live subscriber counts as recovered once its credits stayed at or above half of
#: INITIAL_CREDITS this long (seconds). gRPC takes messages in bursts as its flow-control window
#: opens: without this a stuck client would flap between starved and recovered.
CREDIT_RECOVERY_S = 1.0
#: Largest gRPC message either side accepts (bytes). A batch holds at most
#: EMITTER_BATCH_MAX_BYTES of JSONL plus framing; 16 MiB leaves room for one maximal
#: (JSONL_MAX_LINE_BYTES) line and refuses anything absurd before it is buffered.
GRPC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: JSONL bytes the emitter puts in one batch at most (bytes); well under GRPC_MAX_MESSAGE_BYTES.
EMITTER_BATCH_MAX_BYTES = 4 * 1024 * 1024
#: Records the training thread may hand to the emitter before it writes them to its spool
#: (records). The hand-off is RAM; past this the newest are dropped and counted (a disk that
#: stalls for seconds at full training speed). ~64k records is ~20 MB.
EMITTER_QUEUE_SIZE = 65536
#: Directory of the emitter's disk spool, one sub-directory per run (path, relative to the
#: working directory). ``gym-gui-bridge serve`` ingests orphaned spools found here at start-up.
EMITTER_SPOOL_DIR = "runs/spool"
#: Size at which the emitter starts a new spool segment file (bytes). Acknowledged segments are
#: deleted whole, so this is also the granularity at which disk is given back.
EMITTER_SEGMENT_BYTES = 8 * 1024 * 1024
#: Most disk one run's spool may use (bytes). Past it the newest records are dropped and counted
#: (bridge down for hours at full speed): bounded disk, as RAM.
EMITTER_SPOOL_MAX_BYTES = 2 * 1024 * 1024 * 1024
#: The spooler fsyncs the current segment at most this often (seconds), and always when a
#: segment is closed and at exit. A power cut can lose at most this much; a crash of the
#: process loses nothing already written (the page cache survives it).
EMITTER_FSYNC_INTERVAL_S = 1.0
#: Longest a half-full batch waits in the spooler before it is written and shipped (seconds).
#: Also how often the spooler and the shipper look for work when idle: each look wakes a thread
#: in the training process, so this trades latency for training cost; 0.25 s, like
#: DB_SINK_FLUSH_INTERVAL_S, keeps live views within a quarter second.
EMITTER_FLUSH_INTERVAL_S = 0.25
#: Batches sent and not yet acknowledged, per stream (batches). The bridge acknowledges after
#: its SQLite commit (up to DB_SINK_FLUSH_INTERVAL_S later); 32 x 1024 records keep the pipe full.
EMITTER_MAX_IN_FLIGHT = 32
#: First pause before reconnecting to an unreachable bridge (seconds); doubled per failure.
EMITTER_RECONNECT_MIN_S = 0.1
#: Longest pause between two reconnection attempts (seconds).
EMITTER_RECONNECT_MAX_S = 2.0
#: Longest the emitter waits at exit for the bridge to acknowledge the spool (seconds); what is
#: left stays on disk for ``gym-gui-bridge ingest`` or the bridge's start-up.
EMITTER_CLOSE_TIMEOUT_S = 5.0
#: Longest the bridge waits for the SQLite sink to commit a batch before it answers the batch
#: as dropped (seconds); the emitter then re-sends it.
BRIDGE_ACK_TIMEOUT_S = 30.0
#: Live subscriber streams served at once (streams); more get RESOURCE_EXHAUSTED. Each holds a
#: server thread while its client reads slowly, so this bounds what subscribers can take.
BRIDGE_MAX_SUBSCRIBERS = 32
#: Publishing streams served at once (streams); more get RESOURCE_EXHAUSTED.
BRIDGE_MAX_PUBLISHERS = 64
#: Rejections listed by reason in one BatchAck (count); all are counted.
BRIDGE_MAX_REJECTIONS_REPORTED = 8
#: Least interval between two repeated warnings of the bridge, emitter or proxy (seconds):
#: a recurring problem is logged, with its totals, at most this often.
BRIDGE_LOG_INTERVAL_S = 5.0
#: Refresh interval of the status line on a terminal (seconds).
BRIDGE_STATUS_INTERVAL_S = 1.0
#: Interval of the status log line when stderr is not a terminal (seconds).
BRIDGE_STATUS_LOG_INTERVAL_S = 30.0
#: Longest ``serve`` waits at SIGTERM/SIGINT for streams to finish and the sink to flush (seconds).
BRIDGE_STOP_GRACE_S = 10.0
#: Records a live subscriber reads from SQLite per query while replaying (rows).
LIVE_REPLAY_PAGE_ROWS = 2048
#: Events a live subscriber's RunBus queue holds before the oldest are dropped (events); the
#: subscriber re-reads what it missed from SQLite, so this only bounds memory.
LIVE_SUBSCRIBER_QUEUE_SIZE = 4096

# --------------------------------------------------------------------------------------------
# Records (JSONL)
# --------------------------------------------------------------------------------------------

#: Longest JSONL line a decoder accepts (bytes).
JSONL_MAX_LINE_BYTES = 1024 * 1024
#: Deepest list nesting accepted in a step's ``action`` (levels). Box actions are 1-3 deep.
JSONL_MAX_ACTION_DEPTH = 8
#: Longest ``run_id`` / ``agent_id`` / scalar ``tag`` a decoder accepts (characters).
JSONL_MAX_NAME_CHARS = 1024

# --------------------------------------------------------------------------------------------
# Slow lane: the worker's embedded recorder
# --------------------------------------------------------------------------------------------

#: Records the recorder's hand-off queue (training thread -> writer thread) may hold (records);
#: beyond it new records are refused and counted. Only reached if the writer cannot keep up
#: for a long time (a database locked by another process, a very slow disk).
RECORDER_BUFFER_LIMIT = 262144
#: Longest the recorder waits at exit for recorded records to reach the database (seconds).
RECORDER_CLOSE_TIMEOUT_S = 10.0

# --------------------------------------------------------------------------------------------
# Viewer (gym-gui-bridge view)
# --------------------------------------------------------------------------------------------

#: Display rate the viewer polls the ring at (Hz). 60 matches common monitors; a poll that finds
#: no newer frame copies and paints nothing, so a higher rate costs little while idle.
VIEWER_FPS = 60.0
#: How often a viewer without a ring retries attaching (seconds): slow, it waits for a run.
VIEWER_ATTACH_RETRY_S = 0.5
#: How often the viewer checks that the writer process is alive (seconds). Reads /proc, so
#: a few times a second at most.
VIEWER_LIVENESS_INTERVAL_S = 0.25
#: Window over which frames shown per second are counted (seconds).
VIEWER_RATE_WINDOW_S = 1.0
#: How often the run picker re-lists the fast lanes (seconds).
VIEWER_PICKER_REFRESH_S = 1.0
#: Longest ``--snapshot`` waits for a first frame before failing (seconds).
VIEWER_SNAPSHOT_TIMEOUT_S = 10.0
#: How long ``--snapshot`` keeps the window live after the first frame before saving
#: (seconds): long enough for the writer to notice it is watched (it renders only then) and for
#: the live panel's first database poll, so the picture is what a person would see.
VIEWER_SNAPSHOT_SETTLE_S = 1.5
#: How often the live panel's background thread tails the database (seconds).
LIVE_DB_POLL_INTERVAL_S = 0.5
#: Most rows one tail query reads per table (rows): bounds one poll's time on a large backlog.
LIVE_DB_BATCH_ROWS = 5000
#: How long one tail query waits on a locked database before giving up until the next poll
#: (seconds). Runs on the panel's own thread, so it never delays frames.
LIVE_DB_BUSY_TIMEOUT_S = 1.0
#: Episodic-return points kept per env slot for the live curve (points).
LIVE_RETURN_HISTORY = 2000
#: Points kept per scalar tag for the live scalar sparklines (points).
LIVE_SCALAR_HISTORY = 256
#: Scalar tags the live panel keeps at most (tags); more are ignored, oldest tags kept.
LIVE_MAX_SCALAR_TAGS = 32
#: How long stopping the live panel's thread waits for it (seconds); one poll's worst case.
LIVE_THREAD_JOIN_TIMEOUT_S = 2.0
#: How often the live panel repaints from the controller's buffers (seconds).
LIVE_PANEL_REFRESH_S = 0.5
