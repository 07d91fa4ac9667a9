"""The write tools over Streamable HTTP, served by the real CLI: no header turns them on, and a confirmation
token issued to one passthrough key does not work for another."""

from __future__ import annotations

import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .conftest import CLIENT_KEY, ServeFactory, mcp_session

pytestmark = pytest.mark.anyio
WRITE_TOOLS = {"cancel_tasks", "retry_batch"}
ENABLING_HEADERS = {
    "X-Mixpeek-Allow-Writes": "true",
    "Mixpeek-Allow-Writes": "1",
    "X-Allow-Writes": "1",
    "X-Mixpeek-Api-Key": CLIENT_KEY,
}


def _text(result: object) -> str:
    return "\n".join(getattr(block, "text", "") for block in getattr(result, "content", []))


def _writes(sandbox: RunningSandbox) -> list[str]:
    return [e["path"] for e in sandbox.requests() if e["method"] in ("POST", "DELETE") and "/batches/" in e["path"]]


async def test_no_header_turns_the_write_tools_on(serve: ServeFactory, sandbox: RunningSandbox) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    async with mcp_session(server.url, ENABLING_HEADERS) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        called = await session.call_tool("retry_batch", {"batch_id": "btch_http01"})
    assert "inspect_batch" in names and not names & WRITE_TOOLS
    assert called.is_error and "Unknown tool" in _text(called)


async def test_a_token_issued_to_one_key_is_refused_for_another(serve: ServeFactory, sandbox: RunningSandbox) -> None:
    sandbox.create_batch(
        batch_id="btch_http02",
        bucket_id="bkt_products",
        tiers=[{"status": "COMPLETED"}, {"status": "FAILED"}],
        failures={"transient": 2},
        failed_tier=1,
    )
    server = serve("streamable-http", "--allow-key-passthrough", "--allow-writes")
    arguments = {"batch_id": "btch_http02"}
    async with mcp_session(server.url, {"X-Mixpeek-Api-Key": CLIENT_KEY}) as client_session:
        names = {tool.name for tool in (await client_session.list_tools()).tools}
        preview = await client_session.call_tool("retry_batch", arguments)
    assert names >= WRITE_TOOLS
    structured = preview.structured_content or {}
    assert structured.get("outcome") == "needs_confirmation", _text(preview)
    token = structured["confirmation_token"]
    async with mcp_session(server.url) as server_key_session:  # the server's own key: another identity
        replay = await server_key_session.call_tool("retry_batch", {**arguments, "confirmation_token": token})
    assert replay.is_error and "issued to another API key" in _text(replay)
    assert _writes(sandbox) == []
    async with mcp_session(server.url, {"X-Mixpeek-Api-Key": CLIENT_KEY}) as client_session:
        done = await client_session.call_tool("retry_batch", {**arguments, "confirmation_token": token})
    assert (done.structured_content or {}).get("outcome") == "done", _text(done)
    assert _writes(sandbox) == ["/v1/buckets/bkt_products/batches/btch_http02/retry"]
