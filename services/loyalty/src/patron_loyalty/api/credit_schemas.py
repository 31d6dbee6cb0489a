"""Request and response bodies of the store-credit API. Money travels as decimal strings."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from patron_loyalty.domain.credit import (
    CREDIT_KINDS,
    MAX_ORDER_ID_LENGTH,
    MAX_REASON_LENGTH,
    CreditEntry,
    CreditKind,
    EntryType,
)
from patron_loyalty.service.credit import CreditResult, CreditStatement
from patron_shared.auth import Principal
from patron_shared.events import CurrencyCode, Money, UtcDatetime, round_money
from patron_shared.events.base import PositiveMoney
from patron_shared.http import PageMeta


class IssueCreditIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": "25.00",
                    "currency": "EUR",
                    "reason": "Parcel arrived damaged",
                    "kind": "goodwill",
                    "expires_at": "2027-06-30T23:59:59Z",
                }
            ]
        },
    )

    amount: PositiveMoney = Field(
        description="more than 0, in at most the currency's decimals (2 for EUR, 0 for JPY)"
    )
    currency: CurrencyCode
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)
    kind: CreditKind = Field(default="goodwill", description=f"one of {', '.join(CREDIT_KINDS)}")
    expires_at: UtcDatetime | None = Field(
        default=None, description="when what is left of it expires (future; null: never)"
    )


class ApplyCreditIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"amount": "10.00", "currency": "EUR", "order_id": "1234"}]
        },
    )

    amount: PositiveMoney = Field(description="all of it is applied, or nothing (409)")
    currency: CurrencyCode
    order_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ORDER_ID_LENGTH,
        description="credit is applied to an order once: a retry answers the first result",
    )


def _shown(amount: Decimal, currency: str) -> Decimal:
    return round_money(amount, currency)


class CreditEntryOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    type: EntryType = Field(description="issue, apply, expire, merge_in or merge_out")
    kind: CreditKind | None = Field(description="why credit was issued (issue entries)")
    amount: Money = Field(description="what the entry did to the balance (negative: taken)")
    currency: str
    balance: Money = Field(description="the balance in this currency after the entry")
    reason: str | None = Field(description="null for callers without the `customers:pii` scope")
    actor: str | None
    order_id: str | None
    lot_id: uuid.UUID | None
    counterparty_customer_id: uuid.UUID | None = Field(
        description="merge entries: the customer the credit came from or went to"
    )
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, entry: CreditEntry, viewer: Principal) -> CreditEntryOut:
        """The entry as `viewer` may see it: a reason is free text and may hold personal
        details, so it is withheld without `customers:pii`."""
        return cls(
            id=entry.id,
            customer_id=entry.customer_id,
            type=entry.type,
            kind=entry.kind,
            amount=_shown(entry.amount, entry.currency),
            currency=entry.currency,
            balance=_shown(entry.balance, entry.currency),
            reason=entry.reason if viewer.can_read_pii else None,
            actor=entry.actor,
            order_id=entry.order_id,
            lot_id=entry.lot_id,
            counterparty_customer_id=entry.counterparty_id,
            expires_at=entry.expires_at,
            created_at=entry.created_at,
        )


class CreditIssuedOut(BaseModel):
    entry: CreditEntryOut
    currency: str
    balance: Money = Field(description="the customer's balance in this currency now")

    @classmethod
    def of(cls, result: CreditResult, viewer: Principal) -> CreditIssuedOut:
        entry = result.entry
        return cls(
            entry=CreditEntryOut.of(entry, viewer),
            currency=entry.currency,
            balance=_shown(result.balance, entry.currency),
        )


class CreditAppliedOut(BaseModel):
    applied: Money
    currency: str
    balance: Money = Field(description="what remains in this currency")
    order_id: str | None
    entry: CreditEntryOut

    @classmethod
    def of(cls, result: CreditResult, viewer: Principal) -> CreditAppliedOut:
        entry = result.entry
        return cls(
            applied=_shown(-entry.amount, entry.currency),
            currency=entry.currency,
            balance=_shown(result.balance, entry.currency),
            order_id=entry.order_id,
            entry=CreditEntryOut.of(entry, viewer),
        )


class CreditBalanceOut(BaseModel):
    currency: str
    balance: Money


class CreditStatementOut(BaseModel):
    customer_id: uuid.UUID
    balances: list[CreditBalanceOut] = Field(description="one per currency the customer had")
    balance: Money | None = Field(
        description="the balance when the customer has credit in one currency; null otherwise"
    )
    entries: list[CreditEntryOut] = Field(description="newest first, one page of them")
    meta: PageMeta

    @classmethod
    def of(
        cls, customer_id: uuid.UUID, statement: CreditStatement, meta: PageMeta, viewer: Principal
    ) -> CreditStatementOut:
        balances = [
            CreditBalanceOut(currency=currency, balance=_shown(amount, currency))
            for currency, amount in sorted(statement.balances.items())
        ]
        return cls(
            customer_id=customer_id,
            balances=balances,
            balance=balances[0].balance if len(balances) == 1 else None,
            entries=[CreditEntryOut.of(entry, viewer) for entry in statement.entries],
            meta=meta,
        )
