"""Check and normalize agent-built arguments before any API call.

A refusal names the path (``filters.AND[1].operator``), what is wrong, the accepted values and, for near
misses, a did-you-mean. Forgivable slips are normalized instead: status case, task type case, a scalar for
``in``/``nin``, JSON sent as a string, ``NOT`` given as one object, a bare condition or list as ``filters``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from ..arguments import MAX_LIMIT, MAX_OFFSET, MAX_WAIT_TASK_IDS, ListTasksArguments, WaitForTaskArguments
from ..coerce import is_number
from .checker import Checker
from .problems import InvalidArguments, Problem, decode_json_text, describe, did_you_mean
from .vocabulary import ARGUMENT_HINTS

__all__ = [
    "Checker",
    "InvalidArguments",
    "Problem",
    "check_list_tasks",
    "check_selection",
    "check_wait_for_task",
]


def _unknown_arguments(tool: str, checker: Checker, arguments: Mapping[str, Any], known: Iterable[str]) -> None:
    known = list(known)
    for name in arguments:
        if name not in known:
            hint = did_you_mean(str(name), known, ARGUMENT_HINTS)
            checker.fail(str(name), f"{tool} has no argument {name!r}.{hint} Arguments: {', '.join(known)}.")


def _from_pydantic(tool: str, exc: ValidationError) -> InvalidArguments:
    problems = []
    for error in exc.errors():
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
        problems.append(Problem(location, error["msg"] + "."))
    return InvalidArguments(tool, problems)


def check_selection(checker: Checker, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The selecting arguments every task-selecting tool shares (status, task_type, filters, search), checked
    and normalized; problems go to ``checker``."""
    clean: dict[str, Any] = {}
    if arguments.get("status") is not None:
        clean["status"] = checker.status("status", arguments["status"])
    if arguments.get("task_type") is not None:
        clean["task_type"] = checker.task_type("task_type", arguments["task_type"])
    if arguments.get("filters") is not None:
        clean["filters"] = checker.filters("filters", arguments["filters"])
    if arguments.get("search") is not None:
        clean["search"] = checker.text("search", arguments["search"], 200)
    return clean


def check_list_tasks(arguments: Mapping[str, Any]) -> ListTasksArguments:
    """Validate and normalize ``list_tasks`` arguments, or raise InvalidArguments."""
    checker = Checker()
    _unknown_arguments("list_tasks", checker, arguments, ListTasksArguments.model_fields)
    clean = check_selection(checker, arguments)
    if arguments.get("sort") is not None:
        clean["sort"] = checker.sort("sort", arguments["sort"])
    if arguments.get("limit") is not None:
        clean["limit"] = checker.bounded_int(
            "limit", arguments["limit"], 1, MAX_LIMIT, " Page through the rest with offset or cursor."
        )
    if arguments.get("offset") is not None:
        clean["offset"] = checker.bounded_int(
            "offset", arguments["offset"], 0, MAX_OFFSET, " To go deeper, follow next_cursor with cursor."
        )
    if arguments.get("cursor") is not None:
        clean["cursor"] = checker.text("cursor", arguments["cursor"], 4096)
    if clean.get("offset") is not None and clean.get("cursor") is not None:
        checker.fail("cursor", "give offset or cursor, not both (the cursor already knows its position).")
    if checker.problems:
        raise InvalidArguments("list_tasks", checker.problems)
    try:
        return ListTasksArguments.model_validate({k: v for k, v in clean.items() if v is not None})
    except ValidationError as exc:
        raise _from_pydantic("list_tasks", exc) from None


def check_wait_for_task(
    arguments: Mapping[str, Any], *, default_timeout: float, max_timeout: float
) -> WaitForTaskArguments:
    """Validate and normalize ``wait_for_task`` arguments, or raise InvalidArguments."""
    checker = Checker()
    _unknown_arguments("wait_for_task", checker, arguments, WaitForTaskArguments.model_fields)
    clean: dict[str, Any] = {"timeout_seconds": min(default_timeout, max_timeout)}
    _check_what_to_wait_on(checker, arguments, clean)
    timeout = arguments.get("timeout_seconds")
    if timeout is not None:
        number = float(timeout) if isinstance(timeout, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", timeout) else timeout
        if not is_number(number) or number < 0:
            checker.fail("timeout_seconds", f"must be a number of seconds >= 0, not {describe(timeout)}.")
        elif number > max_timeout:
            checker.fail(
                "timeout_seconds",
                f"{number:g} is more than this server allows ({max_timeout:g} s). Wait up to {max_timeout:g} s "
                "and call again to keep waiting; most clients also cut a tool call at 60 s-5 min.",
            )
        else:
            clean["timeout_seconds"] = float(number)
    wait_for = decode_json_text(arguments.get("wait_for"))
    if wait_for is not None:
        if isinstance(wait_for, str):
            wait_for = [wait_for]
        if not isinstance(wait_for, list) or not wait_for:
            checker.fail("wait_for", f"must be a list of statuses, not {describe(wait_for)}.")
        else:
            clean["wait_for"] = [checker.status(f"wait_for[{i}]", s) for i, s in enumerate(wait_for)]
    if checker.problems:
        raise InvalidArguments("wait_for_task", checker.problems)
    try:
        return WaitForTaskArguments.model_validate(clean)
    except ValidationError as exc:
        raise _from_pydantic("wait_for_task", exc) from None


def _task_id(checker: Checker, path: str, value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and len(value.strip()) <= 200:
        return value.strip()
    checker.fail(path, f"must be a task id string, not {describe(value)}.")
    return None


def _check_what_to_wait_on(checker: Checker, arguments: Mapping[str, Any], clean: dict[str, Any]) -> None:
    """Exactly one of task_id, task_ids, or a selection (status/task_type/filters/search), and a fitting until."""
    task_id, task_ids = arguments.get("task_id"), decode_json_text(arguments.get("task_ids"))
    selection = check_selection(checker, arguments)
    given = [name for name, value in (("task_id", task_id), ("task_ids", task_ids)) if value is not None]
    if selection:
        given.append("a selection (" + ", ".join(selection) + ")")
    if not given:
        checker.fail(
            "task_id",
            "is required: the id of the task to wait on (list_tasks shows ids); or task_ids for several tasks, "
            'or status/task_type/filters/search with until "none_active".',
        )
    elif len(given) > 1:
        checker.fail(
            given[1].split(" ")[0], f"give one of task_id, task_ids or a selection, not {' and '.join(given)}."
        )
    until = arguments.get("until")
    if until is not None:
        until = str(until).strip().lower()
        accepted = ("all", "any") if task_ids is not None else ("none_active",) if selection else ()
        if until not in accepted:
            what = "task_ids" if task_ids is not None else "a selection" if selection else "task_id"
            allowed = ", ".join(accepted) or "nothing (until is for task_ids or a selection)"
            checker.fail("until", f"{until!r} does not go with {what}. Accepted: {allowed}.")
        else:
            clean["until"] = until
    if task_id is not None:
        clean["task_id"] = _task_id(checker, "task_id", task_id)
    if task_ids is not None:
        if isinstance(task_ids, str):
            task_ids = [task_ids]
        if not isinstance(task_ids, list) or not task_ids:
            checker.fail("task_ids", f"must be a list of task ids, not {describe(task_ids)}.")
        elif len(task_ids) > MAX_WAIT_TASK_IDS:
            checker.fail(
                "task_ids",
                f"has {len(task_ids)} ids; at most {MAX_WAIT_TASK_IDS} per call. Split them, or wait on a "
                'selection (e.g. filters on additional_data.batch_id) with until "none_active".',
            )
        else:
            ids = [_task_id(checker, f"task_ids[{i}]", value) for i, value in enumerate(task_ids)]
            clean["task_ids"] = list(dict.fromkeys(i for i in ids if i is not None))
            clean.setdefault("until", "all")
    if selection:
        clean.update(selection)
        clean.setdefault("until", "none_active")
