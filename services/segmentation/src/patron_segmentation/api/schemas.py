"""Response bodies of the segmentation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from patron_segmentation.domain.facts import CustomerFacts
from patron_segmentation.domain.orders import OrderFacts
from patron_shared.events import Money, round_money


class OrderFactsOut(BaseModel):
    """Money as strings in `currency`, the currency of the customer's first counted order."""

    order_count: int
    total_spent: Money
    currency: str | None
    average_order_value: Money | None
    order_total_max: Money | None
    order_total_min: Money | None
    first_order_at: datetime | None
    last_order_at: datetime | None
    last_order_month: int | None
    categories: list[str]

    @classmethod
    def of(cls, facts: OrderFacts) -> OrderFactsOut:
        def shown(amount: Decimal | None) -> Decimal | None:
            return None if amount is None else round_money(amount, facts.currency)

        return cls(
            order_count=facts.order_count,
            total_spent=round_money(facts.total_spent, facts.currency),
            currency=facts.currency,
            average_order_value=shown(facts.average_order_value),
            order_total_max=shown(facts.order_total_max),
            order_total_min=shown(facts.order_total_min),
            first_order_at=facts.first_order_at,
            last_order_at=facts.last_order_at,
            last_order_month=facts.last_order_month,
            categories=list(facts.categories),
        )


class CustomerFactsOut(BaseModel):
    customer_id: uuid.UUID
    tags: list[str]
    accepts_marketing: bool
    status: str
    registered_at: datetime | None
    source_updated_at: datetime
    orders: OrderFactsOut

    @classmethod
    def of(cls, facts: CustomerFacts) -> CustomerFactsOut:
        return cls(
            customer_id=facts.customer_id,
            tags=facts.tags,
            accepts_marketing=facts.accepts_marketing,
            status=facts.status,
            registered_at=facts.registered_at,
            source_updated_at=facts.source_updated_at,
            orders=OrderFactsOut.of(facts.orders),
        )
