"""Identity events (`patron.identity.events.v1`, produced by identity-merge): suspected
duplicates, merge decisions and unmerges."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from patron_shared.events.base import Contract
from patron_shared.events.envelope import UtcDatetime
from patron_shared.events.topics import Topic

MergeDecision = Literal["merge", "reject"]


class _IdentityEvent(Contract):
    topic: ClassVar[Topic] = Topic.IDENTITY_EVENTS

    customer_id: uuid.UUID


class FieldComparison(Contract):
    """How one field compared between the two records, and what it added to the score."""

    field: str = Field(min_length=1, max_length=100, examples=["email"])
    level: str = Field(min_length=1, max_length=100, examples=["exact", "fuzzy", "different"])
    weight: float = Field(
        allow_inf_nan=False,
        description="Match weight (log2 Bayes factor) this comparison contributed; "
        "negative when it argues against a match",
    )


class DuplicateSuspected(_IdentityEvent):
    """`customer_id` and `candidate_customer_id` may be the same person; a rule or a
    reviewer decides (see MergeDecided)."""

    event_type: ClassVar[str] = "DuplicateSuspected"

    suggestion_id: uuid.UUID
    candidate_customer_id: uuid.UUID
    score: float = Field(ge=0, le=1, description="Probability that both are the same person")
    match_weight: float | None = Field(
        default=None, allow_inf_nan=False, description="Total match weight behind `score`"
    )
    explanation: list[FieldComparison] = Field(default_factory=list, max_length=100)


class MergeDecided(_IdentityEvent):
    """`customer_id` is the primary; on "merge", `secondary_id` is folded into it."""

    event_type: ClassVar[str] = "MergeDecided"

    secondary_id: uuid.UUID
    decision: MergeDecision
    decided_by: str = Field(
        min_length=1, max_length=200, description='A user id, or "auto" for a matching rule'
    )
    rule: str | None = Field(default=None, max_length=200)
    score: float | None = Field(default=None, ge=0, le=1)
    decided_at: UtcDatetime
    suggestion_id: uuid.UUID | None = None


class MovedIdentifier(BaseModel):
    """An identifier that went back to the restored customer."""

    # Not a Contract: its `kind` field would shadow Contract.kind ("event"/"command").
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str = Field(min_length=1, max_length=50, examples=["email", "phone", "external_id"])
    value: str = Field(min_length=1, max_length=500)
    source: str | None = Field(default=None, max_length=50, examples=["shopify"])


class CustomersUnmerged(_IdentityEvent):
    """`customer_id` is the survivor that was split; `restored_customer_id` lives again."""

    event_type: ClassVar[str] = "CustomersUnmerged"

    restored_customer_id: uuid.UUID
    unmerged_at: UtcDatetime
    unmerged_by: str | None = Field(default=None, max_length=200)
    identifiers: list[MovedIdentifier] = Field(default_factory=list, max_length=1000)
