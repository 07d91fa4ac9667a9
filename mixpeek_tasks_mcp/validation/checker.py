"""Walk raw arguments: collect problems with their paths, and produce normalized values.

This module holds the scalar checks (statuses, task types, numbers, text, field paths, sort); the filter
tree is walked by ``filters.FilterChecker``, built on this one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..coerce import as_int
from ..enums import SortDirection, TaskStatus, TaskType
from ..models import MAX_BATCH_ID_CHARS
from .problems import (
    MAX_ECHO,
    Problem,
    UndecodableJSON,
    accepted,
    child,
    decode_json_text,
    describe,
    did_you_mean,
    has_surrogate,
    number_text,
    quote,
    values_of,
)
from .vocabulary import (
    ADDITIONAL_DATA_KEYS,
    AMBIGUOUS_STATUSES,
    FIELD_PATH,
    MAX_FIELD_PATH,
    STATUS_ALIASES,
    TASK_FIELDS,
)

UNDECODED = object()
BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
"""What a batch id looks like (``btch_abc123``): one word of letters, digits, ``_ . : -``."""
"""What ``Checker.decode`` returns for a JSON text it refused."""


class Checker:
    """Walks raw arguments, collecting problems and producing normalized values."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    @contextmanager
    def argument(self, name: str) -> Iterator[None]:
        """The safety net: an unexpected error while checking one argument refuses that argument by name."""
        try:
            yield
        except Exception as error:  # a failure of the checker itself is a refusal too
            self.fail(
                name,
                f"could not be checked ({type(error).__name__}); nothing was sent. Simplify this argument: "
                "plain values, short lists, at most 5 nested filter groups.",
            )

    def decode(self, path: str, value: Any) -> Any:
        """``value``, decoded when it is a JSON text; ``UNDECODED`` (and a problem) when it is too big or deep."""
        try:
            return decode_json_text(value)
        except UndecodableJSON as refusal:
            self.fail(path, str(refusal))
            return UNDECODED

    # scalar enums -----------------------------------------------------------------------------------
    def status(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str):
            hint = " For several statuses use filters, e.g. " if isinstance(value, list) else " "
            example = '{"AND": [{"field": "status", "operator": "in", "value": ["FAILED", "CANCELED"]}]}'
            self.fail(
                path,
                f"takes one status as a string, not {describe(value)}."
                + (hint + example + "." if isinstance(value, list) else " " + accepted(values_of(TaskStatus))),
            )
            return None
        normalized = re.sub(r"[\s\-]+", "_", value[: MAX_ECHO + 1].strip()).upper()
        normalized = STATUS_ALIASES.get(normalized, normalized)
        if normalized in values_of(TaskStatus):
            return normalized
        if normalized in AMBIGUOUS_STATUSES:
            meant = AMBIGUOUS_STATUSES[normalized]
            self.fail(
                path,
                f"{quote(value)} is not a task status; it could mean {' or '.join(meant)}. Name one, or for all "
                'of them use filters: {"AND": [{"field": "status", "operator": "in", "value": '
                + str(list(meant)).replace("'", '"')
                + "]}]} (in wait_for: list them all).",
            )
            return None
        self.fail(
            path,
            f"{quote(value)} is not a task status.{did_you_mean(normalized, values_of(TaskStatus))} "
            + accepted(values_of(TaskStatus)),
        )
        return None

    def task_type(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"takes one task type as a string, not {describe(value)}.")
            return None
        normalized = re.sub(r"[\s\-]+", "_", value[: MAX_ECHO + 1].strip()).lower()
        if normalized in values_of(TaskType):
            return normalized
        suggestions = did_you_mean(normalized, values_of(TaskType))
        if not suggestions:
            containing = [t for t in values_of(TaskType) if normalized and normalized in t]
            if containing:
                suggestions = " Did you mean " + " or ".join(repr(t) for t in containing[:3]) + "?"
        self.fail(path, f"{quote(value)} is not a task type.{suggestions} " + accepted(values_of(TaskType)))
        return None

    def batch_id(self, path: str, value: Any) -> str | None:
        """A batch id, as ``btch_...`` ids are written: one word, surrounding blanks (and quotes) dropped."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.fail(path, f"takes one batch id as a string (e.g. 'btch_abc123'), not {describe(value)}.")
            return None
        text = value[: MAX_BATCH_ID_CHARS + 1].strip().strip("\"'`").strip()
        if len(value.strip()) > MAX_BATCH_ID_CHARS:
            self.fail(path, f"is {len(value.strip())} characters long; a batch id has at most {MAX_BATCH_ID_CHARS}.")
            return None
        if not BATCH_ID.match(text):
            self.fail(
                path,
                f"{quote(value)} is not a batch id (one word of letters, digits, _ . : -, e.g. 'btch_abc123'). "
                "For several batches use filters with additional_data.batch_id and operator in.",
            )
            return None
        return text

    # top-level scalars ------------------------------------------------------------------------------
    def bounded_int(self, path: str, value: Any, low: int, high: int, advice: str) -> int | None:
        number = as_int(value, from_text=True)
        if number is None:
            self.fail(path, f"must be a whole number from {low} to {high}, not {describe(value)}.")
            return None
        if not low <= number <= high:
            shown = value if isinstance(value, float) else number
            self.fail(path, f"must be from {low} to {high}, got {number_text(shown)}.{advice}")
            return None
        return number

    def text(self, path: str, value: Any, max_length: int) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"must be a string, not {describe(value)}.")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.fail(path, f"is {len(value)} characters long; the most is {max_length}.")
            return None
        if has_surrogate(value):
            self.fail(path, f"{quote(value)} holds a lone UTF-16 surrogate, which is not text. Resend it as text.")
            return None
        return value or None

    def field_path(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be a dot-notation field name such as 'status', not {describe(value)}.")
            return None
        text: str = value.strip()
        if len(text) > MAX_FIELD_PATH:
            self.fail(path, f"is a field path of {len(text)} characters; the most is {MAX_FIELD_PATH}.")
            return None
        if not FIELD_PATH.match(text):
            self.fail(
                path,
                f"{quote(text)} is not a dot-notation field path (letters, digits, _ and dots), "
                "e.g. 'additional_data.batch_id'.",
            )
            return None
        head = text.split(".", 1)[0]
        if head not in TASK_FIELDS:
            close = did_you_mean(head, TASK_FIELDS)
            if head in ADDITIONAL_DATA_KEYS or not close:
                nested = f"additional_data.{text}"
                hint = f" Did you mean {quote(nested)}? Task-specific data lives under additional_data."
            else:
                hint = close
            self.fail(path, f"tasks have no field {quote(head)}.{hint} Task fields: {', '.join(TASK_FIELDS)}.")
            return None
        return text

    # sort ---------------------------------------------------------------------------------------------
    def sort(self, path: str, value: Any) -> dict[str, Any] | None:
        value = self.decode(path, value)
        if value is UNDECODED:
            return None
        if isinstance(value, str):
            text = value.strip()
            direction = "asc"
            if text.startswith("-"):
                text, direction = text[1:], "desc"
            elif ":" in text or " " in text:
                text, _, direction = re.split(r"([:\s]+)", text, maxsplit=1)
            value = {"field": text, "direction": direction}
        if not isinstance(value, dict):
            self.fail(path, 'must be an object like {"field": "created_at", "direction": "desc"}.')
            return None
        result: dict[str, Any] = {}
        for key in value:
            if key not in ("field", "direction"):
                self.fail(
                    child(path, key),
                    f"unknown key.{did_you_mean(str(key), ['field', 'direction'], {'order': 'direction'})} "
                    "Sort takes field and direction.",
                )
        if "field" not in value:
            self.fail(f"{path}.field", "is required, e.g. 'created_at'.")
        else:
            field = self.field_path(f"{path}.field", value["field"])
            if field is not None:
                result["field"] = field
        direction = value.get("direction", "desc")
        if isinstance(direction, str):
            lowered = direction.strip().lower()
            lowered = {"ascending": "asc", "descending": "desc"}.get(lowered, lowered)
            if lowered in values_of(SortDirection):
                result["direction"] = lowered
            else:
                self.fail(f"{path}.direction", f"{quote(direction)} is not a direction. Accepted: asc, desc.")
        else:
            self.fail(f"{path}.direction", f"must be 'asc' or 'desc', not {describe(direction)}.")
        return result
