"""Request and response bodies of the points API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

from patron_loyalty.domain.ledger import Entry
from patron_loyalty.domain.program import Program, Tier
from patron_loyalty.service.points import Adjusted, Card

# money and rates travel as strings: no float ever rounds them
MoneyText = Annotated[Decimal, PlainSerializer(str, return_type=str)]


class LotMoveOut(BaseModel):
    lot_id: uuid.UUID
    points: int


class PointsEntryOut(BaseModel):
    id: uuid.UUID
    kind: str
    points: int = Field(description="What the entry did to the balance (negative: taken)")
    balance_after: int
    reason: str
    actor: str | None
    source_type: str
    source_id: str | None
    occurred_at: datetime
    lots: list[LotMoveOut]

    @classmethod
    def of(cls, entry: Entry) -> PointsEntryOut:
        return cls(
            id=entry.entry_id,
            kind=entry.kind,
            points=entry.points,
            balance_after=entry.balance_after,
            reason=entry.reason,
            actor=entry.actor,
            source_type=entry.source_type,
            source_id=entry.source_id,
            occurred_at=entry.occurred_at,
            lots=[LotMoveOut(lot_id=m.lot_id, points=m.points) for m in entry.moves],
        )


class AdjustPointsIn(BaseModel):
    points: int = Field(
        ge=-10_000_000,
        le=10_000_000,
        description="Points to add (positive) or deduct (negative); not 0",
        examples=[500, -200],
    )
    reason: str = Field(
        min_length=1, max_length=500, examples=["Goodwill credit for shipping delay"]
    )


class AdjustedOut(BaseModel):
    entry: PointsEntryOut
    points_balance: int

    @classmethod
    def of(cls, adjusted: Adjusted) -> AdjustedOut:
        return cls(entry=PointsEntryOut.of(adjusted.entry), points_balance=adjusted.account.balance)


class CardOut(BaseModel):
    customer_id: uuid.UUID
    card_number: str
    member_since: datetime | None
    tier: str
    tier_name: str
    tier_since: datetime
    benefits: list[str]
    points_balance: int
    cash_value: MoneyText
    currency: str
    points_expiring_30d: int

    @classmethod
    def of(cls, card: Card) -> CardOut:
        account = card.account
        return cls(
            customer_id=account.customer_id,
            card_number=account.card_number,
            member_since=card.member_since,
            tier=account.standing.tier,
            tier_name=card.tier_name,
            tier_since=account.standing.since,
            benefits=list(card.benefits),
            points_balance=account.balance,
            cash_value=card.cash_value,
            currency=card.cash_value_currency,
            points_expiring_30d=card.points_expiring_30d,
        )


class TierIO(BaseModel):
    key: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=100)
    min_points: int = Field(ge=0, le=1_000_000_000)
    earn_rate: MoneyText = Field(ge=0, le=10_000, description="Points per 1 unit of currency")
    benefits: list[str] = Field(default_factory=list, max_length=50)


class ProgramIO(BaseModel):
    """A tenant's program; `GET` shows the one in force (the defaults until one is set)."""

    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])
    tiers: list[TierIO] = Field(min_length=1, max_length=20)
    points_per_currency_unit: int = Field(ge=1, le=1_000_000, examples=[100])
    expiry_months: int | None = Field(ge=1, le=1_200, description="null: points never expire")
    tier_basis: Literal["lifetime", "rolling_12m"]
    downgrade_grace_days: int = Field(ge=0, le=3_650)
    earn_on: Literal["OrderPaid", "OrderPlaced"]

    @classmethod
    def of(cls, program: Program) -> ProgramIO:
        return cls(
            currency=program.currency,
            tiers=[
                TierIO(
                    key=tier.key,
                    name=tier.name,
                    min_points=tier.min_points,
                    earn_rate=tier.earn_rate,
                    benefits=list(tier.benefits),
                )
                for tier in program.tiers
            ],
            points_per_currency_unit=program.points_per_currency_unit,
            expiry_months=program.expiry_months,
            tier_basis=program.tier_basis,
            downgrade_grace_days=program.downgrade_grace_days,
            earn_on=program.earn_on,
        )

    def fields(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "tiers": tuple(
                Tier(t.key, t.name, t.min_points, t.earn_rate, tuple(t.benefits))
                for t in self.tiers
            ),
            "points_per_currency_unit": self.points_per_currency_unit,
            "expiry_months": self.expiry_months,
            "tier_basis": self.tier_basis,
            "downgrade_grace_days": self.downgrade_grace_days,
            "earn_on": self.earn_on,
        }
