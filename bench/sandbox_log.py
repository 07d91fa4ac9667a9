"""The sandbox's /v1 request log, read while a bench runs (its ring buffer keeps only the last 1000) and cut
into poll steps: what the shared-poller benches count API requests with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import httpx2

COLLECT_EVERY = 0.25
"""Seconds between two reads of the log (well under 1000 requests in between at any rate seen here)."""
STEP_GAP = 0.15
"""Requests closer together than this belong to one poll step (the poller fires a step's requests at once;
waits that arrive a moment apart start steps of their own)."""


def wall(iso: str) -> float:
    """A sandbox timestamp (``...Z``) as Unix seconds."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def task_ids_asked(entry: dict[str, Any]) -> list[str]:
    """The task ids one logged request asked about: a GET's path, or a list's ``task_id in [...]`` filter."""
    if entry.get("method") == "GET":
        return [str(entry["path"]).rsplit("/", 1)[-1]]
    body = entry.get("body")
    if not isinstance(body, dict):
        return []
    conditions = (body.get("filters") or {}).get("AND") or []
    return [str(i) for c in conditions if c.get("field") == "task_id" for i in c.get("value") or []]


@dataclass
class LogCollector:
    """Reads ``GET /_sandbox/requests`` every ``COLLECT_EVERY`` s and keeps every /v1 entry once (by id)."""

    admin: httpx2.AsyncClient
    entries: dict[int, dict[str, Any]] = field(default_factory=dict)

    async def clear(self) -> None:
        (await self.admin.delete("/_sandbox/requests")).raise_for_status()
        self.entries.clear()

    async def collect(self) -> None:
        response = await self.admin.get("/_sandbox/requests")
        response.raise_for_status()
        for entry in response.json()["requests"]:
            self.entries.setdefault(int(entry["id"]), entry)

    async def run(self, stop: anyio.Event) -> None:
        while not stop.is_set():
            await self.collect()
            with anyio.move_on_after(COLLECT_EVERY):
                await stop.wait()
        await self.collect()

    def polls(self) -> list[dict[str, Any]]:
        """The entries that checked tasks (GET one, or list by task_id), in time order."""
        found = [entry for entry in self.entries.values() if task_ids_asked(entry)]
        return sorted(found, key=lambda entry: str(entry["time"]))


def steps(polls: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Cut time-ordered requests into bursts separated by at least ``STEP_GAP`` seconds."""
    bursts: list[list[dict[str, Any]]] = []
    last = -1e18
    for entry in polls:
        at = wall(entry["time"])
        if at - last >= STEP_GAP or not bursts:
            bursts.append([])
        bursts[-1].append(entry)
        last = at
    return bursts


def max_in_window(times: list[float], seconds: float) -> int:
    """Most events in any window of ``seconds`` (sliding over the sorted times)."""
    ordered, most, start = sorted(times), 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] > seconds:
            start += 1
        most = max(most, end - start + 1)
    return most
