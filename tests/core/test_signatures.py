"""Error signatures: one cause, one key, whatever ids, numbers, sizes, urls and names vary."""

from __future__ import annotations

import pytest

from mixpeek_tasks_mcp.triage.signatures import display, literal_runs, merge_values, signature_of

SAME_CAUSE = [
    (
        "Object obj_9f73289c32 exceeds the 2 GiB size limit (3862 MiB)",
        "Object obj_b7ac11ee20 exceeds the 2 GiB size limit (8657 MiB)",
    ),
    (
        "S3 access denied for s3://products-raw/obj_9f73289c32.mp3: AccessDenied (403)",
        "S3 access denied for s3://podcasts-raw/obj_00aa11bb22.wav: AccessDenied (403)",
    ),
    (
        "Interrupted by engine deploy engine-v1.30.0; the batch will be resubmitted automatically",
        "Interrupted by engine deploy engine-v1.31.12; the batch will be resubmitted automatically",
    ),
    (
        "task 2d322a05-3178-4eca-aac6-b82b0a0313aa failed at 2026-11-20T10:00:00Z reading /data/in/x.csv",
        "task 0f0e0d0c-0000-4000-8000-00000000cafe failed at 2026-11-21T23:59:59Z reading /mnt/other/y.parquet",
    ),
    (
        "Feature extractor 'clip-vit-l14' timed out after 300s on 250 objects",
        "Feature extractor 'siglip-so400m' timed out after 1800s on 12 objects",
    ),
    (
        "Ray job ray_job_a1b2c3 failed: OOMKilled on worker ip-10-0-3-17 (memory limit 16Gi)",
        "Ray job ray_job_ffee99 failed: OOMKilled on worker ip-10-0-12-4 (memory limit 16Gi)",
    ),
]
DIFFERENT_CAUSES = [
    ("Object obj_1 exceeds the 2 GiB size limit (3862 MiB)", "Collection col_text_1a2b3c not found in namespace ns_1"),
    ("Webhook endpoint rejected the payload signature", "License check failed for the custom plugin bundle"),
]


@pytest.mark.parametrize(("first", "second"), SAME_CAUSE)
def test_texts_of_one_cause_share_a_key(first: str, second: str) -> None:
    assert signature_of(first).key == signature_of(second).key


@pytest.mark.parametrize(("first", "second"), DIFFERENT_CAUSES)
def test_texts_of_different_causes_do_not(first: str, second: str) -> None:
    assert signature_of(first).key != signature_of(second).key


def test_what_every_task_of_a_group_shares_is_shown_again_and_only_what_varies_stays_masked() -> None:
    first, second = (signature_of(text) for text in SAME_CAUSE[0])
    known: list[str | None] = list(first.values)
    merge_values(known, second.values)
    shown = display(first.key, known)
    assert shown == "Object <id> exceeds the 2 GiB size limit (<size>)"
    assert literal_runs(shown)[0] == "exceeds the 2 GiB size limit"


def test_hostile_texts_cost_a_bounded_key() -> None:
    signature = signature_of("x" * 1_000_000 + " 12")
    assert len(signature.key) <= 300
    nested = signature_of("'" * 50_000)
    assert len(nested.key) <= 300
