"""Fixtures for shared state: a real Redis per test module, and replicas of the real CLI pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..http.conftest import sandbox, serve  # noqa: F401 - the same sandbox and `serve` factory as tests/http
from ..redis_server import RedisServer, running_redis


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server
