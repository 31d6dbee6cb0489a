"""The profile's order consumer: `patron.order.events.v1` -> order statistics."""

from __future__ import annotations

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.orders import record_order_placed
from patron_shared.events import OrderPlaced, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

ORDER_CONSUMER = "profile.order-stats"


def build_order_consumer(runtime: ServiceRuntime) -> EventConsumer[ProfileUnitOfWork]:
    consumer = runtime.event_consumer(ORDER_CONSUMER, [Topic.ORDER_EVENTS], ProfileUnitOfWork)
    consumer.on(OrderPlaced, record_order_placed)
    return consumer
