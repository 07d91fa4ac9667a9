# mixpeek-tasks-mcp as a shared server: MCP over Streamable HTTP at :8000/mcp, /healthz and /readyz for probes.
#
#   docker build -t mixpeek-tasks-mcp:0.1.0 .
#   docker run --rm -p 8000:8000 -e MIXPEEK_API_KEY -e MIXPEEK_MCP_AUTH_TOKEN mixpeek-tasks-mcp:0.1.0
#
# The server binds 0.0.0.0 inside the container, so it refuses to start without MIXPEEK_MCP_AUTH_TOKEN (clients
# send it as "Authorization: Bearer <token>"). Only localhost Host headers are accepted until MIXPEEK_ALLOWED_HOSTS
# (a JSON list, e.g. '["mcp.example.com","mcp.example.com:*"]') names the host clients use. No secret is baked in.

FROM python:3.12-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mixpeek_tasks_mcp ./mixpeek_tasks_mcp
# The package, its runtime dependencies and the optional extras (no test extras), into a venv the runtime
# stage copies: metrics and traces stay off until MIXPEEK_METRICS / OTEL_* turn them on, and redis-py loads
# only when MIXPEEK_REDIS_URL is set (replicas sharing through Redis).
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir '.[otel,metrics,redis]' \
    && /opt/venv/bin/python -m compileall -q /opt/venv

FROM python:3.12-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MIXPEEK_TRANSPORT=streamable-http \
    MIXPEEK_HOST=0.0.0.0 \
    MIXPEEK_PORT=8000
RUN groupadd --system --gid 10001 mcp \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mcp
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MIXPEEK_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["mixpeek-tasks-mcp"]
CMD ["serve"]
