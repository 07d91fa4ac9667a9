"""The foreground runner: CLI flags, logs on stderr only, Ctrl-C stops it."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from mixpeek_tasks_mcp.sandbox import DEMO_API_KEY, SandboxConfig, add_sandbox_arguments, config_from_args

REPO = Path(__file__).resolve().parents[2]


def test_config_from_args(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    add_sandbox_arguments(parser)
    args = parser.parse_args(
        ["--port", "0", "--api-key", "sk_a", "--api-key", "sk_b", "--no-simulate", "--speed", "3", "--tasks", "9"]
    )
    config = config_from_args(args)
    assert config.api_keys == ["sk_a", "sk_b"] and config.port == 0 and config.simulate is False
    assert config.speed == 3 and config.tasks == 9
    assert (config.rate_limit_rpm, config.rate_limit_window, config.rate_limit_headers) == (600, 60, True)
    limits = config_from_args(
        parser.parse_args(["--rate-limit-rpm", "10", "--rate-limit-window", "30", "--no-rate-limit-headers"])
    )
    assert (limits.rate_limit_rpm, limits.rate_limit_window, limits.rate_limit_headers) == (10, 30, False)
    assert config_from_args(parser.parse_args(["--rate-limit-rpm", "0"])).rate_limit_rpm is None
    assert config.timestamps is True, "timestamps are served unless --no-timestamps"
    assert config_from_args(parser.parse_args(["--no-timestamps"])).timestamps is False
    monkeypatch.delenv("MIXPEEK_API_KEY", raising=False)
    assert config_from_args(parser.parse_args([])).api_keys == [DEMO_API_KEY]
    monkeypatch.setenv("MIXPEEK_API_KEY", "sk_from_env")
    assert config_from_args(parser.parse_args([])).api_keys == ["sk_from_env"]


def test_serve_forever_logs_to_stderr_only_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    data = tmp_path / "tasks.json"
    data.write_text(json.dumps({"results": [{"task_id": "from-file", "task_type": "thumbnail", "status": "FAILED"}]}))
    config = SandboxConfig(port=0, simulate=False, data_file=str(data), db_path=str(tmp_path / "tasks.sqlite3"))
    code = (
        "import sys; from mixpeek_tasks_mcp.sandbox import SandboxConfig, serve_forever; "
        "serve_forever(SandboxConfig.model_validate_json(sys.argv[1]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", code, config.model_dump_json()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = ""
        for _ in range(5):
            line = process.stderr.readline()
            if "sandbox on http://" in line:
                break
        assert "sandbox on http://127.0.0.1:" in line, line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx2.get(
                    f"{url}/v1/tasks/from-file", headers={"Authorization": f"Bearer {DEMO_API_KEY}"}, trust_env=False
                )
                break
            except httpx2.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.json()["status"] == "FAILED"
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert stdout == ""
    assert process.returncode == 0
