"""Read Mixpeek's batch answers defensively: most have no schema, so every field is looked for, checked for its
type, and noted when missing or odd. Nothing here raises on odd JSON; it says what it could not find."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..bounds import clip
from .bounds import ERROR_CHARS, ID_CHARS

CLASSES = ("transient", "permanent", "resource")
"""FailedObjectRecord.error_type values Mixpeek documents."""
ACTIVE = frozenset({"PENDING", "QUEUED", "IN_PROGRESS", "PROCESSING", "DRAFT"})
LIST_KEYS = ("results", "documents", "failed_documents", "items", "data", "failed_objects")
LOG_KEYS = ("logs", "ray_job_logs", "log", "stdout", "output", "text")


_SURROGATES = re.compile(r"[\ud800-\udfff]")


def text_of(value: Any, limit: int = ERROR_CHARS) -> str | None:
    """A text from Mixpeek, clipped, its lone surrogates (JSON escapes can carry them, UTF-8 cannot) replaced."""
    if not isinstance(value, str) or not value.strip():
        return None
    return clip(_SURROGATES.sub("�", value), limit)


def word_of(value: Any) -> str | None:
    """A status-like value (FAILED, RUNNING, extracting): letters, digits and _ only, so a hostile one cannot
    carry a sentence into a preview or a confirmation form."""
    if not isinstance(value, str):
        return None
    word = re.sub(r"[^A-Za-z0-9_]", "", value)[:40]
    return word or None


def int_of(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__


@dataclass
class Tier:
    tier_num: int
    status: str | None
    task_id: str | None
    ray_job_id: str | None
    ray_job_status: str | None
    logs: str | None
    errors: list[str]


@dataclass
class FailedDocument:
    object_id: str | None
    error: str | None
    error_type: str | None
    tier_num: int | None


@dataclass
class BatchFacts:
    """What the batch answer told us, with notes of what it did not."""

    batch_id: str
    bucket_id: str | None = None
    status: str | None = None
    lifecycle: str | None = None
    reason: str | None = None
    status_message: str | None = None
    task_id: str | None = None
    tiers: list[Tier] = field(default_factory=list)
    failed: list[FailedDocument] = field(default_factory=list)
    failed_count: int | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return (self.status or "").upper() in ACTIVE


def _failed(item: Any) -> FailedDocument | None:
    if not isinstance(item, dict):
        return None
    object_id = next((item[k] for k in ("object_id", "document_id", "id") if isinstance(item.get(k), str)), None)
    error = next(
        (item[k] for k in ("error", "message", "reason", "error_message") if isinstance(item.get(k), str)), None
    )
    kind = next((item[k] for k in ("error_type", "class", "type", "category") if isinstance(item.get(k), str)), None)
    tier = int_of(item.get("tier_num"))
    kind = (word_of(kind) or "").lower() or None
    return FailedDocument(text_of(object_id, ID_CHARS), text_of(error), kind, tier)


def read_batch(batch_id: str, raw: Any) -> BatchFacts:
    """A BatchModel read field by field (the SDK's own parser raises on missing required fields)."""
    facts = BatchFacts(batch_id=batch_id)
    if not isinstance(raw, dict):
        facts.missing.append(f"the batch answer is {_kind(raw)}, not an object: no status, tiers or failures")
        return facts
    facts.bucket_id = text_of(raw.get("bucket_id"), ID_CHARS)
    facts.status = word_of(raw.get("status"))
    facts.lifecycle = word_of(raw.get("lifecycle"))
    facts.reason = (
        text_of(raw.get("failure_reason")) or text_of(raw.get("lifecycle_reason")) or text_of(raw.get("error"))
    )
    facts.status_message = text_of(raw.get("status_message"))
    facts.task_id = text_of(raw.get("task_id"), ID_CHARS)
    if facts.status is None:
        facts.missing.append("status")
    tiers = raw.get("tier_tasks")
    if isinstance(tiers, list):
        for index, item in enumerate(tiers):
            if not isinstance(item, dict):
                facts.missing.append(f"tier_tasks[{index}] is {_kind(item)}")
                continue
            number = int_of(item.get("tier_num"))
            errors = (
                [
                    text_of(e.get("message") if isinstance(e, dict) else e)
                    for e in item.get("errors") or []
                    if isinstance(e, dict | str)
                ][:3]
                if isinstance(item.get("errors"), list)
                else []
            )
            facts.tiers.append(
                Tier(
                    tier_num=number if number is not None else index,
                    status=word_of(item.get("status")),
                    task_id=text_of(item.get("task_id"), ID_CHARS),
                    ray_job_id=text_of(item.get("ray_job_id"), ID_CHARS),
                    ray_job_status=word_of(item.get("ray_job_status")),
                    logs=item["ray_job_logs"] if isinstance(item.get("ray_job_logs"), str) else None,
                    errors=[e for e in errors if e],
                )
            )
    else:
        facts.missing.append("tier_tasks (no per-tier status)" if tiers is None else f"tier_tasks is {_kind(tiers)}")
    objects = raw.get("failed_objects")
    if isinstance(objects, list):
        facts.failed = [doc for doc in map(_failed, objects) if doc is not None]
    facts.failed_count = int_of(raw.get("failed_object_count"))
    if facts.failed_count is None and objects is None:
        facts.missing.append("failed_objects and failed_object_count")
    return facts


def read_failed_documents(raw: Any) -> tuple[list[FailedDocument], int | None, list[str]]:
    """The failed-documents page (undocumented shape): its records, the total if given, and notes."""
    notes: list[str] = []
    items: Any = None
    total = None
    if isinstance(raw, list):
        items = raw
        notes.append("failed-documents came as a bare list (no total)")
    elif isinstance(raw, dict):
        items = next((raw[k] for k in LIST_KEYS if isinstance(raw.get(k), list)), None)
        total = next(
            (int_of(raw[k]) for k in ("total", "total_count", "count") if int_of(raw.get(k)) is not None), None
        )
        if items is None:
            notes.append(f"failed-documents had no list of documents (keys: {', '.join(sorted(map(str, raw))[:6])})")
    else:
        notes.append(f"failed-documents answer is {_kind(raw)}")
    documents = [doc for doc in map(_failed, items or []) if doc is not None]
    if items and len(documents) < len(items):
        notes.append(f"{len(items) - len(documents)} failed-document entries were not objects")
    return documents, total, notes


def read_logs(raw: Any, tier_num: int | None) -> tuple[str | None, list[str]]:
    """The log text of ``tier_num`` (or of the whole answer) from the logs endpoint's undocumented shape."""
    if isinstance(raw, str):
        return raw, ["the logs answer is a bare string (not split by tier)"]
    if isinstance(raw, list):
        raw = {"logs": raw}
    if not isinstance(raw, dict):
        return None, [f"the logs answer is {_kind(raw)}"]
    entries = next((raw[k] for k in LOG_KEYS if k in raw), None)
    if isinstance(entries, str):
        return entries, []
    if isinstance(entries, dict):
        chosen = entries.get(str(tier_num)) if tier_num is not None else None
        if isinstance(chosen, str):
            return chosen, []
        texts = [value for value in entries.values() if isinstance(value, str)]
        return ("\n".join(texts) or None), ([] if texts else ["the logs answer held no text"])
    if isinstance(entries, list):
        texts = []
        for entry in entries:
            if isinstance(entry, str):
                texts.append(entry)
            elif isinstance(entry, dict) and (tier_num is None or int_of(entry.get("tier_num")) in (None, tier_num)):
                texts += [entry[k] for k in LOG_KEYS if isinstance(entry.get(k), str)][:1]
        return ("\n".join(texts) or None), ([] if texts else ["the logs answer held no text for this tier"])
    return None, [f"the logs answer had no log text (keys: {', '.join(sorted(map(str, raw))[:6])})"]


def class_counts(documents: list[FailedDocument]) -> Counter[str]:
    return Counter(doc.error_type if doc.error_type in CLASSES else "unclassified" for doc in documents)
