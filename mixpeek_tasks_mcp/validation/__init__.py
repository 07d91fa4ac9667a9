"""Check and normalize agent-built arguments before any API call.

A refusal names the path (``filters.AND[1].operator``), what is wrong, the accepted values and, for near
misses, a did-you-mean. Forgivable slips are normalized instead: status case, task type case, a scalar for
``in``/``nin``, JSON sent as a string, ``NOT`` given as one object, a bare condition or list as ``filters``;
and null, "", [] or {} for an optional argument (what a strict-mode model writes for "not given"; see
``absent``) is dropped before any other check.
Hostile input (huge, deeply nested, malformed) is refused too: every check is bounded, and an unexpected
error inside one becomes a refusal naming the argument, never a bare tool error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from ..arguments import (
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_TRIAGE_TASKS,
    MAX_WAIT_TASK_IDS,
    ListTasksArguments,
    TriageTasksArguments,
    WaitForTaskArguments,
)
from ..coerce import as_int, is_number
from ..enums import TaskStatus
from .absent import without_absent
from .checker import UNDECODED, Checker
from .filters import FilterChecker
from .problems import InvalidArguments, Problem, child, describe, did_you_mean, has_surrogate, number_text, quote
from .vocabulary import ARGUMENT_HINTS

__all__ = [
    "Checker",
    "InvalidArguments",
    "Problem",
    "check_list_tasks",
    "check_selection",
    "check_triage_tasks",
    "check_wait_for_task",
]

_SECONDS_TEXT = re.compile(r"\s*\d{1,9}(\.\d{1,9})?\s*")


def _unknown_arguments(tool: str, checker: Checker, arguments: Mapping[str, Any], known: Iterable[str]) -> None:
    known = list(known)
    for name in arguments:
        if name not in known:
            hint = did_you_mean(str(name), known, ARGUMENT_HINTS)
            checker.fail(
                child("", name), f"{tool} has no argument {quote(str(name))}.{hint} Arguments: {', '.join(known)}."
            )


def _from_pydantic(tool: str, exc: ValidationError) -> InvalidArguments:
    problems = []
    for error in exc.errors():
        location = ""
        for part in error["loc"]:
            location = f"{location}[{part}]" if isinstance(part, int) else child(location, part)
        problems.append(Problem(location, error["msg"] + "."))
    return InvalidArguments(tool, problems)


def _validated(tool: str, model: type[Any], clean: dict[str, Any]) -> Any:
    try:
        return model.model_validate(clean)
    except ValidationError as exc:
        raise _from_pydantic(tool, exc) from None
    except Exception as error:  # the last safety net: a refusal, never a bare error
        problem = Problem("", f"the arguments could not be checked ({type(error).__name__}); simplify them.")
        raise InvalidArguments(tool, [problem]) from None


SELECTION_ARGUMENTS = ("status", "task_type", "filters", "search", "batch_id")


def check_selection(checker: FilterChecker, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The selecting arguments every task-selecting tool shares (status, task_type, filters, search,
    batch_id), checked and normalized; problems go to ``checker``."""
    clean: dict[str, Any] = {}
    for name in SELECTION_ARGUMENTS:
        value = arguments.get(name)
        if value is None:
            continue
        with checker.argument(name):
            if name == "status":
                clean[name] = checker.status(name, value)
            elif name == "task_type":
                clean[name] = checker.task_type(name, value)
            elif name == "filters":
                clean[name] = checker.filters(name, value)
            elif name == "batch_id":
                clean[name] = checker.batch_id(name, value)
            else:
                clean[name] = checker.text(name, value, 200)
    return clean


def check_list_tasks(arguments: Mapping[str, Any]) -> ListTasksArguments:
    """Validate and normalize ``list_tasks`` arguments, or raise InvalidArguments."""
    checker = FilterChecker()
    arguments = without_absent(arguments, ListTasksArguments)
    if arguments.get("cursor") and as_int(arguments.get("offset"), from_text=True) == 0:
        arguments.pop("offset")  # the start of the page, which the cursor already knows: no conflict
    _unknown_arguments("list_tasks", checker, arguments, ListTasksArguments.model_fields)
    clean = check_selection(checker, arguments)
    for name in ("sort", "limit", "offset", "cursor"):
        value = arguments.get(name)
        if value is None:
            continue
        with checker.argument(name):
            if name == "sort":
                clean[name] = checker.sort(name, value)
            elif name == "limit":
                clean[name] = checker.bounded_int(
                    name, value, 1, MAX_LIMIT, " Page through the rest with offset or cursor."
                )
            elif name == "offset":
                clean[name] = checker.bounded_int(
                    name, value, 0, MAX_OFFSET, " To go deeper, follow next_cursor with cursor."
                )
            else:
                clean[name] = checker.text(name, value, 4096)
    if clean.get("offset") is not None and clean.get("cursor") is not None:
        checker.fail("cursor", "give offset or cursor, not both (the cursor already knows its position).")
    if checker.problems:
        raise InvalidArguments("list_tasks", checker.problems)
    result: ListTasksArguments = _validated(
        "list_tasks", ListTasksArguments, {k: v for k, v in clean.items() if v is not None}
    )
    return result


def _seconds(value: float) -> str:
    """Seconds as written: 600 for 600.0, 600.0001 as it is."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return number_text(value)


def _timeout(checker: Checker, timeout: Any, max_timeout: float, *, allow_zero: bool = True) -> float | None:
    number = float(timeout) if isinstance(timeout, str) and _SECONDS_TEXT.fullmatch(timeout) else timeout
    if not is_number(number) or number < 0 or (number == 0 and not allow_zero):
        low = ">= 0" if allow_zero else "> 0"
        checker.fail("timeout_seconds", f"must be a number of seconds {low}, not {describe(timeout)}.")
        return None
    if number > max_timeout:
        most = _seconds(max_timeout)
        checker.fail(
            "timeout_seconds",
            f"{_seconds(number)} is more than this server allows ({most} s). Wait up to {most} s "
            "and call again to keep waiting; most clients also cut a tool call at 60 s-5 min.",
        )
        return None
    return float(number)


def _wait_for(checker: Checker, value: Any) -> list[str | None] | None:
    wait_for = checker.decode("wait_for", value)
    if wait_for is UNDECODED:
        return None
    if isinstance(wait_for, str):
        wait_for = [wait_for]
    if not isinstance(wait_for, list) or not wait_for:
        checker.fail("wait_for", f"must be a list of statuses, not {describe(wait_for)}.")
        return None
    if len(wait_for) > len(TaskStatus):
        checker.fail("wait_for", f"lists {len(wait_for)} statuses; there are only {len(TaskStatus)}.")
        return None
    return [checker.status(f"wait_for[{i}]", s) for i, s in enumerate(wait_for)]


def check_wait_for_task(
    arguments: Mapping[str, Any], *, default_timeout: float, max_timeout: float
) -> WaitForTaskArguments:
    """Validate and normalize ``wait_for_task`` arguments, or raise InvalidArguments."""
    checker = FilterChecker()
    arguments = without_absent(arguments, WaitForTaskArguments)
    _unknown_arguments("wait_for_task", checker, arguments, WaitForTaskArguments.model_fields)
    clean: dict[str, Any] = {"timeout_seconds": min(default_timeout, max_timeout)}
    _check_what_to_wait_on(checker, arguments, clean)
    if arguments.get("timeout_seconds") is not None:
        with checker.argument("timeout_seconds"):
            timeout = _timeout(checker, arguments["timeout_seconds"], max_timeout)
            if timeout is not None:
                clean["timeout_seconds"] = timeout
    if arguments.get("wait_for") is not None:
        with checker.argument("wait_for"):
            statuses = _wait_for(checker, arguments["wait_for"])
            if statuses is not None:
                clean["wait_for"] = statuses
    if checker.problems:
        raise InvalidArguments("wait_for_task", checker.problems)
    result: WaitForTaskArguments = _validated("wait_for_task", WaitForTaskArguments, clean)
    return result


def check_triage_tasks(arguments: Mapping[str, Any], *, max_timeout: float) -> TriageTasksArguments:
    """Validate and normalize ``triage_tasks`` arguments, or raise InvalidArguments."""
    checker = FilterChecker()
    arguments = without_absent(arguments, TriageTasksArguments)
    _unknown_arguments("triage_tasks", checker, arguments, TriageTasksArguments.model_fields)
    clean = check_selection(checker, arguments)
    if arguments.get("max_tasks") is not None:
        with checker.argument("max_tasks"):
            clean["max_tasks"] = checker.bounded_int(
                "max_tasks", arguments["max_tasks"], 1, MAX_TRIAGE_TASKS, " Narrow the selection to scan older tasks."
            )
    clean["timeout_seconds"] = min(TriageTasksArguments.model_fields["timeout_seconds"].default, max_timeout)
    if arguments.get("timeout_seconds") is not None:
        with checker.argument("timeout_seconds"):
            clean["timeout_seconds"] = _timeout(checker, arguments["timeout_seconds"], max_timeout, allow_zero=False)
    if checker.problems:
        raise InvalidArguments("triage_tasks", checker.problems)
    result: TriageTasksArguments = _validated(
        "triage_tasks", TriageTasksArguments, {k: v for k, v in clean.items() if v is not None}
    )
    return result


def _task_id(checker: Checker, path: str, value: Any) -> str | None:
    if not (isinstance(value, str) and value.strip() and len(value.strip()) <= 200):
        checker.fail(path, f"must be a task id string (at most 200 characters), not {describe(value)}.")
        return None
    if has_surrogate(value) or "\ufffd" in value:
        checker.fail(
            path,
            f"{quote(value)} holds invalid text (a lone UTF-16 surrogate, or U+FFFD where one was "
            "replaced); task ids are plain text, as list_tasks shows them.",
        )
        return None
    return value.strip()


def _check_what_to_wait_on(checker: FilterChecker, arguments: Mapping[str, Any], clean: dict[str, Any]) -> None:
    """Exactly one of task_id, task_ids, or a selection (status/task_type/filters/search/batch_id), and a fitting
    until."""
    task_id = arguments.get("task_id")
    task_ids = checker.decode("task_ids", arguments["task_ids"]) if arguments.get("task_ids") is not None else None
    if task_ids is UNDECODED:
        return
    selection = check_selection(checker, arguments)
    given = [name for name, value in (("task_id", task_id), ("task_ids", task_ids)) if value is not None]
    if selection:
        given.append("a selection (" + ", ".join(selection) + ")")
    if not given:
        checker.fail(
            "task_id",
            "is required: the id of the task to wait on (list_tasks shows ids); or task_ids for several tasks, "
            'or batch_id (or status/task_type/filters/search) with until "none_active".',
        )
    elif len(given) > 1:
        checker.fail(
            given[1].split(" ")[0], f"give one of task_id, task_ids or a selection, not {' and '.join(given)}."
        )
    until = arguments.get("until")
    if until is not None:
        with checker.argument("until"):
            word = str(until).strip().lower()[:40] if isinstance(until, str) else None
            accepted = ("all", "any") if task_ids is not None else ("none_active",) if selection else ()
            if word not in accepted:
                what = "task_ids" if task_ids is not None else "a selection" if selection else "task_id"
                allowed = ", ".join(accepted) or "nothing (until is for task_ids or a selection)"
                checker.fail("until", f"{describe(until)} does not go with {what}. Accepted: {allowed}.")
            else:
                clean["until"] = word
    if task_id is not None:
        with checker.argument("task_id"):
            clean["task_id"] = _task_id(checker, "task_id", task_id)
    if task_ids is not None:
        with checker.argument("task_ids"):
            _check_task_ids(checker, task_ids, clean)
    if selection:
        clean.update(selection)
        clean.setdefault("until", "none_active")


def _check_task_ids(checker: Checker, task_ids: Any, clean: dict[str, Any]) -> None:
    if isinstance(task_ids, str):
        task_ids = [task_ids]
    if not isinstance(task_ids, list) or not task_ids:
        checker.fail("task_ids", f"must be a list of task ids, not {describe(task_ids)}.")
    elif len(task_ids) > MAX_WAIT_TASK_IDS:
        checker.fail(
            "task_ids",
            f"has {len(task_ids)} ids; at most {MAX_WAIT_TASK_IDS} per call. Split them, or wait on a "
            'selection (e.g. batch_id) with until "none_active".',
        )
    else:
        ids = [_task_id(checker, f"task_ids[{i}]", value) for i, value in enumerate(task_ids)]
        clean["task_ids"] = list(dict.fromkeys(i for i in ids if i is not None))
        clean.setdefault("until", "all")
