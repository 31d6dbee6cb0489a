"""Keeping segment memberships live, and telling the other services when they change.

- `refresh_customers`: in the transaction that changed customers' facts, their memberships
  of every segment are re-evaluated (in Python, on their facts), so a customer enters "vip"
  with the order that makes it one.
- `recompute_segments`: segments for all customers at once (in SQL, one pass): a new or
  changed rule, or a sweep for the segments that time alone can change (at risk after 90
  quiet days).
- `drop_segment`: a deleted segment's members all leave it.

Every entry and exit is a `SegmentEntered` / `SegmentExited` through the outbox; entering or
leaving "vip" is also a `VipStatusChanged`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
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
from patron_shared.events import (
    Contract,
    Envelope,
    SegmentEntered,
    SegmentExited,
    VipStatusChanged,
)


async def refresh_customer(
    uow: MembershipUnitOfWork, customer_id: uuid.UUID, now: datetime
) -> None:
    """Inside an open unit of work, after the customer's facts were saved."""
    await refresh_customers(uow, {customer_id: None}, now)


async def refresh_customers(
    uow: MembershipUnitOfWork, causes: Mapping[uuid.UUID, Envelope | None], now: datetime
) -> None:
    """Inside an open unit of work, after the customers' facts were saved: each one's
    memberships made to match its facts, every change announced as caused by the message
    `causes` gives for that customer (None: the unit of work's own)."""
    segments = definitions(uow.builtin_thresholds, await uow.segments.all())
    names = {segment.key: segment.name for segment in segments}
    facts = await uow.facts.get_many(causes.keys())
    held = await uow.memberships.of_customers(causes.keys())
    moves: list[tuple[uuid.UUID, set[str], set[str]]] = []
    for customer_id in sorted(causes):
        should = segments_holding(segments, facts.get(customer_id), now)
        current = held[customer_id]
        if should != current:
            moves.append((customer_id, should - current, current - should))
    await uow.memberships.enter([(c, key) for c, entered, _ in moves for key in entered], now)
    await uow.memberships.leave([(c, key) for c, _, exited in moves for key in exited])
    for customer_id, entered, exited in moves:
        _announce_moves(uow, customer_id, entered, exited, names, now, causes[customer_id])


def _announce_moves(  # noqa: PLR0917 - one customer's moves, as found
    uow: MembershipUnitOfWork,
    customer_id: uuid.UUID,
    entered: set[str],
    exited: set[str],
    names: Mapping[str, str],
    now: datetime,
    cause: Envelope | None,
) -> None:
    events: list[Contract] = [
        SegmentEntered(customer_id=customer_id, segment_key=key, segment_name=names[key], at=now)
        for key in sorted(entered)
    ]
    # a deleted custom segment's members left it when it went; its name is gone
    events += [
        SegmentExited(
            customer_id=customer_id, segment_key=key, segment_name=names.get(key, key), at=now
        )
        for key in sorted(exited)
    ]
    if VIP in entered or VIP in exited:
        events.append(
            VipStatusChanged(
                customer_id=customer_id,
                is_vip=VIP in entered,
                reason=_vip_reason(VIP in entered),
                changed_at=now,
            )
        )
    uow.emit(*events, caused_by=cause)


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
