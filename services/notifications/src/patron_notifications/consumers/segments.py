"""The notifications segment consumer: `patron.segment.events.v1` -> the win-back message
for a customer who entered the `at_risk` segment.

Segment membership for campaign audiences is projected by another consumer group
(`segment_members`); this one only triggers messages.
"""

from __future__ import annotations

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.triggers import Triggers
from patron_shared.events import SegmentEntered, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

SEGMENT_TRIGGER_CONSUMER = "notifications.segments"


def build_segment_trigger_consumer(
    runtime: ServiceRuntime, triggers: Triggers
) -> EventConsumer[NotificationsUnitOfWork]:
    consumer = runtime.event_consumer(
        SEGMENT_TRIGGER_CONSUMER, [Topic.SEGMENT_EVENTS], NotificationsUnitOfWork
    )
    consumer.on_batch([SegmentEntered], triggers.segments_entered)
    return consumer
