"""The text of an ``inspect_batch`` answer: status, tiers, failures by class, the fenced log tail, the sample,
what Mixpeek's answers lacked, and the next calls, verbatim."""

from __future__ import annotations

import json

from ..summary import DATA_NOTE, quote_untrusted
from .bounds import ERROR_CHARS, MISSING_NOTES
from .logs import LogTail, fenced
from .output import FailedRow, InspectBatchResult

RESOURCE_HINT = (
    "Resource failures (out of memory, quota) may succeed with more resources: Mixpeek's tier retry with "
    "resource overrides (console or API); retry_batch with retry_mode all retries them as they were."
)


def _call(tool: str, arguments: object) -> str:
    return f"{tool} {json.dumps(arguments, ensure_ascii=False, separators=(',', ':'))}"


def _failed_line(row: FailedRow) -> str:
    where = f" tier {row.tier_num}" if row.tier_num is not None else ""
    error = quote_untrusted(row.error, ERROR_CHARS) if row.error else "(no error text)"
    return f"- {row.object_id or '(no id)'} · {row.error_type or 'unclassified'}{where} · {error}"


def render(result: InspectBatchResult, cut: LogTail | None) -> str:
    where = f" in bucket {result.bucket_id}" if result.bucket_id else ""
    lines = [
        f"Batch {result.batch_id}{where}: {result.status or 'status unknown'}"
        + (f" (lifecycle {result.lifecycle})" if result.lifecycle else "")
    ]
    if result.reason:
        lines.append(f"Reason: {quote_untrusted(result.reason, ERROR_CHARS)}")
    if result.tiers:
        parts = []
        for tier in result.tiers:
            part = f"{tier.tier_num} {tier.status or '?'}"
            if tier.ray_job_status:
                part += f" (Ray {tier.ray_job_status})"
            if tier.task_id is None:
                part += " not started" if (tier.status or "").upper() == "PENDING" else ""
            parts.append(part)
        more = f" (+{result.tiers_left_out} more)" if result.tiers_left_out else ""
        lines.append(f"Tiers ({len(result.tiers) + (result.tiers_left_out or 0)}): " + " · ".join(parts) + more)
        for tier in result.tiers:
            for error in tier.errors or []:
                lines.append(f"  tier {tier.tier_num} error: {quote_untrusted(error, ERROR_CHARS)}")
    read = sum(result.failure_classes.values())
    if read or result.failed_count:
        counts = ", ".join(f"{kind} {count:,}" for kind, count in sorted(result.failure_classes.items()))
        of = f" ({counts}; classes of the {read:,} read)" if read else ""
        lines.append(f"Failed objects: {result.failed_count if result.failed_count is not None else read:,}{of}")
        lines += [_failed_line(row) for row in result.examples]
        if result.failure_classes.get("resource"):
            lines.append(RESOURCE_HINT)
    else:
        lines.append("Failed objects: none reported.")
    if result.failed_documents:
        lines.append(f"Failed documents (first {len(result.failed_documents)} of the page):")
        lines += [_failed_line(row) for row in result.failed_documents]
    if result.log is not None:
        log = cut or LogTail(result.log.lines, result.log.total_lines, cut_by_bytes=False, cleaned=0)
        label = f"Log of tier {result.log.tier_num} ({result.log.source})"
        lines += fenced(log, label)
    else:
        lines.append("Log: none returned for this tier.")
    if result.missing:
        notes = result.missing[:MISSING_NOTES]
        extra = f" (+{len(result.missing) - len(notes)} more)" if len(result.missing) > len(notes) else ""
        lines.append("Missing or odd in Mixpeek's answers: " + "; ".join(notes) + extra)
    lines.append(DATA_NOTE)
    lines.append("Next:")
    lines += [f"- {_call(call.tool, call.arguments)} ({call.why})" for call in result.next_calls]
    return "\n".join(lines)
