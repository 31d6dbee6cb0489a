"""A customer's orders and the statistics folded from them, as every service counts them.

Order events (placed, paid, refunded, cancelled) may arrive in any order and more than once.
Each one merges into the order's `OrderState` with a commutative, idempotent rule, so the
state after any interleaving and duplication of the same events is the same; and the
statistics are a pure function of the customer's order states (`OrderStats.from_orders`),
never a running total, so they are exactly what the stored orders say.

Rules:
- the first `OrderPlaced` for an order id defines the order; a second one is a duplicate;
- an event that arrives before `OrderPlaced` leaves a *pending* order (no total yet) that
  keeps it: the earliest payment and cancellation times, every refund by its event id;
- refunds count in the order's currency only, and at most up to the order's total;
- a cancelled order leaves the statistics (it stays in the purchase history);
- statistics are in the currency of the customer's earliest counted order (ties by order id);
  `total_spent` sums `total - refunded_amount` over the counted orders in that currency.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, Protocol

from patron_shared.events import OrderCancelled, OrderPaid, OrderPlaced, OrderRefunded

_CENT = Decimal("0.01")
_ZERO = Decimal("0")

OrderStatus = Literal["pending", "placed", "paid", "cancelled"]


@dataclass(frozen=True)
class Refund:
    """One refund, identified by the id of the event that reported it."""

    refund_id: uuid.UUID
    amount: Decimal
    currency: str
    refunded_at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class OrderRecord:
    """One order of a customer's purchase history (orders not yet placed are not listed)."""

    order_id: str
    customer_id: uuid.UUID
    order_number: str | None
    status: OrderStatus
    currency: str
    total: Decimal
    refunded_amount: Decimal
    items: tuple[dict[str, Any], ...]
    channel: str | None
    placed_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None


@dataclass(frozen=True)
class OrderState:
    """Everything known about one order so far, whatever order its events arrived in."""

    order_id: str
    customer_id: uuid.UUID
    currency: str | None = None
    total: Decimal | None = None
    placed_at: datetime | None = None
    order_number: str | None = None
    channel: str | None = None
    items: tuple[dict[str, Any], ...] = ()
    # The id of the OrderPlaced message that defined the order.
    placed_event_id: uuid.UUID | None = None
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    refunds: tuple[Refund, ...] = ()
    # What the goods cost after discounts: the total less shipping and tax (loyalty earns
    # on it); None while pending.
    merchandise: Decimal | None = None

    @property
    def is_placed(self) -> bool:
        return self.placed_at is not None

    @property
    def status(self) -> OrderStatus:
        if self.cancelled_at is not None:
            return "cancelled"
        if self.placed_at is None:
            return "pending"
        return "paid" if self.paid_at is not None else "placed"

    @property
    def refunded_amount(self) -> Decimal:
        """Refunds in the order's currency, capped at its total (nothing while pending)."""
        if self.total is None:
            return _ZERO
        refunded = sum((r.amount for r in self.refunds if r.currency == self.currency), _ZERO)
        return min(refunded, self.total)

    def place(
        self,
        *,
        customer_id: uuid.UUID,
        currency: str,
        total: Decimal,
        placed_at: datetime,
        event_id: uuid.UUID,
        order_number: str | None = None,
        channel: str | None = None,
        items: Iterable[dict[str, Any]] = (),
        merchandise: Decimal | None = None,
    ) -> OrderState:
        if self.is_placed:
            return self
        return replace(
            self,
            customer_id=customer_id,
            currency=currency,
            total=total,
            merchandise=total if merchandise is None else merchandise,
            placed_at=placed_at,
            order_number=order_number,
            channel=channel,
            items=tuple(items),
            placed_event_id=event_id,
        )

    def pay(self, paid_at: datetime) -> OrderState:
        return replace(self, paid_at=_earliest(self.paid_at, paid_at))

    def cancel(self, cancelled_at: datetime) -> OrderState:
        return replace(self, cancelled_at=_earliest(self.cancelled_at, cancelled_at))

    def refund(self, refund: Refund) -> OrderState:
        if any(r.refund_id == refund.refund_id for r in self.refunds):
            return self
        refunds = sorted((*self.refunds, refund), key=lambda r: r.refund_id)
        return replace(self, refunds=tuple(refunds))

    def record(self) -> OrderRecord | None:
        """The purchase-history view of this order; None while it is pending."""
        if self.placed_at is None or self.total is None or self.currency is None:
            return None
        return OrderRecord(
            order_id=self.order_id,
            customer_id=self.customer_id,
            order_number=self.order_number,
            status=self.status,
            currency=self.currency,
            total=self.total,
            refunded_amount=self.refunded_amount,
            items=self.items,
            channel=self.channel,
            placed_at=self.placed_at,
            paid_at=self.paid_at,
            cancelled_at=self.cancelled_at,
        )


class CountableOrder(Protocol):
    """What the statistics read from an order (an `OrderState` or an `OrderRecord`)."""

    @property
    def order_id(self) -> str: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def total(self) -> Decimal | None: ...
    @property
    def refunded_amount(self) -> Decimal: ...
    @property
    def placed_at(self) -> datetime | None: ...
    @property
    def cancelled_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class OrderStats:
    """Statistics over a customer's counted orders (placed, not cancelled), in `currency`."""

    total_orders: int = 0
    total_spent: Decimal = Decimal("0")
    currency: str | None = None
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    # Orders counted in `total_spent` (those in `currency`); the average divides by these.
    priced_orders: int = 0

    @property
    def avg_order_value(self) -> Decimal | None:
        if not self.priced_orders:
            return None
        return (self.total_spent / self.priced_orders).quantize(_CENT, ROUND_HALF_EVEN)

    @classmethod
    def from_orders(cls, orders: Iterable[CountableOrder]) -> OrderStats:
        """The statistics of these orders: the definition the SQL aggregate follows."""
        counted: list[tuple[datetime, str, str, Decimal, Decimal]] = []
        for order in orders:
            if (
                order.cancelled_at is None
                and order.placed_at is not None
                and order.total is not None
                and order.currency is not None
            ):
                counted.append(
                    (
                        order.placed_at,
                        order.order_id,
                        order.currency,
                        order.total,
                        order.refunded_amount,
                    )
                )
        if not counted:
            return cls()
        counted.sort(key=lambda o: (o[0], o[1]))
        currency = counted[0][2]
        priced = [(total, refunded) for _, _, cur, total, refunded in counted if cur == currency]
        return cls(
            total_orders=len(counted),
            total_spent=sum((total - refunded for total, refunded in priced), _ZERO),
            currency=currency,
            first_order_at=counted[0][0],
            last_order_at=max(o[0] for o in counted),
            priced_orders=len(priced),
        )


def _earliest(current: datetime | None, new: datetime) -> datetime:
    return new if current is None else min(current, new)


OrderEvent = OrderPlaced | OrderPaid | OrderRefunded | OrderCancelled


def merchandise_amount(event: OrderPlaced) -> Decimal:
    """The order's total less its shipping and tax (what the goods cost after discounts),
    never below zero."""
    charged = event.total - (event.shipping_total or _ZERO) - (event.tax_total or _ZERO)
    return max(charged, _ZERO)


def apply_order_event(
    order: OrderState, event: OrderEvent, *, event_id: uuid.UUID, owner: uuid.UUID
) -> OrderState:
    """The order after one of its events: `event_id` is the id of the message that carried it
    (a refund's identity), `owner` the customer the order belongs to (the event's customer,
    or its survivor when that one was merged away)."""
    if isinstance(event, OrderPlaced):
        return order.place(
            customer_id=owner,
            currency=event.currency,
            total=event.total,
            placed_at=event.placed_at,
            event_id=event_id,
            order_number=event.order_number,
            channel=event.channel,
            items=[item.model_dump(mode="json") for item in event.items],
            merchandise=merchandise_amount(event),
        )
    if isinstance(event, OrderPaid):
        return order.pay(event.paid_at)
    if isinstance(event, OrderRefunded):
        return order.refund(
            Refund(
                refund_id=event_id,
                amount=event.amount,
                currency=event.currency,
                refunded_at=event.refunded_at,
                reason=event.reason,
            )
        )
    return order.cancel(event.cancelled_at)
