"""The notifications loyalty consumer: `patron.loyalty.events.v1` -> each customer's points
balance and tier, which templates show as `customer.points` and `customer.tier`."""

from __future__ import annotations

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.contacts import record_points, record_tier
from patron_shared.events import (
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

LOYALTY_CONSUMER = "notifications.loyalty"


def build_loyalty_consumer(runtime: ServiceRuntime) -> EventConsumer[NotificationsUnitOfWork]:
    consumer = runtime.event_consumer(
        LOYALTY_CONSUMER, [Topic.LOYALTY_EVENTS], NotificationsUnitOfWork
    )
    consumer.on(PointsEarned, record_points)
    consumer.on(PointsRedeemed, record_points)
    consumer.on(PointsExpired, record_points)
    consumer.on(PointsAdjusted, record_points)
    consumer.on(PointsReversed, record_points)
    consumer.on(TierChanged, record_tier)
    return consumer
