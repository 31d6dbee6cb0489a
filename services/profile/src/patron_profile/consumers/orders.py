"""The profile's order consumer: `patron.order.events.v1` -> orders and order statistics."""

from __future__ import annotations

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.orders import record_order_event
from patron_shared.events import OrderCancelled, OrderPaid, OrderPlaced, OrderRefunded, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

ORDER_CONSUMER = "profile.order-stats"


def build_order_consumer(runtime: ServiceRuntime) -> EventConsumer[ProfileUnitOfWork]:
    """One consumer group over the order topic: a customer's events stay in order."""
    consumer = runtime.event_consumer(ORDER_CONSUMER, [Topic.ORDER_EVENTS], ProfileUnitOfWork)
    consumer.on(OrderPlaced, record_order_event)
    consumer.on(OrderPaid, record_order_event)
    consumer.on(OrderRefunded, record_order_event)
    consumer.on(OrderCancelled, record_order_event)
    return consumer
