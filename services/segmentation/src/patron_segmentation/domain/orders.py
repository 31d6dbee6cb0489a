"""Order facts of a customer, folded from its orders as every service counts them.

The orders themselves follow `patron_shared.orders` (any arrival order and duplication of
the same events gives the same states); the facts are a pure function of those states, never
a running total, so a refund, a cancellation or a late event always leaves them right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from patron_shared.orders import OrderState, OrderStats

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrderFacts:
    """Over the customer's counted orders (placed, not cancelled). Money is in `currency`,
    the currency of the earliest counted order, net of refunds; orders in other currencies
    count in `order_count` and the dates only."""

    order_count: int = 0
    total_spent: Decimal = Decimal("0")
    currency: str | None = None
    average_order_value: Decimal | None = None
    order_total_max: Decimal | None = None
    order_total_min: Decimal | None = None
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    last_order_month: int | None = None
    categories: tuple[str, ...] = ()  # of the counted orders' items, lower case, sorted

    @classmethod
    def from_orders(cls, orders: Iterable[OrderState]) -> OrderFacts:
        states = list(orders)
        stats = OrderStats.from_orders(states)
        if stats.total_orders == 0:
            return cls()
        counted = [o for o in states if o.cancelled_at is None and o.record() is not None]
        priced = [
            o.total - o.refunded_amount
            for o in counted
            if o.total is not None and o.currency == stats.currency
        ]
        categories = {
            category
            for order in counted
            for item in order.items
            if (category := _category(item)) is not None
        }
        return cls(
            order_count=stats.total_orders,
            total_spent=stats.total_spent,
            currency=stats.currency,
            average_order_value=stats.avg_order_value,
            order_total_max=max(priced).quantize(_CENT, ROUND_HALF_EVEN) if priced else None,
            order_total_min=min(priced).quantize(_CENT, ROUND_HALF_EVEN) if priced else None,
            first_order_at=stats.first_order_at,
            last_order_at=stats.last_order_at,
            last_order_month=stats.last_order_at.month if stats.last_order_at else None,
            categories=tuple(sorted(categories)),
        )


def _category(item: Any) -> str | None:
    category = item.get("category") if isinstance(item, dict) else None
    if not isinstance(category, str):
        return None
    return " ".join(category.lower().split()) or None
