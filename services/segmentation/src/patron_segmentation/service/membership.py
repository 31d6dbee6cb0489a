"""Keeping segment memberships live, and telling the other services when they change.

- `refresh_customer`: in the transaction that changed a customer's facts, its memberships of
  every segment are re-evaluated (in Python, on its facts), so a customer enters "vip" with
  the order that makes it one.
- `recompute_segments`: segments for all customers at once (in SQL, one pass): a new or
  changed rule, or a sweep for the segments that time alone can change (at risk after 90
  quiet days).
- `drop_segment`: a deleted segment's members all leave it.

Every entry and exit is a `SegmentEntered` / `SegmentExited` through the outbox; entering or
leaving "vip" is also a `VipStatusChanged`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from patron_segmentation.domain.membership import (
    VIP,
    SegmentDefinition,
    definitions,
    segments_holding,
)
from patron_segmentation.domain.rules import is_time_relative
from patron_segmentation.service.ports import MembershipUnitOfWork
from patron_shared.events import SegmentEntered, SegmentExited, VipStatusChanged


async def refresh_customer(
    uow: MembershipUnitOfWork, customer_id: uuid.UUID, now: datetime
) -> None:
    """Inside an open unit of work, after the customer's facts were saved."""
    segments = definitions(uow.builtin_thresholds, await uow.segments.all())
    should = segments_holding(segments, await uow.facts.get(customer_id), now)
    current = await uow.memberships.of_customer(customer_id)
    entered, exited = should - current, current - should
    await uow.memberships.enter(customer_id, entered, now)
    await uow.memberships.leave(customer_id, exited)
    names = {segment.key: segment.name for segment in segments}
    for key in sorted(entered):
        uow.emit(
            SegmentEntered(
                customer_id=customer_id, segment_key=key, segment_name=names[key], at=now
            )
        )
    for key in sorted(exited):
        # a deleted custom segment's members left it when it went; its name is gone
        uow.emit(
            SegmentExited(
                customer_id=customer_id, segment_key=key, segment_name=names.get(key, key), at=now
            )
        )
    if VIP in entered or VIP in exited:
        uow.emit(
            VipStatusChanged(
                customer_id=customer_id,
                is_vip=VIP in entered,
                reason=_vip_reason(VIP in entered),
                changed_at=now,
            )
        )


async def recompute_segments(
    uow: MembershipUnitOfWork, segments: Sequence[SegmentDefinition], now: datetime
) -> dict[str, tuple[int, int]]:
    """Inside an open unit of work: every segment's members made to match its rule now, all
    in one pass over the facts; (entered, exited) per segment key."""
    moved = await uow.memberships.recompute({s.key: s.rule for s in segments}, now)
    for segment in segments:
        entered, exited = moved[segment.key]
        _announce(uow, segment.key, segment.name, entered, exited, now)
    return {key: (len(entered), len(exited)) for key, (entered, exited) in moved.items()}


async def recompute_segment(
    uow: MembershipUnitOfWork, segment: SegmentDefinition, now: datetime
) -> tuple[int, int]:
    """Inside an open unit of work: one segment (new, or its rule changed); (entered,
    exited)."""
    return (await recompute_segments(uow, [segment], now))[segment.key]


async def drop_segment(uow: MembershipUnitOfWork, key: str, name: str, now: datetime) -> int:
    """Inside an open unit of work: every member leaves the segment; returns how many."""
    exited = await uow.memberships.drop_segment(key)
    _announce(uow, key, name, [], exited, now)
    return len(exited)


async def sweep_time_relative_segments(
    uow: MembershipUnitOfWork, now: datetime
) -> dict[str, tuple[int, int]]:
    """One tenant's segments whose rules name a relative time, recomputed in one transaction;
    (entered, exited) per segment key."""
    async with uow:
        segments = definitions(uow.builtin_thresholds, await uow.segments.all())
        moved = await recompute_segments(
            uow, [segment for segment in segments if is_time_relative(segment.rule)], now
        )
        await uow.commit()
    return moved


def _announce(  # noqa: PLR0917 - one segment's entries and exits, as found
    uow: MembershipUnitOfWork,
    key: str,
    name: str,
    entered: Iterable[uuid.UUID],
    exited: Iterable[uuid.UUID],
    now: datetime,
) -> None:
    def rows(customers: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
        return [
            {"customer_id": c, "segment_key": key, "segment_name": name, "at": now}
            for c in sorted(customers)
        ]

    entered, exited = list(entered), list(exited)
    uow.emit_in_bulk(SegmentEntered, rows(entered))
    uow.emit_in_bulk(SegmentExited, rows(exited))
    if key == VIP:
        uow.emit_in_bulk(
            VipStatusChanged,
            [
                {"customer_id": c, "is_vip": vip, "reason": _vip_reason(vip), "changed_at": now}
                for vip, customers in ((True, entered), (False, exited))
                for c in sorted(customers)
            ],
        )


def _vip_reason(is_vip: bool) -> str:
    return "entered the vip segment" if is_vip else "left the vip segment"
