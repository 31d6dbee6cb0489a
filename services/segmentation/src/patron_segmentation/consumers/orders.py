"""The segmentation order consumer: `patron.order.events.v1` -> orders and order facts."""

from __future__ import annotations

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.service.orders import record_order_event
from patron_shared.events import OrderCancelled, OrderPaid, OrderPlaced, OrderRefunded, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

ORDER_CONSUMER = "segmentation.order-projection"


def build_order_consumer(runtime: ServiceRuntime) -> EventConsumer[SegmentationUnitOfWork]:
    consumer = runtime.event_consumer(ORDER_CONSUMER, [Topic.ORDER_EVENTS], SegmentationUnitOfWork)
    consumer.on(OrderPlaced, record_order_event)
    consumer.on(OrderPaid, record_order_event)
    consumer.on(OrderRefunded, record_order_event)
    consumer.on(OrderCancelled, record_order_event)
    return consumer
