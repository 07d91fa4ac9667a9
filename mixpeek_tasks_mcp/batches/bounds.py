"""Every budget of the batch answers, by name: whatever Mixpeek returns, these hold."""

from __future__ import annotations

from typing import Final

LOG_TAIL_LINES: Final = 40
"""Most log lines shown: the tail of the failing tier's Ray job output."""
MAX_LOG_TAIL_LINES: Final = 200
"""The most a caller may ask for with ``log_lines``."""
LOG_TAIL_BYTES: Final = 6_000
"""Most UTF-8 bytes of the log tail, whatever the line count."""
LOG_LINE_CHARS: Final = 300
"""A longer log line is clipped (a minified JSON blob or base64 on one line stays one short line)."""
LOG_SCAN_CHARS: Final = 2_000_000
"""How much of a log text is split into lines (the tail is taken from its end)."""
MAX_TIERS_SHOWN: Final = 12
FAILED_DOCUMENTS_FETCHED: Final = 50
"""Failed documents asked for (one page); counts by class come from these and the batch's own records."""
FAILED_DOCUMENTS_SHOWN: Final = 5
EXAMPLES_PER_CLASS: Final = 2
ERROR_CHARS: Final = 200
"""An error text from Mixpeek is clipped to this (and quoted as data)."""
ID_CHARS: Final = 120
REASON_CHARS: Final = 200
MAX_KILL_TASK_IDS: Final = 20
"""Tasks one cancel_tasks call may kill (one DELETE each)."""
MAX_TIER_NUM: Final = 64
CONFIRMATION_SECONDS: Final = 120.0
"""How long a confirmation token stays good."""
MAX_PENDING_CONFIRMATIONS: Final = 1_000
"""Tokens kept at once; the oldest is dropped beyond."""
MISSING_NOTES: Final = 8
"""Most 'Mixpeek's answer lacked ...' notes shown."""
