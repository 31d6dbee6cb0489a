"""Store credit: a money ledger per customer and currency, spent lot by lot.

An account (customer, currency) is a run of append-only entries and a set of lots. Each
issue opens a lot (its amount, what remains of it, an optional expiry); applying credit at
checkout spends the lots that expire soonest first (lots that never expire last), then the
oldest; expiry takes what remains of a lot past its `expires_at`. A merge moves the open
lots of one customer to another, each keeping its expiry and remembering whom it was issued
to, so an unmerge can give back what is still unspent.

The balance is the sum of what remains of the open lots; every entry records the signed
amount it added or took and the balance after it, so the balance is also the sum of the
entries. Neither can go below zero.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

from patron_shared.errors import Conflict, InvalidInput
from patron_shared.events import minor_units, round_money

EntryType = Literal["issue", "apply", "expire", "merge_in", "merge_out"]
CreditKind = Literal["goodwill", "refund_alternative", "loyalty_reward"]
# How a retried request is recognised: the client's Idempotency-Key, or the order it pays.
RequestKeyType = Literal["idempotency_key", "order_id"]
AccountKey = tuple[uuid.UUID, str]
"""(customer id, currency): one account."""

ENTRY_TYPES: tuple[EntryType, ...] = get_args(EntryType)
CREDIT_KINDS: tuple[CreditKind, ...] = get_args(CreditKind)
MAX_REASON_LENGTH = 500
MAX_ACTOR_LENGTH = 200
MAX_ORDER_ID_LENGTH = 100
# Far below what the ledger's NUMERIC(20, 4) columns hold, so balances never overflow them.
MAX_AMOUNT = Decimal(1_000_000_000)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ZERO = Decimal(0)


class InsufficientCredit(Conflict):
    """More credit asked for than the account holds (409, naming `amount`)."""

    type_slug = "insufficient-credit"

    def __init__(self, requested: Decimal, balance: Decimal, currency: str) -> None:
        shown = round_money(balance, currency)
        message = f"{requested} {currency} asked for, the balance is {shown} {currency}"
        super().__init__(
            f"amount: {message}",
            field="amount",
            currency=currency,
            balance=format(shown, "f"),
            errors=[
                {
                    "location": "body",
                    "field": "amount",
                    "message": message,
                    "type": "insufficient_credit",
                }
            ],
        )
        self.requested = requested
        self.balance = balance
        self.currency = currency


def check_currency(currency: str) -> str:
    if not _CURRENCY.match(currency):
        raise InvalidInput("currency", "must be a three-letter ISO 4217 code such as EUR")
    return currency


def check_amount(amount: Decimal, currency: str) -> Decimal:
    """A positive amount, no finer than the currency's minor unit (cents, yen...)."""
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput("amount", "must be greater than 0")
    if amount > MAX_AMOUNT:
        raise InvalidInput("amount", f"must be at most {MAX_AMOUNT}")
    places = minor_units(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise InvalidInput("amount", f"{currency} amounts have at most {places} decimals")
    return amount


def _check_utc(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(name, "must carry a timezone (UTC)")


def _actor_name(actor: str | None) -> str | None:
    """Who acted, as the ledger keeps it (a token subject or a merge's author), cut to fit."""
    actor = (actor or "").strip()
    return actor[:MAX_ACTOR_LENGTH] or None


def _clean_text(name: str, value: str | None, max_length: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise InvalidInput(name, "must not be blank")
    if len(value) > max_length:
        raise InvalidInput(name, f"must be at most {max_length} characters")
    return value


@dataclass(frozen=True)
class CreditGrant:
    """Credit to issue, checked before anything is read or written: `of` is a 422 naming
    the field for bad input."""

    amount: Decimal
    currency: str
    kind: CreditKind
    reason: str
    actor: str | None = None
    expires_at: datetime | None = None

    @classmethod
    def of(
        cls,
        *,
        amount: Decimal,
        currency: str,
        kind: CreditKind,
        reason: str,
        now: datetime,
        actor: str | None = None,
        expires_at: datetime | None = None,
    ) -> CreditGrant:
        check_currency(currency)
        check_amount(amount, currency)
        if kind not in CREDIT_KINDS:
            raise InvalidInput("kind", f"must be one of {', '.join(CREDIT_KINDS)}")
        cleaned = _clean_text("reason", reason, MAX_REASON_LENGTH)
        assert cleaned is not None
        if expires_at is not None:
            _check_utc("expires_at", expires_at)
            if expires_at <= now:
                raise InvalidInput("expires_at", "must be in the future")
        return cls(
            amount=amount,
            currency=currency,
            kind=kind,
            reason=cleaned,
            actor=_actor_name(actor),
            expires_at=expires_at,
        )


@dataclass(frozen=True)
class CreditEntry:
    """One line of the ledger: what happened, the signed amount, the balance after it."""

    id: uuid.UUID
    customer_id: uuid.UUID
    currency: str
    type: EntryType
    amount: Decimal
    balance: Decimal
    created_at: datetime
    lot_id: uuid.UUID | None = None
    kind: CreditKind | None = None
    reason: str | None = None
    actor: str | None = None
    order_id: str | None = None
    # merge_in / merge_out: the customer the lot came from or went to
    counterparty_id: uuid.UUID | None = None
    expires_at: datetime | None = None

    def erased(self) -> CreditEntry:
        """The entry with its free text and the names in it blanked; amounts stay."""
        return replace(self, reason=None, actor=None)


@dataclass
class CreditLot:
    """What one issue granted and what is left of it. Its id is the issue entry's id."""

    id: uuid.UUID
    # whom the credit was issued to; it may be held by another customer after a merge
    origin_customer_id: uuid.UUID
    currency: str
    kind: CreditKind
    amount: Decimal
    remaining: Decimal
    issued_at: datetime
    expires_at: datetime | None = None

    def is_due(self, now: datetime) -> bool:
        return self.remaining > 0 and self.expires_at is not None and self.expires_at <= now

    def spending_order(self) -> tuple[bool, datetime, datetime, uuid.UUID]:
        """Soonest expiry first, lots that never expire last; then the oldest."""
        never = self.expires_at is None
        return (never, self.expires_at or self.issued_at, self.issued_at, self.id)


@dataclass
class CreditAccount:
    """The ledger of one customer in one currency, as loaded for a change: its open lots
    (those with something remaining) and the entries and lot changes made since."""

    customer_id: uuid.UUID
    currency: str
    lots: list[CreditLot] = field(default_factory=list)
    new_entries: list[CreditEntry] = field(default_factory=list)
    # lots written back on save (issued, spent, expired or moved in), by id
    changed_lots: dict[uuid.UUID, CreditLot] = field(default_factory=dict)

    @property
    def balance(self) -> Decimal:
        return sum((lot.remaining for lot in self.lots), _ZERO)

    def issue(
        self, grant: CreditGrant, *, now: datetime, entry_id: uuid.UUID | None = None
    ) -> CreditEntry:
        """Open a lot for `grant` (validated when it was made)."""
        if grant.currency != self.currency:
            raise ValueError("a grant goes to the account of its currency")
        if grant.expires_at is not None and grant.expires_at <= now:
            raise InvalidInput("expires_at", "must be in the future")
        lot = CreditLot(
            id=entry_id or uuid.uuid4(),
            origin_customer_id=self.customer_id,
            currency=self.currency,
            kind=grant.kind,
            amount=grant.amount,
            remaining=grant.amount,
            issued_at=now,
            expires_at=grant.expires_at,
        )
        self._hold(lot)
        return self._record(
            "issue",
            grant.amount,
            now,
            entry_id=lot.id,
            lot_id=lot.id,
            kind=grant.kind,
            reason=grant.reason,
            actor=grant.actor,
            expires_at=grant.expires_at,
        )

    def apply(
        self,
        amount: Decimal,
        *,
        now: datetime,
        order_id: str | None = None,
        actor: str | None = None,
    ) -> CreditEntry:
        """Spend `amount` at checkout; all of it or nothing (409 beyond the balance).

        Lots past their expiry are expired first, so they are never spent.
        """
        check_amount(amount, self.currency)
        order = _clean_text("order_id", order_id, MAX_ORDER_ID_LENGTH)
        self.expire(now)
        if amount > self.balance:
            raise InsufficientCredit(amount, self.balance, self.currency)
        left = amount
        for lot in sorted(self.lots, key=CreditLot.spending_order):
            if left == 0:
                break
            taken = min(lot.remaining, left)
            lot.remaining -= taken
            left -= taken
            self.changed_lots[lot.id] = lot
        self.lots = [lot for lot in self.lots if lot.remaining > 0]
        return self._record(
            "apply",
            -amount,
            now,
            order_id=order,
            actor=_actor_name(actor),
        )

    def expire(self, now: datetime) -> list[CreditEntry]:
        """Take what remains of every lot past its expiry; a second run finds none."""
        entries = []
        for lot in sorted((lot for lot in self.lots if lot.is_due(now)), key=_by_expiry):
            taken = lot.remaining
            lot.remaining = _ZERO
            self.changed_lots[lot.id] = lot
            self.lots.remove(lot)
            entries.append(
                self._record("expire", -taken, now, lot_id=lot.id, expires_at=lot.expires_at)
            )
        return entries

    def move_lots_to(
        self,
        target: CreditAccount,
        *,
        now: datetime,
        which: Callable[[CreditLot], bool] = lambda lot: True,
        actor: str | None = None,
    ) -> Decimal:
        """Hand the open lots `which` selects to `target` (a merge, or an unmerge giving
        them back), each keeping its expiry and origin; returns how much moved.

        Lots already past their expiry are expired here first: they move nowhere.
        """
        if target.currency != self.currency or target.customer_id == self.customer_id:
            raise ValueError("lots move between two customers' accounts in one currency")
        self.expire(now)
        target.expire(now)
        moved = _ZERO
        for lot in sorted((lot for lot in self.lots if which(lot)), key=CreditLot.spending_order):
            self.lots.remove(lot)
            # the lot is written back as the target's, not as this account's
            self.changed_lots.pop(lot.id, None)
            target._hold(lot)
            moved += lot.remaining
            self._record(
                "merge_out",
                -lot.remaining,
                now,
                lot_id=lot.id,
                counterparty_id=target.customer_id,
                expires_at=lot.expires_at,
                actor=_actor_name(actor),
            )
            target._record(
                "merge_in",
                lot.remaining,
                now,
                lot_id=lot.id,
                counterparty_id=self.customer_id,
                expires_at=lot.expires_at,
                actor=_actor_name(actor),
            )
        return moved

    def _hold(self, lot: CreditLot) -> None:
        self.lots.append(lot)
        self.changed_lots[lot.id] = lot

    def _record(
        self,
        type_: EntryType,
        amount: Decimal,
        now: datetime,
        *,
        entry_id: uuid.UUID | None = None,
        lot_id: uuid.UUID | None = None,
        kind: CreditKind | None = None,
        reason: str | None = None,
        actor: str | None = None,
        order_id: str | None = None,
        counterparty_id: uuid.UUID | None = None,
        expires_at: datetime | None = None,
    ) -> CreditEntry:
        entry = CreditEntry(
            id=entry_id or uuid.uuid4(),
            customer_id=self.customer_id,
            currency=self.currency,
            type=type_,
            amount=amount,
            balance=self.balance,
            created_at=now,
            lot_id=lot_id,
            kind=kind,
            reason=reason,
            actor=actor,
            order_id=order_id,
            counterparty_id=counterparty_id,
            expires_at=expires_at,
        )
        self.new_entries.append(entry)
        return entry


@dataclass(frozen=True)
class AnsweredRequest:
    """A request already carried out: a retry with its key gets `entry_id`'s result again,
    provided it asks for the same thing (`fingerprint`)."""

    key_type: RequestKeyType
    key: str
    customer_id: uuid.UUID
    fingerprint: str
    entry_id: uuid.UUID


def _by_expiry(lot: CreditLot) -> tuple[datetime, uuid.UUID]:
    assert lot.expires_at is not None
    return (lot.expires_at, lot.id)


def balances_agree(entries: Iterable[CreditEntry], lots: Iterable[CreditLot]) -> bool:
    """The ledger's own check: its entries and its lots tell the same, non-negative balance."""
    ledger, held = list(entries), list(lots)
    by_entries = sum((entry.amount for entry in ledger), _ZERO)
    by_lots = sum((lot.remaining for lot in held), _ZERO)
    running = _ZERO
    for entry in ledger:
        running += entry.amount
        if running < 0 or running != entry.balance:
            return False
    return by_entries == by_lots >= 0 and all(0 <= lot.remaining <= lot.amount for lot in held)
