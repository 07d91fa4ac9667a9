"""The README's first command: the demo runs end to end on the sandbox and shows both tools answering."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_demo_shows_the_tools_answering() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIXPEEK_")}
    result = subprocess.run(
        [sys.executable, "-m", "mixpeek_tasks_mcp", "demo", "--quick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Connected over stdio to mixpeek-tasks-mcp" in out
    assert "tool list_tasks:" in out and "tool wait_for_task:" in out and "tool triage_tasks:" in out
    assert "matching tasks, newest first, all read." in out and "tasks failed or carry an error, in " in out
    assert "Showing 1-5 of " in out and "status=FAILED" in out
    assert "Showing 6-10 of " in out  # page 2
    assert "Did you mean 'gt'?" in out  # the refused mistake
    assert "progress: IN_PROGRESS · tier" in out
    assert "is COMPLETED: finished successfully" in out
    assert "Waited on 4 tasks (until all): all finished" in out  # the multi-task wait
    assert "of 4 finished · 1 failed" in out
    assert "Traceback" not in out + result.stderr
