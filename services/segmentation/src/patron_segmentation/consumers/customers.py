"""The segmentation customer consumer: `patron.customer.events.v1` -> customer facts."""

from __future__ import annotations

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.service.facts import delete_facts, record_facts
from patron_shared.events import CustomerCreated, CustomerDeleted, CustomerUpdated, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

CUSTOMER_CONSUMER = "segmentation.customer-projection"


def build_customer_consumer(runtime: ServiceRuntime) -> EventConsumer[SegmentationUnitOfWork]:
    consumer = runtime.event_consumer(
        CUSTOMER_CONSUMER, [Topic.CUSTOMER_EVENTS], SegmentationUnitOfWork
    )
    consumer.on(CustomerCreated, record_facts)
    consumer.on(CustomerUpdated, record_facts)
    consumer.on(CustomerDeleted, delete_facts)
    return consumer
