"""What a sandbox batch says about itself: failed-object error texts by class, and Ray job stdout."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from .timeutil import now_iso

FAILURE_TEXTS: dict[str, tuple[str, ...]] = {
    "transient": (
        "Timeout after {secs}s fetching object from storage",
        "Connection reset by peer while downloading the object",
        "Rate limited by the embedding service (429); retry later",
    ),
    "permanent": (
        "Invalid file format: expected PDF, got PNG",
        "Object exceeds the 2 GiB size limit ({mib} MiB)",
        "Corrupt media: no decodable video stream",
    ),
    "resource": (
        "CUDA out of memory: tried to allocate {mib} MiB",
        "Worker memory limit exceeded (OOMKilled)",
    ),
}
"""FailedObjectRecord.error texts per error_type (transient, permanent, resource)."""

EXTRACTORS = ("text_extractor", "image_embedding", "video_scene_splitter", "audio_transcriber")


def ray_log(rng: random.Random, tier: int, outcome: str, error: object, *, lines: int = 40) -> str:
    """The tail of a Ray head pod's stdout for one tier's job, ending the way the job ended."""
    extractor = rng.choice(EXTRACTORS)
    out = [
        f"INFO job_manager.py:530 -- Runtime env is setting up for tier {tier}.",
        f"INFO worker.py:1821 -- Connecting to existing Ray cluster at address: 10.0.{rng.randint(1, 12)}.17:6379",
        f"INFO pipeline.py:88 -- Starting {extractor} on {rng.randint(50, 5000)} objects",
    ]
    for step in range(max(0, lines - 6)):
        out.append(
            f"INFO pipeline.py:142 -- batch {step + 1}: {rng.randint(10, 64)} objects processed in "
            f"{rng.uniform(0.4, 9.0):.2f}s"
        )
    if outcome == "FAILED":
        out.append(f"ERROR pipeline.py:201 -- {error or 'Task failed'}")
        out.append("Traceback (most recent call last):")
        out.append(f'  File "/app/engine/{extractor}.py", line {rng.randint(40, 400)}, in run')
        out.append("ray.exceptions.RayTaskError: the job failed; see the error above")
    elif outcome == "STOPPED":
        out.append("WARNING job_manager.py:611 -- Job was stopped by a cancel request.")
    else:
        out.append(f"INFO pipeline.py:230 -- {extractor} finished: all objects written")
    return "\n".join(out)


def whole(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def seed_of(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def failed_record(rng: random.Random, tier: int, error_type: str, collection: str | None) -> dict[str, Any]:
    """A FailedObjectRecord (object_id, error, error_type, timestamp) plus where it failed."""
    template = rng.choice(FAILURE_TEXTS[error_type])
    return {
        "object_id": f"obj_{rng.getrandbits(40):010x}",
        "error": template.format(secs=rng.choice((30, 60, 120)), mib=rng.randint(2049, 9000)),
        "error_type": error_type,
        "timestamp": now_iso(),
        "tier_num": tier,
        "collection_id": collection,
        "retry_count": 0,
    }
