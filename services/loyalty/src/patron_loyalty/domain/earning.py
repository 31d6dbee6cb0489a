"""Points for orders: what an order is worth, and the entries that bring the ledger there.

An order's points are a function of everything known about it (the shared order fold,
`patron_shared.orders`), never a running sum of its events:

    points = floor(merchandise x (1 - refunded / total) x earn rate)

and 0 while it is not placed, not yet paid (when the program earns on payment), cancelled,
or in a currency the program has no rate for. The earn rate is points per unit of the
order's currency: the customer's tier's rate times the program's exchange rate for it (1 in
the program's currency), taken at the first posting. It stays with the order, so a refund
reverses at the rate the order earned at, whatever tiers or rates have changed since.

Each event recomputes the order's target and posts the difference: an `earn` (a new lot)
when it grew, a `reverse` when it shrank (refund, cancellation). Events in any order, or
twice, land on the same target, so the ledger ends the same.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from patron_loyalty.domain.ledger import Entry, PointsAccount
from patron_loyalty.domain.program import Program
from patron_shared.orders import OrderState


def order_points(order: OrderState, program: Program, earn_rate: Decimal) -> int:
    """What the order is worth in points now, at `earn_rate` points per unit of the
    program's currency (an order in another currency at the program's rate for it)."""
    conversion = program.conversion_from(order.currency)
    if conversion is None:
        return 0
    return points_at(order, program, earn_rate * conversion)


def points_at(order: OrderState, program: Program, rate: Decimal) -> int:
    """The order's points at `rate` points per unit of its own currency."""
    if order.cancelled_at is not None or order.total is None or order.merchandise is None:
        return 0
    if program.earn_on == "OrderPaid" and order.paid_at is None:
        return 0
    if not order.total:
        return 0
    # exact: a quotient rounded to 28 digits can fall just short of a whole point
    kept = Fraction(order.total - order.refunded_amount) / Fraction(order.total)
    return max(0, math.floor(Fraction(order.merchandise) * kept * Fraction(rate)))


@dataclass
class OrderPoints:
    """One order as the loyalty service knows it: its folded events and what its points
    did to the ledger so far."""

    order_id: str
    customer_id: uuid.UUID
    state: OrderState
    earn_rate: Decimal | None = None
    earned: int = 0
    reversed: int = 0
    # points a reversal should have taken back but the balance no longer held
    unrecovered: int = 0
    # whose it was before the latest merge moved it to `customer_id`
    origin_customer_id: uuid.UUID | None = None
    entries: list[Entry] = field(default_factory=list)

    @property
    def credited(self) -> int:
        """Points the ledger counts for this order (earned less what was taken back or
        written off)."""
        return self.earned - self.reversed - self.unrecovered

    def settle(
        self, account: PointsAccount, program: Program, tier_rate: Decimal, now: datetime
    ) -> list[Entry]:
        """Post to `account` whatever brings the order's points to what it is worth now."""
        rate = self.earn_rate  # per unit of the order's currency, once it has earned
        if rate is None:
            conversion = program.conversion_from(self.state.currency)
            rate = tier_rate * conversion if conversion is not None else None
        target = points_at(self.state, program, rate) if rate is not None else 0
        posted: list[Entry] = []
        if target > self.credited:
            points = target - self.credited
            posted.append(
                account.earn(
                    points,
                    at=now,
                    expires_at=program.expires_at(now),
                    reason="order",
                    source_type="order",
                    source_id=self.order_id,
                    order_id=self.order_id,
                )
            )
            self.earned += points
            self.earn_rate = rate
        elif target < self.credited:
            wanted = self.credited - target
            reason = "order cancelled" if self.state.cancelled_at else "order refunded"
            entry, short = account.reverse_order(self.order_id, wanted, at=now, reason=reason)
            if entry is not None:
                posted.append(entry)
            self.reversed += wanted - short
            self.unrecovered += short
        self.entries.extend(posted)
        return posted
