"""Reading manifests/clients/: every config file, each client's own placeholder syntax, and the argv it would run."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[2]
CLIENTS_DIR = REPO / "manifests" / "clients"
CLIENTS = ("claude-desktop", "claude-code", "cursor", "vscode", "windsurf")
VARIANTS = ("uvx", "installed", "remote")
CONFIG_FILE = {
    "claude-desktop": "claude_desktop_config.json",
    "claude-code": ".mcp.json",
    "cursor": "mcp.json",
    "vscode": "mcp.json",
    "windsurf": "mcp_config.json",
}
SERVER_NAME = "mixpeek-tasks"
ENTRY_POINT = "mixpeek-tasks-mcp"
MCP_REMOTE = "mcp-remote@0.15.1"
"""Claude Desktop's config file only launches commands; it reaches a remote server through this pinned bridge."""

# Literal placeholders, for the one client (Claude Desktop) that expands nothing in its config.
KEY_PLACEHOLDER = "sk_..."
TOKEN_PLACEHOLDER = "YOUR_MIXPEEK_MCP_AUTH_TOKEN"

Secrets = Mapping[str, str]
"""What the user would have in their environment (or type into a prompt): MIXPEEK_API_KEY, MIXPEEK_MCP_AUTH_TOKEN."""


@dataclass(frozen=True)
class ServerEntry:
    """One server entry of one client config, after the client's own placeholder expansion."""

    client: str
    variant: str
    path: Path
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.client}/{self.variant}"


def config_path(client: str, variant: str) -> Path:
    return CLIENTS_DIR / client / variant / CONFIG_FILE[client]


def load_config(client: str, variant: str) -> dict[str, Any]:
    data = json.loads(config_path(client, variant).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def servers_of(client: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The map of server entries: VS Code calls it ``servers``, the others ``mcpServers``."""
    servers = config["servers" if client == "vscode" else "mcpServers"]
    assert isinstance(servers, dict)
    return servers


# Each client's substitution, as its documentation describes it.
_CLAUDE_CODE_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ENV_VAR = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_INPUT_VAR = re.compile(r"\$\{input:([A-Za-z0-9_.-]+)\}")


def _expander(client: str, config: Mapping[str, Any], secrets: Secrets) -> Callable[[str], str]:
    if client == "claude-code":  # ${VAR} and ${VAR:-default} in command, args, env, url, headers

        def claude_code(text: str) -> str:
            return _CLAUDE_CODE_VAR.sub(lambda m: secrets.get(m.group(1), m.group(2) or ""), text)

        return claude_code
    if client in ("cursor", "windsurf"):  # ${env:NAME}
        return lambda text: _ENV_VAR.sub(lambda m: secrets[m.group(1)], text)
    if client == "vscode":  # ${input:id}, prompted for (and stored encrypted) by VS Code
        answers = {
            "mixpeek-api-key": secrets["MIXPEEK_API_KEY"],
            "mixpeek-mcp-auth-token": secrets["MIXPEEK_MCP_AUTH_TOKEN"],
        }
        declared = {item["id"] for item in config.get("inputs", [])}
        return lambda text: _INPUT_VAR.sub(
            lambda m: answers[m.group(1)] if m.group(1) in declared else m.group(0), text
        )

    # Claude Desktop substitutes nothing: the user pastes the values over the placeholders.
    def claude_desktop(text: str) -> str:
        return text.replace(KEY_PLACEHOLDER, secrets["MIXPEEK_API_KEY"]).replace(
            TOKEN_PLACEHOLDER, secrets["MIXPEEK_MCP_AUTH_TOKEN"]
        )

    return claude_desktop


def entry(client: str, variant: str, secrets: Secrets) -> ServerEntry:
    """The ``mixpeek-tasks`` entry of a config, with placeholders filled in the way that client fills them."""
    config = load_config(client, variant)
    raw = servers_of(client, config)[SERVER_NAME]
    expand = _expander(client, config, secrets)
    url = raw.get("serverUrl" if client == "windsurf" else "url")
    return ServerEntry(
        client=client,
        variant=variant,
        path=config_path(client, variant),
        command=expand(raw["command"]) if "command" in raw else None,
        args=[expand(a) for a in raw.get("args", [])],
        env={k: expand(v) for k, v in raw.get("env", {}).items()},
        url=expand(url) if url else None,
        headers={k: expand(v) for k, v in raw.get("headers", {}).items()},
    )


def entry_point() -> str:
    """The console script installed next to this interpreter (what ``pip install mixpeek-tasks-mcp`` puts on PATH)."""
    path = Path(sys.executable).parent / ENTRY_POINT
    assert path.exists(), f"{path} is missing: install the package (pip install -e .)"
    return str(path)


def local_argv(server: ServerEntry) -> list[str]:
    """The argv the client would run, with ``uvx`` (not available offline) resolved to the installed entry point.

    ``uvx mixpeek-tasks-mcp ARGS`` runs the package's console script of the same name with ARGS, so it maps to
    ``<venv>/bin/mixpeek-tasks-mcp ARGS``; everything after the package name is kept as the config says.
    """
    assert server.command is not None
    if server.command == "uvx":
        assert server.args[:1] == [ENTRY_POINT], "uvx must be given the package name first"
        return [entry_point(), *server.args[1:]]
    assert server.command == ENTRY_POINT, f"unexpected command {server.command!r}"
    return [entry_point(), *server.args]


def with_port(url: str, port: int) -> str:
    """``url`` pointed at a loopback port (the configs say localhost:8000, the test server is elsewhere)."""
    parts = urlsplit(url)
    assert parts.hostname == "localhost", f"remote configs point at localhost (the docker run quick start), not {url}"
    return urlunsplit((parts.scheme, f"{parts.hostname}:{port}", parts.path, parts.query, parts.fragment))
