"""Offline sandbox: a local, Mixpeek-compatible Tasks HTTP API with generated tasks, a lifecycle
simulator, fault injection and a request log (see ``admin.py`` for the ``/_sandbox`` endpoints)."""

from __future__ import annotations

from .runner import (
    DEMO_API_KEY,
    RunningSandbox,
    SandboxConfig,
    add_sandbox_arguments,
    config_from_args,
    running_sandbox,
    serve_forever,
)

__all__ = [
    "DEMO_API_KEY",
    "RunningSandbox",
    "SandboxConfig",
    "add_sandbox_arguments",
    "config_from_args",
    "running_sandbox",
    "serve_forever",
]
