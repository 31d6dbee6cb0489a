"""The loyalty order consumer: `patron.order.events.v1` -> points earned and reversed."""

from __future__ import annotations

from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.service.points import record_order_events
from patron_shared.events import OrderCancelled, OrderPaid, OrderPlaced, OrderRefunded, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

ORDER_CONSUMER = "loyalty.order-points"


def build_order_consumer(
    runtime: ServiceRuntime, topic: str = Topic.ORDER_EVENTS
) -> EventConsumer[LoyaltyUnitOfWork]:
    consumer = runtime.event_consumer(ORDER_CONSUMER, [topic], LoyaltyUnitOfWork)
    # a batch per poll, one transaction per tenant's run of it: order events come in bursts
    consumer.on_batch([OrderPlaced, OrderPaid, OrderRefunded, OrderCancelled], record_order_events)
    return consumer
