"""The batch tools' argument models: what their advertised schemas are generated from (``schema.py``, as for
the task tools) and what checked arguments end up as (``checks.py``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .bounds import ID_CHARS, LOG_TAIL_LINES, MAX_KILL_TASK_IDS, MAX_LOG_TAIL_LINES, MAX_TIER_NUM, REASON_CHARS

RetryMode = Literal["transient_only", "all"]
TOKEN_CHARS = 64

_BATCH = Field(min_length=1, max_length=ID_CHARS, description="The batch, e.g. btch_abc123 (list_tasks shows it).")
_BUCKET = Field(
    default=None,
    min_length=1,
    max_length=ID_CHARS,
    description="The batch's bucket, e.g. bkt_products. Only needed when the batch cannot be found without it.",
)
_TOKEN = Field(
    default=None,
    min_length=1,
    max_length=TOKEN_CHARS,
    description="The confirmation_token a previous call with the same arguments returned, once the user agreed.",
)


class InspectBatchArguments(BaseModel):
    """Arguments of ``inspect_batch``."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str = _BATCH
    bucket_id: str | None = _BUCKET
    tier_num: int | None = Field(
        default=None, ge=0, le=MAX_TIER_NUM, description="Show this tier's log and failures (default: the failing one)."
    )
    log_lines: int = Field(
        default=LOG_TAIL_LINES, ge=1, le=MAX_LOG_TAIL_LINES, description="Log lines to show from the end (1-200)."
    )


class CancelTasksArguments(BaseModel):
    """Arguments of ``cancel_tasks``: tasks by id, or a batch (optionally one tier)."""

    model_config = ConfigDict(extra="forbid")

    task_ids: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_KILL_TASK_IDS,
        description=f"Kill these tasks (at most {MAX_KILL_TASK_IDS}); or give batch_id instead.",
    )
    batch_id: str | None = Field(default=None, min_length=1, max_length=ID_CHARS, description="Cancel this batch.")
    bucket_id: str | None = _BUCKET
    tier_num: int | None = Field(
        default=None, ge=0, le=MAX_TIER_NUM, description="With batch_id: cancel only this tier, not its siblings."
    )
    reason: str | None = Field(
        default=None, min_length=1, max_length=REASON_CHARS, description="Why, stored on the batch for audit."
    )
    confirmation_token: str | None = _TOKEN

    @model_validator(mode="after")
    def _one_target(self) -> CancelTasksArguments:
        if (self.task_ids is None) == (self.batch_id is None):
            raise ValueError("give task_ids or batch_id, exactly one")
        if self.task_ids is not None and (self.tier_num is not None or self.bucket_id is not None):
            raise ValueError("tier_num and bucket_id go with batch_id, not task_ids")
        return self


class RetryBatchArguments(BaseModel):
    """Arguments of ``retry_batch``: Mixpeek's RetryBatchRequest plus the batch and the confirmation."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str = _BATCH
    bucket_id: str | None = _BUCKET
    retry_mode: RetryMode = Field(
        default="transient_only",
        description="transient_only (default: network, timeout, rate limit failures) or all (also permanent "
        "and resource ones, after fixing the data or the extractor).",
    )
    tier_nums: list[int] | None = Field(
        default=None, min_length=1, max_length=MAX_TIER_NUM, description="Only failures of these tiers (0-based)."
    )
    max_retry_count: int = Field(
        default=3, ge=1, le=10, description="Skip documents already retried this many times (1-10, default 3)."
    )
    confirmation_token: str | None = _TOKEN

    @model_validator(mode="after")
    def _tiers_in_range(self) -> RetryBatchArguments:
        if self.tier_nums is not None and not all(0 <= tier <= MAX_TIER_NUM for tier in self.tier_nums):
            raise ValueError(f"tier_nums are tier numbers from 0 to {MAX_TIER_NUM}")
        return self

    def identity(self) -> dict[str, object]:
        return self.model_dump(exclude={"confirmation_token"}, exclude_none=True)
