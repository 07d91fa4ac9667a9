"""What went wrong upstream, in words an agent can act on: error classes, error envelopes, Retry-After.

Everything read from a response is untrusted: strings decoded from bodies are already redacted
(``redaction.redact_tree``); header values are redacted and clipped here; and every finished message is
redacted once more against the key of the call.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
from pydantic import ValidationError

from .coerce import is_number
from .models import ErrorResponse
from .redaction import redact

MAX_ERROR_TEXT = 300
MAX_RETRY_AFTER = 3600.0
"""A longer Retry-After is read as this: an hour is already "not now"; days would be noise."""


class MixpeekError(Exception):
    """A failure the agent should read: what happened and what to do next."""

    def __init__(self, message: str, *, status: int | None = None, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class MissingApiKeyError(MixpeekError):
    pass


class TaskNotFoundError(MixpeekError):
    pass


@dataclass(frozen=True)
class Answer:
    """One response, read in full (within the byte cap)."""

    status: int
    headers: httpx2.Headers
    body: bytes


@dataclass(frozen=True)
class Call:
    """What the messages need to know about the call that failed."""

    method: str
    path: str
    secret: str | None
    key_source: str
    attempts: int = 1

    @property
    def where(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def tried(self) -> str:
        return f" after {self.attempts} attempts" if self.attempts > 1 else ""

    def error(self, message: str, **kwargs: Any) -> MixpeekError:
        return MixpeekError(redact(message, self.secret), **kwargs)


def clip(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header_text(answer: Answer, name: str, call: Call, limit: int = 120) -> str:
    """A header's value as quoted, clipped, redacted data."""
    return json.dumps(clip(redact(answer.headers.get(name, ""), call.secret), limit), ensure_ascii=False)


def seconds_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def parse_error(data: Any) -> ErrorResponse | None:
    try:
        return ErrorResponse.model_validate(data)
    except (ValueError, ValidationError):
        return None


def _details(error: ErrorResponse | None) -> Mapping[str, Any]:
    if error is not None and isinstance(error.error.details, Mapping):
        return error.error.details
    return {}


def details_retryable(error: ErrorResponse | None) -> bool:
    return _details(error).get("retryable") is not False


def _seconds(value: Any) -> float | None:
    """Seconds from a Retry-After value (a number or an HTTP date); None unless finite and not negative."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            try:
                number = max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
    elif is_number(value):
        number = float(value)
    else:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return min(number, MAX_RETRY_AFTER)


def retry_after(answer: Answer, error: ErrorResponse | None) -> float | None:
    """How long the upstream asks us to wait: the header, else ``details.retry_after(_seconds)``."""
    details = _details(error)
    for value in (answer.headers.get("retry-after"), details.get("retry_after_seconds"), details.get("retry_after")):
        seconds = _seconds(value)
        if seconds is not None:
            return seconds
    return None


def _validation_summary(error: ErrorResponse) -> str:
    items = _details(error).get("validation_errors")
    if not isinstance(items, list) or not items:
        return ""
    parts = []
    for item in items[:5]:
        if isinstance(item, Mapping):
            location = ".".join(str(part) for part in item.get("location") or item.get("loc") or [])
            message = item.get("message") or item.get("msg") or item.get("type") or ""
            parts.append(clip(f"{location}: {message}" if location else str(message), 160))
    return " (" + "; ".join(parts) + ")" if parts else ""


def shape_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "body"
    return clip(f"{location}: {first['msg']}", 160)


def error_for(
    answer: Answer, error: ErrorResponse | None, call: Call, *, not_found_is_task: str | None
) -> MixpeekError:
    """The error for an HTTP status of 400 or more."""
    status = answer.status
    error_type = clip(error.error.type, 80) if error else None
    upstream = ""
    if error is not None:
        label = clip(" ".join(part for part in (error.error.type, error.error.code or "") if part), 120)
        details = _validation_summary(error)
        upstream = f" Mixpeek says: {label + ': ' if label else ''}{clip(error.error.message)}{details}"
    elif answer.body:
        upstream = " (the error body was not Mixpeek's JSON error envelope)"
    if status == 404 and not_found_is_task is not None:
        return TaskNotFoundError(
            f"Task {not_found_is_task!r} was not found (HTTP 404). Check the id (copy it from list_tasks). "
            "Mixpeek keeps tasks in its task cache for about 24 hours, so an older task can age out: "
            "look at its parent resource (the batch or cluster) instead.",
            status=status,
            error_type=error_type,
        )
    wait = retry_after(answer, error)
    if status in (401, 403):
        advice = (
            f"The API key was refused: check {call.key_source} (a Mixpeek key starts with sk_), "
            "its organization, and for 403 the plan or permissions."
        )
    elif status == 429:
        advice = (
            f"Mixpeek's rate limit was hit{call.tried}. Wait {seconds_text(wait) if wait else 'a minute'} "
            "before calling again, and poll less often."
        )
    elif status in (400, 422):
        advice = "Mixpeek rejected the request; fix the arguments named above and call again."
    elif status >= 500:
        when = f"in {seconds_text(wait)}" if wait else "in a minute"
        advice = f"Mixpeek had a server error{call.tried}. This is not your call's fault: try again {when}."
    else:
        advice = "Unexpected answer from Mixpeek."
    return call.error(
        f"{call.where} failed with HTTP {status}.{upstream} {advice}", status=status, error_type=error_type
    )


def redirect_error(answer: Answer, call: Call) -> MixpeekError:
    return call.error(
        f"Mixpeek answered {call.where} with a redirect (HTTP {answer.status} to "
        f"{header_text(answer, 'location', call)}). Redirects are not followed, so the API key is never sent "
        "elsewhere: set MIXPEEK_API_BASE to the API's own address (e.g. https://api.mixpeek.com).",
        status=answer.status,
    )


def not_json_error(answer: Answer, call: Call, problem: str) -> MixpeekError:
    return call.error(
        f"Mixpeek answered {call.where} with HTTP {answer.status} but the body is not JSON we can read "
        f"({header_text(answer, 'content-type', call, 60)}, {len(answer.body)} bytes; {problem}). "
        "This is an upstream fault, not your call: try again shortly; if it persists check MIXPEEK_API_BASE."
    )


def too_large_error(call: Call, limit: int) -> MixpeekError:
    return call.error(
        f"Mixpeek's answer to {call.where} is too large (over {limit // (1024 * 1024)} MB once decompressed), so "
        "it was not read further. This is an upstream fault, not your call: try again with a smaller limit; "
        "if it persists check MIXPEEK_API_BASE."
    )


def unreachable_error(call: Call, api_base: str, reason: str) -> MixpeekError:
    return call.error(
        f"Could not reach Mixpeek at {api_base} ({reason}) after {call.attempts} attempt(s). "
        "Check the network and MIXPEEK_API_BASE, then call again."
    )


def no_answer_error(call: Call, seconds: float) -> MixpeekError:
    return call.error(
        f"Mixpeek did not answer {call.where} in time (no complete answer within {seconds:.0f} s, "
        f"{call.attempts} attempt(s)). This is an upstream fault, not your call: try again shortly; "
        "if it persists check MIXPEEK_API_BASE."
    )
