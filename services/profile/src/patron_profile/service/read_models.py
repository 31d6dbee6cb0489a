"""Fields the profile keeps from other services' events: VIP status, segments, loyalty.

They belong to segmentation and loyalty; the profile only mirrors them for reads and
filters, so applying them announces nothing (re-announcing would echo between services).
Events of one customer arrive in order (one partition per key) and carry absolute values
(balance, tier, membership), so applying the latest one is always right; the inbox makes a
redelivery a no-op.

A merged customer's tombstone takes them too (`Customer.follows_other_services`): an unmerge
and the events it sets off here (points given back, segments entered again) come on
different topics, in any order, and the restored customer must end with the last of each.
The survivor is never touched by events about the customer merged into it: its own values
come from events about itself. An event about a customer the profile does not hold, or
holds deleted, is ignored.
"""

from __future__ import annotations

from patron_profile.service.ports import ReadModelUnitOfWork
from patron_shared.events import (
    PointsAdjusted,
    PointsEarned,
    PointsExpired,
    PointsRedeemed,
    SegmentEntered,
    SegmentExited,
    TierChanged,
    VipStatusChanged,
)
from patron_shared.logging import get_logger

log = get_logger("patron.profile.read_models")

PointsEvent = PointsEarned | PointsRedeemed | PointsExpired | PointsAdjusted


async def mirror_vip_status(uow: ReadModelUnitOfWork, event: VipStatusChanged) -> None:
    async with uow:
        _note_if_unknown(
            await uow.read_model.set_fields(event.customer_id, is_vip=event.is_vip), event
        )
        await uow.commit()


async def mirror_segment_entered(uow: ReadModelUnitOfWork, event: SegmentEntered) -> None:
    async with uow:
        applied = await uow.read_model.add_segment(event.customer_id, event.segment_key)
        _note_if_unknown(applied, event)
        await uow.commit()


async def mirror_segment_exited(uow: ReadModelUnitOfWork, event: SegmentExited) -> None:
    async with uow:
        applied = await uow.read_model.remove_segment(event.customer_id, event.segment_key)
        _note_if_unknown(applied, event)
        await uow.commit()


async def mirror_points_balance(uow: ReadModelUnitOfWork, event: PointsEvent) -> None:
    async with uow:
        applied = await uow.read_model.set_fields(event.customer_id, loyalty_points=event.balance)
        _note_if_unknown(applied, event)
        await uow.commit()


async def mirror_tier(uow: ReadModelUnitOfWork, event: TierChanged) -> None:
    async with uow:
        applied = await uow.read_model.set_fields(event.customer_id, loyalty_tier=event.tier)
        _note_if_unknown(applied, event)
        await uow.commit()


def _note_if_unknown(applied: bool, event: object) -> None:
    if not applied:
        log.info(
            "ignored: the profile holds no such live or merged customer",
            about=type(event).__name__,
        )
