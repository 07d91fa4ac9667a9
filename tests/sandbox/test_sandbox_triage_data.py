"""The generated data is worth triaging: failure families, bursts, one-offs, running and stuck tasks.

Read over HTTP from a running sandbox. Families are told apart by ``family_of`` (regexes built from the
templates), and signatures by a rough masking local to this file, never by any triage code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sandbox_dataset import auth

from mixpeek_tasks_mcp.sandbox import DEMO_API_KEY, RunningSandbox, SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.sandbox.failures import FAMILIES_BY_NAME, FAMILY_PATTERNS
from mixpeek_tasks_mcp.sandbox.generator import FAMILIES, LONG_TAIL, LONG_TAIL_MESSAGES, family_of, generate_tasks

REPO = Path(__file__).resolve().parents[2]
COUNT = 4000
FAILURE_STATUSES = ("FAILED", "COMPLETED_WITH_ERRORS", "INTERRUPTED")


def fetch_all(client: httpx2.Client, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every task matching ``body``, following next_cursor."""
    tasks: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        page = client.post("/v1/tasks/list", params=params, json=body or {})
        page.raise_for_status()
        data = page.json()
        tasks += data["results"]
        cursor = data["pagination"]["next_cursor"]
        if not cursor:
            return tasks
        params = {"limit": 1000, "cursor": cursor}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rough_signature(message: str) -> str:
    """Mask what varies (quoted names, urls, tokens with a digit or an underscore: ids, numbers, sizes)."""
    text = re.sub(r"'[^']*'", "'?'", message)
    text = re.sub(r"\b[a-z0-9]+://\S+", "<url>", text)
    return re.sub(r"[\w.-]*[\d_][\w.-]*", "#", text)


@pytest.fixture(scope="module")
def generated() -> Iterator[tuple[RunningSandbox, list[dict[str, Any]]]]:
    config = SandboxConfig(port=0, tasks=COUNT, simulate=False, seed=7)
    with (
        running_sandbox(config) as sandbox,
        httpx2.Client(base_url=sandbox.base_url, headers=auth(DEMO_API_KEY), trust_env=False, timeout=30) as client,
    ):
        yield sandbox, fetch_all(client)


@pytest.fixture(scope="module")
def tasks(generated: tuple[RunningSandbox, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return generated[1]


@pytest.fixture(scope="module")
def anchor(tasks: list[dict[str, Any]]) -> datetime:
    """When the data was generated: no task was updated after it (the running ones seconds before)."""
    return max(moment(task["updated_at"]) for task in tasks)


@pytest.fixture(scope="module")
def by_family(tasks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in tasks:
        if task["status"] in FAILURE_STATUSES:
            groups[str(family_of(task["error"]))].append(task)
    return groups


def test_every_failure_message_is_in_exactly_one_family_or_the_long_tail(tasks: list[dict[str, Any]]) -> None:
    failures = [task for task in tasks if task["status"] in FAILURE_STATUSES]
    assert len(tasks) == COUNT and failures
    for task in failures:
        message = task["error"]
        assert message and task["additional_data"]["error"] == message
        matches = [name for name, pattern in FAMILY_PATTERNS.items() if pattern.fullmatch(message)]
        if message in LONG_TAIL_MESSAGES:
            assert matches == [] and family_of(message) == LONG_TAIL, message
            assert task["status"] == "FAILED"
        else:
            assert len(matches) == 1, (message, matches)
            family = FAMILIES_BY_NAME[matches[0]]
            assert family_of(message) == family.name
            assert task["status"] in {status.value for status in family.statuses}
            assert family.task_types is None or task["task_type"] in {kind.value for kind in family.task_types}
    assert all(task["error"] is None for task in tasks if task["status"] not in FAILURE_STATUSES)


def test_family_sizes_are_realistic(tasks: list[dict[str, Any]], by_family: dict[str, list[dict[str, Any]]]) -> None:
    assert 8 <= len(FAMILIES) <= 16
    sizes = {family.name: len(by_family[family.name]) for family in FAMILIES}
    assert min(sizes.values()) >= 10, sizes
    failed = Counter(
        family_of(task["error"])
        for task in tasks
        if task["status"] == "FAILED" and family_of(task["error"]) != LONG_TAIL
    )
    ranked = [size for _, size in failed.most_common()]
    assert len(ranked) >= 8
    assert sum(ranked[:3]) > 0.4 * sum(ranked), "a few large families (and a dozen smaller ones)"
    assert ranked[0] < 3 * ranked[3], "and no single family is everything"


def test_one_family_bursts_on_one_bucket(by_family: dict[str, list[dict[str, Any]]]) -> None:
    (family,) = [family for family in FAMILIES if family.burst == "bucket"]
    buckets = Counter(task["additional_data"]["bucket_id"] for task in by_family[family.name])
    (_, top_count), (_, second_count) = buckets.most_common(2)
    assert top_count >= 0.6 * sum(buckets.values()) and top_count > 5 * second_count, buckets
    for task in by_family[family.name]:
        bucket_name = task["additional_data"]["bucket_id"].removeprefix("bkt_").replace("_", "-")
        assert f"s3://{bucket_name}-raw/" in task["error"], "the message names the task's own bucket"


def test_one_family_bursts_within_hours_of_one_day_last_week(
    by_family: dict[str, list[dict[str, Any]]], anchor: datetime
) -> None:
    (family,) = [family for family in FAMILIES if family.burst == "day"]
    created = sorted(moment(task["created_at"]) for task in by_family[family.name])
    best: list[datetime] = []
    for index, start in enumerate(created):
        window = [when for when in created[index:] if when - start <= timedelta(hours=6)]
        best = max(best, window, key=len)
    assert len(best) >= 0.6 * len(created), (len(best), len(created))
    assert best[0].date() == best[-1].date()
    assert anchor - timedelta(days=7) <= best[0] and best[-1] <= anchor - timedelta(days=1)


def test_long_tail_one_offs_are_rare_and_unrelated(
    tasks: list[dict[str, Any]], by_family: dict[str, list[dict[str, Any]]]
) -> None:
    one_offs = [task["error"] for task in by_family[LONG_TAIL]]
    failed = sum(task["status"] == "FAILED" for task in tasks)
    assert 0.015 * failed <= len(one_offs) <= 0.05 * failed, (len(one_offs), failed)
    signatures = [rough_signature(message) for message in one_offs]
    assert len(set(one_offs)) == len(set(signatures)) == len(one_offs), "each one-off is its own signature"
    word_sets = [set(re.findall(r"[a-z]{4,}", message.lower())) for message in one_offs]
    for index, words in enumerate(word_sets):
        for other in word_sets[index + 1 :]:
            assert len(words & other) <= 2, (words, other)
    family_signatures = {
        rough_signature(task["error"]) for name, group in by_family.items() if name != LONG_TAIL for task in group
    }
    assert not family_signatures & set(signatures)


def test_masking_the_variable_parts_gives_one_signature_per_family(
    by_family: dict[str, list[dict[str, Any]]],
) -> None:
    owner: dict[str, str] = {}
    for family in FAMILIES:
        signatures = {rough_signature(task["error"]) for task in by_family[family.name]}
        assert len(signatures) == 1, (family.name, signatures)
        (signature,) = signatures
        assert signature not in owner, (family.name, owner.get(signature))
        owner[signature] = family.name


def test_tasks_are_running_at_start(tasks: list[dict[str, Any]], anchor: datetime) -> None:
    running = [
        task
        for task in tasks
        if task["status"] in ("IN_PROGRESS", "PROCESSING")
        and anchor - moment(task["updated_at"]) < timedelta(minutes=5)
    ]
    statuses = Counter(task["status"] for task in running)
    assert statuses["IN_PROGRESS"] >= 3 and statuses["PROCESSING"] >= 1, statuses
    batches = [task for task in running if task["task_type"] == "api_buckets_batches_process"]
    assert len(batches) >= 3
    for task in batches:
        data = task["additional_data"]
        assert isinstance(data["current_tier"], int) and 0 <= data["current_tier"] < data["total_tiers"]
        assert anchor - moment(task["created_at"]) < timedelta(hours=1)


def test_stuck_tasks_stand_out_from_the_recent_active_ones(tasks: list[dict[str, Any]], anchor: datetime) -> None:
    active = [task for task in tasks if task["status"] in ("PENDING", "QUEUED", "IN_PROGRESS", "PROCESSING")]
    stuck = [task for task in active if anchor - moment(task["updated_at"]) >= timedelta(hours=2)]
    recent = [task for task in active if task not in stuck]
    assert all(anchor - moment(task["updated_at"]) <= timedelta(minutes=5) for task in recent)
    assert all(anchor - moment(task["created_at"]) <= timedelta(hours=1) for task in recent)
    stuck_queued = [task for task in stuck if task["status"] == "QUEUED"]
    stuck_running = [task for task in stuck if task["status"] in ("IN_PROGRESS", "PROCESSING")]
    assert len(stuck_queued) >= 2 and len(stuck_running) >= 2
    most_recent_wait = max(task["estimated_wait_minutes"] for task in recent if task["status"] == "QUEUED")
    most_recent_position = max(task["queue_position"] for task in recent if task["status"] == "QUEUED")
    for task in stuck_queued:
        assert task["queue_position"] > 3 * most_recent_position
        assert task["estimated_wait_minutes"] > 5 * most_recent_wait
        assert anchor - moment(task["created_at"]) >= timedelta(hours=3)
    for task in stuck_running:
        assert isinstance(task["additional_data"]["current_tier"], int), "stuck on a tier"


def test_the_simulator_leaves_stuck_tasks_alone() -> None:
    config = SandboxConfig(port=0, tasks=500, simulate=True, live_tasks=20, seed=3)
    with running_sandbox(config) as sandbox:
        assert sandbox.state.simulator is not None
        owned = set(sandbox.state.simulator.owned)
        active = sandbox.state.store.task_ids_with_status(["QUEUED", "IN_PROGRESS", "PROCESSING"])
        records = [record for record in map(sandbox.state.store.get, active) if record is not None]
    newest = max(moment(record.updated_at) for record in records)
    stuck = {record.task_id for record in records if newest - moment(record.updated_at) > timedelta(hours=2)}
    assert len(stuck) >= 4
    assert owned and not owned & stuck, "stuck tasks stay stuck"


def test_timestamps_are_served_by_default(generated: tuple[RunningSandbox, list[dict[str, Any]]]) -> None:
    sandbox, tasks = generated
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
    assert all(iso.fullmatch(task["created_at"]) and iso.fullmatch(task["updated_at"]) for task in tasks)
    assert all(task["created_at"] <= task["updated_at"] for task in tasks)
    sample = tasks[::500]
    with httpx2.Client(base_url=sandbox.base_url, headers=auth(DEMO_API_KEY), trust_env=False) as client:
        for task in sample:
            got = client.get(f"/v1/tasks/{task['task_id']}").json()
            assert got == task
            stored = sandbox.get_task(task["task_id"])
            assert (got["created_at"], got["updated_at"]) == (stored["created_at"], stored["updated_at"])


def test_no_timestamps_serves_the_documented_shape() -> None:
    config = SandboxConfig(port=0, tasks=60, simulate=False, timestamps=False)
    with (
        running_sandbox(config) as sandbox,
        httpx2.Client(base_url=sandbox.base_url, headers=auth(DEMO_API_KEY), trust_env=False) as client,
    ):
        listed = fetch_all(client)
        created = sandbox.create_task(task_id="mine", status="FAILED", created_at="2025-01-02T03:04:05Z")
        got = client.get("/v1/tasks/mine").json()
        assert sandbox.get_task("mine")["created_at"] == "2025-01-02T03:04:05.000000Z", "the admin view keeps them"
    assert len(listed) == 60
    assert all("created_at" not in task and "updated_at" not in task for task in [*listed, got])
    assert created["created_at"] and got["task_id"] == "mine"


def test_generation_is_deterministic_and_keeps_the_status_mix() -> None:
    anchor = datetime(2025, 6, 1, 12, tzinfo=UTC)
    first = generate_tasks(10000, seed=7, anchor=anchor)
    assert first == generate_tasks(10000, seed=7, anchor=anchor)
    assert first != generate_tasks(10000, seed=8, anchor=anchor)
    statuses = Counter(record.doc["status"] for record in first)
    assert 900 <= statuses["FAILED"] <= 1100, statuses
    assert statuses["COMPLETED"] > 0.7 * len(first)
    assert all(record.created_at <= record.updated_at <= "2025-06-01T12:00:00.000000Z" for record in first)


@pytest.mark.parametrize(("count", "seed"), [(50, seed) for seed in range(8)] + [(240, 11), (500, 7), (3000, 4)])
def test_every_active_and_final_status_is_there_at_start(count: int, seed: int) -> None:
    """A sandbox starts with tasks in every active status (PENDING, QUEUED, IN_PROGRESS, PROCESSING) and every final
    one, served over HTTP; the active ones fresh (not stuck), the partial ones with their failed-document counts."""
    config = SandboxConfig(port=0, tasks=count, simulate=False, seed=seed)
    with (
        running_sandbox(config) as sandbox,
        httpx2.Client(base_url=sandbox.base_url, headers=auth(DEMO_API_KEY), trust_env=False, timeout=30) as client,
    ):
        served = fetch_all(client)
        pending = fetch_all(client, {"status": "PENDING"})
    statuses = Counter(task["status"] for task in served)
    everything = {"PENDING", "QUEUED", "IN_PROGRESS", "PROCESSING"} | {"COMPLETED", "COMPLETED_WITH_ERRORS"}
    everything |= {"FAILED", "CANCELED", "INTERRUPTED"}
    assert everything <= set(statuses), statuses
    assert len(served) == count and pending and all(task["status"] == "PENDING" for task in pending)
    newest = max(moment(task["updated_at"]) for task in served)
    assert any(newest - moment(task["updated_at"]) < timedelta(minutes=5) for task in pending), "a fresh PENDING task"
    for task in served:
        if task["status"] == "COMPLETED_WITH_ERRORS":
            data = task["additional_data"]
            assert 0 < data["failed_object_count"] <= data["object_count"], data
            assert data["success_rate"] == round(100 * (1 - data["failed_object_count"] / data["object_count"]), 1)


def test_the_first_tasks_of_a_seed_do_not_move_when_statuses_are_topped_up() -> None:
    """Topping up the missing statuses replaces only the last tasks, so data other tests rely on stays put."""
    anchor = datetime(2025, 6, 1, 12, tzinfo=UTC)
    small, large = generate_tasks(50, seed=3, anchor=anchor), generate_tasks(400, seed=3, anchor=anchor)
    assert [record.doc for record in small[:40]] == [record.doc for record in large[:40]]


@pytest.mark.parametrize("seed", range(12))
def test_a_handful_run_whatever_the_seed(seed: int) -> None:
    records = generate_tasks(50, seed=seed)
    statuses = Counter(record.doc["status"] for record in records)
    assert len(records) == 50
    assert statuses["IN_PROGRESS"] >= 3 and statuses["PROCESSING"] >= 2, statuses


def test_generation_does_not_depend_on_the_string_hash_seed() -> None:
    """Families list their task types in sets: the draw must not follow set order (PYTHONHASHSEED)."""
    code = (
        "import hashlib, json; from datetime import UTC, datetime; "
        "from mixpeek_tasks_mcp.sandbox.generator import generate_tasks; "
        "records = generate_tasks(2000, seed=5, anchor=datetime(2025, 6, 1, tzinfo=UTC)); "
        "print(hashlib.sha256(json.dumps([(r.doc, r.created_at, r.updated_at) for r in records]).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1
