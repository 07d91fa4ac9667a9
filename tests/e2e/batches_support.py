"""Shared by the batch e2e tests: a sandbox of their own (they make batches and start retry runs, which must not
change the tasks the other e2e modules count), settings on it, and small helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import SECRET_KEY

OTHER_KEY = "sk_test_e2e_other_91ac33d07e"
"""A second key the sandbox accepts (tokens issued to one key must not work for the other)."""
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def batch_sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY, OTHER_KEY], tasks=120, simulate=False, seed=23)
    with running_sandbox(config) as running:
        yield running


def batch_settings(sandbox: RunningSandbox, **overrides: Any) -> Settings:
    """Default settings on the sandbox, except: a request budget of 600 a minute, the Pro-tier limit this sandbox
    advertises and enforces per key (the default 10 is the Free tier's, and would make each flow wait seconds per
    request), and short retry pauses. ``allow_writes`` only where a test turns it on."""
    sandbox.clear_faults()
    sandbox.clear_requests()
    values: dict[str, Any] = {
        "api_key": SecretStr(SECRET_KEY),
        "api_base": sandbox.base_url,
        "retry_after_cap": 1.0,
        "max_requests_per_minute": 600,
        **overrides,
    }
    return Settings(**values)


def writes(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """The write requests the sandbox received (POST to a batch route, DELETE of a task)."""
    return [
        entry
        for entry in sandbox.requests()
        if entry["method"] in ("POST", "DELETE") and entry.get("operation") not in (None, "list_tasks")
    ]


def failing_batch(sandbox: RunningSandbox, batch_id: str, **extra: Any) -> dict[str, Any]:
    """A finished batch: tier 0 completed, tier 1 failed (6 transient, 3 permanent, 2 resource), tier 2 never ran."""
    spec: dict[str, Any] = {
        "batch_id": batch_id,
        "bucket_id": "bkt_products",
        "tiers": [{"status": "COMPLETED"}, {"status": "FAILED", "error": "Tier 1 failed: 11 objects"}, {}],
        "failures": {"transient": 6, "permanent": 3, "resource": 2},
        "failed_tier": 1,
        "retry_seconds": 1.0,
        **extra,
    }
    return sandbox.create_batch(**spec)


def running_batch(sandbox: RunningSandbox, batch_id: str, **extra: Any) -> dict[str, Any]:
    """A batch whose tier 1 is running (until canceled); tier 2 not started."""
    spec: dict[str, Any] = {
        "batch_id": batch_id,
        "bucket_id": "bkt_products",
        "tiers": [{"status": "COMPLETED"}, {"status": "IN_PROGRESS"}, {}],
        **extra,
    }
    return sandbox.create_batch(**spec)
