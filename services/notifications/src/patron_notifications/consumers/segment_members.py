"""The notifications segment consumer: `patron.segment.events.v1` -> who is in which
segment, the audience of segment campaigns. Segmentation publishes in bursts (a segment
recomputed moves thousands of customers): a batch per poll, one statement per tenant's
run of it."""

from __future__ import annotations

from patron_notifications.adapters.campaigns import CampaignsUnitOfWork
from patron_notifications.service.campaigns import SegmentEvent, record_segment_changes
from patron_shared.events import SegmentEntered, SegmentExited, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

SEGMENT_MEMBERS_CONSUMER = "notifications.segment-members"


def build_segment_members_consumer(
    runtime: ServiceRuntime, topic: str = Topic.SEGMENT_EVENTS
) -> EventConsumer[CampaignsUnitOfWork]:
    consumer = runtime.event_consumer(SEGMENT_MEMBERS_CONSUMER, [topic], CampaignsUnitOfWork)
    changes: list[type[SegmentEvent]] = [SegmentEntered, SegmentExited]
    consumer.on_batch(changes, record_segment_changes)
    return consumer
