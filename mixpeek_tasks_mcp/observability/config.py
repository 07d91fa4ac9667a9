"""Whether traces and metrics are on, from the settings and the standard ``OTEL_*`` variables (stdlib only).

Traces are off unless asked for: ``MIXPEEK_TRACES=true`` (``--traces``), or ``OTEL_TRACES_EXPORTER`` set to an
exporter (``otlp``, ``console``), or an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``). ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn them
off whatever else says. (The OpenTelemetry spec makes ``otlp`` the default exporter; here an unset variable
means off, so an operator who set nothing gets nothing exported.)

Metrics are off unless ``MIXPEEK_METRICS=true`` (``--metrics``), and only on the HTTP transports: stdio has no
endpoint to scrape.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..settings import Settings

_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class Wanted:
    traces: bool
    metrics: bool

    @property
    def any(self) -> bool:
        return self.traces or self.metrics


def traces_wanted(settings: Settings, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return False
    exporters = [part.strip().lower() for part in env.get("OTEL_TRACES_EXPORTER", "").split(",") if part.strip()]
    if "none" in exporters:
        return False
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return settings.traces or bool(exporters) or bool(endpoint and endpoint.strip())


def metrics_wanted(settings: Settings) -> bool:
    return settings.metrics and settings.transport != "stdio"


def wanted(settings: Settings, environ: Mapping[str, str] | None = None) -> Wanted:
    return Wanted(traces=traces_wanted(settings, environ), metrics=metrics_wanted(settings))
