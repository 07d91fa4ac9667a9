"""Browser tests of the task board: Debian's Chromium, driven by Playwright, hosting the app through the
ext-apps AppBridge and feeding it real results from an MCP session on the sandbox.

They skip only on a machine without Chromium, the npm packages of app/ or Playwright, and never under CI
(CI=true), where .ci/run installs all three and a missing piece is a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox, SandboxConfig, running_sandbox

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "app"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SECRET_KEY = "sk_test_browser_6c1e9d0a2f"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if not (APP_DIR / "node_modules" / "@modelcontextprotocol" / "ext-apps").is_dir():
        return "app/node_modules missing (cd app && npm ci)"
    if shutil.which("node") is None:
        return "node not found"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def browser_ready() -> None:
    missing = _missing()
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {missing}")
    pytest.skip(missing)


@pytest.fixture(scope="session")
def host_js(browser_ready: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test host's script, bundled with AppBridge from app/node_modules. The same run rebuilds the board
    and fails unless the committed board.html has the same bytes (the reproducibility check)."""
    out = tmp_path_factory.mktemp("host") / "host.js"
    done = subprocess.run(
        ["node", "build.mjs", "--check", "--host", str(out)], cwd=APP_DIR, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_text()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(port=0, api_keys=[SECRET_KEY], tasks=240, simulate=False, seed=11)
    with running_sandbox(config) as running:
        yield running
