"""From tallies to error groups an agent can act on, each with the list_tasks call that lists its tasks.

The drill-down filter uses what every task of the group contains word for word (the literal stretches of its
signature) on the field its error text came from, picks stretches that no other scanned group shares (neither its
signature nor any error text it remembers), and adds the group's statuses, so the call lists the group and not its
neighbours. Where no stretch tells the group apart (a short "boom", a one-off whose every word another error also
has), the group's own few texts are matched exactly (``eq``/``in``); where a stretch catches another group whose
texts are known, those texts are excluded (``nin``). Either way the call's total is the group's count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..models import TaskSelection
from ..output import ErrorGroup, Share
from .signatures import display, literal_runs
from .tally import NO_TEXT, OTHER, GroupTally

MAX_GROUPS = 12
"""Groups returned in full; the rest are summarized as a count of groups and tasks."""
TOP_PER_GROUP = 3
MAX_FILTER_RUNS = 3
MAX_RUN_CHARS = 80
MAX_EXACT_CHARS = 1_200
"""Texts listed in one ``in``/``nin`` condition, in characters (the drill-down stays one readable line)."""
MAX_SIGNATURE_CHARS = 200
DRILL_DOWN_LIMIT = 20


def top(counter: Counter[str], n: int = TOP_PER_GROUP) -> dict[str, int]:
    """The n most common keys (the OTHER bucket of a capped counter is not a key)."""
    return dict([(key, count) for key, count in counter.most_common(n + 1) if key != OTHER][:n])


def shares(counter: Counter[str]) -> list[Share] | None:
    return [Share(id=key, tasks=count) for key, count in top(counter).items()] or None


@dataclass(frozen=True)
class Neighbour:
    """Another scanned group as a drill-down filter must avoid it: its signature and the texts it remembers."""

    texts: frozenset[str] | None
    folded: tuple[str, ...]
    """Its signature and texts, case-folded once (``contains`` is case-insensitive on the API)."""

    @classmethod
    def of(cls, display: str, texts: set[str] | None) -> Neighbour:
        known = frozenset(texts) if texts is not None else None
        return cls(known, tuple(text.casefold() for text in (display, *(known or ()))))

    def caught_by(self, runs: list[str]) -> bool:
        """Would ``contains`` on every run match one of its tasks?"""
        folded = [run.casefold() for run in runs]
        return any(all(run in text for run in folded) for text in self.folded)


def _choose_runs(own: list[str], others: Sequence[Neighbour]) -> tuple[list[str], list[Neighbour]]:
    """The fewest literal stretches (longest first) that catch no other group, and the groups they still catch."""
    chosen: list[str] = []
    caught: list[Neighbour] = list(others)
    for run in own[:MAX_FILTER_RUNS]:
        chosen.append(run[:MAX_RUN_CHARS])
        caught = [other for other in caught if other.caught_by(chosen)]
        if not caught:
            break
    return chosen, caught


def _exact(texts: Sequence[str] | frozenset[str] | set[str] | None) -> list[str] | None:
    """The texts sorted, when they fit one condition."""
    if not texts or sum(len(text) for text in texts) > MAX_EXACT_CHARS:
        return None
    return sorted(texts)


def _text_conditions(group: GroupTally, text: str, others: Sequence[Neighbour]) -> list[dict[str, Any]] | None:
    """Conditions on one error field that match this group's tasks and no other scanned group's (None: none do)."""
    runs = literal_runs(text)
    chosen, caught = _choose_runs(runs, others) if runs else ([], list(others))
    own = _exact(group.texts)
    if own is not None and (not chosen or caught):
        return [{"operator": "eq", "value": own[0]} if len(own) == 1 else {"operator": "in", "value": own}]
    if not chosen:
        return None
    conditions: list[dict[str, Any]] = [{"operator": "contains", "value": run} for run in chosen]
    excluded = _exact({text for other in caught for text in (other.texts or ())})
    if excluded is not None:
        conditions.append({"operator": "nin", "value": excluded})
    return conditions


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
    group: GroupTally, text: str, selection: TaskSelection, others: Sequence[Neighbour], *, defaulted: bool
) -> dict[str, Any] | None:
    """Arguments for list_tasks that list this group's tasks (None when nothing can tell them apart: no literal
    part in its signature and too many or too long texts to match exactly).

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
        matching = _text_conditions(group, text, others)
        if matching is None:
            return None
        fields = sorted(group.error_fields) or ["error"]
        per_field = [[{"field": name, **condition} for condition in matching] for name in fields]
        if len(per_field) == 1:
            conditions += per_field[0]
        else:
            conditions.append({"OR": [{"AND": items} for items in per_field]})
    return {**top_level, "filters": {"AND": conditions}, "limit": DRILL_DOWN_LIMIT}


def inspect_call(group: GroupTally) -> dict[str, Any] | None:
    """inspect_batch on the batch with the most of the group's tasks (None when its tasks name no batch)."""
    largest = top(group.batches, 1)
    return {"batch_id": next(iter(largest))} if largest else None


def _documents(group: GroupTally) -> dict[str, int]:
    """The failed documents the group's tasks report (nothing when none of them does)."""
    if not group.documents_reported:
        return {}
    counts = {"failed_documents": group.failed_documents, "documents_reported_by": group.documents_reported}
    if group.documents_of:
        counts["documents_of"] = group.documents_of
    return counts


def canceled_call(canceled: GroupTally, selection: TaskSelection, *, defaulted: bool) -> dict[str, Any] | None:
    """The list_tasks call of the CANCELED tasks without an error text (counted apart from the causes)."""
    return list_call(canceled, NO_TEXT, selection, [], defaulted=defaulted)


def build_groups(
    groups: dict[str, GroupTally], selection: TaskSelection, *, defaulted: bool
) -> tuple[list[ErrorGroup], int, int]:
    """The largest MAX_GROUPS groups in full, and the number of groups and tasks left out."""
    ranked = sorted(groups.values(), key=lambda group: (-group.count, group.key))
    with_error = sum(group.count for group in ranked) or 1
    texts = {group.key: display(group.key, group.known) for group in ranked}
    neighbours = {group.key: Neighbour.of(texts[group.key], group.texts) for group in ranked}
    shown = ranked[:MAX_GROUPS]
    result = []
    for group in shown:
        text = texts[group.key]
        others = [neighbour for key, neighbour in neighbours.items() if key != group.key]
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
                **_documents(group),
            )
        )
    left_out = ranked[MAX_GROUPS:]
    return result, len(left_out), sum(group.count for group in left_out)
