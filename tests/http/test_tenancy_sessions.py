"""One server, two users (issue 18): a Streamable HTTP session belongs to whoever opened it, and neither its id
nor a key ever reaches the log.

User A and user B share the server's bearer token, each with their own passthrough key (the sandbox knows both).
"""

from __future__ import annotations

import re

import httpx2

from .conftest import CLIENT_KEY, SERVER_KEY, TOKEN, ServeFactory

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
LIST_TASKS = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_tasks", "arguments": {}}}
BASE = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
USER_A = {**BASE, "Authorization": f"Bearer {TOKEN}", "X-Mixpeek-Api-Key": CLIENT_KEY}
USER_B = {**BASE, "Authorization": f"Bearer {TOKEN}", "X-Mixpeek-Api-Key": SERVER_KEY}


def open_session(http: httpx2.Client, url: str, user: dict[str, str]) -> str:
    response = http.post(url, json=INITIALIZE, headers=user)
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    assert http.post(url, json=INITIALIZED, headers=in_session(user, session_id)).status_code == 202
    return session_id


def in_session(user: dict[str, str], session_id: str) -> dict[str, str]:
    return {**user, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-06-18"}


def test_another_users_request_on_a_session_is_answered_as_if_it_did_not_exist(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--allow-key-passthrough", "--auth-token", TOKEN, "--log-level", "DEBUG")
    with httpx2.Client(timeout=30) as http:
        a_session = open_session(http, server.url, USER_A)
        unknown = http.post(server.url, json=TOOLS_LIST, headers=in_session(USER_B, "0" * 32))
        for message in (TOOLS_LIST, LIST_TASKS):
            stolen = http.post(server.url, json=message, headers=in_session(USER_B, a_session))
            assert stolen.status_code == 404, stolen.text
            assert stolen.text == unknown.text
        headers = {k: v for k, v in in_session(USER_B, a_session).items() if k != "Content-Type"}
        with http.stream("GET", server.url, headers={**headers, "Accept": "text/event-stream"}) as stream:
            assert stream.status_code == 404
        without_key = {k: v for k, v in in_session(USER_A, a_session).items() if k != "X-Mixpeek-Api-Key"}
        assert http.post(server.url, json=TOOLS_LIST, headers=without_key).status_code == 404
        # its owner still uses it
        owned = http.post(server.url, json=TOOLS_LIST, headers=in_session(USER_A, a_session))
        assert owned.status_code == 200 and "list_tasks" in owned.text
        b_session = open_session(http, server.url, USER_B)
        assert http.post(server.url, json=TOOLS_LIST, headers=in_session(USER_B, b_session)).status_code == 200
        assert http.delete(server.url, headers=in_session(USER_B, a_session)).status_code == 404
        assert http.post(server.url, json=TOOLS_LIST, headers=in_session(USER_A, a_session)).status_code == 200
        assert http.delete(server.url, headers=in_session(USER_A, a_session)).status_code in (200, 204)
    server.stop()
    log = server.stderr
    assert "DEBUG" in log  # the log was on, and verbose
    for secret in (a_session, b_session, a_session[:16], b_session[:16], CLIENT_KEY, SERVER_KEY, TOKEN):
        assert secret not in log, f"{secret[:6]}... is in the server's log"
    assert not re.search(r"\b[0-9a-f]{32}\b", log), "something shaped like a session id is in the log"
