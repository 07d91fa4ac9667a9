"""The triage answer: coverage first, then causes largest first, then stalls, within a fixed text budget."""

from __future__ import annotations

import json
from typing import Any

from ..output import ErrorGroup, TriageResult
from ..summary import DATA_NOTE, quote_untrusted
from .tally import NO_TEXT

MAX_TEXT_CHARS = 8_000
"""The whole text, whatever the data: groups that do not fit are summarized in the tail line."""
TAIL_RESERVE = 900
"""Kept free for the tail, the stuck tasks' header and the data note."""
MAX_STUCK_LINES = 5
MAX_SIGNATURE_CHARS = 160
MAX_SAMPLE_CHARS = 160
MAX_COUNTS = 6
MAX_EXAMPLES_SHOWN = 2

REASONS = {
    "all": "all read",
    "max_tasks": "stopped at max_tasks",
    "time_budget": "stopped when the time budget ran out",
    "upstream_error": "stopped by an upstream error",
    "request_budget": "stopped: request budget",
}


def coverage_text(
    scanned: int, total: int | None, stopped_because: str, pages: int, max_tasks: int, budget: str | None = None
) -> str:
    if total is None:
        of = f"{scanned:,} tasks (the API returned no total, so how many match is unknown)"
    else:
        of = f"{scanned:,} of {total:,} matching tasks"
    reason = REASONS.get(stopped_because, stopped_because)
    if stopped_because == "max_tasks":
        reason += f" ({max_tasks:,})"
    elif stopped_because == "request_budget" and budget:
        reason += f" ({budget})"
    elif stopped_because == "upstream_error":
        reason += f" after {pages} page{'s' if pages != 1 else ''}"
    partial = "" if stopped_because == "all" else "; a PARTIAL picture: the newest tasks only"
    return f"Scanned {of}, newest first, {reason}{partial}."


def _counts(counts: dict[str, int]) -> str:
    items = list(counts.items())
    shown = ", ".join(f"{key} {value:,}" for key, value in items[:MAX_COUNTS])
    rest = sum(value for _, value in items[MAX_COUNTS:])
    return shown + (f", others {rest:,}" if rest else "")


def _when(group: ErrorGroup) -> str:
    if group.first_seen is None or group.last_seen is None:
        return ""
    first, last = group.first_seen[:16].replace("T", " "), group.last_seen[:16].replace("T", " ")
    return f" · {first} → {last}" if first != last else f" · {first}"


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def group_lines(index: int, group: ErrorGroup) -> list[str]:
    """Three to five lines: the cause and its size, where and an example, the sample, the drill-down calls."""
    lines = [
        f"{index}. {quote_untrusted(group.signature, MAX_SIGNATURE_CHARS)} — {group.count:,} tasks "
        f"({group.share:.0%}) · {_counts(group.statuses)} · {_counts(group.task_types)}{_when(group)}"
    ]
    where = []
    for label, counts in (("buckets", group.buckets), ("batches", group.batches)):
        if counts and max(share.tasks for share in counts) > 1:  # one task per place says nothing about where
            where.append(f"{label} " + ", ".join(f"{share.id} {share.tasks:,}" for share in counts))
    where.append("e.g. " + ", ".join(group.example_task_ids[:MAX_EXAMPLES_SHOWN]))
    lines.append("   " + " · ".join(where))
    if group.sample_error != group.signature and group.signature != NO_TEXT:
        lines.append(f"   sample: {quote_untrusted(group.sample_error, MAX_SAMPLE_CHARS)}")
    if group.failed_documents is not None and group.documents_reported_by:
        of = f" of {group.documents_of:,}" if group.documents_of else ""
        reported = (
            ""
            if group.documents_reported_by == group.count
            else f" (in the {group.documents_reported_by:,} tasks that say)"
        )
        lines.append(f"   {group.failed_documents:,}{of} documents failed{reported}")
    if group.list_call is not None:
        lines.append(f"   list_tasks {compact_json(group.list_call)}")
    if group.inspect_call is not None:
        lines.append(f"   inspect_batch {compact_json(group.inspect_call)} (its largest batch: tiers, logs, failures)")
    return lines


def render(result: TriageResult, described_selection: str, *, only_batch: str | None = None) -> str:
    """The text of a triage; ``only_batch``: the selection is just this batch, so no match means no such batch."""
    lines = [f"Triage of {described_selection}", result.coverage]
    if result.upstream_error:
        lines.append(f"Why it stopped: {result.upstream_error[:400]}")
    if result.status_counts:
        lines.append(f"Statuses: {_counts(result.status_counts)}")
    elif only_batch is not None and result.upstream_error is None:
        lines.append(f"No task matches batch {only_batch}; check the id.")
    else:
        lines.append("No tasks matched.")
    if result.task_type_counts:
        lines.append(f"Types: {_counts(result.task_type_counts)}")
    if result.with_error:
        total_groups = len(result.groups) + result.more_groups
        lines.append(
            f"{result.with_error:,} tasks failed or carry an error, in {total_groups:,} "
            f"group{'s' if total_groups != 1 else ''} by cause (largest first):"
        )
    if result.canceled_without_error:
        line = f"{result.canceled_without_error:,} canceled, no error given (not a failure cause)"
        if result.canceled_list_call is not None:
            line += f": list_tasks {compact_json(result.canceled_list_call)}"
        lines.append(line)
    used = sum(len(line) + 1 for line in lines)
    shown = 0
    for index, group in enumerate(result.groups, 1):
        block = group_lines(index, group)
        size = sum(len(line) + 1 for line in block)
        if used + size > MAX_TEXT_CHARS - TAIL_RESERVE:
            break
        lines += block
        used += size
        shown += 1
    hidden = result.groups[shown:]
    more_groups = result.more_groups + len(hidden)
    more_tasks = result.more_groups_tasks + sum(group.count for group in hidden)
    if more_groups:
        lines.append(
            f"…and {more_groups:,} more group{'s' if more_groups != 1 else ''}, {more_tasks:,} tasks "
            "(smaller causes; narrow the selection with task_type or filters to see them)."
        )
    lines += _stuck_lines(result)
    if result.with_error:
        lines.append(DATA_NOTE)
    if result.next_call is not None:
        lines.append(f"To scan further: triage_tasks {compact_json(result.next_call)}")
    return "\n".join(lines)[:MAX_TEXT_CHARS]


def _stuck_lines(result: TriageResult) -> list[str]:
    if not result.active:
        return []
    lines = []
    if result.stuck:
        lines.append(f"Active: {result.active:,} tasks; {result.stuck_count} look stuck:")
        for task in result.stuck[:MAX_STUCK_LINES]:
            lines.append(f"- {task.task_id} · {task.task_type} · {task.status} · {task.reason}")
        if result.stuck_count > MAX_STUCK_LINES:
            lines.append(f"  (+{result.stuck_count - MAX_STUCK_LINES} more; the worst are in the structured result)")
    else:
        lines.append(f"Active: {result.active:,} tasks; none looks stuck from what the API returned.")
    if result.stuck_note:
        lines.append(result.stuck_note)
    return lines
