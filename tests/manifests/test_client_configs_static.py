"""The client configs as files: complete, no secrets, the notes the README promises, and the claude mcp add lines."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess

import pytest

from .clients import (
    CLIENTS,
    CLIENTS_DIR,
    KEY_PLACEHOLDER,
    SERVER_NAME,
    VARIANTS,
    config_path,
    entry,
    load_config,
    servers_of,
)

FAKE = {"MIXPEEK_API_KEY": "sk_fake_key", "MIXPEEK_MCP_AUTH_TOKEN": "fake-token"}
README = CLIENTS_DIR / "README.md"
ADD_SCRIPT = CLIENTS_DIR / "claude-code" / "claude-mcp-add.sh"


def test_every_client_has_every_variant_and_nothing_else() -> None:
    expected = {config_path(c, v).relative_to(CLIENTS_DIR) for c in CLIENTS for v in VARIANTS}
    found = {p.relative_to(CLIENTS_DIR) for p in CLIENTS_DIR.rglob("*.json")}
    assert found == expected
    for client in CLIENTS:
        for variant in VARIANTS:
            assert list(servers_of(client, load_config(client, variant))) == [SERVER_NAME]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_is_committed(client: str, variant: str) -> None:
    text = config_path(client, variant).read_text(encoding="utf-8")
    assert not re.search(r"sk_[A-Za-z0-9]{6,}", text), "a real-looking key"
    server = entry(client, variant, {"MIXPEEK_API_KEY": "", "MIXPEEK_MCP_AUTH_TOKEN": ""})
    secret_values = [server.env.get("MIXPEEK_API_KEY", ""), server.headers.get("Authorization", "")]
    secret_values += [v for k, v in server.env.items() if "AUTHORIZATION" in k]
    placeholders = {KEY_PLACEHOLDER, "Bearer ", "Bearer YOUR_MIXPEEK_MCP_AUTH_TOKEN", ""}
    assert set(secret_values) <= placeholders, secret_values


@pytest.mark.parametrize("variant", VARIANTS)
def test_vscode_prompts_for_every_secret_as_a_password(variant: str) -> None:
    config = load_config("vscode", variant)
    text = json.dumps(servers_of("vscode", config))
    used = set(re.findall(r"\$\{input:([^}]+)\}", text))
    declared = {item["id"]: item for item in config["inputs"]}
    assert used and used == set(declared)
    for item in declared.values():
        assert item["type"] == "promptString" and item["password"] is True and item["description"]


@pytest.mark.parametrize("client", CLIENTS)
def test_local_variants_cap_the_wait_below_the_client_timeout(client: str) -> None:
    caps = {"claude-desktop": 50, "windsurf": 50, "cursor": 280, "vscode": 280, "claude-code": 600}
    readme = README.read_text(encoding="utf-8")
    for variant in ("uvx", "installed"):
        env = entry(client, variant, FAKE).env
        assert float(env["MIXPEEK_WAIT_DEFAULT_SECONDS"]) == 45
        assert float(env["MIXPEEK_WAIT_MAX_SECONDS"]) == caps[client]
    assert f"{caps[client]}" in readme


def test_readme_has_a_timeout_row_for_every_client() -> None:
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    header = rows[0]
    assert "Tool-call timeout" in header and "`timeout_seconds` to use" in header
    for client in CLIENTS:
        assert any(f"`{client}/" in row for row in rows), f"no row for {client}"


def _claude_mcp_add(line: str) -> dict[str, object]:
    """Parse a ``claude mcp add`` line with the CLI's grammar: options, name, commandOrUrl, then args after --."""
    words = shlex.split(line)
    assert words[:3] == ["claude", "mcp", "add"]
    words = words[3:]
    command_args: list[str] = []
    if "--" in words:
        cut = words.index("--")
        words, command_args = words[:cut], words[cut + 1 :]
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("-t", "--transport", default="stdio")
    parser.add_argument("-s", "--scope", default="local")
    parser.add_argument("-e", "--env", action="append", default=[])
    parser.add_argument("-H", "--header", action="append", default=[])
    parser.add_argument("name")
    parser.add_argument("target", nargs="?")
    parsed = parser.parse_args(words)
    target = [parsed.target] if parsed.target else []
    return {
        "transport": parsed.transport,
        "name": parsed.name,
        "argv": target + command_args,
        "env": dict(item.split("=", 1) for item in parsed.env),
        "headers": dict(h.split(": ", 1) for h in parsed.header),
    }


def test_claude_mcp_add_lines_match_the_mcp_json_files() -> None:
    assert subprocess.run(["sh", "-n", str(ADD_SCRIPT)], check=False).returncode == 0
    lines = [
        line.lstrip("# ").strip()
        for line in ADD_SCRIPT.read_text(encoding="utf-8").splitlines()
        if line.lstrip("# ").startswith("claude mcp add")
    ]
    assert len(lines) == 3
    env = {"MIXPEEK_API_KEY": "$MIXPEEK_API_KEY"}
    shell_form = {"MIXPEEK_API_KEY": "$MIXPEEK_API_KEY", "MIXPEEK_MCP_AUTH_TOKEN": "$MIXPEEK_MCP_AUTH_TOKEN"}
    for line, variant in zip(lines, VARIANTS, strict=True):
        added = _claude_mcp_add(line)
        config = entry("claude-code", variant, shell_form)
        assert added["name"] == SERVER_NAME
        if variant == "remote":
            assert added["transport"] == "http"
            assert added["argv"] == ["http://localhost:8000/mcp"] and config.url == "http://localhost:8000/mcp"
            assert added["headers"] == config.headers
        else:
            assert added["transport"] == "stdio"
            assert added["argv"] == [config.command, *config.args]
            assert added["env"] == env and config.env["MIXPEEK_API_KEY"] == "$MIXPEEK_API_KEY"
