"""Check the batch tools' raw arguments with the shared checker (``validation``): a refusal names each problem
and nothing is sent; forgivable slips are normalized (numbers as text, one tier as a bare number, mode case)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from ..validation import Checker, InvalidArguments
from ..validation import _unknown_arguments as unknown_arguments
from ..validation import _validated as validated
from ..validation.absent import without_absent
from ..validation.problems import describe, quote
from .arguments import TOKEN_CHARS, CancelTasksArguments, InspectBatchArguments, RetryBatchArguments
from .bounds import ID_CHARS, LOG_TAIL_LINES, MAX_KILL_TASK_IDS, MAX_LOG_TAIL_LINES, MAX_TIER_NUM, REASON_CHARS

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
IDS = ("batch_id", "bucket_id", "confirmation_token")
Model = TypeVar("Model", bound=BaseModel)


def _identifier(checker: Checker, path: str, value: Any, limit: int = ID_CHARS) -> str | None:
    text = checker.text(path, value, limit)
    if text is not None and not ID_PATTERN.match(text):
        checker.fail(path, f"{quote(text)} is not an id (letters, digits, _ . : - only), e.g. btch_abc123.")
        return None
    return text


def _tier(checker: Checker, path: str, value: Any) -> int | None:
    return checker.bounded_int(path, value, 0, MAX_TIER_NUM, " Tiers are numbered from 0.")


def _common(
    tool: str, model: type[Model], arguments: Mapping[str, Any]
) -> tuple[dict[str, Any], Checker, dict[str, Any]]:
    """What every batch check starts with: the arguments without a strict-mode model's nulls and blanks
    (``without_absent``), unknown names refused, and the ids and tier a tool takes checked into ``clean``."""
    arguments = without_absent(arguments, model)
    checker = Checker()
    unknown_arguments(tool, checker, arguments, model.model_fields)
    clean: dict[str, Any] = {}
    for name in IDS:
        if arguments.get(name) is not None and name in model.model_fields:
            with checker.argument(name):
                limit = TOKEN_CHARS if name == "confirmation_token" else ID_CHARS
                clean[name] = _identifier(checker, name, arguments[name], limit)
    if arguments.get("tier_num") is not None and "tier_num" in model.model_fields:
        clean["tier_num"] = _tier(checker, "tier_num", arguments["tier_num"])
    return arguments, checker, clean


def _finish(tool: str, model: type[Model], checker: Checker, clean: dict[str, Any]) -> Model:
    if checker.problems:
        raise InvalidArguments(tool, checker.problems)
    result: Model = validated(tool, model, {key: value for key, value in clean.items() if value is not None})
    return result


def check_inspect_batch(arguments: Mapping[str, Any]) -> InspectBatchArguments:
    arguments, checker, clean = _common("inspect_batch", InspectBatchArguments, arguments)
    if arguments.get("log_lines") is not None:
        clean["log_lines"] = checker.bounded_int(
            "log_lines", arguments["log_lines"], 1, MAX_LOG_TAIL_LINES, f" The default is {LOG_TAIL_LINES}."
        )
    if arguments.get("batch_id") is None:
        checker.fail("batch_id", "is required, e.g. btch_abc123 (list_tasks and triage_tasks show batch ids).")
    return _finish("inspect_batch", InspectBatchArguments, checker, clean)


def check_cancel_tasks(arguments: Mapping[str, Any]) -> CancelTasksArguments:
    arguments, checker, clean = _common("cancel_tasks", CancelTasksArguments, arguments)
    raw_ids = arguments.get("task_ids")
    if raw_ids is not None:
        raw_ids = [raw_ids] if isinstance(raw_ids, str) else raw_ids
        if not isinstance(raw_ids, list) or not 1 <= len(raw_ids) <= MAX_KILL_TASK_IDS:
            checker.fail("task_ids", f"must be a list of 1 to {MAX_KILL_TASK_IDS} task ids, not {describe(raw_ids)}.")
        else:
            ids = [_identifier(checker, f"task_ids[{i}]", item) for i, item in enumerate(raw_ids)]
            clean["task_ids"] = list(dict.fromkeys(item for item in ids if item is not None))
    if arguments.get("reason") is not None:
        clean["reason"] = checker.text("reason", arguments["reason"], REASON_CHARS)
    if (arguments.get("task_ids") is None) == (arguments.get("batch_id") is None):
        checker.fail("", "give task_ids (tasks to kill) or batch_id (a batch to cancel), exactly one.")
    return _finish("cancel_tasks", CancelTasksArguments, checker, clean)


def check_retry_batch(arguments: Mapping[str, Any]) -> RetryBatchArguments:
    arguments, checker, clean = _common("retry_batch", RetryBatchArguments, arguments)
    mode = arguments.get("retry_mode")
    if mode is not None:
        normalized = str(mode).strip().lower().replace("-", "_").replace(" ", "_") if isinstance(mode, str) else mode
        if normalized not in ("transient_only", "all"):
            checker.fail("retry_mode", f"{describe(mode)} is not a retry mode. Accepted: transient_only, all.")
        clean["retry_mode"] = normalized
    tiers = arguments.get("tier_nums")
    if tiers is not None:
        tiers = [tiers] if not isinstance(tiers, list) else tiers
        if not 1 <= len(tiers) <= MAX_TIER_NUM:
            checker.fail("tier_nums", f"must list 1 to {MAX_TIER_NUM} tier numbers.")
        else:
            clean["tier_nums"] = sorted(
                {n for i, t in enumerate(tiers) if (n := _tier(checker, f"tier_nums[{i}]", t)) is not None}
            )
    if arguments.get("max_retry_count") is not None:
        clean["max_retry_count"] = checker.bounded_int(
            "max_retry_count", arguments["max_retry_count"], 1, 10, " Mixpeek's default is 3."
        )
    if arguments.get("batch_id") is None:
        checker.fail("batch_id", "is required, e.g. btch_abc123.")
    return _finish("retry_batch", RetryBatchArguments, checker, clean)
