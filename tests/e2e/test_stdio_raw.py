"""Raw JSON-RPC lines over stdio: what an SDK client cannot send, such as a lone surrogate escape."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from typing import Any

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .conftest import SECRET_KEY, api_requests

GIVE_UP_AFTER = 60.0
"""Only a bound so a broken server fails the test instead of hanging it; nothing is timed."""


def _answers(process: subprocess.Popen[bytes], ids: set[int]) -> dict[int, dict[str, Any]]:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    answers: dict[int, dict[str, Any]] = {}
    buffer = b""
    give_up = time.monotonic() + GIVE_UP_AFTER
    while not ids <= set(answers) and time.monotonic() < give_up:
        if not selector.select(timeout=1.0):
            continue
        chunk = os.read(process.stdout.fileno(), 65536)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            message = json.loads(line)
            if message.get("id") in ids:
                answers[message["id"]] = message
    return answers


def test_a_lone_surrogate_in_the_arguments_still_gets_an_answer(sandbox: RunningSandbox) -> None:
    sandbox.clear_requests()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "MIXPEEK_API_BASE": sandbox.base_url,
        "MIXPEEK_API_KEY": SECRET_KEY,
    }
    calls = {
        2: '{"name": "list_tasks", "arguments": {"status": "\\ud800"}}',
        3: '{"name": "wait_for_task", "arguments": {"task_id": "\\udfff"}}',
        4: '{"name": "list_tasks", "arguments": {"search": "a\\ud800b", "OR": 1}}',
        5: '{"name": "list_tasks", "arguments": {"status": "\\ud83d\\ude00"}}',
    }
    lines = [
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "1"},
                },
            }
        ),
        '{"jsonrpc": "2.0", "method": "notifications/initialized"}',
        *(
            f'{{"jsonrpc": "2.0", "id": {i}, "method": "tools/call", "params": {params}}}'
            for i, params in calls.items()
        ),
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "mixpeek_tasks_mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert process.stdin is not None
        process.stdin.write(("\n".join(lines) + "\n").encode("ascii"))
        process.stdin.flush()
        answers = _answers(process, {1, *calls})
    finally:
        process.kill()
        process.wait()
    assert set(answers) == {1, *calls}, f"no answer to {sorted({1, *calls} - set(answers))}"
    for request_id in calls:
        result = answers[request_id]["result"]
        text = result["content"][0]["text"]
        assert result["isError"] is True, text
        assert "nothing was sent to Mixpeek" in text
    assert "status:" in answers[2]["result"]["content"][0]["text"]
    assert "task_id:" in answers[3]["result"]["content"][0]["text"]
    assert "\U0001f600" in answers[5]["result"]["content"][0]["text"], "a valid surrogate pair is kept"
    assert api_requests(sandbox) == []
