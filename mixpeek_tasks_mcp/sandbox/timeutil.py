"""Timestamps as fixed-width ISO-8601 UTC strings, so string order is time order."""

from __future__ import annotations

from datetime import UTC, datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_iso(moment: datetime) -> str:
    """``2025-06-01T12:00:00.000000Z`` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(ISO_FORMAT)


def now_iso() -> str:
    return to_iso(datetime.now(UTC))


def parse_moment(value: object) -> str | None:
    """Normalise an ISO-8601 string (``Z`` or offset, date only) or epoch seconds; None if unparseable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return to_iso(datetime.fromtimestamp(float(value), UTC))
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        return to_iso(datetime.fromisoformat(text))
    except ValueError:
        return None
