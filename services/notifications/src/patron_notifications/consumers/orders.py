"""The notifications order consumer: `patron.order.events.v1` -> each customer's last
order, which templates show as `customer.last_order`, and the order confirmation (see
`service/triggers.py`)."""

from __future__ import annotations

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.triggers import Triggers
from patron_shared.events import OrderPlaced, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

ORDER_CONSUMER = "notifications.orders"


def build_order_consumer(
    runtime: ServiceRuntime, triggers: Triggers
) -> EventConsumer[NotificationsUnitOfWork]:
    consumer = runtime.event_consumer(ORDER_CONSUMER, [Topic.ORDER_EVENTS], NotificationsUnitOfWork)
    # recorded as the last order and confirmed in one transaction
    consumer.on_batch([OrderPlaced], triggers.orders_placed)
    return consumer
