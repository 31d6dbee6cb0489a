"""The notifications order consumer: `patron.order.events.v1` -> each customer's last
order, which templates show as `customer.last_order`."""

from __future__ import annotations

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.contacts import record_last_order
from patron_shared.events import OrderPlaced, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

ORDER_CONSUMER = "notifications.orders"


def build_order_consumer(runtime: ServiceRuntime) -> EventConsumer[NotificationsUnitOfWork]:
    consumer = runtime.event_consumer(ORDER_CONSUMER, [Topic.ORDER_EVENTS], NotificationsUnitOfWork)
    consumer.on(OrderPlaced, record_last_order)
    return consumer
