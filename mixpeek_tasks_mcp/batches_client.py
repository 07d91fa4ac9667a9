"""Mixpeek's batch endpoints (a batch and its tiers, logs, failed documents; kill, cancel, retry).

Every call goes through ``TasksClient._request``, so it gets the same deadline, retries, shared request budget,
byte cap, strict JSON decoding and key redaction as the task calls. Most of these answers have no schema in
Mixpeek's API (``Dict[str, object]`` in the SDK), so the methods return the decoded JSON as it came: the
``batches`` capability reads it defensively and says what was missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .client import Credentials, TasksClient

DEFAULT_MAX_RETRY_COUNT = 3
"""Mixpeek's own default for ``RetryBatchRequest.max_retry_count``."""


def _segment(value: str) -> str:
    return quote(value, safe="")


def _bucket_path(bucket_id: str, batch_id: str) -> str:
    return f"/v1/buckets/{_segment(bucket_id)}/batches/{_segment(batch_id)}"


def _batch_path(batch_id: str, bucket_id: str | None) -> str:
    """The batch under its bucket, or org-level (``/v1/batches/{id}``) when no bucket is known."""
    return _bucket_path(bucket_id, batch_id) if bucket_id else f"/v1/batches/{_segment(batch_id)}"


class BatchesClient:
    """The batch endpoints of one TasksClient (sharing its connection pool and budget)."""

    def __init__(self, tasks: TasksClient) -> None:
        self._tasks = tasks

    async def get_batch(
        self, batch_id: str, *, credentials: Credentials, bucket_id: str | None = None, deadline: float | None = None
    ) -> Any:
        """``GET /v1/buckets/{bucket}/batches/{id}``, or ``GET /v1/batches/{id}`` (org-level) without a bucket."""
        return await self._tasks._request("GET", _batch_path(batch_id, bucket_id), credentials, deadline=deadline)

    async def batch_logs(
        self, bucket_id: str, batch_id: str, *, credentials: Credentials, tier_num: int | None = None
    ) -> Any:
        """``GET .../logs`` (Ray job submission logs; shape undocumented, no tail or size options)."""
        params = {"tier_num": str(tier_num)} if tier_num is not None else None
        path = f"{_bucket_path(bucket_id, batch_id)}/logs"
        return await self._tasks._request("GET", path, credentials, params=params)

    async def failed_documents(
        self,
        bucket_id: str,
        batch_id: str,
        *,
        credentials: Credentials,
        limit: int,
        tier_num: int | None = None,
        offset: int = 0,
    ) -> Any:
        """``GET .../failed-documents`` (shape undocumented); only the filters given are sent, as the SDK does."""
        params = {"limit": str(limit), "offset": str(offset)}
        if tier_num is not None:
            params["tier_num"] = str(tier_num)
        path = f"{_bucket_path(bucket_id, batch_id)}/failed-documents"
        return await self._tasks._request("GET", path, credentials, params=params)

    async def kill_task(self, task_id: str, *, credentials: Credentials) -> Any:
        """``DELETE /v1/tasks/{task_id}``: documented as idempotent (a missing or finished task succeeds)."""
        return await self._tasks._request("DELETE", f"/v1/tasks/{_segment(task_id)}", credentials)

    async def cancel_batch(
        self, batch_id: str, *, credentials: Credentials, bucket_id: str | None = None, reason: str | None = None
    ) -> Any:
        """``POST .../cancel``: a TaskResponse whose ``cancellation`` counts the Ray jobs reached."""
        path = f"{_batch_path(batch_id, bucket_id)}/cancel"
        params = {"reason": reason} if reason else None
        return await self._tasks._request("POST", path, credentials, params=params)

    async def cancel_tier(
        self, bucket_id: str, batch_id: str, tier_num: int, *, credentials: Credentials, reason: str | None = None
    ) -> Any:
        """``POST .../tiers/{tier_num}/cancel``: one tier, its siblings untouched (answer shape undocumented)."""
        path = f"{_bucket_path(bucket_id, batch_id)}/tiers/{tier_num}/cancel"
        params = {"reason": reason} if reason else None
        return await self._tasks._request("POST", path, credentials, params=params)

    async def retry_batch(
        self,
        bucket_id: str,
        batch_id: str,
        *,
        credentials: Credentials,
        retry_mode: str,
        tier_nums: Sequence[int] | None = None,
        max_retry_count: int = DEFAULT_MAX_RETRY_COUNT,
    ) -> Any:
        """``POST .../retry`` with a RetryBatchRequest (declared keys only: extra keys become 422 in 2026-11)."""
        body: dict[str, Any] = {"retry_mode": retry_mode, "max_retry_count": max_retry_count}
        if tier_nums:
            body["tier_nums"] = list(tier_nums)
        path = f"{_bucket_path(bucket_id, batch_id)}/retry"
        return await self._tasks._request("POST", path, credentials, json=body)
