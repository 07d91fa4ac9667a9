"""Without MIXPEEK_REDIS_URL nothing Redis is imported; list results carry honest cache hints (2026-07-28)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mcp import Client

from mixpeek_tasks_mcp.server import LIST_TTL_MS, build_server
from mixpeek_tasks_mcp.settings import Settings

from ..processes import REPO, clean_env

CHECK = """
import sys
from mixpeek_tasks_mcp.http.app import build_http_app
from mixpeek_tasks_mcp.settings import Settings
build_http_app(Settings(transport="streamable-http", {extra}))
prefixes = ("redis.", "mixpeek_tasks_mcp.shared.")
loaded = sorted(name for name in sys.modules if name == "redis" or name.startswith(prefixes))
print(",".join(loaded))
"""


def _loaded(extra: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(extra=extra)], cwd=REPO, env=clean_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return [name for name in result.stdout.strip().split(",") if name]


def test_without_a_url_no_redis_module_is_loaded() -> None:
    assert _loaded("") == ["mixpeek_tasks_mcp.shared.status"]  # the plain status /healthz reads


def test_with_a_url_the_shared_package_is_loaded() -> None:
    loaded = _loaded('redis_url="redis://127.0.0.1:1/0"')
    assert "redis" in loaded and "mixpeek_tasks_mcp.shared.setup" in loaded


@pytest.mark.anyio
async def test_list_results_say_they_stay_fresh_for_an_hour_per_client() -> None:
    async with Client(build_server(Settings(api_key="sk_hints")), cache=None) as client:
        assert client.protocol_version == "2026-07-28"
        for result in (await client.list_tools(), await client.list_prompts(), await client.list_resources()):
            assert (result.ttl_ms, result.cache_scope) == (LIST_TTL_MS, "private")
        templates = await client.list_resource_templates()
        assert (templates.ttl_ms, templates.cache_scope) == (LIST_TTL_MS, "private")
