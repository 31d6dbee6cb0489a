"""Segment events (`patron.segment.events.v1`, produced by segmentation): membership
changes, VIP status and per-customer predictions."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from patron_shared.events.base import Contract, CurrencyCode, NonNegativeMoney
from patron_shared.events.envelope import UtcDatetime
from patron_shared.events.topics import Topic

ChurnRisk = Literal["low", "medium", "high"]


class _SegmentEvent(Contract):
    topic: ClassVar[Topic] = Topic.SEGMENT_EVENTS

    customer_id: uuid.UUID


class _SegmentMembershipEvent(_SegmentEvent):
    segment_key: str = Field(
        min_length=1,
        max_length=100,
        description='A built-in segment ("vip", "at_risk", ...) or a custom segment\'s UUID',
        examples=["vip", "at_risk"],
    )
    segment_name: str = Field(min_length=1, max_length=200)
    at: UtcDatetime


class SegmentEntered(_SegmentMembershipEvent):
    event_type: ClassVar[str] = "SegmentEntered"


class SegmentExited(_SegmentMembershipEvent):
    event_type: ClassVar[str] = "SegmentExited"


class VipStatusChanged(_SegmentEvent):
    event_type: ClassVar[str] = "VipStatusChanged"

    is_vip: bool
    reason: str | None = Field(default=None, max_length=500)
    changed_at: UtcDatetime


class InsightsUpdated(_SegmentEvent):
    """The latest model outputs for one customer; a field is null when the model has too
    little history to say."""

    event_type: ClassVar[str] = "InsightsUpdated"

    probability_alive: float | None = Field(default=None, ge=0, le=1)
    expected_purchases_90d: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    predicted_clv: NonNegativeMoney | None = None
    currency: CurrencyCode | None = None
    churn_risk: ChurnRisk | None = None
    rfm_segment: str | None = Field(default=None, max_length=100)
    computed_at: UtcDatetime

    @model_validator(mode="after")
    def _clv_needs_a_currency(self) -> Self:
        # An amount without its currency cannot be compared or displayed.
        if self.predicted_clv is not None and self.currency is None:
            raise ValueError("predicted_clv needs a currency")
        return self
