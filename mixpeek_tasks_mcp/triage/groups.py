"""From tallies to error groups an agent can act on, each with the list_tasks call that lists its tasks.

The drill-down filter uses what every task of the group contains word for word (the literal stretches of its
signature) on the field its error text came from, picks stretches that no other scanned group shares, and adds
the group's statuses, so the call lists the group and not its neighbours.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..models import TaskSelection
from ..output import ErrorGroup, Share
from .signatures import display, literal_runs
from .tally import NO_TEXT, OTHER, GroupTally

MAX_GROUPS = 12
"""Groups returned in full; the rest are summarized as a count of groups and tasks."""
TOP_PER_GROUP = 3
MAX_FILTER_RUNS = 2
MAX_RUN_CHARS = 80
MAX_SIGNATURE_CHARS = 200
DRILL_DOWN_LIMIT = 20


def top(counter: Counter[str], n: int = TOP_PER_GROUP) -> dict[str, int]:
    """The n most common keys (the OTHER bucket of a capped counter is not a key)."""
    return dict([(key, count) for key, count in counter.most_common(n + 1) if key != OTHER][:n])


def shares(counter: Counter[str]) -> list[Share] | None:
    return [Share(id=key, tasks=count) for key, count in top(counter).items()] or None


def _choose_runs(own: list[str], others: Sequence[str]) -> list[str]:
    """The fewest literal stretches (longest first) that no other group's text contains all of."""
    chosen: list[str] = []
    for run in own[:MAX_FILTER_RUNS]:
        chosen.append(run[:MAX_RUN_CHARS])
        if not any(all(part in other for part in chosen) for other in others):
            break
    return chosen


def _selection_conditions(selection: TaskSelection) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The selection as list_tasks top-level arguments, and its filters as conditions to AND with more."""
    top_level: dict[str, Any] = selection.model_dump(mode="json", exclude_none=True, exclude={"filters"})
    conditions: list[dict[str, Any]] = []
    if selection.filters is not None:
        tree = selection.filters.model_dump(mode="json", exclude_none=True)
        if set(tree) == {"AND"}:
            conditions.extend(tree["AND"])
        else:
            conditions.append(tree)
    return top_level, conditions


def list_call(
    group: GroupTally, text: str, selection: TaskSelection, others: Sequence[str], *, defaulted: bool
) -> dict[str, Any] | None:
    """Arguments for list_tasks that list this group's tasks (None when its text has no literal part).

    ``defaulted``: the selection is triage's default (problem and active statuses); the group's own statuses
    are narrower, so it is left out."""
    top_level, conditions = _selection_conditions(selection) if not defaulted else ({}, [])
    if selection.status is None:
        statuses = sorted(key for key in group.statuses if key != OTHER)
        if len(statuses) == 1:
            top_level["status"] = statuses[0]
        else:
            conditions.append({"field": "status", "operator": "in", "value": statuses})
    if group.key == NO_TEXT:
        conditions += [
            {"field": "error", "operator": "is_null", "value": True},
            {"field": "additional_data.error", "operator": "is_null", "value": True},
        ]
    else:
        runs = _choose_runs(literal_runs(text), others)
        if not runs:
            return None
        fields = sorted(group.error_fields) or ["error"]
        per_field = [[{"field": name, "operator": "contains", "value": run} for run in runs] for name in fields]
        if len(per_field) == 1:
            conditions += per_field[0]
        else:
            conditions.append({"OR": [{"AND": items} for items in per_field]})
    return {**top_level, "filters": {"AND": conditions}, "limit": DRILL_DOWN_LIMIT}


def inspect_call(group: GroupTally) -> dict[str, Any] | None:
    """inspect_batch on the batch with the most of the group's tasks (None when its tasks name no batch)."""
    largest = top(group.batches, 1)
    return {"batch_id": next(iter(largest))} if largest else None


def build_groups(
    groups: dict[str, GroupTally], selection: TaskSelection, *, defaulted: bool
) -> tuple[list[ErrorGroup], int, int]:
    """The largest MAX_GROUPS groups in full, and the number of groups and tasks left out."""
    ranked = sorted(groups.values(), key=lambda group: (-group.count, group.key))
    with_error = sum(group.count for group in ranked) or 1
    texts = {group.key: display(group.key, group.known) for group in ranked}
    shown = ranked[:MAX_GROUPS]
    result = []
    for group in shown:
        text = texts[group.key]
        others = [other_text for key, other_text in texts.items() if key != group.key]
        result.append(
            ErrorGroup(
                signature=text[:MAX_SIGNATURE_CHARS],
                count=group.count,
                share=round(group.count / with_error, 3),
                statuses=top(group.statuses, 5),
                task_types=top(group.task_types),
                buckets=shares(group.buckets),
                batches=shares(group.batches),
                first_seen=group.first_seen.isoformat(timespec="seconds") if group.first_seen else None,
                last_seen=group.last_seen.isoformat(timespec="seconds") if group.last_seen else None,
                example_task_ids=list(group.examples),
                sample_error=group.sample,
                list_call=list_call(group, text, selection, others, defaulted=defaulted),
                inspect_call=inspect_call(group),
            )
        )
    left_out = ranked[MAX_GROUPS:]
    return result, len(left_out), sum(group.count for group in left_out)
