"""Independent clients: the MCP Inspector CLI (stdio, Streamable HTTP, SSE) and the MCP conformance suite.

The tools are pinned in tests/npm (``npm ci`` there; it brings its own Node 22). Without them these tests
skip locally, but fail under CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from ..processes import REPO
from .conftest import SERVER_KEY, TOKEN, ServeFactory

pytestmark = pytest.mark.npm

NPM_BIN = REPO / "tests" / "npm" / "node_modules" / ".bin"
TOOL_TIMEOUT = 120

# Scenarios that apply to this server (see docs/conformance.md for the others).
CONFORMANCE = [
    "server-initialize",
    "ping",
    "tools-list",
    "dns-rebinding-protection",
    "resources-list",
    "prompts-list",
    "completion-complete",
    "server-sse-multiple-streams",
]
STATEFUL_ONLY = {"server-sse-multiple-streams"}


@pytest.fixture(scope="module")
def npm_bin() -> Path:
    """tests/npm/node_modules/.bin with Node 22, the Inspector and the conformance suite."""
    needed = [NPM_BIN / name for name in ("node", "mcp-inspector", "conformance")]
    if not all(path.exists() for path in needed):
        reason = "pinned npm tools missing: run `npm ci` in tests/npm"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI must run these tests, not skip them)")
        pytest.skip(reason)
    return NPM_BIN


def _node_env(npm_bin: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    env["PATH"] = os.pathsep.join([str(npm_bin), env.get("PATH", "")])  # Node 22 first
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def run_tool(npm_bin: Path, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run one of the pinned npm tools (bounded), returning its output."""
    return subprocess.run(
        [str(npm_bin / args[0]), *args[1:]],
        cwd=cwd,
        env=_node_env(npm_bin),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def inspector(npm_bin: Path, *args: str) -> Any:
    """``mcp-inspector --cli ARGS``; returns the JSON it printed (and asserts it succeeded)."""
    done = run_tool(npm_bin, "mcp-inspector", "--cli", *args)
    assert done.returncode == 0, f"inspector failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def test_node_is_22(npm_bin: Path) -> None:
    done = run_tool(npm_bin, "node", "--version")
    assert done.stdout.startswith("v22."), done.stdout


# --- Inspector over stdio ---


def _stdio(sandbox_args: list[str]) -> list[str]:
    return [sys.executable, "-m", "mixpeek_tasks_mcp", "serve", *sandbox_args, "--cwd", str(REPO)]


def test_inspector_stdio_with_builtin_sandbox(npm_bin: Path) -> None:
    tools = inspector(npm_bin, *_stdio(["--sandbox"]), "--method", "tools/list", "--strict")
    assert sorted(tool["name"] for tool in tools["tools"]) == [
        "inspect_batch",
        "list_tasks",
        "triage_tasks",
        "wait_for_task",
    ]
    result = inspector(
        npm_bin, *_stdio(["--sandbox"]), "--method", "tools/call", "--tool-name", "list_tasks", "--tool-arg", "limit=3"
    )
    assert not result.get("isError") and len(result["structuredContent"]["tasks"]) == 3


def test_inspector_stdio_calls_both_tools(npm_bin: Path, sandbox: RunningSandbox) -> None:
    task_id = sandbox.create_task(status="COMPLETED")["task_id"]
    server = [
        *_stdio([]),
        "-e",
        f"MIXPEEK_API_KEY={SERVER_KEY}",
        "-e",
        f"MIXPEEK_API_BASE={sandbox.base_url}",
        "-e",
        f"PYTHONPATH={REPO}",
    ]
    listed = inspector(npm_bin, *server, "--method", "tools/call", "--tool-name", "list_tasks", "--tool-arg", "limit=2")
    assert not listed.get("isError") and len(listed["structuredContent"]["tasks"]) == 2
    waited = inspector(
        npm_bin, *server, "--method", "tools/call", "--tool-name", "wait_for_task", "--tool-arg", f"task_id={task_id}"
    )
    assert not waited.get("isError"), waited
    assert waited["structuredContent"]["outcome"] == "success"


def test_inspector_stdio_lists_and_reads_resources_and_prompts(npm_bin: Path) -> None:
    server = _stdio(["--sandbox"])
    resources = inspector(npm_bin, *server, "--method", "resources/list")
    uris = {resource["uri"] for resource in resources["resources"]}
    assert uris == {"mixpeek://tasks/active", "mixpeek://tasks/failed/recent"}
    templates = inspector(npm_bin, *server, "--method", "resources/templates/list")
    assert [t["uriTemplate"] for t in templates["resourceTemplates"]] == ["mixpeek://tasks/{task_id}"]
    failed = inspector(npm_bin, *server, "--method", "resources/read", "--uri", "mixpeek://tasks/failed/recent")
    assert failed["contents"][0]["text"].startswith("Showing 1-20 of ")
    prompts = inspector(npm_bin, *server, "--method", "prompts/list")
    assert sorted(prompt["name"] for prompt in prompts["prompts"]) == ["explain_task", "triage", "watch"]
    triage = inspector(
        npm_bin, *server, "--method", "prompts/get", "--prompt-name", "triage", "--prompt-args", "since=12h"
    )
    assert "triage_tasks {" in triage["messages"][0]["content"]["text"]


# --- Inspector over HTTP ---


@pytest.fixture(params=["streamable-http", "sse"])
def http_server(request: pytest.FixtureRequest, serve: ServeFactory) -> Iterator[Any]:
    yield serve(request.param, "--auth-token", TOKEN)


def test_inspector_http_lists_and_calls_both_tools(npm_bin: Path, sandbox: RunningSandbox, http_server: Any) -> None:
    task_id = sandbox.create_task(status="FAILED", error="decoder crashed")["task_id"]
    transport = "http" if http_server.path == "/mcp" else "sse"
    target = [http_server.url, "--transport", transport, "--header", f"Authorization: Bearer {TOKEN}"]
    tools = inspector(npm_bin, *target, "--method", "tools/list", "--strict")
    assert sorted(tool["name"] for tool in tools["tools"]) == [
        "inspect_batch",
        "list_tasks",
        "triage_tasks",
        "wait_for_task",
    ]
    listed = inspector(npm_bin, *target, "--method", "tools/call", "--tool-name", "list_tasks", "--tool-arg", "limit=3")
    assert len(listed["structuredContent"]["tasks"]) == 3
    waited = inspector(
        npm_bin, *target, "--method", "tools/call", "--tool-name", "wait_for_task", "--tool-arg", f"task_id={task_id}"
    )
    assert waited["structuredContent"]["outcome"] == "failure"

    refused = run_tool(
        npm_bin, "mcp-inspector", "--cli", http_server.url, "--transport", transport, "--method", "tools/list"
    )
    assert refused.returncode != 0  # no token


def test_inspector_http_reads_a_task_and_gets_prompts(npm_bin: Path, sandbox: RunningSandbox, http_server: Any) -> None:
    task_id = sandbox.create_task(status="FAILED", error="decoder crashed", task_type="thumbnail")["task_id"]
    transport = "http" if http_server.path == "/mcp" else "sse"
    target = [http_server.url, "--transport", transport, "--header", f"Authorization: Bearer {TOKEN}"]
    read = inspector(npm_bin, *target, "--method", "resources/read", "--uri", f"mixpeek://tasks/{task_id}")
    [content] = read["contents"]
    assert content["mimeType"] == "application/json"
    assert json.loads(content["text"])["task"]["error"] == "decoder crashed"
    missing = run_tool(
        npm_bin, "mcp-inspector", "--cli", *target, "--method", "resources/read", "--uri", "mixpeek://tasks/nope"
    )
    assert missing.returncode != 0 and "not found" in missing.stdout + missing.stderr
    explained = inspector(
        npm_bin,
        *target,
        "--method",
        "prompts/get",
        "--prompt-name",
        "explain_task",
        "--prompt-args",
        f"task_id={task_id}",
    )
    kinds = [message["content"]["type"] for message in explained["messages"]]
    assert kinds == ["resource", "text"]
    watch = inspector(
        npm_bin, *target, "--method", "prompts/get", "--prompt-name", "watch", "--prompt-args", "batch_id=btch_1"
    )
    assert '"until": "none_active"' in watch["messages"][0]["content"]["text"]


# --- the conformance suite ---


def _conformance(npm_bin: Path, url: str, scenario: str, out: Path) -> str:
    done = run_tool(npm_bin, "conformance", "server", "--url", url, "--scenario", scenario, "-o", str(out))
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"conformance {scenario} failed:\n{output}"
    assert " 0 failed" in output, output
    return output


@pytest.mark.parametrize("scenario", CONFORMANCE)
def test_conformance(npm_bin: Path, serve: ServeFactory, scenario: str, tmp_path: Path) -> None:
    server = serve("streamable-http")
    output = _conformance(npm_bin, server.url, scenario, tmp_path)
    assert "Passed: 0/0" not in output  # the scenario really checked something


@pytest.mark.parametrize("scenario", [s for s in CONFORMANCE if s not in STATEFUL_ONLY])
def test_conformance_stateless(npm_bin: Path, serve: ServeFactory, scenario: str, tmp_path: Path) -> None:
    server = serve("streamable-http", "--stateless")
    output = _conformance(npm_bin, server.url, scenario, tmp_path)
    assert "Passed: 0/0" not in output
