"""The points lifecycle consumer: merges, unmerges and erasure -> the points ledger."""

from __future__ import annotations

from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.service.lifecycle import erase_points, merge_points, unmerge_points
from patron_shared.events import CustomerErased, CustomersMerged, CustomersUnmerged, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

POINTS_LIFECYCLE_CONSUMER = "loyalty.points-lifecycle"


def build_points_lifecycle_consumer(runtime: ServiceRuntime) -> EventConsumer[LoyaltyUnitOfWork]:
    consumer = runtime.event_consumer(
        POINTS_LIFECYCLE_CONSUMER,
        [Topic.CUSTOMER_EVENTS, Topic.IDENTITY_EVENTS],
        LoyaltyUnitOfWork,
    )
    consumer.on(CustomersMerged, merge_points)
    consumer.on(CustomersUnmerged, unmerge_points)
    consumer.on(CustomerErased, erase_points)
    return consumer
