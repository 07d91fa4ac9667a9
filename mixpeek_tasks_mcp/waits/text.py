"""What the agent reads of a wait: the outcome, when each task really finished, and the call that keeps waiting.

Two times are never confused: when the task finished (``finished_at``, from the API's timestamps: "finished
10 min ago") and when this call saw it finished (``seen_after_seconds``: "finished during this wait (seen
within 2 s)"). A task that had finished before the call is not "done after 0.1 s".
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from datetime import UTC, datetime

from ..bounds import MAX_TEXT_CHARS
from ..coerce import as_time
from ..output import SelectionSummary, WaitResult
from ..summary import DATA_NOTE, quote_untrusted, row_line
from .selection import MAX_FOLLOWED

MAX_RUNNING_IDS_IN_TEXT = 50
MAX_TASK_LINES = 50
"""Most task lines in an answer (the ids a call may name, and the tasks a selection wait follows)."""
OUTCOME_TEXT = {
    "success": "finished successfully",
    "partial": "finished with errors (some items failed)",
    "failure": "did not succeed",
    "stalled": "will not progress by itself",
    "reached": "reached the status you waited for",
    "timed_out": "is still running",
}
UNTIL_TEXT = {
    "all_finished": "all finished",
    "any_finished": "one finished",
    "none_active": "none of the matching tasks is active any more",
    "timed_out": "the time budget ran out",
    "no_match": "no task matches",
}


def ago(moment: datetime, now: datetime) -> str:
    """'12 s ago', '10 min ago', '3 h ago', '2 d ago'."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 120 * 60:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago" if seconds < 48 * 3600 else f"{seconds // 86400} d ago"


def when_finished(finished_at: str | None, seen_after: float | None, *, during: bool, now: datetime) -> str:
    """When a finished task finished, as this call knows it (see the module docstring)."""
    if during and seen_after is not None:
        return f"finished during this wait (seen within {max(1, math.ceil(seen_after))} s)"
    moment = as_time(finished_at)
    if moment is not None:
        return f"finished {ago(moment, now)}"
    return "had finished before this wait (the API gives no finish time)"


def _utc(text: str | None) -> str | None:
    moment = as_time(text)
    return None if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def one_text(result: WaitResult, *, during: bool) -> str:
    row = result.task
    assert row is not None, "one-task results carry the task"
    waited = f"{result.waited_seconds:.1f} s, {result.polls} poll{'s' if result.polls != 1 else ''}"
    when = ""
    if result.outcome in ("success", "partial", "failure"):
        when = ", " + when_finished(result.finished_at, result.seen_after_seconds, during=during, now=datetime.now(UTC))
    head = f"Task {row.task_id} ({row.task_type}) is {row.status}: {OUTCOME_TEXT[result.outcome]}{when} [{waited}]."
    lines = [head, f"- {row_line(row)}"]
    if result.outcome == "stalled" and row.status == "DRAFT":
        lines.append("A DRAFT task has not been submitted; it will not start until it is.")
    if row.error:
        lines.append(DATA_NOTE)
    if result.next_call is not None:
        lines.append(
            "It has not finished. To keep waiting, call wait_for_task "
            f"{json.dumps(result.next_call, ensure_ascii=False)} (or list_tasks to check on other work first)."
        )
    return "\n".join(lines)


def unchecked_text(task_id: str, result: WaitResult, *, why: str) -> str:
    """A wait that ended before its task could be checked once: still waiting, with the call that goes on."""
    lines = [f"Task {task_id} could not be checked yet: {why} [{result.waited_seconds:.1f} s, 0 polls]."]
    if result.next_call is not None:
        lines.append(
            "Its status is unknown, not failed. To keep waiting, call wait_for_task "
            f"{json.dumps(result.next_call, ensure_ascii=False)} (the poller checks it as soon as it can)."
        )
    return "\n".join(lines)


def _figures(summary: SelectionSummary, matched: int) -> list[str]:
    """Objects, failed documents, first created and last finished, and what the figures cover."""
    parts = []
    if summary.objects is not None:
        parts.append(f"{summary.objects:,} objects")
    if summary.failed_documents is not None:
        parts.append(f"{summary.failed_documents:,} documents failed")
    if (created := _utc(summary.first_created_at)) is not None:
        parts.append(f"first created {created}")
    if (finished := _utc(summary.last_finished_at)) is not None:
        moment = as_time(summary.last_finished_at)
        assert moment is not None
        parts.append(f"last finished {finished} ({ago(moment, datetime.now(UTC))})")
    if summary.read is not None:
        parts.append(f"figures from {summary.read} of the {matched} tasks (the newest and the active ones)")
    return [" · ".join(parts)] if parts else []


def _head(result: WaitResult, selection: str | None, counts: str, checks: str) -> list[str]:
    waited = f"[{result.waited_seconds:.1f} s, {checks}]"
    if selection is None:
        waited_on = len(result.tasks or []) + (result.tasks_left_out or 0)
        head = f"Waited on {waited_on} task{'s' if waited_on != 1 else ''} (until {result.until}): "
        return [f"{head}{UNTIL_TEXT[result.outcome]} {waited} · {counts}"]
    if result.outcome == "no_match":
        advice = "check the id" if selection.startswith("batch ") else "check the selection"
        return [f"No task matches {selection}; {advice} {waited}."]
    summary, matched = result.summary, result.matched or 0
    finished = summary.finished if summary is not None else 0
    if result.finished:
        state = f"all {matched} task{'s' if matched != 1 else ''} finished"
    else:
        state = f"{finished} of {matched} tasks finished, the time budget ran out"
    head = f"{selection[0].upper()}{selection[1:]}: {state} {waited} · {counts}"
    return [head, *(_figures(summary, matched) if summary is not None else [])]


def many_text(
    result: WaitResult, *, selection: str | None, during: Collection[str], unchecked: str | None = None
) -> str:
    """The answer of a many-task or selection wait (``selection``: how to name it, e.g. 'batch btch_x');
    ``during``: the tasks that finished during this call; ``unchecked``: how many were never checked, and why."""
    lines_in = result.tasks or []
    counts = ", ".join(f"{name} {count}" for name, count in (result.counts or {}).items())
    checks = f"{result.polls} check{'s' if result.polls != 1 else ''}"
    lines = _head(result, selection, counts, checks)
    now = datetime.now(UTC)
    for line in lines_in:
        when = ""
        if line.outcome in ("success", "partial", "failure"):
            when = " — " + when_finished(
                line.finished_at, line.seen_after_seconds, during=line.task_id in during, now=now
            )
        shown = row_line(line.task) if line.task is not None else line.task_id
        row, newline, error = shown.partition("\n")  # the time goes on the row, before its error line
        text = f"- {line.outcome}: {row}{when}{newline}{error}"
        if line.error:
            text += f"\n  {quote_untrusted(line.error, 240)}"
        lines.append(text)
    if result.tasks_left_out:
        lines.append(
            f"Lines of {result.tasks_left_out} more task(s) are left out (an answer shows at most "
            f"{MAX_TASK_LINES} task lines, within {MAX_TEXT_CHARS:,} characters); the counts above cover every task"
            + (", and the ids below every running one." if result.still_running else ".")
        )
    if any(line.task is not None and line.task.error for line in lines_in):
        lines.append(DATA_NOTE)
    if result.not_followed:
        lines.append(
            f"{result.not_followed} more matching task(s) were active but not followed (at most {MAX_FOLLOWED} at "
            "once); the call below follows them next."
        )
    if result.still_running:
        shown_ids = result.still_running[:MAX_RUNNING_IDS_IN_TEXT]
        lines.append(f"Still running ({len(result.still_running)}): {', '.join(shown_ids)}")
    if unchecked:
        lines.append(f"{unchecked[0].upper()}{unchecked[1:]} (their status is unknown, not failed).")
    if result.next_call is not None:
        call = json.dumps(result.next_call, ensure_ascii=False)
        if result.finished:  # until any: one finished, the others run on
            lines.append(
                f"To wait for the next of the {len(result.still_running or [])} still running, call "
                f"wait_for_task {call}"
            )
        else:
            lines.append(f"To keep waiting on the unfinished ones, call wait_for_task {call}")
    if result.last_error and result.last_error != unchecked:  # the unchecked line says it already
        lines.append(f"Last poll problem: {quote_untrusted(result.last_error, 240)}")
    return "\n".join(lines)
