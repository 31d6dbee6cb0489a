"""Loyalty events (`patron.loyalty.events.v1`, produced by loyalty): the points ledger,
tiers and store credit."""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from patron_shared.events.base import Contract, CurrencyCode, NonNegativeMoney, PositiveMoney
from patron_shared.events.envelope import UtcDatetime
from patron_shared.events.topics import Topic

TierDirection = Literal["upgrade", "downgrade"]

_OrderReference = Annotated[str, Field(min_length=1, max_length=100)]
_Benefit = Annotated[str, Field(min_length=1, max_length=200)]


def _reject_zero(points: int) -> int:
    # A zero adjustment changes nothing and would only clutter the ledger.
    if points == 0:
        raise ValueError("an adjustment must add or remove points")
    return points


PointsDelta = Annotated[
    int,
    AfterValidator(_reject_zero),
    Field(
        description="Points added (positive) or removed (negative)",
        json_schema_extra={"not": {"const": 0}},
    ),
]
PointsBalance = Annotated[int, Field(ge=0, description="The customer's balance afterwards")]


class _LoyaltyEvent(Contract):
    topic: ClassVar[Topic] = Topic.LOYALTY_EVENTS

    customer_id: uuid.UUID


class PointsEarned(_LoyaltyEvent):
    event_type: ClassVar[str] = "PointsEarned"

    points: int = Field(gt=0)
    balance: PointsBalance
    order_id: _OrderReference | None = None
    reason: str = Field(min_length=1, max_length=200, examples=["order", "signup"])
    earned_at: UtcDatetime
    expires_at: UtcDatetime | None = None


class PointsRedeemed(_LoyaltyEvent):
    """Points turned into a discount (optionally as a discount code)."""

    event_type: ClassVar[str] = "PointsRedeemed"

    points: int = Field(gt=0)
    balance: PointsBalance
    discount: PositiveMoney
    currency: CurrencyCode
    code: str | None = Field(default=None, max_length=100)
    redeemed_at: UtcDatetime


class PointsExpired(_LoyaltyEvent):
    event_type: ClassVar[str] = "PointsExpired"

    points: int = Field(gt=0)
    balance: PointsBalance
    expired_at: UtcDatetime


class PointsAdjusted(_LoyaltyEvent):
    """A manual correction by an operator, always with a reason for the audit trail."""

    event_type: ClassVar[str] = "PointsAdjusted"

    points: PointsDelta
    balance: PointsBalance
    reason: str = Field(min_length=1, max_length=500)
    actor: str = Field(min_length=1, max_length=200)
    adjusted_at: UtcDatetime


class PointsReversed(_LoyaltyEvent):
    """Points an order earned taken back after a refund or cancellation. What the balance
    no longer held (already redeemed or expired) is `unrecovered`."""

    event_type: ClassVar[str] = "PointsReversed"

    points: int = Field(ge=0, description="Points taken back now")
    unrecovered: int = Field(default=0, ge=0, description="Points that could not be taken")
    balance: PointsBalance
    order_id: _OrderReference
    reason: str = Field(min_length=1, max_length=200, examples=["order refunded"])
    reversed_at: UtcDatetime


class TierChanged(_LoyaltyEvent):
    event_type: ClassVar[str] = "TierChanged"

    previous_tier: str | None = Field(default=None, max_length=100)
    tier: str = Field(min_length=1, max_length=100, description="The tier's key (`silver`)")
    tier_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The tier's name as the program shows it to customers (`Silver`); "
        "absent from events published before it was added",
    )
    direction: TierDirection
    changed_at: UtcDatetime
    benefits: list[_Benefit] = Field(default_factory=list, max_length=50)


class CreditIssued(_LoyaltyEvent):
    event_type: ClassVar[str] = "CreditIssued"

    credit_entry_id: uuid.UUID
    amount: PositiveMoney
    currency: CurrencyCode
    balance: NonNegativeMoney
    reason: str = Field(min_length=1, max_length=500)
    expires_at: UtcDatetime | None = None
    issued_at: UtcDatetime


class CreditApplied(_LoyaltyEvent):
    event_type: ClassVar[str] = "CreditApplied"

    amount: PositiveMoney
    currency: CurrencyCode
    balance: NonNegativeMoney
    order_id: _OrderReference | None = None
    applied_at: UtcDatetime
