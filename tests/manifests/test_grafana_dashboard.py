"""manifests/grafana/: the dashboard is valid JSON whose every query names a figure the server exports."""

from __future__ import annotations

import json
import re

from mixpeek_tasks_mcp.observability.metrics import Metrics

from .clients import REPO

DASHBOARD = REPO / "manifests" / "grafana" / "mixpeek-tasks-mcp.json"
SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def _exported() -> set[str]:
    metrics = Metrics()
    metrics.redis  # noqa: B018 - made on first use (no Redis, no series): the dashboard still charts it
    names: set[str] = set()
    for family in metrics.registry.collect():
        names |= {sample.name for sample in family.samples} | {family.name}
    return names


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_every_query_names_an_exported_figure() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bmixpeek_[a-z_]+", expr)}
    exported = _exported()
    missing = {name for name in used if name not in exported and _base(name) not in exported}
    assert not missing
    for needed in ('outcome!="ok"', "mixpeek_upstream_attempts_total", "mixpeek_budget_wait_seconds_sum"):
        assert any(needed in expr for expr in exprs), needed
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in dashboard["panels"])
