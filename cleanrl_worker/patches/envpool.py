"""envpool as a vector env of the fast lane: frames of the watched slot, episodes of every slot.

envpool builds its envs in C++, so there is no per-slot env to wrap. :func:`install` wraps
``envpool.make``, ``envpool.make_gym`` and ``envpool.make_gymnasium`` (through a post-import
hook: nothing is imported before the script imports envpool). The first pool they build with
the gym or gymnasium API (``env_type="gym"`` or ``"gymnasium"``; ``"dm"`` is left alone) is
the run's vector env (:func:`cleanrl_worker.patches.hooked.claim`), unless a gymnasium vector
env was hooked first. The script gets the very pool envpool built: nothing is added to its
``make`` call and its class is unchanged. Three of the pool's methods are shadowed on that
instance: ``send`` (to keep the watched slot's action), ``recv`` (which ``step`` and ``reset``
call, and asynchronous loops call directly: every batch of results passes there) and ``close``
(to remove the ring). Both of envpool's result formats are read:

- the old gym API (envpool < 1.1 with ``gym`` < 0.26, what CleanRL's ``ppo_atari_envpool``
  uses): ``obs, reward, done, info`` with ``info["TimeLimit.truncated"]``; ``reset()`` returns
  the observations alone;
- the gymnasium API (every newer pool, and ``env_type="gym"`` from envpool 1.1 on):
  ``obs, reward, terminated, truncated, info`` and ``reset() -> (obs, info)``.

The slot of each result is ``info["env_id"]``. Episodes are recorded by
:class:`~cleanrl_worker.slowlane.vector_episodes.VectorEpisodes` with envpool's Atari
``info``: ``lives`` and ``terminated`` (game over) make an episode the whole game under
``episodic_life=True``, and ``info["reward"]`` (the reward before ``reward_clip``) is summed.

Frames (:class:`~cleanrl_worker.fastlane.vector_frames.VectorSlotFrames`): envpool's own
``render(env_ids=[slot])`` where the installed envpool has it (1.0 and later) and the pool
steps all its envs together (``batch_size == num_envs``); the render mode is set for that call
only and restored. Otherwise (older envpool, asynchronous pools, tasks without a renderer) the
observation is drawn: the newest frame of an Atari stack, scaled up; a grid for a discrete
state; bars for a small vector.

A failure while reading results (an envpool format this module does not know) prints one line
and stops recording that pool; the script's call returns as it would have. Not seen: pools
stepped through ``xla()`` (their results never pass through ``recv``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from cleanrl_worker.patches import hooked, post_import
from cleanrl_worker.settings.model import WorkerSettings

__all__ = ["ENVPOOL_FUNCTIONS", "EnvPoolTap", "install", "uninstall"]

#: The functions of the ``envpool`` package that build pools, wrapped by :func:`install`.
ENVPOOL_FUNCTIONS = ("make", "make_gym", "make_gymnasium")
_ORIGINAL = "__cleanrl_fastlane_original__"
_PREFIX = "cleanrl-fastlane"


class _State:
    """Process-wide state of the hook."""

    settings: WorkerSettings | None = None
    recorder: Any = None  # the slow lane's recorder, or None: the one current at the claim
    depth = 0  # nested hooked make calls (one envpool make calling another)


def install(settings: WorkerSettings, recorder: Any = None) -> None:
    """Wrap envpool's make functions now if envpool is imported, else as soon as it is.

    ``recorder`` (a :class:`cleanrl_worker.slowlane.recorder.Recorder`) records the episodes;
    None takes the recorder current when the pool is claimed (none with ``FASTLANE_ONLY``).
    """
    _State.settings = settings
    _State.recorder = recorder
    post_import.when_imported("envpool", _patch)


def uninstall() -> None:
    """Put envpool's own make functions back and hook no pool from now on (pools already
    tapped stay tapped)."""
    post_import.discard("envpool", _patch)
    module = sys.modules.get("envpool")
    for name in ENVPOOL_FUNCTIONS:
        original = getattr(getattr(module, name, None), _ORIGINAL, None)
        if original is not None:
            setattr(module, name, original)
    _State.settings = _State.recorder = None


def _patch(module: ModuleType) -> None:
    for name in ENVPOOL_FUNCTIONS:
        function = getattr(module, name, None)
        if function is None or getattr(function, _ORIGINAL, None) is not None:
            continue
        setattr(module, name, _hooked_make(function, name))


def _hooked_make(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(original)
    def make(*args: Any, **kwargs: Any) -> Any:
        if _State.depth or not _wanted(name, args, kwargs):
            return original(*args, **kwargs)
        settings = _State.settings
        assert settings is not None
        from cleanrl_worker.patches.vector_env import plan_or_refuse

        # a slot that does not exist is refused before envpool starts its threads
        slots, _grid = plan_or_refuse(settings, int(kwargs.get("num_envs", 1)), "envpool")
        _State.depth += 1
        try:
            pool = original(*args, **kwargs)
        finally:
            _State.depth -= 1
        task_id = str(args[0] if args else kwargs.get("task_id", "?"))
        _claim(pool, task_id, settings, slots[0] if slots else None)
        return pool

    setattr(make, _ORIGINAL, original)
    return make


def _wanted(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """A pool with the gym or gymnasium API, while no vector env is hooked yet."""
    if _State.settings is None or hooked.current() is not None:
        return False
    if name != "make":
        return True
    env_type = kwargs.get("env_type", args[1] if len(args) > 1 else None)
    return env_type in ("gym", "gymnasium")


def _claim(pool: Any, task_id: str, settings: WorkerSettings, watched: int | None) -> None:
    try:
        config = pool.config
        num_envs = int(config.get("num_envs", 1))
        batch_size = int(config.get("batch_size", 0)) or num_envs
    except Exception as error:  # boundary with the script: its pool is returned as built
        _warn(task_id, error)
        return
    if not hooked.claim("envpool", num_envs):
        return
    from cleanrl_worker import run_start

    recorder = _State.recorder
    pending = run_start.current()
    if recorder is None and pending is not None:
        recorder = pending.start()  # the run starts at its watched vector env, as gymnasium's do
    if recorder is None and not settings.fastlane_only:
        from cleanrl_worker.slowlane import recorder as slowlane

        recorder = slowlane.current()
    try:
        EnvPoolTap(
            pool,
            task_id=task_id,
            settings=settings,
            num_envs=num_envs,
            synchronous=batch_size == num_envs,
            watched=watched,
            recorder=recorder,
        )
    except Exception as error:  # boundary with the script: its pool is returned as built
        _warn(task_id, error)


def _warn(task_id: str, error: Exception) -> None:
    print(
        f"{_PREFIX}: warning: envpool {task_id}: its results cannot be read "
        f"({type(error).__name__}: {error}); training continues without its episodes "
        "and frames",
        file=sys.stderr,
        flush=True,
    )


class EnvPoolTap:
    """Reads every batch of results of one envpool pool (see the module's docstring).

    Args:
        pool: the pool; its ``send``, ``recv`` and ``close`` are shadowed on the instance.
        task_id: the envpool task (``"Breakout-v5"``), for messages.
        settings: the run's settings (run id, frame tunables).
        num_envs: the pool's envs.
        synchronous: the pool steps all its envs per call (its renderer may be used).
        watched: the slot that streams frames, or None.
        recorder: records the episodes (``emit``, ``agent_id``, ``steps``, ``watched_slot``),
            or None.
    """

    def __init__(
        self,
        pool: Any,
        *,
        task_id: str,
        settings: WorkerSettings,
        num_envs: int,
        synchronous: bool,
        watched: int | None,
        recorder: Any,
    ) -> None:
        from cleanrl_worker.slowlane.vector_episodes import VectorEpisodes

        self.task_id = task_id
        self.num_envs = num_envs
        self.watched = watched
        self.working = True
        self._pool_send, self._pool_recv, self._pool_close = pool.send, pool.recv, pool.close
        emit, agent_id, step_slots = None, "default", set()
        if recorder is not None:
            emit, agent_id = recorder.emit, recorder.agent_id
            if recorder.steps == "all":
                step_slots = set(range(num_envs))
            elif recorder.steps == "watched" and recorder.watched_slot is not None:
                step_slots = {recorder.watched_slot}
        self.episodes = VectorEpisodes(
            num_envs, emit, run_id=settings.run_id, agent_id=agent_id, step_slots=step_slots
        )
        self.frames = None
        if watched is not None:
            self.frames = _slot_frames(pool, task_id, watched, settings, synchronous)
        pool.send, pool.recv, pool.close = self.send, self.recv, self.close

    # --- the pool's shadowed methods ---------------------------------------------------------

    def send(self, action: Any, env_id: Any = None, *args: Any, **kwargs: Any) -> Any:
        result = self._pool_send(action, env_id, *args, **kwargs)
        if self.working:
            try:
                self.episodes.sent(action, env_id)
            except Exception as error:  # boundary with the script: report once, stop reading
                self._fail(error)
        return result

    def recv(self, *args: Any, **kwargs: Any) -> Any:
        result = self._pool_recv(*args, **kwargs)
        if self.working:
            reset = bool(kwargs.get("reset", args[0] if args else False))
            try:
                if reset:
                    self._on_reset(result)
                else:
                    self._on_step(result)
            except Exception as error:  # boundary with the script: report once, stop reading
                self._fail(error)
        return result

    def close(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._pool_close(*args, **kwargs)
        finally:
            if self.frames is not None:
                self.frames.close()

    # --- reading results ---------------------------------------------------------------------

    def _on_reset(self, result: Any) -> None:
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
            obs, info = result
        else:
            obs, info = result, {}
        ids = self._env_ids(info, obs)
        self.episodes.reset(ids)
        frames = self.frames
        if frames is not None and frames.enabled:
            for i in np.flatnonzero(ids == self.watched):
                frames.observe(
                    _row(obs, int(i)),
                    reward=0.0,
                    episode=self.episodes.episode_of(int(ids[i])),
                    episode_step=0,
                    episode_return=0.0,
                    ended=False,
                    stepped=False,
                )

    def _on_step(self, result: tuple[Any, ...]) -> None:
        if len(result) == 5:
            obs, reward, terminated, truncated, info = result
        elif len(result) == 4:
            obs, reward, done, info = result
            done = np.asarray(done, bool)
            truncated = np.asarray(info.get("TimeLimit.truncated", np.zeros_like(done)), bool)
            terminated = done & ~truncated
        else:
            raise ValueError(
                f"Expected envpool's step result of 4 or 5 items, got {len(result)} items"
            )
        ids = self._env_ids(info, reward)
        lives = info.get("lives")
        atari = lives is not None
        outcome = self.episodes.step(
            ids,
            info["reward"] if atari and "reward" in info else reward,
            terminated,
            truncated,
            lives=lives,
            game_over=info.get("terminated") if atari else None,
            elapsed=info.get("elapsed_step"),
        )
        frame_seqs = None
        frames, watched = self.frames, self.watched
        index = None if watched is None else outcome.index_of(watched)
        if frames is not None and frames.enabled and watched is not None and index is not None:
            before = frames.last_frame_seq
            frames.observe(
                _row(obs, index),
                reward=float(outcome.rewards[index]),
                episode=int(outcome.episode[index]),
                episode_step=int(outcome.episode_step[index]),
                episode_return=float(outcome.returns[index]),
                ended=bool(outcome.ended[index]),
                stepped=bool(outcome.stepped[index]),
            )
            after = frames.last_frame_seq
            if after is not None and after != before:
                frame_seqs = {watched: after}
        self.episodes.record_steps(outcome, frame_seqs)

    def _env_ids(self, info: dict[str, Any], batch: Any) -> np.ndarray:
        ids = info.get("env_id")
        if ids is not None:
            return np.asarray(ids)
        size = len(batch)
        if size != self.num_envs:
            raise ValueError(
                f"Expected info['env_id'] or a result for each of the {self.num_envs} envs, "
                f"got {size} results without env_id"
            )
        return np.arange(size, dtype=np.int64)

    def _fail(self, error: Exception) -> None:
        self.working = False
        _warn(self.task_id, error)


def _row(batch: Any, index: int) -> Any:
    """One env's observation of a batch (None when the batch is not an array)."""
    return batch[index] if isinstance(batch, np.ndarray) else None


def _slot_frames(
    pool: Any, task_id: str, slot: int, settings: WorkerSettings, synchronous: bool
) -> Any:
    from cleanrl_worker.fastlane.vector_frames import VectorSlotFrames

    config = pool.config
    gray = config.get("gray_scale")
    space = getattr(pool, "observation_space", None)
    discrete_n = getattr(space, "n", None) if type(space).__name__ == "Discrete" else None
    renders = synchronous and callable(getattr(type(pool), "_render_config", None))
    return VectorSlotFrames(
        settings.run_id,
        slot,
        name=f"envpool {task_id}",
        render=_renderer(pool, slot) if renders else None,
        discrete_n=None if discrete_n is None else int(discrete_n),
        color_stack=None if gray is None else not gray,
        frames=settings.tunables.frames,
        ring=settings.tunables.ring,
    )


def _renderer(pool: Any, slot: int) -> Callable[[], np.ndarray | None]:
    """envpool's ``render`` of ``slot``, with ``rgb_array`` set for the call only (a pool the
    script built with ``render_mode="human"`` keeps its window: None, observations are drawn)."""
    env_ids = np.array([slot], np.int32)

    def render() -> np.ndarray | None:
        attributes = vars(pool)
        mode = attributes.get("_render_mode")
        if mode == "rgb_array":
            return np.asarray(pool.render(env_ids=env_ids))[0]
        if mode is not None:
            return None
        attributes["_render_mode"] = "rgb_array"
        try:
            return np.asarray(pool.render(env_ids=env_ids))[0]
        finally:
            attributes.pop("_render_mode", None)

    return render
