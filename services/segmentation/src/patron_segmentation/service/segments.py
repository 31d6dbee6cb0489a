"""Custom-segment use cases: preview, create, read, change, delete, and list members.

A rule comes in either form (text or JSON); a rule that cannot be read is refused with a
422 naming the rule and, where known, the position or JSON path. Members are the live
customers the rule selects at the moment of asking.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from patron_segmentation.domain.builtin_segments import (
    BuiltinSegment,
    BuiltinThresholds,
    builtin_segments,
)
from patron_segmentation.domain.membership import SegmentDefinition
from patron_segmentation.domain.rules import Rule, RuleError, read_rule
from patron_segmentation.domain.segments import Member, Segment, SegmentCursor
from patron_segmentation.service.membership import drop_segment, recompute_segment
from patron_segmentation.service.ports import SegmentsUnitOfWork
from patron_shared.errors import InvalidInput, NotFound
from patron_shared.events import utcnow

RawRule = str | Mapping[str, Any]
EXPORT_BATCH = 5_000


def readable_rule(raw: RawRule) -> Rule:
    """The rule, or a 422 on the `rule` field saying what and where."""
    try:
        rule = read_rule(raw)
    except RuleError as error:
        where: dict[str, Any] = {}
        if error.position is not None:
            where["position"] = error.position
        if error.path is not None:
            where["path"] = error.path
        raise InvalidInput("rule", str(error), **where) from None
    return rule


async def preview_segment(
    uow: SegmentsUnitOfWork, raw: RawRule, *, now: datetime | None = None
) -> tuple[Rule, int]:
    """The rule as read and how many customers it selects now."""
    async with uow:
        rule = readable_rule(raw)
        return rule, await uow.members.count(rule, now or utcnow())


async def create_segment(
    uow: SegmentsUnitOfWork,
    *,
    name: str,
    raw_rule: RawRule,
    description: str | None,
    created_by: str | None,
) -> Segment:
    async with uow:
        rule = readable_rule(raw_rule)
        segment = Segment.new(
            name=name, rule=rule, description=description, created_by=created_by, now=utcnow()
        )
        await uow.segments.add(segment)
        await recompute_segment(uow, _definition(segment), segment.created_at)
        await uow.commit()
    return segment


async def get_segment(uow: SegmentsUnitOfWork, segment_id: uuid.UUID) -> Segment:
    async with uow:
        return await _existing(uow, segment_id)


async def list_segments(
    uow: SegmentsUnitOfWork, *, after: SegmentCursor | None, limit: int
) -> tuple[list[Segment], SegmentCursor | None]:
    """A page of segments, oldest first, and the cursor of the next page (None on the last)."""
    async with uow:
        found = await uow.segments.page(after=after, limit=limit + 1)
    if len(found) > limit:
        last = found[limit - 1]
        return found[:limit], SegmentCursor(last.created_at, last.id)
    return found, None


async def update_segment(
    uow: SegmentsUnitOfWork,
    segment_id: uuid.UUID,
    *,
    name: str,
    raw_rule: RawRule,
    description: str | None,
) -> Segment:
    async with uow:
        rule = readable_rule(raw_rule)
        segment = (await _existing(uow, segment_id)).changed(
            name=name, rule=rule, description=description, now=utcnow()
        )
        await uow.segments.save(segment)
        await recompute_segment(uow, _definition(segment), segment.updated_at)
        await uow.commit()
    return segment


async def delete_segment(uow: SegmentsUnitOfWork, segment_id: uuid.UUID) -> None:
    async with uow:
        segment = await _existing(uow, segment_id)
        await uow.segments.remove(segment_id)
        await drop_segment(uow, str(segment.id), segment.name, utcnow())
        await uow.commit()


async def segment_members(
    uow: SegmentsUnitOfWork,
    segment_id: uuid.UUID,
    *,
    after: uuid.UUID | None,
    limit: int,
    now: datetime | None = None,
) -> tuple[list[Member], uuid.UUID | None]:
    """A page of members in customer-id order, and the id to continue after (None: done)."""
    async with uow:
        segment = await _existing(uow, segment_id)
        found = await uow.members.page(segment.rule, now or utcnow(), after=after, limit=limit + 1)
    return _paged(found, limit)


async def rule_members(
    uow: SegmentsUnitOfWork,
    rule: Rule,
    *,
    after: uuid.UUID | None,
    limit: int,
    now: datetime | None = None,
) -> tuple[list[Member], uuid.UUID | None]:
    """As `segment_members`, for a rule the product ships (a built-in segment)."""
    async with uow:
        found = await uow.members.page(rule, now or utcnow(), after=after, limit=limit + 1)
    return _paged(found, limit)


async def builtin_counts(
    uow: SegmentsUnitOfWork, thresholds: BuiltinThresholds, *, now: datetime | None = None
) -> tuple[int, list[tuple[BuiltinSegment, int]]]:
    """The live customers, and each built-in segment with its member count now."""
    shipped = builtin_segments(thresholds)
    async with uow:
        total, counts = await uow.members.count_each([s.rule for s in shipped], now or utcnow())
    return total, list(zip(shipped, counts, strict=True))


def _definition(segment: Segment) -> SegmentDefinition:
    return SegmentDefinition(str(segment.id), segment.name, segment.rule)


def _paged(found: list[Member], limit: int) -> tuple[list[Member], uuid.UUID | None]:
    if len(found) > limit:
        return found[:limit], found[limit - 1].customer_id
    return found, None


async def all_segment_members(
    uow: SegmentsUnitOfWork, segment_id: uuid.UUID, *, now: datetime | None = None
) -> AsyncIterator[list[Member]]:
    """Every member, in batches, all as of one moment (for an export)."""
    moment = now or utcnow()
    after: uuid.UUID | None = None
    while True:
        batch, after = await segment_members(
            uow, segment_id, after=after, limit=EXPORT_BATCH, now=moment
        )
        if batch:
            yield batch
        if after is None:
            return


async def _existing(uow: SegmentsUnitOfWork, segment_id: uuid.UUID) -> Segment:
    segment = await uow.segments.get(segment_id)
    if segment is None:
        raise NotFound(f"no segment {segment_id}")
    return segment
