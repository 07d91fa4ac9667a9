"""Configuration from the environment and flags, and clear refusals of bad values."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mixpeek_tasks_mcp.settings import Settings


def test_lists_accept_json_or_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIXPEEK_ALLOWED_HOSTS", "a.example.com, b.example.com:*")
    monkeypatch.setenv("MIXPEEK_ALLOWED_ORIGINS", '["https://app.example.com"]')
    settings = Settings()
    assert settings.allowed_hosts == ["a.example.com", "b.example.com:*"]
    assert settings.allowed_origins == ["https://app.example.com"]


def test_api_base_is_normalized_and_the_key_is_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIXPEEK_API_BASE", "https://api.mixpeek.com/v1/")
    monkeypatch.setenv("MIXPEEK_API_KEY", "sk_live_hidden_123")
    settings = Settings()
    assert settings.api_base == "https://api.mixpeek.com"
    assert "sk_live_hidden_123" not in repr(settings) + str(settings.model_dump())


def test_blank_key_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIXPEEK_API_KEY", "  ")
    assert Settings().api_key is None


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"MIXPEEK_PORT": "abc"}, "port"),
        ({"MIXPEEK_API_BASE": "ftp://x"}, "api_base"),
        ({"MIXPEEK_ALLOWED_HOSTS": "[oops"}, "allowed_hosts"),
        ({"MIXPEEK_SCHEMA_PROFILE": "strict"}, "schema_profile"),
    ],
)
def test_bad_configuration_is_a_clear_refusal_not_a_traceback(env: dict[str, str], fragment: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mixpeek_tasks_mcp", "schema"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr and fragment in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_the_schema_profile_is_a_setting_and_a_flag(how: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    args = ["schema"]
    if how == "flag":
        args += ["--schema-profile", "openai-strict"]
    else:
        env["MIXPEEK_SCHEMA_PROFILE"] = "openai-strict"
    result = subprocess.run(
        [sys.executable, "-m", "mixpeek_tasks_mcp", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    tools = json.loads(result.stdout)
    assert {tool["name"] for tool in tools} >= {"list_tasks", "triage_tasks", "wait_for_task"}
    for tool in tools:
        schema = tool["inputSchema"]
        assert schema["additionalProperties"] is False
        assert set(schema["required"]) == set(schema["properties"])
