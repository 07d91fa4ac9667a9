"""Property-based tests of both tools' arguments through a real MCP session against the sandbox.

Hypothesis generates hostile JSON-ish arguments (wrong types, huge and deeply nested values, JSON texts,
near-miss vocabulary, replacement characters) and, mixed in, well-formed ones. For every call:

- the call gets a result (no crash of the session, no bare "Error executing tool" without a refusal);
- it is either a refusal that sent nothing to the sandbox, or a request that reached it;
- no traceback text; the answer is bounded (a refusal at most ~2 KB).

One session per test function: Hypothesis runs in a worker thread and calls back into the event loop for
each example. Examples are bounded for CI (``deadline=None``: the sandbox is on loopback). Lone surrogates
are left out: the SDK client cannot encode them; tests/e2e/test_stdio_raw.py sends them as raw lines.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from mixpeek_tasks_mcp.enums import FilterOperator, TaskStatus, TaskType
from mixpeek_tasks_mcp.sandbox import RunningSandbox
from mixpeek_tasks_mcp.settings import Settings

from .conftest import api_requests, session, text_of

pytestmark = pytest.mark.anyio

EXAMPLES = 150
MAX_REFUSAL = 2100  # 2,000 for the refusal, plus the SDK's "Error executing tool ...: " prefix
MAX_ANSWER = 60_000
PROPERTIES = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# values ---------------------------------------------------------------------------------------------------
odd_text = st.sampled_from(
    ["", " ", "\ufffd", "a\ufffdb", "\x00", "💥", "${x}", "\n", "null", "true", "1e308", "-1", "NaN"]
)
long_text = st.builds(
    lambda char, n: char * n, st.sampled_from(["x", "9", "(", "[", "{", "\\", "é"]), st.integers(1, 20_000)
)
deep_text = st.builds(
    lambda opening, n: opening * n + ("]" if opening == "[" else "}") * n,
    st.sampled_from(["[", "{"]),
    st.integers(1, 3000),
)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=10**300, max_value=10**1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 20, 100, 101, 10_000, 10_001, 1e308, -0.0, 600.0001]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=30), odd_text, long_text, deep_text)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12) | odd_text, children, max_size=6)
    ),
    max_leaves=25,
)


def as_json_text(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The values, and the same values sent as JSON text (clients do that)."""
    return st.one_of(strategy, strategy.map(lambda value: json.dumps(value)))


def near(words: list[str]) -> st.SearchStrategy[str]:
    """The words, their case and separator variants, and near misses."""
    word = st.sampled_from(words)
    return st.one_of(
        word,
        word.map(str.lower),
        word.map(str.upper),
        word.map(lambda w: w.replace("_", " ")),
        word.map(lambda w: w[:-1]),
        word.map(lambda w: "$" + w),
    )


statuses = st.one_of(near([s.value for s in TaskStatus] + ["RUNNING", "CANCELLED", "DONE"]), json_values)
task_types = st.one_of(near([t.value for t in TaskType]), json_values)
operators = st.one_of(near([o.value for o in FilterOperator] + [">=", "==", "not_in", "greater_than"]), json_values)
fields = st.one_of(
    near(["status", "task_type", "task_id", "created_at", "description", "additional_data.batch_id", "bucket_id"]),
    json_values,
)
conditions = st.fixed_dictionaries(
    {"field": fields},
    optional={"operator": operators, "value": st.one_of(statuses, as_json_text(st.lists(statuses, max_size=4)))},
)


def groups(items: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(["AND", "OR", "NOT", "and", "$or", "case_sensitive", "status", "operator"])
    return st.dictionaries(keys, st.one_of(st.lists(as_json_text(items), max_size=4), items, json_values), max_size=3)


filter_trees = st.recursive(conditions, groups, max_leaves=12)
filters = st.one_of(as_json_text(filter_trees), st.lists(conditions, max_size=3), json_values, deep_text)
sorts = st.one_of(
    as_json_text(st.fixed_dictionaries({}, optional={"field": fields, "direction": near(["asc", "desc", "up"])})),
    near(["-created_at", "created_at desc", "updated_at:asc"]),
    json_values,
)
counts = st.one_of(numbers, numbers.map(str), long_text, json_values)
unknown = st.dictionaries(
    st.sampled_from(["page_size", "filter", "timeout", "x" * 5000, "\ufffd"]), json_values, max_size=1
)

list_arguments = st.builds(
    lambda known, extra: {**known, **extra},
    st.fixed_dictionaries(
        {},
        optional={
            "status": statuses,
            "task_type": task_types,
            "filters": filters,
            "sort": sorts,
            "search": st.one_of(st.text(max_size=20), odd_text, long_text, json_values),
            "limit": counts,
            "offset": counts,
            "cursor": st.one_of(odd_text, long_text, json_values),
        },
    ),
    unknown,
)
wait_arguments = st.builds(
    lambda known, extra: {**known, **extra},
    st.fixed_dictionaries(
        {},
        optional={
            "task_id": st.one_of(st.uuids().map(str), odd_text, long_text, json_values),
            "timeout_seconds": st.one_of(st.sampled_from([0, 0.0, "0", 600.0001, 10**400, -1, "1e3"]), json_values),
            "wait_for": st.one_of(as_json_text(st.lists(statuses, max_size=4)), statuses, deep_text),
        },
    ),
    unknown,
)


# invariants -----------------------------------------------------------------------------------------------
def check_answer(sandbox: RunningSandbox, tool: str, arguments: dict[str, Any], result: Any) -> str:
    """Check the invariants; say whether the call was refused or sent."""
    text = text_of(result)
    sent = api_requests(sandbox)
    assert "Traceback" not in text, text[:500]
    if result.is_error and not sent:
        assert f"{tool} refused these arguments (nothing was sent to Mixpeek)" in text, (arguments, text[:500])
    if f"{tool} refused these arguments" in text:
        assert not sent, f"refused, yet sent: {sent}"
        assert len(text) <= MAX_REFUSAL, len(text)
        return "refused"
    assert sent, f"neither refused nor sent: {text[:500]}"
    assert len(text) <= MAX_ANSWER, len(text)
    return "sent"


async def run_properties(
    sandbox: RunningSandbox, settings_: Settings, tool: str, strategy: st.SearchStrategy[dict[str, Any]]
) -> None:
    outcomes: Counter[str] = Counter()
    async with session(settings_) as client:

        async def call(arguments: dict[str, Any]) -> Any:
            return await Client.call_tool(client, tool, arguments)

        @PROPERTIES
        @given(strategy)
        def property_(arguments: dict[str, Any]) -> None:
            sandbox.clear_requests()
            result = anyio.from_thread.run(call, arguments)
            outcomes[check_answer(sandbox, tool, arguments, result)] += 1

        await anyio.to_thread.run_sync(property_)
    assert outcomes["refused"] and outcomes["sent"], f"the strategies should reach both outcomes: {outcomes}"


async def test_list_tasks_answers_every_argument_shape(sandbox: RunningSandbox, settings: Settings) -> None:
    await run_properties(sandbox, settings, "list_tasks", list_arguments)


async def test_wait_for_task_answers_every_argument_shape(sandbox: RunningSandbox, settings: Settings) -> None:
    await run_properties(sandbox, settings, "wait_for_task", wait_arguments)
