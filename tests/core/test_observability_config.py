"""What turns traces and metrics on, and the labels they use: bounded, and never a key or an id."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mixpeek_tasks_mcp.observability import hooks
from mixpeek_tasks_mcp.observability.config import metrics_wanted, traces_wanted
from mixpeek_tasks_mcp.observability.labels import KeyLabels, key_hash, route_template
from mixpeek_tasks_mcp.settings import Settings


@pytest.mark.parametrize(
    ("env", "flag", "on"),
    [
        ({}, False, False),  # the spec's default exporter is otlp; here nothing set means nothing exported
        ({}, True, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, False, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, False, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, True, False),
        ({"OTEL_SDK_DISABLED": "true"}, True, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False, False),
    ],
)
def test_traces_wanted(env: dict[str, str], flag: bool, on: bool) -> None:
    assert traces_wanted(Settings(traces=flag), env) is on


def test_metrics_only_on_http_transports() -> None:
    assert not metrics_wanted(Settings())
    assert not metrics_wanted(Settings(metrics=True))  # stdio: nothing to scrape
    assert metrics_wanted(Settings(metrics=True, transport="streamable-http"))
    assert metrics_wanted(Settings(metrics=True, transport="sse"))


def test_key_aliases_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIXPEEK_METRICS_KEY_ALIASES", "3fa2c1d9=team-a, 77b0e1c2=team-b")
    assert Settings().metrics_key_aliases == {"3fa2c1d9": "team-a", "77b0e1c2": "team-b"}
    monkeypatch.setenv("MIXPEEK_METRICS_KEY_ALIASES", '{"3fa2c1d9": "team-a"}')
    assert Settings().metrics_key_aliases == {"3fa2c1d9": "team-a"}


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/tasks/list", "/v1/tasks/list"),
        ("/v1/tasks/list?limit=5&cursor=abc", "/v1/tasks/list"),
        ("/v1/tasks/6f1c2e9a-0b7d-4e55-9a1b-2f0c9d3e4a11", "/v1/tasks/{task_id}"),
        ("/v1/tasks/task%2F1/cancel", "/v1/tasks/{task_id}/cancel"),
        ("/v1/buckets/bkt_x/batches/btch_y/logs", "/v1/buckets/{bucket_id}/batches/{batch_id}/logs"),
        (
            "/v1/buckets/bkt_x/batches/btch_y/failed-documents",
            "/v1/buckets/{bucket_id}/batches/{batch_id}/failed-documents",
        ),
        (
            "/v1/buckets/b/batches/c/tiers/2/cancel",
            "/v1/buckets/{bucket_id}/batches/{batch_id}/tiers/{tier_num}/cancel",
        ),
        ("/v1/batches/btch_y/retry", "/v1/batches/{batch_id}/retry"),
        ("/v1/whatever/sk_live_secret", "/v1/{id}/{id}"),
    ],
)
def test_route_templates_hold_no_id(path: str, template: str) -> None:
    assert route_template(path) == template


def test_key_labels_are_hashes_or_aliases_and_bounded() -> None:
    key = "sk_live_0123456789abcdef"
    labels = KeyLabels({key_hash(key): "team-a"}, limit=3)
    assert labels.label(key) == "team-a"
    assert labels.label(None) == "none"
    others = [labels.label(f"sk_other_{n}") for n in range(5)]
    assert others[:3] == [key_hash(f"sk_other_{n}") for n in range(3)]
    assert others[3:] == ["other", "other"]
    assert labels.label("sk_other_0") == key_hash("sk_other_0")  # a label once given stays
    assert all("sk_" not in label for label in [*others, labels.label(key)])


@pytest.mark.parametrize(
    ("blocked", "flag", "needs"),
    [("prometheus_client", "--metrics", "[metrics]"), ("opentelemetry.sdk", "--traces", "[otel]")],
)
def test_a_missing_extra_is_a_clear_start_up_error(blocked: str, flag: str, needs: str) -> None:
    """Asked for without its extra installed, serve says which extra to install and binds nothing."""
    script = (
        f"import sys; sys.modules[{blocked!r}] = None; from mixpeek_tasks_mcp.cli import main; "
        f"sys.exit(main(['serve', '--transport', 'streamable-http', '--port', '0', {flag!r}]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIXPEEK_", "OTEL_"))}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert needs in done.stderr and "listening" not in done.stderr


class _Broken(hooks.Recorder):
    """A recorder whose every method raises: what a bug in the metrics code would look like."""

    active = True

    def __getattribute__(self, name: str) -> object:
        if name == "active":
            return True
        if name.startswith("__"):
            return object.__getattribute__(self, name)

        def broken(*args: object) -> None:
            raise RuntimeError(f"recorder bug in {name}")

        return broken


class _Client:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    @hooks.mixpeek_request
    async def request(self, method: str, path: str) -> str:
        self.calls += 1
        return await self.send()

    @hooks.mixpeek_attempt
    async def send(self) -> str:
        if self.fail:
            raise KeyError("upstream")
        return "answer"


@pytest.mark.anyio
async def test_a_broken_recorder_never_reaches_the_caller() -> None:
    hooks.install(_Broken())
    try:
        client = _Client()
        assert await client.request("GET", "/v1/tasks/x") == "answer" and client.calls == 1
        with pytest.raises(KeyError):  # the call's own error comes through unchanged
            await _Client(fail=True).request("GET", "/v1/tasks/x")
        with hooks.triage_page(1):
            pass
        hooks.budget_wait(hooks.ALL_KEYS, 1.0)
        hooks.task_watch_started()
        assert hooks.trace_link() is None
    finally:
        hooks.uninstall()
