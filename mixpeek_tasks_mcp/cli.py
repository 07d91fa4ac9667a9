"""Command line: ``mixpeek-tasks-mcp [serve|sandbox|demo|call|schema]``; no subcommand serves MCP over stdio."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from . import __version__
from .settings import Settings

logger = logging.getLogger("mixpeek_tasks_mcp")

SETTINGS_FLAGS: dict[str, tuple[str, type, str]] = {
    "api_key": ("--api-key", str, "Mixpeek API key (prefer the MIXPEEK_API_KEY environment variable)."),
    "api_base": ("--api-base", str, "Mixpeek API base URL (MIXPEEK_API_BASE)."),
    "namespace": ("--namespace", str, "Namespace sent as X-Namespace (MIXPEEK_NAMESPACE)."),
    "connect_timeout": ("--connect-timeout", float, "Connect timeout in seconds."),
    "read_timeout": ("--read-timeout", float, "Read timeout in seconds."),
    "request_deadline": ("--request-deadline", float, "Most time one API call may take, retries included."),
    "max_retries": ("--max-retries", int, "Retries of 429/502/503/504 and network errors."),
    "max_requests_per_minute": (
        "--max-requests-per-minute",
        float,
        "Ceiling on each key's requests/min on top of Mixpeek's advertised limit (0 = no ceiling of our own).",
    ),
    "request_burst": ("--request-burst", int, "Requests a key may send back to back before Mixpeek says its limit."),
    "wait_default_seconds": ("--wait-default-seconds", float, "Default wait_for_task budget."),
    "wait_max_seconds": ("--wait-max-seconds", float, "Largest wait_for_task budget allowed."),
    "schema_profile": ("--schema-profile", str, "default, or openai-strict for OpenAI strict function calling."),
    "log_level": ("--log-level", str, "DEBUG, INFO, WARNING or ERROR (logs go to stderr)."),
}
HTTP_FLAGS: dict[str, tuple[str, type, str]] = {
    "transport": ("--transport", str, "stdio (default), sse or streamable-http."),
    "host": ("--host", str, "Bind address for HTTP transports (default 127.0.0.1)."),
    "port": ("--port", int, "Bind port for HTTP transports (default 8000)."),
    "mcp_auth_token": ("--auth-token", str, "Bearer token HTTP clients must send (MIXPEEK_MCP_AUTH_TOKEN)."),
    "shutdown_grace_seconds": ("--shutdown-grace-seconds", float, "Time in-flight calls get on SIGTERM."),
    "http_header_timeout": ("--http-header-timeout", float, "Seconds a request has to arrive in full (default 10)."),
    "http_max_connections": ("--http-max-connections", int, "Open HTTP connections allowed (default 1000)."),
    "session_idle_timeout": ("--session-idle-timeout", float, "Idle seconds before a session ends (default 1800)."),
    "max_sessions": ("--max-sessions", int, "Streamable HTTP sessions kept; oldest idle ends first (default 1000)."),
    "metrics_port": ("--metrics-port", int, "Serve /metrics on this port (no token) instead of the MCP port."),
}


def _add_flags(parser: argparse.ArgumentParser, flags: dict[str, tuple[str, type, str]]) -> None:
    for name, (flag, kind, text) in flags.items():
        parser.add_argument(flag, dest=name, type=kind, default=None, help=text)


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    _add_flags(parser, SETTINGS_FLAGS)
    parser.add_argument(
        "--allow-writes",
        dest="allow_writes",
        action="store_true",
        help="Offer cancel_tasks and retry_batch (they confirm before acting). Same as MIXPEEK_ALLOW_WRITES=1.",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="Start the offline sandbox in-process and use it as the API (no account needed).",
    )


def settings_from_args(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Environment first, then CLI flags on top, then explicit overrides."""
    flags = {**SETTINGS_FLAGS, **HTTP_FLAGS}
    given = {name: getattr(args, name) for name in flags if getattr(args, name, None) is not None}
    for name in ("allowed_hosts", "allowed_origins"):
        if getattr(args, name, None):
            given[name] = getattr(args, name)
    for name in ("stateless_http", "allow_key_passthrough", "allow_writes", "traces", "metrics"):
        if getattr(args, name, False):
            given[name] = True
    settings = Settings(**{**given, **overrides})
    _configure_logging(settings.log_level)
    return settings


class _LazyParser(argparse.ArgumentParser):
    """A subcommand parser that adds its arguments only when it is used (parsed or its help shown).

    So the stdio server, which never parses ``sandbox``, does not import the sandbox package (its SQLite store,
    app and runner) just to declare that subcommand's flags.
    """

    def __init__(
        self, *args: Any, add_arguments: Callable[[argparse.ArgumentParser], None] | None = None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self._add_arguments = add_arguments

    def _populate(self) -> None:
        if self._add_arguments is not None:
            add, self._add_arguments = self._add_arguments, None
            add(self)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._populate()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._populate()
        return super().format_usage()

    def format_help(self) -> str:
        self._populate()
        return super().format_help()


def _sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    from .sandbox import add_sandbox_arguments

    add_sandbox_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixpeek-tasks-mcp",
        description="MCP server for Mixpeek tasks. With no command it serves MCP over stdio.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_LazyParser)

    serve = commands.add_parser("serve", help="Serve MCP (stdio by default, or SSE / Streamable HTTP).")
    _add_settings_flags(serve)
    _add_flags(serve, HTTP_FLAGS)
    serve.add_argument("--stateless", dest="stateless_http", action="store_true", help="Stateless HTTP.")
    serve.add_argument("--allowed-host", dest="allowed_hosts", action="append", help="Extra allowed Host.")
    serve.add_argument("--allowed-origin", dest="allowed_origins", action="append", help="Extra allowed Origin.")
    serve.add_argument(
        "--allow-key-passthrough",
        dest="allow_key_passthrough",
        action="store_true",
        help="Let HTTP clients send their own Mixpeek key in X-Mixpeek-Api-Key.",
    )
    serve.add_argument("--traces", action="store_true", help="Export OpenTelemetry traces (OTLP, OTEL_* settings).")
    serve.add_argument("--metrics", action="store_true", help="Serve Prometheus metrics at /metrics (HTTP only).")

    commands.add_parser(
        "sandbox", help="Run the offline Mixpeek-compatible Tasks API.", add_arguments=_sandbox_arguments
    )

    demo = commands.add_parser("demo", help="Start the sandbox and show what an agent sees, end to end.")
    demo.add_argument("--quick", action="store_true", help="A faster simulated task (for a quick look, and the tests).")

    call = commands.add_parser("call", help="Call one tool and print exactly what the agent sees.")
    call.add_argument("tool", choices=["list_tasks", "triage_tasks", "wait_for_task", "inspect_batch"])
    call.add_argument("arguments", nargs="?", default="{}", help="Tool arguments as JSON.")
    _add_settings_flags(call)

    schema = commands.add_parser("schema", help="Print the tools as tools/list returns them.")
    _add_settings_flags(schema)
    return parser


def _configure_logging(level: str | None) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=(level or "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@contextmanager
def _maybe_sandbox(args: argparse.Namespace, settings: Settings) -> Iterator[Settings]:
    """With --sandbox, start it on a free loopback port and point the settings at it."""
    if not getattr(args, "sandbox", False):
        yield settings
        return
    from .sandbox import SandboxConfig, running_sandbox

    with running_sandbox(SandboxConfig(port=0, speed=1.0)) as sandbox:
        logger.warning("sandbox Tasks API at %s (offline demo data)", sandbox.base_url)
        # the sandbox advertises and enforces a per-key limit (600/min): the budget learns it like Mixpeek's
        yield settings.model_copy(update={"api_base": sandbox.base_url, "api_key": _secret(sandbox.api_key)})


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def _observability_problem(settings: Settings) -> str | None:
    """Turn on what is asked for before anything binds: a missing extra or a bad OTEL_* value is a clear error."""
    from .observability.config import wanted

    if not wanted(settings).any:
        return None
    from .observability.recorder import enable

    try:
        enable(settings)
    except ValueError as error:
        return str(error)
    return None


def _serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    problem = _observability_problem(settings)
    if problem is not None:
        print(f"mixpeek-tasks-mcp: {problem}", file=sys.stderr)
        return 2
    with _maybe_sandbox(args, settings) as settings:
        if settings.transport == "stdio":
            from .server import build_server
            from .stdio_input import repaired_stdin

            with repaired_stdin():
                build_server(settings).run()
            return 0
        from .http import check_http_settings, run_http

        try:
            check_http_settings(settings)
        except ValueError as error:
            print(f"mixpeek-tasks-mcp: {error}", file=sys.stderr)
            return 2
        run_http(settings)
    return 0


def _call(args: argparse.Namespace) -> int:
    import anyio
    from mcp import Client

    from .server import build_server

    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as error:
        print(f"mixpeek-tasks-mcp call: the arguments are not JSON ({error})", file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print("mixpeek-tasks-mcp call: the arguments must be a JSON object", file=sys.stderr)
        return 2
    settings = settings_from_args(args)

    async def run(settings: Settings) -> int:
        async with Client(build_server(settings)) as client:
            result = await client.call_tool(args.tool, arguments)
        for block in result.content:
            print(getattr(block, "text", block))  # stdout-ok: the CLI's output
        if result.structured_content is not None:
            print("\n--- structuredContent ---")  # stdout-ok
            print(json.dumps(result.structured_content, indent=2))  # stdout-ok
        return 1 if result.is_error else 0

    with _maybe_sandbox(args, settings) as settings:
        return anyio.run(run, settings)


def _schema(args: argparse.Namespace) -> int:
    import anyio
    from mcp import Client

    from .server import build_server

    async def run() -> list[dict[str, Any]]:
        async with Client(build_server(settings_from_args(args))) as client:
            tools = await client.list_tools()
        return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools.tools]

    print(json.dumps(anyio.run(run), indent=2))  # stdout-ok: the CLI's output
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "serve"
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or [])])
    try:
        if command == "serve":
            return _serve(args)
        if command == "sandbox":
            from .sandbox import config_from_args, serve_forever

            _configure_logging("INFO")
            serve_forever(config_from_args(args))
            return 0
        if command == "demo":
            from .demo import run_demo

            _configure_logging("WARNING")
            return run_demo(quick=args.quick)
        if command == "call":
            return _call(args)
        return _schema(args)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors(include_input=False)
        )
        print(f"mixpeek-tasks-mcp: invalid configuration: {problems}", file=sys.stderr)
        return 2
    except SettingsError as error:
        print(f"mixpeek-tasks-mcp: invalid configuration: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
