"""The made-up account the generated tasks belong to: namespaces, buckets, collections and ids.

Shared by the task generator, the failure families and the live simulator. Everything is drawn from a
seeded RNG, so the same seed gives the same world.
"""

from __future__ import annotations

import random
import uuid

EXTRACTORS = ("clip-vit-l14", "text-embed-3-small", "whisper-large-v3", "siglip-so400m", "e5-large-v2")
MIME_MISMATCHES = (
    ("application/pdf", "image/png"),
    ("video/mp4", "video/quicktime"),
    ("image/jpeg", "image/heic"),
    ("audio/wav", "audio/mpeg"),
    ("application/pdf", "application/msword"),
)
EXTENSIONS = {
    "image/png": "png",
    "video/quicktime": "mov",
    "image/heic": "heic",
    "audio/mpeg": "mp3",
    "application/msword": "doc",
}
BUCKET_NAMES = ("products", "support-videos", "contracts", "podcasts", "catalog-images", "lectures")
WORKER_NODES = ("ip-10-0-3-17", "ip-10-0-7-212", "ip-10-0-1-88", "ip-10-0-12-4", "ip-10-0-9-141")
COLLECTION_NAMES = ("text", "images", "scenes", "transcripts", "faces", "captions")

Bucket = tuple[str, str, str]
"""(bucket_id, bucket name, namespace_id)."""


def hex_id(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(length * 4):0{length}x}"


def task_uuid(rng: random.Random) -> str:
    """A UUIDv4 drawn from the seeded RNG (so ids repeat for the same seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class World:
    """Namespaces, buckets and collections the generated tasks refer to."""

    def __init__(self, rng: random.Random) -> None:
        self.namespaces = [f"ns_{hex_id(rng, 10)}" for _ in range(4)]
        self.buckets: list[Bucket] = [
            (f"bkt_{name.replace('-', '_')}", name, rng.choice(self.namespaces)) for name in BUCKET_NAMES
        ]
        self.collections = [f"col_{name}_{hex_id(rng, 6)}" for name in COLLECTION_NAMES]
        self.clusters = [f"clust_{hex_id(rng, 8)}" for _ in range(5)]
        self.taxonomies = [f"tax_{hex_id(rng, 8)}" for _ in range(4)]
        self.retrievers = [f"ret_{hex_id(rng, 8)}" for _ in range(4)]

    def bucket_name(self, bucket_id: object) -> str | None:
        for known_id, name, _ in self.buckets:
            if known_id == bucket_id:
                return name
        return None
