"""Ring buffer of the /v1 requests the sandbox received (never the API key itself)."""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from typing import Any


def key_fingerprint(key: str) -> str:
    """First 12 hex characters of the key's SHA-256: enough to tell keys apart, useless to an attacker."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class RequestLog:
    def __init__(self, size: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._next_id = 1

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Store an entry (the caller may fill in ``status`` later; the dict is kept by reference)."""
        with self._lock:
            entry["id"] = self._next_id
            self._next_id += 1
            self._entries.append(entry)
        return entry

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            items = [dict(entry) for entry in self._entries]
        return items[-limit:] if limit else items

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
