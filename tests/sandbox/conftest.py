"""Fixtures: a read-only sandbox loaded with a small known dataset, and fresh sandboxes for mutations."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from sandbox_dataset import DATASET, PRIMARY_KEY, SECOND_KEY, auth

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox


@pytest.fixture(scope="session")
def static_sandbox() -> Iterator[RunningSandbox]:
    """Read-only: the 40-task DATASET, no simulator. Tests must not change its tasks or faults."""
    config = SandboxConfig(port=0, tasks=0, simulate=False, api_keys=[PRIMARY_KEY, SECOND_KEY])
    with running_sandbox(config) as sandbox:
        sandbox.create_tasks(DATASET)
        yield sandbox


@pytest.fixture(scope="session")
def client(static_sandbox: RunningSandbox) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=static_sandbox.base_url, headers=auth(), trust_env=False, timeout=30.0) as http:
        yield http


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """A fresh, empty sandbox (no simulator) for tests that change tasks, faults or the request log."""
    config = SandboxConfig(port=0, tasks=0, simulate=False, api_keys=[PRIMARY_KEY, SECOND_KEY])
    with running_sandbox(config) as running:
        yield running


@pytest.fixture
def fresh_client(sandbox: RunningSandbox) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=sandbox.base_url, headers=auth(), trust_env=False, timeout=30.0) as http:
        yield http
