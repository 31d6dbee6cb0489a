"""The segmentation fact consumers: customer events, identity's unmerges, loyalty tiers and
notifications, each into the customer facts (orders have their own consumer)."""

from __future__ import annotations

from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.service.facts import delete_facts, record_facts
from patron_segmentation.service.merges import erase_facts, merge_facts, unmerge_facts
from patron_segmentation.service.side_facts import (
    record_address_change,
    record_notification_delivered,
    record_notification_sent,
    record_tier_change,
)
from patron_shared.events import (
    AddressChanged,
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
    CustomerUpdated,
    NotificationDelivered,
    NotificationSent,
    TierChanged,
    Topic,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

CUSTOMER_CONSUMER = "segmentation.customer-projection"
UNMERGE_CONSUMER = "segmentation.identity-unmerges"
LOYALTY_CONSUMER = "segmentation.loyalty-facts"
NOTIFICATION_CONSUMER = "segmentation.notification-facts"


def build_customer_consumer(runtime: ServiceRuntime) -> EventConsumer[SegmentationUnitOfWork]:
    consumer = runtime.event_consumer(
        CUSTOMER_CONSUMER, [Topic.CUSTOMER_EVENTS], SegmentationUnitOfWork
    )
    consumer.on(CustomerCreated, record_facts)
    consumer.on(CustomerUpdated, record_facts)
    consumer.on(CustomerDeleted, delete_facts)
    consumer.on(CustomersMerged, merge_facts)
    consumer.on(CustomerErased, erase_facts)
    consumer.on(AddressChanged, record_address_change)
    return consumer


def build_unmerge_consumer(runtime: ServiceRuntime) -> EventConsumer[SegmentationUnitOfWork]:
    """Identity's unmerges: the restored customer's orders and memberships come back."""
    consumer = runtime.event_consumer(
        UNMERGE_CONSUMER, [Topic.IDENTITY_EVENTS], SegmentationUnitOfWork
    )
    consumer.on(CustomersUnmerged, unmerge_facts)
    return consumer


def build_loyalty_consumer(runtime: ServiceRuntime) -> EventConsumer[SegmentationUnitOfWork]:
    """The loyalty tier of each customer, for rules and reports."""
    consumer = runtime.event_consumer(
        LOYALTY_CONSUMER, [Topic.LOYALTY_EVENTS], SegmentationUnitOfWork
    )
    consumer.on(TierChanged, record_tier_change)
    return consumer


def build_notification_consumer(
    runtime: ServiceRuntime,
) -> EventConsumer[SegmentationUnitOfWork]:
    """Messages sent to each customer and opened by it (engagement)."""
    consumer = runtime.event_consumer(
        NOTIFICATION_CONSUMER, [Topic.NOTIFICATION_EVENTS], SegmentationUnitOfWork
    )
    consumer.on(NotificationSent, record_notification_sent)
    consumer.on(NotificationDelivered, record_notification_delivered)
    return consumer
