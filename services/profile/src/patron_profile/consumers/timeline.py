"""The timeline consumer: orders, loyalty and notifications -> timeline entries.

A consumer group of its own (its own offsets and inbox), apart from the order statistics
and read models, so the timeline can be rebuilt by resetting this group alone. Profile's own
changes (notes, consents, merges, and the unmerges it applies) are written by the unit of
work that makes them (`adapters.activity`).
"""

from __future__ import annotations

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.timeline import record_timeline_events
from patron_shared.events import (
    Contract,
    CreditApplied,
    CreditIssued,
    NotificationDelivered,
    NotificationFailed,
    NotificationSent,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    PointsAdjusted,
    PointsEarned,
    PointsExpired,
    PointsRedeemed,
    PointsReversed,
    TierChanged,
    Topic,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

TIMELINE_CONSUMER = "profile.timeline"

TIMELINE_EVENTS: list[type[Contract]] = [
    OrderPlaced,
    OrderPaid,
    OrderRefunded,
    OrderCancelled,
    PointsEarned,
    PointsRedeemed,
    PointsExpired,
    PointsAdjusted,
    PointsReversed,
    TierChanged,
    CreditIssued,
    CreditApplied,
    NotificationSent,
    NotificationFailed,
    NotificationDelivered,
]


def build_timeline_consumer(runtime: ServiceRuntime) -> EventConsumer[ProfileUnitOfWork]:
    consumer = runtime.event_consumer(
        TIMELINE_CONSUMER,
        [
            Topic.ORDER_EVENTS,
            Topic.LOYALTY_EVENTS,
            Topic.NOTIFICATION_EVENTS,
            Topic.IDENTITY_EVENTS,
        ],
        ProfileUnitOfWork,
    )
    # a batch per poll, one transaction per tenant's run of it
    consumer.on_batch(TIMELINE_EVENTS, record_timeline_events)
    return consumer
