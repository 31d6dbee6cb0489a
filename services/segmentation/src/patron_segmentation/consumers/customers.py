"""The segmentation customer consumers: `patron.customer.events.v1` -> customer facts, and
identity's unmerges."""

from __future__ import annotations

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.service.facts import delete_facts, record_facts
from patron_segmentation.service.merges import erase_facts, merge_facts, unmerge_facts
from patron_shared.events import (
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
    CustomerUpdated,
    Topic,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

CUSTOMER_CONSUMER = "segmentation.customer-projection"
UNMERGE_CONSUMER = "segmentation.identity-unmerges"


def build_customer_consumer(runtime: ServiceRuntime) -> EventConsumer[SegmentationUnitOfWork]:
    consumer = runtime.event_consumer(
        CUSTOMER_CONSUMER, [Topic.CUSTOMER_EVENTS], SegmentationUnitOfWork
    )
    consumer.on(CustomerCreated, record_facts)
    consumer.on(CustomerUpdated, record_facts)
    consumer.on(CustomerDeleted, delete_facts)
    consumer.on(CustomersMerged, merge_facts)
    consumer.on(CustomerErased, erase_facts)
    return consumer


def build_unmerge_consumer(runtime: ServiceRuntime) -> EventConsumer[SegmentationUnitOfWork]:
    """Identity's unmerges: the restored customer's orders and memberships come back."""
    consumer = runtime.event_consumer(
        UNMERGE_CONSUMER, [Topic.IDENTITY_EVENTS], SegmentationUnitOfWork
    )
    consumer.on(CustomersUnmerged, unmerge_facts)
    return consumer
