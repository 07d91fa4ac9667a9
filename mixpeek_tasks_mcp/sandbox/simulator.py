"""Task timelines: scripted or generated status changes applied by one background thread.

:class:`Timeline` runs due actions (mostly "patch task X") in order. :func:`lifecycle_steps` plans a
realistic PENDING -> QUEUED -> IN_PROGRESS -> final run. :class:`LiveSimulator` keeps ``live_tasks``
active tasks moving (adopting the active ones already stored, spawning replacements), with all
durations divided by ``speed``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..enums import TaskStatus, TaskType
from ..statuses import ACTIVE
from .failures import failure_message
from .generator import make_task, new_world
from .store import TaskRecord, TaskStore
from .timeutil import now_iso, to_iso
from .world import World

log = logging.getLogger(__name__)
S = TaskStatus
TERMINAL = frozenset({S.COMPLETED.value, S.COMPLETED_WITH_ERRORS.value, S.FAILED.value, S.CANCELED.value})
Step = tuple[float, dict[str, Any]]
"""(seconds from now, patch of TaskResponse fields)."""


def apply_patch(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Set fields; ``additional_data`` is merged key by key; a terminal status clears queue hints."""
    doc = dict(doc)
    for key, value in patch.items():
        if key == "additional_data" and isinstance(value, dict):
            doc["additional_data"] = {**(doc.get("additional_data") or {}), **value}
        else:
            doc[key] = value
    status = patch.get("status")
    if status is not None and status not in (S.QUEUED.value, S.PENDING.value):
        if "queue_position" not in patch:
            doc["queue_position"] = None
        if "estimated_wait_minutes" not in patch:
            doc["estimated_wait_minutes"] = None
    if patch.get("error") is not None:
        doc["additional_data"] = {**(doc.get("additional_data") or {}), "error": patch["error"]}
    return doc


@dataclass(order=True)
class _Due:
    when: float
    seq: int
    task_id: str | None = field(compare=False)
    action: Callable[[], None] = field(compare=False)


class Timeline:
    """A scheduler thread: ``schedule(task_id, steps)`` patches the task at the given offsets."""

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-timeline", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def call_later(self, delay: float, action: Callable[[], None], task_id: str | None = None) -> None:
        with self._cond:
            heapq.heappush(self._heap, _Due(time.monotonic() + max(0.0, delay), next(self._seq), task_id, action))
            self._cond.notify_all()

    def schedule(self, task_id: str, steps: list[Step]) -> None:
        for delay, patch in steps:
            self.call_later(delay, self._patcher(task_id, patch), task_id)

    def _patcher(self, task_id: str, patch: dict[str, Any]) -> Callable[[], None]:
        def run() -> None:
            self.store.update(task_id, lambda doc: apply_patch(doc, patch))

        return run

    def cancel(self, task_id: str) -> None:
        """Drop every pending step of a task (kill, forced transition)."""
        with self._cond:
            self._heap = [due for due in self._heap if due.task_id != task_id]
            heapq.heapify(self._heap)

    def has_steps(self, task_id: str) -> bool:
        with self._cond:
            return any(due.task_id == task_id for due in self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0].when > time.monotonic()):
                    wait = self._heap[0].when - time.monotonic() if self._heap else None
                    self._cond.wait(timeout=wait)
                if self._stopping:
                    return
                due = heapq.heappop(self._heap)
            try:
                due.action()
            except Exception:
                log.exception("sandbox timeline step failed for task %s", due.task_id)


def lifecycle_steps(
    rng: random.Random, doc: dict[str, Any], duration: float, final_status: str, error: str | None = None
) -> list[Step]:
    """Plan a run from the task's current status to ``final_status`` spread over ``duration`` seconds."""
    status = str(doc.get("status"))
    data = doc.get("additional_data") or {}
    tiers = data.get("total_tiers") if isinstance(data.get("total_tiers"), int) else None
    steps: list[Step] = []
    start_run = duration * 0.3
    if status in (S.PENDING.value, S.DRAFT.value):
        position = rng.randint(2, 4)
        for index in range(position):
            at = duration * (0.05 + 0.25 * index / position)
            left = position - index
            steps.append(
                (at, {"status": S.QUEUED.value, "queue_position": left, "estimated_wait_minutes": round(left * 0.7, 1)})
            )
    elif status != S.QUEUED.value:
        start_run = 0.0
    run_patch: dict[str, Any] = {"status": S.IN_PROGRESS.value}
    if tiers:
        run_patch["additional_data"] = {"current_tier": 0}
    steps.append((start_run, run_patch))
    if tiers:
        for tier in range(1, tiers):
            at = start_run + (duration * 0.95 - start_run) * tier / tiers
            steps.append((at, {"additional_data": {"current_tier": tier}}))
    final: dict[str, Any] = {"status": final_status}
    if final_status in (S.FAILED.value, S.COMPLETED_WITH_ERRORS.value):
        final["error"] = error or _sim_error(rng, final_status, doc)
    elif final_status == S.COMPLETED.value:
        final["outputs"] = doc.get("outputs") or [{"result": "ok", "task_id": doc.get("task_id")}]
    steps.append((duration, final))
    return steps


_SIM_WORLD = World(random.Random(0))


def _sim_error(rng: random.Random, final_status: str, doc: dict[str, Any]) -> str:
    """A message of a failure family that fits the task (its ids reused), as generated tasks have."""
    try:
        task_type: TaskType | None = TaskType(str(doc.get("task_type")))
    except ValueError:
        task_type = None
    data = doc.get("additional_data") or {}
    return failure_message(rng, _SIM_WORLD, S(final_status), task_type, data)


LIVE_TYPES = {
    TaskType.API_BUCKETS_BATCHES_PROCESS: 5,
    TaskType.ENGINE_FEATURE_EXTRACTOR_RUN: 2,
    TaskType.ENGINE_CLUSTER_BUILD: 1,
    TaskType.API_TAXONOMIES_EXECUTE: 1,
    TaskType.API_BUCKETS_OBJECTS_CREATE: 1,
}
STUCK_AFTER = timedelta(minutes=30)
"""An active task not updated for this long is stuck: the simulator leaves it alone."""
FINAL_WEIGHTS = {S.COMPLETED.value: 75, S.COMPLETED_WITH_ERRORS.value: 12, S.FAILED.value: 13}


class LiveSimulator:
    """Keeps ``live_tasks`` tasks active: adopts stored active tasks, spawns new ones as others finish."""

    def __init__(self, store: TaskStore, timeline: Timeline, *, seed: int, speed: float, live_tasks: int) -> None:
        self.store = store
        self.timeline = timeline
        self.rng = random.Random(seed + 1)
        self.world = new_world(seed)
        self.speed = max(speed, 1e-3)
        self.live_tasks = live_tasks
        self.owned: list[str] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Adopt the newest active tasks that are still moving (stuck ones, not updated for
        ``STUCK_AFTER``, stay stuck), then keep ``live_tasks`` going."""
        fresh_since = to_iso(datetime.now(UTC) - STUCK_AFTER)
        adopted = 0
        for task_id in reversed(self.store.task_ids_with_status([s.value for s in ACTIVE])):
            if adopted >= self.live_tasks:
                break
            record = self.store.get(task_id)
            if record is None or record.updated_at < fresh_since or self.timeline.has_steps(task_id):
                continue
            self._plan(record.doc)
            adopted += 1
        self._maintain()

    def _duration(self) -> float:
        return self.rng.uniform(8, 150) / self.speed

    def _plan(self, doc: dict[str, Any]) -> None:
        final = self.rng.choices(list(FINAL_WEIGHTS), weights=list(FINAL_WEIGHTS.values()))[0]
        self.timeline.schedule(str(doc["task_id"]), lifecycle_steps(self.rng, doc, self._duration(), final))
        with self._lock:
            self.owned.append(str(doc["task_id"]))

    def _spawn(self) -> None:
        task_type = self.rng.choices(list(LIVE_TYPES), weights=list(LIVE_TYPES.values()))[0]
        doc = make_task(self.rng, self.world, task_type, S.PENDING)
        now = now_iso()
        self.store.upsert(TaskRecord(doc=doc, created_at=now, updated_at=now))
        log.info("sandbox simulator spawned %s task %s", task_type.value, doc["task_id"])
        self._plan(doc)

    def active_owned(self) -> int:
        with self._lock:
            owned = list(self.owned)
        alive = []
        for task_id in owned:
            record = self.store.get(task_id)
            if record is not None and record.doc.get("status") not in TERMINAL:
                alive.append(task_id)
        with self._lock:
            self.owned = alive
        return len(alive)

    def _maintain(self) -> None:
        missing = self.live_tasks - self.active_owned()
        for _ in range(max(0, missing)):
            if self.rng.random() < 0.6 or missing == self.live_tasks:
                self._spawn()
        self.timeline.call_later(self.rng.uniform(1.0, 6.0) / self.speed, self._maintain)
