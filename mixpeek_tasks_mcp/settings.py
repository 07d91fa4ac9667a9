"""Configuration from the environment (``MIXPEEK_*``), overridable by CLI flags."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .schema_profiles import SchemaProfile

DEFAULT_API_BASE = "https://api.mixpeek.com"
STARTING_REQUESTS_PER_MINUTE = 10.0
"""A key's budget before its first answer from Mixpeek: the Free tier as /troubleshoot/limits publishes it
(10 rpm; /operations/rate-limits-quotas says 60 RPM, burst 20). The stricter figure, for a few hundred
milliseconds: the first answer's X-RateLimit-* headers replace it with the key's real limit."""
DEFAULT_REQUEST_BURST = 5
Transport = Literal["stdio", "sse", "streamable-http"]


class Settings(BaseSettings):
    """Everything the server can be told; each field is also an environment variable ``MIXPEEK_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MIXPEEK_", extra="ignore", populate_by_name=True)

    # Talking to Mixpeek
    api_key: SecretStr | None = Field(default=None, description="Mixpeek API key (sk_...).")
    api_base: str = Field(default=DEFAULT_API_BASE, description="Mixpeek API base URL.")
    namespace: str | None = Field(default=None, description="Namespace name or id, sent as X-Namespace.")
    connect_timeout: float = Field(default=5.0, gt=0, le=120, description="Connect timeout, seconds.")
    read_timeout: float = Field(default=30.0, gt=0, le=600, description="Read timeout, seconds.")
    request_deadline: float = Field(
        default=30.0, gt=0, le=600, description="Most time one API call may take, retries included, seconds."
    )
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries of 429/502/503/504 and network errors.")
    retry_after_cap: float = Field(default=30.0, ge=0, le=300, description="Longest Retry-After honoured, seconds.")
    max_requests_per_minute: float | None = Field(
        default=None,
        ge=0,
        description="A ceiling on each key's requests per minute, on top of what Mixpeek advertises (unset: "
        "Mixpeek's own limit, learned from its headers); 0 = no ceiling of this server's own, Mixpeek's "
        "headers and 429s still rule.",
    )
    request_burst: int = Field(
        default=DEFAULT_REQUEST_BURST,
        ge=1,
        le=10_000,
        description="Requests a key may send back to back before Mixpeek has said its limit.",
    )

    # wait_for_task
    wait_default_seconds: float = Field(default=45.0, ge=0, description="Default wait budget of one call.")
    wait_max_seconds: float = Field(default=600.0, ge=0, le=3600, description="Largest wait budget allowed.")

    # What tools/list advertises
    schema_profile: SchemaProfile = Field(
        default="default",
        description="Input schemas as every client takes them (default), or openai-strict: every property "
        "required (nullable where optional), additionalProperties false, constraints in the descriptions.",
    )

    # HTTP transports
    transport: Transport = Field(default="stdio", description="stdio, sse or streamable-http.")
    host: str = Field(default="127.0.0.1", description="Bind address for the HTTP transports.")
    port: int = Field(default=8000, ge=0, le=65535, description="Bind port for the HTTP transports.")
    mcp_auth_token: SecretStr | None = Field(
        default=None, description="Bearer token clients must send to the HTTP transports."
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra Host header values to accept."
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra Origin values to accept."
    )
    stateless_http: bool = Field(default=False, description="Streamable HTTP without sessions (for replicas).")
    allow_key_passthrough: bool = Field(
        default=False, description="Let HTTP clients send their own key in X-Mixpeek-Api-Key."
    )
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=300)
    http_header_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds a request (headers and body) has to arrive in full."
    )
    http_max_connections: int = Field(
        default=1_000, ge=1, le=100_000, description="Open HTTP connections; beyond it a new one gets 503."
    )
    session_idle_timeout: float = Field(
        default=1_800.0, gt=0, le=7 * 86_400, description="Seconds a Streamable HTTP session may stay idle."
    )
    max_sessions: int = Field(
        default=1_000, ge=1, le=100_000, description="Streamable HTTP sessions; beyond it the oldest idle one ends."
    )

    # Write tools (issue 20)
    allow_writes: bool = Field(
        default=False,
        description="Offer the write tools cancel_tasks and retry_batch (each still asks for confirmation). "
        "Off: they are not listed at all. Only the operator sets this; no client header can.",
    )

    # Observability (observability/config.py says what turns each on)
    traces: bool = Field(default=False, description="Export OpenTelemetry traces (OTLP; the OTEL_* variables also).")
    metrics: bool = Field(default=False, description="Serve Prometheus metrics at /metrics (HTTP transports).")
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve /metrics on this port without the token (a scrape network), not on the MCP port.",
    )
    metrics_key_aliases: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, description="Names for keys in metrics: 'short-hash=alias,...' (never the key)."
    )

    # What one key (credentials identity) may hold at once: see tenancy.py
    max_listen_streams_per_key: int = Field(
        default=8, ge=1, le=10_000, description="subscriptions/listen streams one key may have open."
    )
    max_subscriptions_per_key: int = Field(
        default=200, ge=1, le=100_000, description="Legacy resource subscriptions one key may hold (all sessions)."
    )
    max_waits_per_key: int = Field(default=20, ge=1, le=10_000, description="wait_for_task calls one key may run.")
    max_triages_per_key: int = Field(default=2, ge=1, le=1_000, description="triage_tasks calls one key may run.")

    # Sharing between replicas (shared/): off unless a URL is given
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis:// or rediss:// URL of a Redis or Valkey the replicas share (may hold a password).",
    )
    redis_password: SecretStr | None = Field(default=None, description="Redis password, if not in the URL.")
    redis_prefix: str = Field(
        default="mixpeek-tasks-mcp:",
        min_length=1,
        max_length=100,
        description="Prefix of every key this server writes.",
    )
    redis_timeout: float = Field(
        default=0.5, gt=0, le=10, description="Most seconds any one Redis operation may take before it is given up."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    @field_validator("api_base")
    @classmethod
    def _strip_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.endswith("/v1"):
            value = value[: -len("/v1")]
        if not value.startswith(("http://", "https://")):
            raise ValueError("api_base must start with http:// or https://")
        return value

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """Accept a JSON list or comma-separated values (``a.example.com,b.example.com:*``)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("metrics_key_aliases", mode="before")
    @classmethod
    def _split_aliases(cls, value: object) -> object:
        """Accept a JSON object or ``hash=alias,hash=alias`` (hashes as /metrics shows them)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                return json.loads(text)
            pairs = [part.partition("=") for part in text.split(",") if part.strip()]
            return {key.strip(): alias.strip() for key, _, alias in pairs}
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://")):
            raise ValueError("redis_url must start with redis:// or rediss://")
        return value

    @field_validator(
        "api_key", "mcp_auth_token", "max_requests_per_minute", "redis_url", "redis_password", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
