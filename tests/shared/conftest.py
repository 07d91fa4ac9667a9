"""Fixtures for shared state: a real Redis per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..redis_server import RedisServer, running_redis


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server

