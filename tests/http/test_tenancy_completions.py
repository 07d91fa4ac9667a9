"""One server, two users (issue 18, point 2): a completion answer stays small whatever was typed.

A 4 MB typed ``task_ids`` value came back as a 400 MB answer (the ids typed so far echoed in each of 100
values), slowing every other user's calls meanwhile.
"""

from __future__ import annotations

import json

import anyio
import pytest
from mcp.types import PromptReference, ResourceTemplateReference

from mixpeek_tasks_mcp.completions import MAX_ANSWER_CHARS, MAX_COMPLETION_VALUE_CHARS
from mixpeek_tasks_mcp.resources import TASK_TEMPLATE

from .conftest import CLIENT_KEY, SERVER_KEY, ServeFactory, mcp_session

pytestmark = pytest.mark.anyio
BOUND = 60.0


async def test_a_huge_typed_value_gets_a_small_answer(serve: ServeFactory) -> None:
    server = serve("streamable-http", "--allow-key-passthrough")
    watch = PromptReference(name="watch")
    typed_so_far = "task_" + "x" * 200_000 + ","
    with anyio.fail_after(BOUND):
        async with (
            mcp_session(server.url, {"X-Mixpeek-Api-Key": CLIENT_KEY}) as a,
            mcp_session(server.url, {"X-Mixpeek-Api-Key": SERVER_KEY}) as b,
        ):
            for session in (a, b):
                answers = [
                    (await session.complete(watch, {"name": "task_ids", "value": typed_so_far})).completion,
                    (await session.complete(watch, {"name": "task_ids", "value": "a," * 100_000})).completion,
                    (await session.complete(watch, {"name": "batch_id", "value": "b" * 300_000})).completion,
                    (
                        await session.complete(
                            ResourceTemplateReference(uri=TASK_TEMPLATE), {"name": "task_id", "value": "t" * 300_000}
                        )
                    ).completion,
                ]
                for answer in answers:
                    size = len(json.dumps(answer.model_dump(mode="json")))
                    assert size <= MAX_ANSWER_CHARS + 200, f"{size:,} characters"
                    assert all(len(value) <= MAX_COMPLETION_VALUE_CHARS for value in answer.values)
                # what people type still completes: the ids before the one being typed are kept
                many = (await session.complete(watch, {"name": "task_ids", "value": "task_a1, task_b2,"})).completion
                assert many.values and all(value.startswith("task_a1, task_b2, ") for value in many.values)
                size = len(json.dumps(many.model_dump(mode="json")))
                assert size <= MAX_ANSWER_CHARS + 200
