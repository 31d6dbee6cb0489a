"""Segments and their members in PostgreSQL: the segment rows, and a rule run over the facts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Row,
    Text,
    and_,
    cast,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron_segmentation.adapters.rule_sql import compile_rule
from patron_segmentation.adapters.tables import customer_facts, segments
from patron_segmentation.domain.rules import Rule, from_json, to_json
from patron_segmentation.domain.segments import Member, Segment, SegmentCursor
from patron_shared.errors import Conflict

_FACTS = customer_facts.c


def fact_columns(now: datetime) -> dict[str, ColumnElement[Any]]:
    """The facts collected so far, each as the column or expression that holds it."""
    today = cast(func.timezone("UTC", now), Date)
    return {
        "order_count": _FACTS.order_count,
        "total_spent": _FACTS.total_spent,
        "average_order_value": _FACTS.average_order_value,
        "order_total_max": _FACTS.order_total_max,
        "order_total_min": _FACTS.order_total_min,
        "first_order_at": _FACTS.first_order_at,
        "last_order_at": _FACTS.last_order_at,
        "last_order_month": _FACTS.last_order_month,
        "registered_at": _FACTS.registered_at,
        # whole years, as the domain counts them (a 29 February birthday turns on 1 March)
        "gender": _FACTS.gender,
        "source": _FACTS.source,
        "age": cast(func.date_part("year", func.age(today, _FACTS.date_of_birth)), Integer),
        "tags": _FACTS.tags,
        "categories": _FACTS.categories,
        "accepts_marketing": _FACTS.accepts_marketing,
        "country": _FACTS.country,
        "state": _FACTS.state,
        "city": _FACTS.city,
        "group": cast(_FACTS.group_id, Text),
        "loyalty_tier": _FACTS.loyalty_tier,
        "messages_sent": _FACTS.messages_sent,
        "messages_opened": _FACTS.messages_opened,
    }


def live_facts(tenant_id: str) -> ColumnElement[bool]:
    """The tenant's customers a segment can hold: neither deleted nor merged away."""
    live: ColumnElement[bool] = and_(
        _FACTS.tenant_id == tenant_id, _FACTS.deleted_at.is_(None), _FACTS.merged_into.is_(None)
    )
    return live


# `live_facts` for hand-written statements: the facts aliased `f`, the tenant bound as `:tenant`
LIVE_FACTS_SQL = "f.tenant_id = :tenant AND f.deleted_at IS NULL AND f.merged_into IS NULL"


class SqlSegmentRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(self, segment: Segment) -> None:
        await self._write(
            segments.insert().values(tenant_id=self._tenant_id, **_values(segment), id=segment.id)
        )

    async def save(self, segment: Segment) -> None:
        await self._write(
            update(segments)
            .where(segments.c.tenant_id == self._tenant_id, segments.c.id == segment.id)
            .values(**_values(segment))
        )

    async def remove(self, segment_id: uuid.UUID) -> bool:
        result = await self._session.execute(
            delete(segments)
            .where(segments.c.tenant_id == self._tenant_id, segments.c.id == segment_id)
            .returning(segments.c.id)
        )
        return result.first() is not None

    async def get(self, segment_id: uuid.UUID) -> Segment | None:
        row = (
            await self._session.execute(
                select(segments).where(
                    segments.c.tenant_id == self._tenant_id, segments.c.id == segment_id
                )
            )
        ).first()
        return None if row is None else _to_segment(row)

    async def all(self) -> list[Segment]:
        rows = await self._session.execute(
            select(segments)
            .where(segments.c.tenant_id == self._tenant_id)
            .order_by(segments.c.created_at, segments.c.id)
        )
        return [_to_segment(row) for row in rows]

    async def page(self, *, after: SegmentCursor | None, limit: int) -> list[Segment]:
        """Oldest first, by (created_at, id)."""
        query = select(segments).where(segments.c.tenant_id == self._tenant_id)
        if after is not None:
            query = query.where(
                tuple_(segments.c.created_at, segments.c.id) > tuple_(after.created_at, after.id)
            )
        rows = await self._session.execute(
            query.order_by(segments.c.created_at, segments.c.id).limit(limit)
        )
        return [_to_segment(row) for row in rows]

    async def _write(self, statement: Any) -> None:
        try:
            # a savepoint, so that a taken name leaves the transaction usable
            async with self._session.begin_nested():
                await self._session.execute(statement)
        except IntegrityError as error:
            if "uq_segments_tenant_name" in str(error.orig):
                raise Conflict("a segment with this name exists", field="name") from None
            raise


class SqlMemberQueries:
    """The customers a rule selects among the tenant's live facts, in customer-id order."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def count(self, rule: Rule, now: datetime) -> int:
        query = select(func.count()).select_from(customer_facts).where(self._members(rule, now))
        return int((await self._session.execute(query)).scalar_one())

    async def count_each(self, rules: Sequence[Rule], now: datetime) -> tuple[int, list[int]]:
        """The live customers, and how many each rule selects: one scan for all of them."""
        live = live_facts(self._tenant_id)
        columns = fact_columns(now)
        query = select(
            func.count(),
            *(func.count().filter(compile_rule(rule, columns, now)) for rule in rules),
        ).where(live)
        total, *counts = (await self._session.execute(query)).one()
        return int(total), [int(count) for count in counts]

    async def page(
        self, rule: Rule, now: datetime, *, after: uuid.UUID | None, limit: int
    ) -> list[Member]:
        query = select(
            _FACTS.customer_id,
            _FACTS.order_count,
            _FACTS.total_spent,
            _FACTS.stats_currency,
            _FACTS.last_order_at,
            _FACTS.tags,
        ).where(self._members(rule, now))
        if after is not None:
            query = query.where(_FACTS.customer_id > after)
        rows = await self._session.execute(query.order_by(_FACTS.customer_id).limit(limit))
        return [
            Member(
                customer_id=row.customer_id,
                order_count=row.order_count,
                total_spent=row.total_spent,
                currency=row.stats_currency,
                last_order_at=row.last_order_at,
                tags=tuple(row.tags),
            )
            for row in rows
        ]

    def _members(self, rule: Rule, now: datetime) -> ColumnElement[bool]:
        where: ColumnElement[bool] = live_facts(self._tenant_id) & compile_rule(
            rule, fact_columns(now), now
        )
        return where


def _values(segment: Segment) -> dict[str, Any]:
    return {
        "name": segment.name,
        "description": segment.description,
        "rule": to_json(segment.rule),
        "created_by": segment.created_by,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def _to_segment(row: Row[Any]) -> Segment:
    return Segment(
        id=row.id,
        name=row.name,
        description=row.description,
        rule=from_json(row.rule),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
