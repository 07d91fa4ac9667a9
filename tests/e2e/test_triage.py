"""triage_tasks end to end: MCP client -> our server -> HTTP -> a sandbox loaded with known error families."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx2
import jsonschema
import pytest
from mcp import Client
from pydantic import SecretStr

from mixpeek_tasks_mcp.client import TasksClient
from mixpeek_tasks_mcp.clock import FakeClock
from mixpeek_tasks_mcp.enums import TaskStatus, TaskType
from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.sandbox.failures import FAMILIES as SANDBOX_FAMILIES
from mixpeek_tasks_mcp.sandbox.failures import family_of
from mixpeek_tasks_mcp.sandbox.generator import make_task, new_world
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.tools import AppState

from .conftest import SECRET_KEY, api_requests, session, text_of

pytestmark = pytest.mark.anyio

FAMILIES = {
    "size": (40, "FAILED", "Object obj_{hex} exceeds the 2 GiB size limit ({n} MiB)"),
    "timeout": (25, "FAILED", "Feature extractor '{model}' timed out after {secs}s on {n} objects"),
    "partial": (
        12,
        "COMPLETED_WITH_ERRORS",
        "{k} of {n} objects failed: Invalid file format: Expected PDF, got {kind}",
    ),
    "s3": (9, "FAILED", "S3 access denied for s3://{bucket}-raw/obj_{hex}.mp4: AccessDenied (403)"),
}
ONE_OFFS = [
    "Webhook endpoint rejected the payload signature",
    "License check failed for the custom plugin bundle",
    "Manifest apply aborted: circular dependency between retrievers",
]
CANCELED_WITHOUT_TEXT = 6
DISTINCT_ERRORS = 10_000
HUGE = 300
"""The first tasks of the hostile set have 250-character ids, 300-character types and 4 KB errors."""
SUCCEEDED = 30
MODELS = ("clip-vit-l14", "siglip-so400m", "e5-large-v2")


def _family_tasks(rng: random.Random, start: datetime) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    minute = 0

    def add(status: str, error: str | None, *, in_additional_data: bool = False, **data: Any) -> None:
        nonlocal minute
        minute += 1
        doc: dict[str, Any] = {
            "task_type": rng.choice(["api_buckets_objects_create", "engine_feature_extractor_run"]),
            "status": status,
            "created_at": (start + timedelta(minutes=minute)).isoformat(),
            "additional_data": {"bucket_id": data.get("bucket", "bkt_products")},
        }
        if error is not None and in_additional_data:
            doc["additional_data"]["error"] = error
        elif error is not None:
            doc["error"] = error
        tasks.append(doc)

    for name, (count, status, template) in FAMILIES.items():
        for _ in range(count):
            message = template.format(
                hex=f"{rng.getrandbits(40):010x}",
                n=rng.randint(2049, 9999),
                k=rng.randint(1, 40),
                model=rng.choice(MODELS),
                secs=rng.choice((300, 600, 900)),
                kind=rng.choice(("PNG", "DOCX", "HEIC")),
                bucket=rng.choice(("products", "podcasts")),
            )
            # the timeout family keeps its text under additional_data.error only, as older tasks do
            add(status, message, in_additional_data=name == "timeout", bucket="bkt_burst" if name == "s3" else "x")
    for message in ONE_OFFS:
        add("FAILED", message)
    for _ in range(CANCELED_WITHOUT_TEXT):
        add("CANCELED", None)
    for _ in range(SUCCEEDED):
        add("COMPLETED", None)
    rng.shuffle(tasks)
    return tasks


def sandbox_settings(base_url: str, **options: Any) -> Settings:
    """Default settings: the sandbox advertises 600 requests/min per key and the budget learns it."""
    return Settings(api_key=SecretStr(SECRET_KEY), api_base=base_url, **options)


@pytest.fixture(scope="module")
def families_sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY], tasks=0, simulate=False)
    with running_sandbox(config) as running:
        running.create_tasks(_family_tasks(random.Random(5), datetime.now(UTC) - timedelta(days=2)))
        yield running


@pytest.fixture
def triage_settings(families_sandbox: RunningSandbox) -> Settings:
    families_sandbox.clear_faults()
    families_sandbox.clear_requests()
    return sandbox_settings(families_sandbox.base_url, max_retries=0)


async def _call(settings: Settings, arguments: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
    async with session(settings) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        result = await client.call_tool("triage_tasks", arguments)
    text = text_of(result)
    assert not result.is_error, text
    structured = result.structured_content
    assert structured is not None
    jsonschema.validate(structured, tools["triage_tasks"].output_schema)
    return text, dict(structured), result


async def test_groups_known_families_exactly_and_each_drill_down_lists_its_group(
    families_sandbox: RunningSandbox, triage_settings: Settings
) -> None:
    text, result, _ = await _call(triage_settings, {})
    problem_total = sum(count for count, _, _ in FAMILIES.values()) + len(ONE_OFFS) + CANCELED_WITHOUT_TEXT
    assert result["scanned"] == result["total"] == problem_total
    assert result["stopped_because"] == "all"
    assert f"Scanned {problem_total} of {problem_total} matching tasks" in text
    groups = result["groups"]
    by_count = sorted((group["count"] for group in groups), reverse=True)
    expected = sorted([count for count, _, _ in FAMILIES.values()] + [1] * 3, reverse=True)
    assert by_count == expected, [group["signature"] for group in groups]
    # canceled without an error is no failure cause: counted apart, with its own call
    assert result["canceled_without_error"] == CANCELED_WITHOUT_TEXT
    assert result["with_error"] == problem_total - CANCELED_WITHOUT_TEXT
    assert f"{CANCELED_WITHOUT_TEXT} canceled, no error given (not a failure cause): list_tasks " in text
    assert all("CANCELED" not in group["statuses"] for group in groups)
    size = next(group for group in groups if group["count"] == 40)
    assert size["signature"] == "Object <id> exceeds the 2 GiB size limit (<size>)"
    assert size["statuses"] == {"FAILED": 40} and len(size["example_task_ids"]) == 3
    assert size["first_seen"] < size["last_seen"], "the sandbox returns created_at: the group spans 40 minutes"
    s3 = next(group for group in groups if group["count"] == 9)
    assert s3["buckets"] == [{"id": "bkt_burst", "tasks": 9}]
    # every group's list_tasks call lists exactly that group's tasks
    async with session(triage_settings) as client:
        for group in groups:
            call = group["list_call"]
            assert call is not None, group["signature"]
            listed = await client.call_tool("list_tasks", call)
            assert not listed.is_error, text_of(listed)
            assert listed.structured_content is not None
            assert listed.structured_content["pagination"]["total"] == group["count"], (group["signature"], call)
        canceled = await client.call_tool("list_tasks", result["canceled_list_call"])
        assert canceled.structured_content is not None
        assert canceled.structured_content["pagination"]["total"] == CANCELED_WITHOUT_TEXT
        assert {task["status"] for task in canceled.structured_content["tasks"]} == {"CANCELED"}


async def test_max_tasks_coverage_is_stated_as_partial_with_a_call_to_scan_further(
    families_sandbox: RunningSandbox, triage_settings: Settings
) -> None:
    text, result, _ = await _call(triage_settings, {"status": "FAILED", "max_tasks": 30})
    failed = sum(count for count, status, _ in FAMILIES.values() if status == "FAILED") + len(ONE_OFFS)
    assert result["scanned"] == 30 and result["total"] == failed
    assert result["stopped_because"] == "max_tasks"
    assert f"Scanned 30 of {failed} matching tasks" in text and "PARTIAL" in text
    assert result["next_call"] == {"status": "FAILED", "max_tasks": 150}
    pages = [entry for entry in api_requests(families_sandbox) if entry["path"] == "/v1/tasks/list"]
    assert len(pages) == 1, "30 tasks fit in one page: ask for 30, not 100"


@pytest.fixture(scope="module")
def generated_sandbox() -> Iterator[RunningSandbox]:
    """Generated tasks with several pages (100 each) of problem tasks."""
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY], tasks=3_000, simulate=False, seed=4)
    with running_sandbox(config) as running:
        yield running


@pytest.fixture
def generated_settings(generated_sandbox: RunningSandbox) -> Settings:
    generated_sandbox.clear_faults()
    generated_sandbox.set_rate_limit(600)
    generated_sandbox.clear_requests()
    return sandbox_settings(generated_sandbox.base_url, max_retries=0)


async def test_progress_counts_the_scanned_tasks_page_by_page(generated_settings: Settings) -> None:
    messages: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append((progress, total, message))

    async with session(generated_settings) as client:
        result = await client.call_tool("triage_tasks", {}, progress_callback=on_progress)
    assert not result.is_error, text_of(result)
    structured = result.structured_content
    assert structured is not None and structured["stopped_because"] == "all"
    total = structured["total"]
    assert total > 300, "the generated data should give several pages"
    assert [progress for progress, _, _ in messages] == [min(100 * page, total) for page in range(1, len(messages) + 1)]
    assert messages[-1] == (total, total, f"scanned {total:,} of {total:,} matching tasks")


async def test_time_budget_stops_the_scan_and_says_so(
    generated_sandbox: RunningSandbox, generated_settings: Settings
) -> None:
    generated_sandbox.set_faults(latency={"ms": 600, "route": "list_tasks"})
    text, result, _ = await _call(generated_settings, {"timeout_seconds": 1.5})
    assert result["stopped_because"] == "time_budget"
    assert 100 <= result["scanned"] < result["total"]
    assert f"Scanned {result['scanned']:,} of {result['total']:,} matching tasks" in text
    assert "stopped when the time budget ran out; a PARTIAL picture" in text
    assert result["next_call"] == {"timeout_seconds": 3.0, "max_tasks": 2000}


async def test_cancelling_a_scan_stops_its_requests(
    generated_sandbox: RunningSandbox, generated_settings: Settings
) -> None:
    generated_sandbox.set_faults(latency={"ms": 300, "route": "list_tasks"})
    progressed = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        progressed.set()

    async with session(generated_settings) as client:
        async with anyio.create_task_group() as group:

            async def run() -> None:
                await client.call_tool("triage_tasks", {}, progress_callback=on_progress)

            group.start_soon(run)
            with anyio.fail_after(20):
                await progressed.wait()
            group.cancel_scope.cancel()
        seen = len(api_requests(generated_sandbox))
        await anyio.sleep(1.2)
        assert len(api_requests(generated_sandbox)) <= seen + 1, "the scan kept paging after it was cancelled"


async def test_an_upstream_fault_on_page_three_gives_a_partial_result_stated_as_partial(
    generated_sandbox: RunningSandbox, generated_settings: Settings
) -> None:
    # 2 requests a minute, told by 429s alone (no headers to learn from): page three meets Mixpeek's 429
    generated_sandbox.set_rate_limit(2, headers=False)
    text, result, _ = await _call(generated_settings, {})
    assert result["stopped_because"] == "upstream_error"
    assert result["scanned"] == 200 and result["total"] > 200
    assert "stopped by an upstream error after 2 pages; a PARTIAL picture" in text
    assert "HTTP 429" in result["upstream_error"] and "Why it stopped:" in text
    assert SECRET_KEY not in text


async def test_a_limit_the_api_advertises_stops_the_scan_as_the_request_budget_not_an_upstream_error(
    generated_sandbox: RunningSandbox, generated_settings: Settings
) -> None:
    generated_sandbox.set_rate_limit(2)  # advertised: the budget learns it and never sends the third page
    text, result, _ = await _call(generated_settings, {"timeout_seconds": 5})
    assert result["stopped_because"] == "request_budget"
    assert result["scanned"] == 200 and "upstream_error" not in result
    assert "stopped: request budget (2/min for this key, learned from Mixpeek)" in text
    assert "upstream" not in text and "To scan further: triage_tasks" in text
    assert [entry["status"] for entry in api_requests(generated_sandbox)] == [200, 200], "no 429, no third page"


async def test_an_upstream_fault_on_the_first_page_is_a_clear_error(
    generated_sandbox: RunningSandbox, generated_settings: Settings
) -> None:
    generated_sandbox.set_faults(force_status={"status": 401, "count": 1})
    async with session(generated_settings) as client:
        result = await client.call_tool("triage_tasks", {})
    assert result.is_error
    assert "HTTP 401" in text_of(result) and "API key was refused" in text_of(result)


async def test_refusals_send_nothing(families_sandbox: RunningSandbox, triage_settings: Settings) -> None:
    cases = {
        "status": ({"status": "BROKEN"}, "status: 'BROKEN' is not a task status"),
        "max_tasks": ({"max_tasks": 20_000}, "max_tasks: must be from 1 to 10000"),
        "budget": ({"timeout_seconds": 5_000}, "timeout_seconds: 5000 is more than this server allows"),
        "unknown": ({"limit": 5}, "triage_tasks has no argument 'limit'"),
        "filters": ({"filters": {"AND": [{"field": "error", "operator": "containz", "value": "x"}]}}, "operator"),
    }
    async with session(triage_settings) as client:
        for name, (arguments, expected) in cases.items():
            result = await client.call_tool("triage_tasks", arguments)
            text = text_of(result)
            assert result.is_error, name
            assert "triage_tasks refused these arguments (nothing was sent to Mixpeek)" in text, text
            assert expected in text, (name, text)
    assert api_requests(families_sandbox) == []


async def test_output_stays_bounded_on_hostile_data() -> None:
    """Huge ids, types, buckets and error texts, and 10,000 distinct errors: the answer stays within budget."""
    rng = random.Random(9)
    tasks = [
        {
            "task_id": ("t" * 250 if index < HUGE else "t") + f"{index:05d}",
            "status": "FAILED",
            "task_type": "x" * 300 if index < HUGE else "thumbnail",
            "error": " ".join(f"zq{rng.getrandbits(40):x}q" for _ in range(3)).translate(
                str.maketrans("0123456789", "ghijklmnop")
            )
            + " <script>alert(1)</script> <img src=x onerror=alert(1)> " * (60 if index < HUGE else 1),
            "additional_data": {"bucket_id": "b" * 500 + str(index % 7), "batch_id": "c" * 400} if index < HUGE else {},
        }
        for index in range(DISTINCT_ERRORS)
    ]
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY], tasks=0, simulate=False)
    with running_sandbox(config) as hostile:
        hostile.create_tasks(tasks)
        settings = sandbox_settings(hostile.base_url)
        text, result, raw = await _call(settings, {"max_tasks": 10_000, "timeout_seconds": 60})
    assert result["scanned"] == DISTINCT_ERRORS and result["stopped_because"] == "all"
    assert len(text) <= 8_000
    assert len(json.dumps(raw.structured_content)) <= 25_000
    shown = len(result["groups"])
    assert result["more_groups"] == result["more_groups_tasks"] == DISTINCT_ERRORS - shown
    in_text = sum(1 for line in text.splitlines() if re.match(r"\d+\. ", line))
    assert 0 < in_text <= shown
    assert f"…and {DISTINCT_ERRORS - in_text:,} more groups, {DISTINCT_ERRORS - in_text:,} tasks" in text
    for line in text.splitlines():
        if "<script>" in line:
            assert line.index('"') < line.index("<script>"), f"API text outside quotes: {line[:200]}"


async def test_active_tasks_seen_unchanged_by_an_earlier_triage_are_flagged_as_stuck() -> None:
    """Without timestamps to go by, the server's own earlier observation is the evidence: same status and tier."""
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY], tasks=0, simulate=False)
    with running_sandbox(config) as running:
        data = {"total_tiers": 3, "current_tier": 0}
        stalled = running.create_task(status="IN_PROGRESS", additional_data=data)["task_id"]
        moving = running.create_task(status="IN_PROGRESS", additional_data=data)["task_id"]
        settings = sandbox_settings(running.base_url)
        clock = FakeClock(start=1_000.0)
        state = AppState(settings=settings, client=TasksClient(settings), clock=clock)
        async with Client(build_server(settings, state=state)) as client:
            first = await client.call_tool("triage_tasks", {})
            assert first.structured_content is not None and first.structured_content["stuck"] == []
            clock.time += 11 * 60
            running.transition(moving, "IN_PROGRESS", additional_data={"current_tier": 1})
            second = await client.call_tool("triage_tasks", {})
        await state.client.aclose()
    assert second.structured_content is not None
    stuck = second.structured_content["stuck"]
    assert [row["task_id"] for row in stuck] == [stalled]
    assert stuck[0]["reason"] == "no progress: still IN_PROGRESS at tier 1/3, as this server saw it 11 min ago"
    assert f"- {stalled} · " in text_of(second) and "1 look stuck" in text_of(second)


def _raw_tasks(sandbox: RunningSandbox, statuses: list[str]) -> list[dict[str, Any]]:
    body = {"filters": {"AND": [{"field": "status", "operator": "in", "value": statuses}]}}
    response = httpx2.post(
        f"{sandbox.base_url}/v1/tasks/list",
        params={"limit": "100"},
        json=body,
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
    )
    response.raise_for_status()
    results: list[dict[str, Any]] = response.json()["results"]
    return results


async def test_running_tasks_with_no_update_for_hours_are_stuck_and_fresh_ones_are_not(
    generated_sandbox: RunningSandbox, generated_settings: Settings
) -> None:
    running = _raw_tasks(generated_sandbox, ["IN_PROGRESS", "PROCESSING"])
    now = datetime.now(UTC)

    def idle(task: dict[str, Any]) -> timedelta:
        return now - datetime.fromisoformat(task["updated_at"])

    stale = {task["task_id"] for task in running if idle(task) > timedelta(hours=1)}
    fresh = {task["task_id"] for task in running if idle(task) < timedelta(minutes=5)}
    assert stale and fresh, "the generated data has both stalled and freshly running tasks"
    _, result, _ = await _call(generated_settings, {"max_tasks": 10_000})
    flagged = {row["task_id"]: row["reason"] for row in result["stuck"]}
    assert stale <= set(flagged), (stale, flagged)
    assert not fresh & set(flagged)
    assert all("with no update for" in flagged[task_id] for task_id in stale)
    assert result["stuck_count"] >= len(stale) and result.get("stuck_note") is None


async def test_without_timestamps_triage_says_what_it_cannot_tell() -> None:
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY], tasks=600, simulate=False, seed=4, timestamps=False)
    with running_sandbox(config) as bare:
        text, result, _ = await _call(sandbox_settings(bare.base_url), {})
    assert result["active"] > 0 and result["stuck"] == []
    assert result["stuck_note"].startswith(f"{result['active']} of {result['active']} active tasks could not be judged")
    assert "no created_at/updated_at" in text
    assert all("first_seen" not in group for group in result["groups"])


# ---- every drill-down of every sandbox family -------------------------------------------------------------------
CANCELED_QUIETLY = 12
CANCELED_WITH_TEXT = "Canceled by user request"
STATUS_SCANS = ("FAILED", "COMPLETED_WITH_ERRORS", "INTERRUPTED", "CANCELED")


def _sandbox_family_tasks() -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Tasks of every failure family of the sandbox (sizes 3 to 25, so ranks differ), as the generator makes them:
    digitless raysubmit_ ids, snake_case pipeline names, a bare "boom", partial failures with their counts."""
    rng = random.Random(17)
    world = new_world(17)
    start = datetime.now(UTC) - timedelta(days=3)
    docs: list[dict[str, Any]] = []
    by_family: dict[str, list[dict[str, Any]]] = {}
    for index, family in enumerate(SANDBOX_FAMILIES):
        status = sorted(family.statuses, key=lambda status: status.value)[0]
        types = sorted(family.task_types or [TaskType.THUMBNAIL], key=lambda kind: kind.value)
        for number in range(3 + (index * 7) % 23):
            doc = make_task(rng, world, types[number % len(types)], status, family=family)
            docs.append(doc)
            by_family.setdefault(family.name, []).append(doc)
    for number in range(CANCELED_QUIETLY + 2):
        doc = make_task(rng, world, TaskType.API_BUCKETS_BATCHES_PROCESS, TaskStatus.CANCELED)
        if number >= CANCELED_QUIETLY:
            doc["error"] = CANCELED_WITH_TEXT
        docs.append(doc)
    for doc in docs + [make_task(rng, world, TaskType.THUMBNAIL, TaskStatus.COMPLETED) for _ in range(20)]:
        doc["created_at"] = (start + timedelta(minutes=rng.randint(0, 4000))).isoformat()
    rng.shuffle(docs)
    return docs, by_family


@pytest.fixture(scope="module")
def sandbox_families() -> Iterator[tuple[RunningSandbox, dict[str, list[dict[str, Any]]]]]:
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY], tasks=0, simulate=False)
    docs, by_family = _sandbox_family_tasks()
    with running_sandbox(config) as running:
        running.create_tasks(docs)
        yield running, by_family


@pytest.fixture
def family_settings(sandbox_families: tuple[RunningSandbox, dict[str, list[dict[str, Any]]]]) -> Settings:
    """Default settings against the ``sandbox_families`` sandbox, without retries (as ``triage_settings``)."""
    return sandbox_settings(sandbox_families[0].base_url, max_retries=0)


async def _drill_down_totals(settings: Settings, result: dict[str, Any]) -> dict[str, int]:
    """Run every group's list_tasks call (and the canceled one): the total each reports, by signature."""
    totals: dict[str, int] = {}
    calls = [(group["signature"], group["list_call"]) for group in result["groups"]]
    if result.get("canceled_list_call"):
        calls.append(("(canceled, no error)", result["canceled_list_call"]))
    async with session(settings) as client:
        for signature, call in calls:
            assert call is not None, f"no drill-down call for {signature!r}"
            listed = await client.call_tool("list_tasks", call)
            assert not listed.is_error, text_of(listed)
            assert listed.structured_content is not None
            totals[signature] = listed.structured_content["pagination"]["total"]
    return totals


def _expected_totals(result: dict[str, Any]) -> dict[str, int]:
    expected = {group["signature"]: group["count"] for group in result["groups"]}
    if result.get("canceled_list_call"):
        expected["(canceled, no error)"] = result["canceled_without_error"]
    return expected


async def test_every_drill_down_of_every_sandbox_family_lists_exactly_its_group(
    sandbox_families: tuple[RunningSandbox, dict[str, list[dict[str, Any]]]], family_settings: Settings
) -> None:
    """Each failure family of the sandbox is one group, whatever its ids look like, and every group's call
    (contains, eq or in) lists exactly the group's count: in the default scan and in one scan per status."""
    _, by_family = sandbox_families
    seen: dict[str, int] = {}
    for arguments in [{}, *({"status": status} for status in STATUS_SCANS)]:
        _, result, _ = await _call(family_settings, arguments)
        assert result["stopped_because"] == "all", arguments
        assert await _drill_down_totals(family_settings, result) == _expected_totals(result), arguments
        if "status" not in arguments:
            assert result["more_groups"] > 0, "more causes than groups shown: the default scan shows the largest"
            continue
        assert result["more_groups"] == 0, (arguments, [group["signature"] for group in result["groups"]])
        for group in result["groups"]:
            family = family_of(group["sample_error"])
            if group["sample_error"] == CANCELED_WITH_TEXT:
                family = "canceled_with_text"
            assert family is not None and family not in seen, (group["signature"], family)
            seen[family] = group["count"]
    assert seen == {
        **{name: len(docs) for name, docs in by_family.items()},
        "canceled_with_text": 2,
    }, "every family one group, of its size"


async def test_canceled_tasks_without_an_error_are_counted_apart_from_the_causes(family_settings: Settings) -> None:
    text, result, _ = await _call(family_settings, {"status": "CANCELED"})
    assert result["scanned"] == CANCELED_QUIETLY + 2
    assert result["canceled_without_error"] == CANCELED_QUIETLY and result["with_error"] == 2
    assert [(group["signature"], group["count"]) for group in result["groups"]] == [(CANCELED_WITH_TEXT, 2)]
    assert f"{CANCELED_QUIETLY} canceled, no error given (not a failure cause)" in text
    assert "2 tasks failed or carry an error, in 1 group" in text
    _, default, _ = await _call(family_settings, {})
    assert default["canceled_without_error"] == CANCELED_QUIETLY
    assert all(group["signature"] != "(no error text)" for group in default["groups"]), "no failure cause"


async def test_partial_failures_say_how_many_documents_failed(
    sandbox_families: tuple[RunningSandbox, dict[str, list[dict[str, Any]]]], family_settings: Settings
) -> None:
    _, by_family = sandbox_families
    text, result, _ = await _call(family_settings, {"status": "COMPLETED_WITH_ERRORS"})
    partial = [family.name for family in SANDBOX_FAMILIES if TaskStatus.COMPLETED_WITH_ERRORS in family.statuses]
    assert len(result["groups"]) == len(partial) >= 2
    for group in result["groups"]:
        docs = by_family[str(family_of(group["sample_error"]))]
        failed = sum(doc["additional_data"]["failed_object_count"] for doc in docs)
        processed = sum(doc["additional_data"]["object_count"] for doc in docs)
        assert (group["failed_documents"], group["documents_of"]) == (failed, processed), group["signature"]
        assert group["documents_reported_by"] == group["count"] == len(docs)
        assert f"   {failed:,} of {processed:,} documents failed\n" in text + "\n"
    _, failed_only, _ = await _call(family_settings, {"status": "FAILED"})
    assert all("failed_documents" not in group for group in failed_only["groups"]), "only where the API gives it"


async def test_every_drill_down_on_generated_data_lists_exactly_its_group(generated_settings: Settings) -> None:
    """The generated sandbox (families, one-offs, bursts, canceled tasks): every shown group of every scan."""
    for arguments in [{"max_tasks": 10_000}, *({"status": status, "max_tasks": 10_000} for status in STATUS_SCANS)]:
        _, result, _ = await _call(generated_settings, arguments)
        assert result["stopped_because"] == "all"
        assert await _drill_down_totals(generated_settings, result) == _expected_totals(result), arguments
