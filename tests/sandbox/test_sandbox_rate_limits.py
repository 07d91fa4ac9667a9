"""The sandbox's per-key rate limits: advertised on every response and enforced like Mixpeek's (§9.3)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import pytest
from sandbox_dataset import PRIMARY_KEY, SECOND_KEY, auth

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox


@pytest.fixture
def limited() -> Iterator[RunningSandbox]:
    config = SandboxConfig(port=0, tasks=0, simulate=False, rate_limit_rpm=3, api_keys=[PRIMARY_KEY, SECOND_KEY])
    with running_sandbox(config) as sandbox:
        yield sandbox


def _client(sandbox: RunningSandbox, key: str) -> httpx2.Client:
    return httpx2.Client(base_url=sandbox.base_url, headers=auth(key), trust_env=False, timeout=30.0)


def test_the_default_limit_is_advertised_on_every_response(sandbox: RunningSandbox) -> None:
    with _client(sandbox, PRIMARY_KEY) as http:
        listed = http.post("/v1/tasks/list", json={})
        missing = http.get("/v1/tasks/no-such-task")
    assert listed.status_code == 200 and missing.status_code == 404
    for response in (listed, missing):
        assert response.headers["X-RateLimit-Limit"] == "600"
        assert response.headers["X-RateLimit-Window"] == "60"
        assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert int(missing.headers["X-RateLimit-Remaining"]) == int(listed.headers["X-RateLimit-Remaining"]) - 1


def test_beyond_the_limit_a_429_says_when_and_why(limited: RunningSandbox) -> None:
    with _client(limited, PRIMARY_KEY) as http:
        answers = [http.post("/v1/tasks/list", json={}) for _ in range(5)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
    assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0", "0"]
    refused = answers[3]
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    error = refused.json()["error"]
    assert error["type"] == "TooManyRequestsError"
    assert error["details"] == {
        "limit": 3,
        "window": "1m",
        "retry_after": retry_after,
        "retry_after_seconds": retry_after,
    }
    assert int(refused.headers["X-RateLimit-Reset"]) - time.time() <= retry_after + 1


def test_each_key_has_its_own_window(limited: RunningSandbox) -> None:
    with _client(limited, PRIMARY_KEY) as first, _client(limited, SECOND_KEY) as second:
        assert [first.post("/v1/tasks/list", json={}).status_code for _ in range(4)] == [200, 200, 200, 429]
        other = [second.post("/v1/tasks/list", json={}) for _ in range(3)]
    assert [answer.status_code for answer in other] == [200, 200, 200]
    assert [answer.headers["X-RateLimit-Remaining"] for answer in other] == ["2", "1", "0"]


def test_the_window_moves_and_refused_requests_do_not_count(limited: RunningSandbox) -> None:
    limited.set_rate_limit(2, window=1.5)
    with _client(limited, PRIMARY_KEY) as http:
        assert [http.post("/v1/tasks/list", json={}).status_code for _ in range(3)] == [200, 200, 429]
        time.sleep(1.6)  # the window moves on: both counted requests have left it
        assert [http.post("/v1/tasks/list", json={}).status_code for _ in range(3)] == [200, 200, 429]
    assert limited.rate_limit() == {"rpm": 2, "window": 1.5, "headers": True}


def test_limits_without_headers_and_no_limit(limited: RunningSandbox) -> None:
    limited.set_rate_limit(1, headers=False)
    with _client(limited, PRIMARY_KEY) as http:
        ok, refused = (http.post("/v1/tasks/list", json={}) for _ in range(2))
        assert ok.status_code == 200 and "X-RateLimit-Limit" not in ok.headers
        assert refused.status_code == 429 and "X-RateLimit-Limit" not in refused.headers
        assert int(refused.headers["Retry-After"]) >= 1
        limited.set_rate_limit(None)
        lifted = [http.post("/v1/tasks/list", json={}) for _ in range(5)]
    assert all(answer.status_code == 200 and "X-RateLimit-Limit" not in answer.headers for answer in lifted)


def test_the_request_log_records_when_each_request_came(limited: RunningSandbox) -> None:
    before = time.time()
    with _client(limited, PRIMARY_KEY) as http:
        http.post("/v1/tasks/list", json={})
    (entry,) = [item for item in limited.requests() if item["path"] == "/v1/tasks/list"]
    assert before <= entry["at"] <= time.time()


def test_a_bad_rate_limit_setting_is_refused(limited: RunningSandbox) -> None:
    answer = httpx2.post(f"{limited.base_url}/_sandbox/rate-limit", json={"rpm": 0}, trust_env=False)
    assert answer.status_code == 422
    assert limited.rate_limit()["rpm"] == 3
