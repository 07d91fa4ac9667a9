"""The summary table (terminal and Markdown) and the JSON file."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from common import Section

PACKAGES = ("mcp", "mcp-types", "pydantic", "httpx2", "starlette", "uvicorn", "anyio", "mixpeek-tasks-mcp")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    memory_mb = 0
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
        with open("/proc/meminfo") as info:
            memory_mb = int(next(line for line in info if line.startswith("MemTotal")).split()[1]) // 1024
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    import os

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": memory_mb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def _mark(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[met]


def table(sections: list[Section]) -> list[str]:
    rows = [("figure", "target", "measured", "met?")]
    rows += [(f.figure, f.target, f.measured, _mark(f.met)) for s in sections for f in s.figures]
    widths = [min(70, max(len(row[i]) for row in rows)) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])
        if index == 0:
            lines.append("-" * (sum(widths) + 12))
    return lines


def markdown(sections: list[Section]) -> list[str]:
    lines = ["| figure | target | measured | met? |", "|---|---|---|---|"]
    for section in sections:
        for f in section.figures:
            lines.append(f"| {f.figure} | {f.target} | {f.measured} | {_mark(f.met)} |")
    return lines


def write(out_dir: Path, sections: list[Section], options: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = {
        "when": stamp,
        "options": options,
        "machine": machine(),
        "sections": [section.to_json() for section in sections],
    }
    path = out_dir / f"bench-{stamp}.json"
    text = json.dumps(payload, indent=2, default=str)
    path.write_text(text)
    (out_dir / "latest.json").write_text(text)
    (out_dir / "latest.md").write_text("\n".join(markdown(sections)) + "\n")
    return path
