"""Order events: the external contract order services publish to `patron.order.events.v1`.

Published as JSON Schema and AsyncAPI under docs/contracts; keep it additive.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from patron_shared.events.base import Contract, CurrencyCode, NonNegativeMoney
from patron_shared.events.envelope import UtcDatetime
from patron_shared.events.topics import Topic

OrderId = str


class _OrderEvent(Contract):
    topic: ClassVar[Topic] = Topic.ORDER_EVENTS

    order_id: OrderId = Field(min_length=1, max_length=100)
    customer_id: uuid.UUID


class OrderItem(Contract):
    sku: str | None = Field(default=None, max_length=100)
    name: str = Field(min_length=1, max_length=500)
    category: str | None = Field(default=None, max_length=200)
    quantity: int = Field(ge=1)
    unit_price: NonNegativeMoney


class OrderPlaced(_OrderEvent):
    event_type: ClassVar[str] = "OrderPlaced"

    currency: CurrencyCode
    total: NonNegativeMoney
    items: list[OrderItem] = Field(default_factory=list)
    placed_at: UtcDatetime
    order_number: str | None = Field(default=None, max_length=100)
    subtotal: NonNegativeMoney | None = None
    discount_total: NonNegativeMoney | None = None
    shipping_total: NonNegativeMoney | None = None
    tax_total: NonNegativeMoney | None = None
    channel: str | None = Field(default=None, max_length=100)


class OrderPaid(_OrderEvent):
    event_type: ClassVar[str] = "OrderPaid"

    amount: NonNegativeMoney
    currency: CurrencyCode
    paid_at: UtcDatetime


class OrderRefunded(_OrderEvent):
    event_type: ClassVar[str] = "OrderRefunded"

    amount: NonNegativeMoney
    currency: CurrencyCode
    refunded_at: UtcDatetime
    reason: str | None = Field(default=None, max_length=1000)


class OrderCancelled(_OrderEvent):
    event_type: ClassVar[str] = "OrderCancelled"

    cancelled_at: UtcDatetime
