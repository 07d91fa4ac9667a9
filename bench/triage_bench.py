"""10. Triage: paging list_tasks until every failure is read vs one triage_tasks call, side by side.

Both run against the same sandbox (10,000 generated tasks) through our server over Streamable HTTP, as an agent
would call them: tool calls, characters and tokens the model reads, wall time, and the server's memory. Then the
grouping quality: every generated failure family should be one group, and no group should mix two families.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

import httpx2
from common import BENCH_KEY, Figure, Section, http_server_process
from context_cost import tokenizer
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from mixpeek_tasks_mcp.models import TaskResponse
from mixpeek_tasks_mcp.triage.signatures import signature_of

MAX_TEXT_SHARE = 1 / 25
MAX_TRIAGE_SECONDS = 10.0
EVERY_TASK = {"filters": {"AND": [{"field": "task_id", "operator": "exists", "value": True}]}, "max_tasks": 10_000}


def _text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def _rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                fields[name] = int(value.split()[0])
    return fields


async def _paging(session: ClientSession) -> dict[str, Any]:
    """Today's way: list_tasks FAILED 100 a page, following next_call to the end."""
    arguments: dict[str, Any] | None = {"status": "FAILED", "limit": 100}
    calls, text, structured, tasks = 0, "", 0, 0
    started = time.perf_counter()
    while arguments is not None:
        result = await session.call_tool("list_tasks", arguments)
        calls += 1
        text += _text(result) + "\n"
        content = result.structured_content or {}
        structured += len(json.dumps(content, separators=(",", ":")))
        tasks += len(content.get("tasks", []))
        arguments = content.get("next_call")
    return {
        "calls": calls,
        "chars": len(text),
        "structured_chars": structured,
        "tasks": tasks,
        "seconds": time.perf_counter() - started,
        "text": text,
    }


async def _triage(session: ClientSession, arguments: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    result = await session.call_tool("triage_tasks", arguments)
    seconds = time.perf_counter() - started
    content = result.structured_content or {}
    text = _text(result)
    return {
        "calls": 1,
        "chars": len(text),
        "structured_chars": len(json.dumps(content, separators=(",", ":"))),
        "scanned": content.get("scanned"),
        "total": content.get("total"),
        "groups": len(content.get("groups", [])) + content.get("more_groups", 0),
        "stopped_because": content.get("stopped_because"),
        "seconds": seconds,
        "text": text,
        "is_error": result.is_error,
    }


def grouping_quality(api_base: str) -> dict[str, Any]:
    """Group every failure of the sandbox by its signature key (what triage groups on) and compare the groups with
    the generator's own families: a family split over groups, or a group mixing families, is a miss."""
    try:
        from mixpeek_tasks_mcp.sandbox.generator import LONG_TAIL, family_of
    except ImportError:
        return {"skipped": "the sandbox has no family_of oracle"}
    headers = {"Authorization": f"Bearer {BENCH_KEY}"}
    families_of_group: dict[str, set[str]] = defaultdict(set)
    groups_of_family: dict[str, set[str]] = defaultdict(set)
    statuses = ["FAILED", "COMPLETED_WITH_ERRORS", "INTERRUPTED"]
    body = {"filters": {"AND": [{"field": "status", "operator": "in", "value": statuses}]}}
    cursor: str | None = None
    failures = 0
    with httpx2.Client(base_url=api_base, headers=headers, trust_env=False, timeout=30) as http:
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            page = http.post("/v1/tasks/list", params=params, json=body).json()
            for item in page["results"]:
                text = TaskResponse.model_validate(item).error_text() or ""
                failures += 1
                key = signature_of(text).key
                named = family_of(text)
                family = named if named and named != LONG_TAIL else f"one-off: {text}"  # one-offs are each their own
                families_of_group[key].add(family)
                groups_of_family[family].add(key)
            cursor = page["pagination"].get("next_cursor")
            if not cursor:
                break
    named = [family for family in groups_of_family if not family.startswith("one-off")]
    return {
        "failures": failures,
        "groups": len(families_of_group),
        "families": len(named),
        "mixed_groups": {key: sorted(found) for key, found in families_of_group.items() if len(found) > 1},
        "split_families": {
            family: sorted(groups_of_family[family]) for family in named if len(groups_of_family[family]) > 1
        },
    }


async def run(api_base: str) -> Section:
    counter = tokenizer()
    section = Section("triage")
    # the sandbox has no rate limit: no request budget, so the scan runs at the speed of the API
    with http_server_process(api_base, MIXPEEK_MAX_REQUESTS_PER_MINUTE="0") as (url, pid):
        async with (
            httpx2.AsyncClient(timeout=httpx2.Timeout(30.0, read=300.0), trust_env=False) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            rss_before = _rss_kib(pid)
            paging = await _paging(session)
            failures = await _triage(session, {"status": "FAILED", "max_tasks": 10_000})
            default = await _triage(session, {"max_tasks": 10_000})
            everything = await _triage(session, EVERY_TASK)
            rss_after = _rss_kib(pid)
    for row in (paging, failures, default, everything):
        if counter is not None:
            row["tokens"] = len(counter[1].encode(row["text"]))
        row["sample"] = row.pop("text")[:1500]
    section.data = {
        "paging": paging,
        "triage_failed": failures,
        "triage_default": default,
        "triage_everything": everything,
        "rss_kib_before": rss_before,
        "rss_kib_after": rss_after,
        "quality": grouping_quality(api_base),
    }
    share = failures["chars"] / paging["chars"]
    tokens = ""
    if counter is not None:
        tokens = f"; tokens {failures['tokens']:,} vs {paging['tokens']:,}"
    section.figures += [
        Figure(
            "10. triage vs paging list_tasks (FAILED)",
            "1 call; <= 1/25 of the text",
            f"{failures['calls']} call vs {paging['calls']}; {failures['chars']:,} vs {paging['chars']:,} chars "
            f"({share:.1%}){tokens}; {failures['seconds']:.2f} s vs {paging['seconds']:.2f} s",
            failures["calls"] == 1 and share <= MAX_TEXT_SHARE,
        ),
        Figure(
            "10. triage of all 10,000 tasks",
            f"<= {MAX_TRIAGE_SECONDS:g} s over loopback",
            f"{everything['seconds']:.2f} s, scanned {everything['scanned']:,} of {everything['total']:,} "
            f"({everything['stopped_because']}); server RSS {rss_before.get('VmRSS', 0) // 1024} -> "
            f"{rss_after.get('VmRSS', 0) // 1024} MB (peak {rss_after.get('VmHWM', 0) // 1024} MB)",
            everything["seconds"] <= MAX_TRIAGE_SECONDS and everything["scanned"] == 10_000,
        ),
    ]
    quality = section.data["quality"]
    if "skipped" not in quality:
        section.figures.append(
            Figure(
                "10. grouping quality (sandbox families)",
                "every family one group, none mixed",
                f"{quality['families']} families -> {quality['groups']} groups over {quality['failures']:,} failures; "
                f"split {len(quality['split_families'])}, mixed {len(quality['mixed_groups'])}",
                not quality["split_families"] and not quality["mixed_groups"],
            )
        )
    return section
