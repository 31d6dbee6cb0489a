"""Consumers of segmentation and loyalty events that keep the profile's read-model fields."""

from __future__ import annotations

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service import read_models
from patron_shared.events import (
    PointsAdjusted,
    PointsEarned,
    PointsExpired,
    PointsRedeemed,
    SegmentEntered,
    SegmentExited,
    TierChanged,
    Topic,
    VipStatusChanged,
)
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

SEGMENT_CONSUMER = "profile.segment-read-model"
LOYALTY_CONSUMER = "profile.loyalty-read-model"


def build_read_model_consumers(runtime: ServiceRuntime) -> list[EventConsumer[ProfileUnitOfWork]]:
    segments = runtime.event_consumer(SEGMENT_CONSUMER, [Topic.SEGMENT_EVENTS], ProfileUnitOfWork)
    segments.on(VipStatusChanged, read_models.mirror_vip_status)
    segments.on(SegmentEntered, read_models.mirror_segment_entered)
    segments.on(SegmentExited, read_models.mirror_segment_exited)

    loyalty = runtime.event_consumer(LOYALTY_CONSUMER, [Topic.LOYALTY_EVENTS], ProfileUnitOfWork)
    loyalty.on(PointsEarned, read_models.mirror_points_balance)
    loyalty.on(PointsRedeemed, read_models.mirror_points_balance)
    loyalty.on(PointsExpired, read_models.mirror_points_balance)
    loyalty.on(PointsAdjusted, read_models.mirror_points_balance)
    loyalty.on(TierChanged, read_models.mirror_tier)
    return [segments, loyalty]
