"""One server, two users (issue 18): a Streamable HTTP session belongs to whoever opened it, and neither its id
nor a key ever reaches the log.

User A and user B share the server's bearer token, each with their own passthrough key (the sandbox knows both).
"""

from __future__ import annotations

import re

import httpx2

from .conftest import CLIENT_KEY, SERVER_KEY, TOKEN, ServeFactory
from .helpers import MCP_HEADERS, TOOLS_LIST, in_session, open_session

LIST_TASKS = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_tasks", "arguments": {}}}
USER_A = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}", "X-Mixpeek-Api-Key": CLIENT_KEY}
USER_B = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}", "X-Mixpeek-Api-Key": SERVER_KEY}


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
