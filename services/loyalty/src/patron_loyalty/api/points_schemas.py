"""Request and response bodies of the points API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

from patron_loyalty.domain.ledger import Entry
from patron_loyalty.domain.program import Program, Tier
from patron_loyalty.domain.redemption import Redemption
from patron_loyalty.service.points import Adjusted, Card
from patron_loyalty.service.redemption import Quote, RedemptionResult

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
    points_held: int = Field(description="Reserved by open checkout holds")
    points_available: int = Field(description="What can be redeemed now")
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
            points_held=card.points_held,
            points_available=max(0, account.balance - card.points_held),
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
    exchange_rates: dict[str, MoneyText] = Field(
        default_factory=dict,
        max_length=200,
        description=(
            "Currency -> what one unit of it is worth in the program's currency, for orders "
            'in other currencies (`{"EUR": "1.08"}`); an order in a currency without a '
            "rate earns nothing"
        ),
        examples=[{"EUR": "1.08", "GBP": "1.27"}],
    )

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
            exchange_rates=dict(program.exchange_rates),
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
            "exchange_rates": dict(self.exchange_rates),
        }


class QuoteOut(BaseModel):
    points: int
    discount: MoneyText
    currency: str
    points_balance: int
    points_available: int
    redeemable: bool

    @classmethod
    def of(cls, quote: Quote) -> QuoteOut:
        return cls(
            points=quote.points,
            discount=quote.discount,
            currency=quote.currency,
            points_balance=quote.balance,
            points_available=quote.available,
            redeemable=quote.redeemable,
        )


class RedeemIn(BaseModel):
    points: int = Field(ge=1, le=100_000_000, examples=[500])
    order_id: str | None = Field(default=None, min_length=1, max_length=100)


class HoldIn(RedeemIn):
    hold_seconds: int = Field(
        default=900, ge=1, le=7 * 24 * 3600, description="How long the points stay reserved"
    )


class RedemptionOut(BaseModel):
    id: uuid.UUID
    status: str
    points: int
    discount: MoneyText
    currency: str
    code: str | None = Field(description="The one-time discount code, once redeemed")
    order_id: str | None
    hold_expires_at: datetime | None
    created_at: datetime
    settled_at: datetime | None
    points_balance: int | None = None
    points_available: int | None = None

    @classmethod
    def of(cls, redemption: Redemption, result: RedemptionResult | None = None) -> RedemptionOut:
        return cls(
            id=redemption.redemption_id,
            status=redemption.status,
            points=redemption.points,
            discount=redemption.discount,
            currency=redemption.currency,
            code=redemption.code,
            order_id=redemption.order_id,
            hold_expires_at=redemption.hold_expires_at,
            created_at=redemption.created_at,
            settled_at=redemption.settled_at,
            points_balance=result.balance if result else None,
            points_available=result.available if result else None,
        )

    @classmethod
    def of_result(cls, result: RedemptionResult) -> RedemptionOut:
        return cls.of(result.redemption, result)
