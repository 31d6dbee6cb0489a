"""The segmentation order consumer: `patron.order.events.v1` -> orders and order facts."""

from __future__ import annotations

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.service.orders import record_order_events
from patron_shared.events import OrderCancelled, OrderPaid, OrderPlaced, OrderRefunded, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

ORDER_CONSUMER = "segmentation.order-projection"


def build_order_consumer(
    runtime: ServiceRuntime, topic: str = Topic.ORDER_EVENTS
) -> EventConsumer[SegmentationUnitOfWork]:
    consumer = runtime.event_consumer(ORDER_CONSUMER, [topic], SegmentationUnitOfWork)
    # many at a time: at 1,000 order events a second, one transaction each cannot keep up
    consumer.on_batch([OrderPlaced, OrderPaid, OrderRefunded, OrderCancelled], record_order_events)
    return consumer
