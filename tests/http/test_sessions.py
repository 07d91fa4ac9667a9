"""Streamable HTTP sessions cannot pile up (issue 13, defect 15): an idle timeout operators can set, and a cap
that ends the session idle the longest; an ended session's id answers 404, so its client initializes again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2

from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import SERVER_KEY, ServeFactory
from .helpers import MCP_HEADERS, TOOLS_LIST, in_process_server, in_session, mcp_url, open_session


def status_of(http: httpx2.Client, url: str, session_id: str) -> int:
    response = http.post(url, json=TOOLS_LIST, headers=in_session(MCP_HEADERS, session_id))
    if response.status_code == 200:
        assert "list_tasks" in response.text
    return response.status_code


@contextmanager
def get_stream(url: str, session_id: str) -> Iterator[None]:
    """Hold the session's GET stream open (a request in flight) while the body runs."""
    opened, done = threading.Event(), threading.Event()

    def hold() -> None:
        headers = in_session({"Accept": "text/event-stream"}, session_id)
        with httpx2.Client(timeout=30) as http, http.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200
            opened.set()
            done.wait(30)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert opened.wait(10), "the GET stream did not open"
    try:
        yield
    finally:
        done.set()
        thread.join(10)


def test_beyond_the_cap_the_sessions_idle_the_longest_end_and_answer_404(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--max-sessions", "3")
    with httpx2.Client(timeout=30) as http:
        ids = [open_session(http, server.url) for _ in range(6)]
        statuses = [status_of(http, server.url, session_id) for session_id in ids]
        assert statuses == [404, 404, 404, 200, 200, 200]
        # the client of an ended session initializes again, and that works (ending the oldest idle one)
        again = open_session(http, server.url)
        assert status_of(http, server.url, again) == 200
        assert status_of(http, server.url, ids[3]) == 404


def test_a_session_with_a_request_in_flight_is_not_ended_to_make_room(serve: ServeFactory) -> None:
    server = serve("streamable-http", MIXPEEK_MAX_SESSIONS="2")
    with httpx2.Client(timeout=30) as http:
        busy = open_session(http, server.url)
        idle = open_session(http, server.url)
        with get_stream(server.url, busy):
            newer = open_session(http, server.url)
            assert status_of(http, server.url, idle) == 404
            assert status_of(http, server.url, newer) == 200
            assert status_of(http, server.url, busy) == 200


def test_an_idle_session_expires_after_the_configured_timeout(serve: ServeFactory) -> None:
    server = serve("streamable-http", MIXPEEK_SESSION_IDLE_TIMEOUT="1")
    with httpx2.Client(timeout=30) as http:
        session_id = open_session(http, server.url)
        assert status_of(http, server.url, session_id) == 200
        time.sleep(3.0)  # each request restarts the idle countdown: ask only after it has run out
        assert status_of(http, server.url, session_id) == 404
        assert status_of(http, server.url, open_session(http, server.url)) == 200


def test_the_count_of_sessions_stays_at_the_cap_however_many_are_abandoned(sandbox: RunningSandbox) -> None:
    """In process, counted by the session manager: 60 sessions opened and abandoned leave 5."""
    settings = Settings(
        transport="streamable-http", port=0, api_base=sandbox.base_url, api_key=SERVER_KEY, max_sessions=5
    )
    with in_process_server(settings) as server:
        cap = server.config.app.state.sessions
        with httpx2.Client(timeout=30) as http:
            for _ in range(60):
                open_session(http, mcp_url(server))
                assert cap.open <= 5
        assert cap.open == 5 and cap.ended == 55
