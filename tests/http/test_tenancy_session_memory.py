"""One server, two users (issue 18, point 9): an idle session costs close to what it costs a bare SDK server.

mcp 2.3 keeps each session's last answer alive until its next request; our 48 KB tools/list answer, copied by
the SDK's serialization for every session, made a session that had listed tools hold ~316 KB (a bare server's
holds ~37 KB). Sessions now share one copy of equal list answers (shared_lists.py).
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import httpx2

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import CLIENT_KEY, SERVER_KEY
from .helpers import INITIALIZE, INITIALIZED, MCP_HEADERS, TOOLS_LIST, in_process_server, in_session, mcp_url

SESSIONS = 40
MAX_KB_PER_SESSION = 120
"""A bare one-tool SDK server holds ~37 KB per such session (docs/benchmarks.md); ours held ~316 KB."""


def listed_session(http: httpx2.Client, url: str, key: str) -> None:
    headers = {**MCP_HEADERS, "X-Mixpeek-Api-Key": key}
    session_id = http.post(url, json=INITIALIZE, headers=headers).headers["mcp-session-id"]
    inside = in_session(headers, session_id)
    assert http.post(url, json=INITIALIZED, headers=inside).is_success
    listed = http.post(url, json=TOOLS_LIST, headers=inside)
    assert listed.status_code == 200 and "wait_for_task" in listed.text


def test_a_session_that_listed_tools_holds_little_memory(sandbox: RunningSandbox) -> None:
    settings = Settings(
        transport="streamable-http", port=0, api_base=sandbox.base_url, api_key=SERVER_KEY, allow_key_passthrough=True
    )
    with in_process_server(settings) as server, httpx2.Client(timeout=30) as http:
        url = mcp_url(server)
        for key in (CLIENT_KEY, SERVER_KEY) * 3:  # first-use caches are not per-session memory
            listed_session(http, url, key)
        time.sleep(0.3)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            for number in range(SESSIONS):
                listed_session(http, url, (CLIENT_KEY, SERVER_KEY)[number % 2])
            time.sleep(0.5)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
    per_session_kb = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / SESSIONS / 1024
    assert per_session_kb < MAX_KB_PER_SESSION, f"{per_session_kb:.0f} KB per session"
