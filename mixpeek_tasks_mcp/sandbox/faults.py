"""Switchable faults (forced statuses, latency, malformed bodies, a rate-limit fault on top of the per-key limit)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

RouteName = Literal[
    "list_tasks",
    "get_task",
    "kill_task",
    "get_batch",
    "batch_logs",
    "failed_documents",
    "cancel_batch",
    "cancel_tier",
    "retry_batch",
]
MalformedKind = Literal["non_json", "truncated_json", "wrong_shape", "empty", "html"]
WINDOW_SECONDS = 60


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    route: RouteName | None = Field(default=None, description="Only this operation; null = every /v1 route.")


class RateLimitFault(_Fault):
    """``after`` requests pass, then 429 for ``retry_after`` seconds; or at most ``rpm`` per minute."""

    after: int | None = Field(default=None, ge=0)
    rpm: int | None = Field(default=None, ge=1)
    retry_after: int = Field(default=1, ge=0, le=3600)


class ForcedStatus(_Fault):
    """The next ``count`` matching requests (null = all, until cleared) answer ``status``."""

    status: int = Field(ge=400, le=599)
    count: int | None = Field(default=1, ge=1)
    retry_after: int | None = Field(default=None, ge=0, le=3600)
    message: str | None = None


class LatencyFault(_Fault):
    ms: int = Field(ge=0, le=120_000)
    count: int | None = Field(default=None, ge=1)


class MalformedFault(_Fault):
    """The next ``count`` matching responses get a broken body (status ``status``)."""

    kind: MalformedKind = "non_json"
    count: int | None = Field(default=1, ge=1)
    status: int = Field(default=200, ge=100, le=599)


class FaultSpec(BaseModel):
    """Body of ``POST /_sandbox/faults``; keys left out keep their current setting."""

    model_config = ConfigDict(extra="forbid")

    rate_limit: RateLimitFault | None = None
    force_status: list[ForcedStatus] | None = None
    latency: LatencyFault | None = None
    malformed: MalformedFault | None = None
    refuse_filter_fields: list[str] | None = Field(
        default=None, description="List filters on these fields answer 422 (an API that cannot filter on them)."
    )

    @field_validator("force_status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


def _applies(fault: _Fault, route: str | None) -> bool:
    return fault.route is None or fault.route == route


@dataclass
class RateDecision:
    """Whether to refuse with 429, and the X-RateLimit-* headers to send either way."""

    limited: bool
    retry_after: int = 0
    headers: dict[str, str] = field(default_factory=dict)


class _FixedWindow:
    def __init__(self, rpm: int) -> None:
        self.rpm = rpm
        self.window_start = time.time()
        self.count = 0

    def hit(self) -> RateDecision:
        now = time.time()
        if now - self.window_start >= WINDOW_SECONDS:
            self.window_start, self.count = now, 0
        reset = self.window_start + WINDOW_SECONDS
        headers = {"X-RateLimit-Limit": str(self.rpm), "X-RateLimit-Window": str(WINDOW_SECONDS)}
        headers["X-RateLimit-Reset"] = str(math.ceil(reset))
        if self.count >= self.rpm:
            headers["X-RateLimit-Remaining"] = "0"
            return RateDecision(True, max(1, math.ceil(reset - now)), headers)
        self.count += 1
        headers["X-RateLimit-Remaining"] = str(self.rpm - self.count)
        return RateDecision(False, 0, headers)


class FaultState:
    """Current faults plus counters; shared by the /v1 pipeline and the admin endpoints."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spec = FaultSpec()
        self._reset_counters()

    def _reset_counters(self) -> None:
        rate = self._spec.rate_limit
        self._fault_window = _FixedWindow(rate.rpm) if rate and rate.rpm else None
        self._after_count = 0
        self._blocked_until = 0.0

    def update(self, spec: FaultSpec) -> FaultSpec:
        with self._lock:
            merged = self._spec.model_dump(exclude_none=True)
            merged.update(spec.model_dump(exclude_unset=True))
            self._spec = FaultSpec.model_validate(merged)
            self._reset_counters()
            return self._spec

    def clear(self) -> None:
        with self._lock:
            self._spec = FaultSpec()
            self._reset_counters()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._spec.model_dump(mode="json")

    def latency_ms(self, route: str | None) -> int:
        with self._lock:
            fault = self._spec.latency
            if fault is None or not _applies(fault, route):
                return 0
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._spec.latency = None
            return fault.ms

    def forced_status(self, route: str | None) -> ForcedStatus | None:
        with self._lock:
            for fault in self._spec.force_status or []:
                if not _applies(fault, route):
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._spec.force_status = [f for f in self._spec.force_status or [] if f is not fault]
                return fault.model_copy()
            return None

    def malformed(self, route: str | None) -> MalformedFault | None:
        with self._lock:
            fault = self._spec.malformed
            if fault is None or not _applies(fault, route):
                return None
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._spec.malformed = None
            return fault.model_copy()

    def refused_filter_fields(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._spec.refuse_filter_fields or ())

    def rate_check(self, route: str | None) -> RateDecision:
        """Count one request against the rate-limit fault (the configured per-key limit is ratelimit.py's)."""
        with self._lock:
            decision = RateDecision(False)
            fault = self._spec.rate_limit
            if fault is None or not _applies(fault, route):
                return decision
            if self._fault_window is not None:
                return self._fault_window.hit()
            if fault.after is None:
                return decision
            now = time.time()
            if self._blocked_until and now >= self._blocked_until:
                self._blocked_until, self._after_count = 0.0, 0
            headers = {"X-RateLimit-Limit": str(fault.after), "X-RateLimit-Window": str(fault.retry_after)}
            if self._blocked_until or self._after_count >= fault.after:
                if not self._blocked_until:
                    self._blocked_until = now + fault.retry_after
                headers["X-RateLimit-Remaining"] = "0"
                headers["X-RateLimit-Reset"] = str(math.ceil(self._blocked_until))
                return RateDecision(True, fault.retry_after, headers)
            self._after_count += 1
            headers["X-RateLimit-Remaining"] = str(fault.after - self._after_count)
            headers["X-RateLimit-Reset"] = str(math.ceil(now + fault.retry_after))
            return RateDecision(False, 0, headers)


def mangle(body: bytes, kind: MalformedKind) -> tuple[bytes, str]:
    """A broken version of a JSON body, with the content type to send it under."""
    if kind == "non_json":
        return b"upstream returned: OK (not JSON)", "application/json"
    if kind == "truncated_json":
        return body[: max(1, len(body) // 2)], "application/json"
    if kind == "wrong_shape":
        return b'{"data": "unexpected", "items": 42, "results": "not-a-list"}', "application/json"
    if kind == "html":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
    return b"", "application/json"
