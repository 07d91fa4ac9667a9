"""Confirmation before a write: an elicitation form where the client has one, else a preview and a token.

* Clients that declare form elicitation are asked through it: mid-call (``elicitation/create``) on the
  handshake protocols, or with an ``InputRequiredResult`` the client answers and retries on 2026-07-28
  (its ``request_state`` is a token of this book, so the retry is bound like a token).
* Other clients get a preview and a token bound to the tool, the exact arguments (a digest) and the caller's key
  identity (a hash, never the key), good for ``CONFIRMATION_SECONDS`` and one use. A token replayed with other
  arguments or by another key is refused, and stays good for its own call.
Declined, canceled, expired or refused: nothing is sent to Mixpeek.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from pydantic import BaseModel, Field

from ..clock import Clock
from .bounds import CONFIRMATION_SECONDS, MAX_PENDING_CONFIRMATIONS

Decision = Literal["go", "declined", "canceled", "token"]
INPUT_KEY = "confirm"
TOKEN_PREFIX = "mtc_"


class ConfirmForm(BaseModel):
    """The one field of the confirmation form."""

    confirm: bool = Field(description="Yes, go ahead.")


@dataclass(frozen=True)
class Pending:
    tool: str
    digest: str
    identity: str
    expires_at: float


def digest(tool: str, arguments: Mapping[str, Any]) -> str:
    canonical = json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ConfirmationBook:
    """Pending confirmations of one server (shared by its sessions; kept in memory)."""

    def __init__(self, clock: Clock, ttl: float = CONFIRMATION_SECONDS) -> None:
        self._clock = clock
        self.ttl = ttl
        self._pending: OrderedDict[str, Pending] = OrderedDict()

    def issue(self, tool: str, arguments: Mapping[str, Any], identity: str) -> str:
        now = self._clock.now()
        for token in [t for t, p in self._pending.items() if p.expires_at <= now]:
            del self._pending[token]
        while len(self._pending) >= MAX_PENDING_CONFIRMATIONS:
            self._pending.popitem(last=False)
        token = TOKEN_PREFIX + secrets.token_urlsafe(18)
        self._pending[token] = Pending(tool, digest(tool, arguments), identity, now + self.ttl)
        return token

    def redeem(self, token: str, tool: str, arguments: Mapping[str, Any], identity: str) -> str | None:
        """None when the token is good for exactly this call (it is used up); else why it is refused."""
        problem = self.check(token, tool, arguments, identity)
        if problem is None:
            del self._pending[token]
        return problem

    def check(self, token: str, tool: str, arguments: Mapping[str, Any], identity: str) -> str | None:
        """Like redeem, without using the token up (a bad token is refused before anything is read)."""
        pending = self._pending.get(token)
        if pending is None:
            return "this confirmation_token is unknown or was already used"
        if pending.expires_at <= self._clock.now():
            del self._pending[token]
            return f"this confirmation_token expired (tokens last {self.ttl:.0f} s)"
        if pending.identity != identity:
            return "this confirmation_token was issued to another API key"
        if pending.tool != tool or pending.digest != digest(tool, arguments):
            return "this confirmation_token was issued for other arguments; it confirms only its own exact call"
        return None


def form_supported(ctx: Context[Any, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def refused(tool: str, why: str) -> ToolError:
    return ToolError(
        f"{tool} was not confirmed: {why}. Nothing was sent to Mixpeek. Call {tool} again without "
        "confirmation_token for a fresh preview and token."
    )


def _answer(response: object) -> Decision:
    if not isinstance(response, ElicitResult):
        return "canceled"
    if response.action == "accept":
        content = response.content or {}
        return "go" if content.get("confirm") is True else "declined"
    return "declined" if response.action == "decline" else "canceled"


async def confirm(
    ctx: Context[Any, Any],
    book: ConfirmationBook,
    tool: str,
    arguments: Mapping[str, Any],
    identity: str,
    question: str,
    token: str | None,
) -> Decision | InputRequiredResult | tuple[Literal["token"], str]:
    """Ask, or check the answer: "go" to act; "declined"/"canceled"; a token to hand out; or an
    InputRequiredResult to return (the client fills the form and retries the call)."""
    if token is not None:
        problem = book.redeem(token, tool, arguments, identity)
        if problem:
            raise refused(tool, problem)
        return "go"
    state = ctx.request_state
    if state is not None:
        problem = book.redeem(state, tool, arguments, identity)
        if problem:
            raise refused(tool, problem.replace("confirmation_token", "confirmation"))
        return _answer((ctx.input_responses or {}).get(INPUT_KEY))
    if form_supported(ctx):
        if ctx.session.can_send_request:
            try:
                result = await ctx.elicit(question, ConfirmForm)
            except Exception:  # a client that declared the form but cannot show it: fall back to a token
                return ("token", book.issue(tool, arguments, identity))
            if result.action == "accept":
                return "go" if result.data.confirm else "declined"
            return "declined" if result.action == "decline" else "canceled"
        schema = {
            "type": "object",
            "properties": {"confirm": {"type": "boolean", "description": "Yes, go ahead."}},
            "required": ["confirm"],
        }
        request = ElicitRequest(params=ElicitRequestFormParams(message=question, requested_schema=schema))
        return InputRequiredResult(
            input_requests={INPUT_KEY: request}, request_state=book.issue(tool, arguments, identity)
        )
    return ("token", book.issue(tool, arguments, identity))
