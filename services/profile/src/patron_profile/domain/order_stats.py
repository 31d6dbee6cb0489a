"""A customer's order statistics, folded from the orders placed, paid, refunded, cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrderStats:
    """Statistics over a customer's placed orders, in `currency` (the first order's)."""

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

    def with_order(self, *, total: Decimal, currency: str, placed_at: datetime) -> OrderStats:
        """The statistics once one more order is counted (order of arrival does not matter)."""
        stats_currency = self.currency or currency
        same_currency = currency == stats_currency
        return OrderStats(
            total_orders=self.total_orders + 1,
            total_spent=self.total_spent + total if same_currency else self.total_spent,
            currency=stats_currency,
            first_order_at=min(filter(None, (self.first_order_at, placed_at))),
            last_order_at=max(filter(None, (self.last_order_at, placed_at))),
            priced_orders=self.priced_orders + (1 if same_currency else 0),
        )
