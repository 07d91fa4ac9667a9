"""Keep API keys out of everything we show or log, whatever an upstream echoes back and wherever.

An upstream (or something posing as one) can echo the Authorization header in any field of a body, in a
header, even in the reason phrase of its status line. So every string decoded from a response is redacted
(:func:`redact_tree`), every message built from headers is redacted (:func:`redact`), and the HTTP library's
log lines, which quote the status line, pass through :class:`SecretsLogFilter`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

MASK = "***"
MAX_JSON_DEPTH = 64
"""Deeper JSON is not something Mixpeek sends; refusing it keeps every later walk (repr, str) shallow."""


class TooDeep(ValueError):
    pass


def redact(text: str, secret: str | None) -> str:
    """Remove a secret from text that came from elsewhere (error bodies may echo what we sent)."""
    if secret and secret in text:
        text = text.replace(secret, MASK)
    return text


def redact_tree(value: Any, secret: str | None, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decoded JSON with the secret removed from every string, keys included; TooDeep past ``max_depth``."""

    def walk(item: Any, depth: int) -> Any:
        if depth > max_depth:
            raise TooDeep(f"nested deeper than {max_depth} levels")
        if isinstance(item, str):
            return redact(item, secret)
        if isinstance(item, dict):
            return {redact(str(key), secret): walk(inner, depth + 1) for key, inner in item.items()}
        if isinstance(item, list):
            return [walk(inner, depth + 1) for inner in item]
        return item

    return walk(value, 0)


class SecretsLogFilter(logging.Filter):
    """Redacts every key this process has sent from the records of the loggers it is attached to."""

    def __init__(self, max_secrets: int = 1024) -> None:
        super().__init__()
        self._secrets: OrderedDict[str, None] = OrderedDict()
        self._max = max_secrets
        self._lock = threading.Lock()

    def remember(self, secret: str | None) -> None:
        if not secret:
            return
        with self._lock:
            self._secrets[secret] = None
            self._secrets.move_to_end(secret)
            while len(self._secrets) > self._max:
                self._secrets.popitem(last=False)

    def scrub(self, text: str) -> str:
        """``text`` with every remembered key redacted (span attributes go through this too)."""
        with self._lock:
            secrets = list(self._secrets)
        for secret in secrets:
            text = redact(text, secret)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = list(self._secrets)
        if not secrets:
            return True
        message = record.getMessage()
        cleaned = message
        for secret in secrets:
            cleaned = redact(cleaned, secret)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


SECRETS_LOG_FILTER = SecretsLogFilter()
# httpx2 logs each response's status line at INFO (the reason phrase is the upstream's to choose). httpcore2
# logs the raw response headers at DEBUG, on several child loggers a filter would have to chase: its trace
# stays off whatever the log level.
logging.getLogger("httpx2").addFilter(SECRETS_LOG_FILTER)
logging.getLogger("httpcore2").setLevel(logging.INFO)
