"""The notifications loyalty consumer: `patron.loyalty.events.v1` -> each customer's points
balance and tier, which templates show as `customer.points` and `customer.tier`, and the
messages about a points adjustment or a tier upgrade (see `service/triggers.py`)."""

from __future__ import annotations

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.contacts import record_points
from patron_notifications.service.triggers import Triggers
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


def build_loyalty_consumer(
    runtime: ServiceRuntime, triggers: Triggers
) -> EventConsumer[NotificationsUnitOfWork]:
    consumer = runtime.event_consumer(
        LOYALTY_CONSUMER, [Topic.LOYALTY_EVENTS], NotificationsUnitOfWork
    )
    consumer.on(PointsEarned, record_points)
    consumer.on(PointsRedeemed, record_points)
    consumer.on(PointsExpired, record_points)
    # recorded, then told (with the balance as recorded), in one transaction
    consumer.on_batch([PointsAdjusted], triggers.points_adjusted)
    consumer.on(PointsReversed, record_points)
    consumer.on_batch([TierChanged], triggers.tiers_changed)
    return consumer
