"""Operators' signals: OpenTelemetry traces and Prometheus metrics (issue 21), both off by default.

- ``hooks``: the seams the rest of the package calls (no-op callables and pass-through decorators until a
  recorder is installed); the only module of this package imported at start-up.
- ``config``: whether traces and metrics are wanted (settings and the standard ``OTEL_*`` variables).
- ``labels``: route templates and bounded key labels (a short hash or an operator's alias, never the key).
- ``tracing`` (needs the ``[otel]`` extra), ``metrics`` (needs ``[metrics]``), ``recorder`` (what the hooks
  do once on), ``endpoint`` (``/metrics`` on the HTTP transports): imported only when turned on.
"""
