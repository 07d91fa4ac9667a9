"""Benchmark the sandbox: filtered, sorted pages over 100,000 generated tasks.

Run ``python bench/sandbox_bench.py [--tasks N] [--repeat R]``. Prints median/p95 per query, in-process
(store + query layer) and over HTTP (127.0.0.1), and writes ``.bench-results/sandbox.json``.
Target: median under 50 ms for a filtered, sorted page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mixpeek_tasks_mcp.sandbox import SandboxConfig, running_sandbox
from mixpeek_tasks_mcp.sandbox.listing import list_tasks, parse_body
from mixpeek_tasks_mcp.sandbox.query import compile_request
from mixpeek_tasks_mcp.sandbox.store import TaskStore

TARGET_MS = 50.0
DESC = {"field": "created_at", "direction": "desc"}


def cond(field: str, operator: str, value: Any) -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


def queries(bucket_id: str, since: str) -> dict[str, tuple[dict[str, Any], dict[str, str]]]:
    """name -> (body, query params)."""
    return {
        "status_desc": ({"status": "FAILED", "sort": DESC}, {"limit": "50"}),
        "status_desc_total": ({"status": "FAILED", "sort": DESC}, {"limit": "50", "include_total": "true"}),
        "type_and_bucket": (
            {
                "task_type": "api_buckets_batches_process",
                "filters": {"AND": [cond("additional_data.bucket_id", "eq", bucket_id)]},
                "sort": DESC,
            },
            {"limit": "50"},
        ),
        "bucket_only": (
            {"filters": {"AND": [cond("additional_data.bucket_id", "eq", bucket_id)]}, "sort": DESC},
            {"limit": "50", "include_total": "true"},
        ),
        "in_status_since": (
            {
                "filters": {
                    "AND": [
                        cond("status", "in", ["FAILED", "COMPLETED_WITH_ERRORS"]),
                        cond("created_at", "gte", since),
                    ]
                },
                "sort": DESC,
            },
            {"limit": "50"},
        ),
        "or_not_shorthand": (
            {
                "filters": {
                    "OR": [cond("status", "eq", "FAILED"), cond("task_type", "eq", "engine_cluster_build")],
                    "NOT": [cond("task_type", "eq", "thumbnail")],
                    "additional_data.namespace_id": "placeholder",
                },
                "sort": DESC,
            },
            {"limit": "50"},
        ),
        "search": ({"search": "cluster", "sort": DESC}, {"limit": "50"}),
        "error_contains": (
            {"filters": {"AND": [cond("error", "contains", "oomkilled")]}, "sort": DESC},
            {"limit": "50"},
        ),
        "json_sort_object_count": (
            {
                "filters": {"AND": [cond("additional_data.object_count", "gte", 1000)]},
                "sort": {"field": "additional_data.object_count", "direction": "desc"},
            },
            {"limit": "50"},
        ),
        "offset_10000": ({"sort": DESC}, {"limit": "100", "offset": "10000"}),
        "regex_task_id (slow path)": ({"filters": {"AND": [cond("task_id", "regex", "^ff")]}}, {"limit": "20"}),
        "unindexed_json_sort (slow path)": (
            {"sort": {"field": "additional_data.current_tier", "direction": "desc"}},
            {"limit": "50"},
        ),
    }


def measure(run: Callable[[], object], repeat: int) -> dict[str, float]:
    run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 3),
        "max_ms": round(samples[-1], 3),
    }


def deep_cursor(store: TaskStore, pages: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and params of page ``pages`` of a status-filtered cursor walk."""
    body = {"status": "COMPLETED", "sort": DESC}
    params = {"limit": "50"}
    for _ in range(pages - 1):
        cursor = json.loads(list_tasks(store, body, params))["pagination"]["next_cursor"]
        params = {"limit": "50", "cursor": cursor}
    return body, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--out", default=".bench-results/sandbox.json")
    args = parser.parse_args()

    started = time.perf_counter()
    config = SandboxConfig(port=0, tasks=args.tasks, simulate=False, seed=7)
    with running_sandbox(config) as sandbox:
        setup_s = time.perf_counter() - started
        store = sandbox.state.store
        sample = json.loads(list_tasks(store, {"task_type": "api_buckets_batches_process"}, {"limit": "1"}))
        bucket_id = sample["results"][0]["additional_data"]["bucket_id"]
        namespace_id = sample["results"][0]["additional_data"]["namespace_id"]
        oldest = json.loads(list_tasks(store, {"sort": DESC}, {"limit": "1", "offset": "5000"}))
        since = sandbox.get_task(oldest["results"][0]["task_id"])["created_at"]
        cases = queries(bucket_id, since)
        cases["or_not_shorthand"][0]["filters"]["additional_data.namespace_id"] = namespace_id
        cases["cursor_page_100"] = deep_cursor(store, 100)

        results: dict[str, Any] = {}
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        with httpx2.Client(base_url=sandbox.base_url, headers=headers, trust_env=False) as http:
            for name, (body, params) in cases.items():
                request, direction_given, case = parse_body(body)
                compiled = compile_request(request, sort_direction_given=direction_given, condition_case=case)

                def in_process(body: dict[str, Any] = body, params: dict[str, str] = params) -> object:
                    return list_tasks(store, body, params)

                def over_http(body: dict[str, Any] = body, params: dict[str, str] = params) -> object:
                    response = http.post("/v1/tasks/list", params=params, json=body)
                    response.raise_for_status()
                    return response.content

                payload = json.loads(list_tasks(store, body, params))
                results[name] = {
                    "rows": len(payload["results"]),
                    "total": payload["pagination"]["total"],
                    "in_process": measure(in_process, args.repeat),
                    "http": measure(over_http, args.repeat),
                    "plan": store.explain(compiled.where, compiled.params, compiled.sort_expr, compiled.descending),
                }

    report = {
        "tasks": args.tasks,
        "repeat": args.repeat,
        "setup_seconds": round(setup_s, 2),
        "target_median_ms": TARGET_MS,
        "queries": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))

    print(f"{args.tasks} tasks, setup {setup_s:.1f}s, {args.repeat} runs per query (ms)")
    print(f"{'query':34s} {'rows':>5s} {'inproc med':>10s} {'p95':>8s} {'http med':>9s} {'p95':>8s}")
    for name, result in results.items():
        local, remote = result["in_process"], result["http"]
        flag = "" if remote["median_ms"] < TARGET_MS else "  (over target)"
        print(
            f"{name:34s} {result['rows']:5d} {local['median_ms']:10.2f} {local['p95_ms']:8.2f} "
            f"{remote['median_ms']:9.2f} {remote['p95_ms']:8.2f}{flag}"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
