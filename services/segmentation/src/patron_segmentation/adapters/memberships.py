"""Segment memberships in PostgreSQL: one customer's, or a whole segment set-based."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import DateTime, and_, bindparam, delete, exists, insert, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from patron_segmentation.adapters.rule_sql import compile_rule
from patron_segmentation.adapters.segments import fact_columns, live_facts
from patron_segmentation.adapters.tables import customer_facts, segment_memberships
from patron_segmentation.domain.rules import Rule

_M = segment_memberships.c
_F = customer_facts.c


class SqlMembershipRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def of_customer(self, customer_id: uuid.UUID) -> set[str]:
        rows = await self._session.execute(
            select(_M.segment_key).where(
                _M.tenant_id == self._tenant_id, _M.customer_id == customer_id
            )
        )
        return {key for (key,) in rows}

    async def enter(self, customer_id: uuid.UUID, keys: Collection[str], at: datetime) -> None:
        if keys:
            await self._session.execute(
                pg_insert(segment_memberships)
                .values(
                    [
                        {
                            "tenant_id": self._tenant_id,
                            "segment_key": key,
                            "customer_id": customer_id,
                            "entered_at": at,
                        }
                        for key in sorted(keys)
                    ]
                )
                .on_conflict_do_nothing()
            )

    async def leave(self, customer_id: uuid.UUID, keys: Collection[str]) -> None:
        if keys:
            await self._session.execute(
                delete(segment_memberships).where(
                    _M.tenant_id == self._tenant_id,
                    _M.customer_id == customer_id,
                    _M.segment_key.in_(sorted(keys)),
                )
            )

    async def recompute(
        self, key: str, rule: Rule, now: datetime
    ) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """Bring the segment's members in line with its rule now: (entered, exited)."""
        selects = and_(live_facts(self._tenant_id), compile_rule(rule, fact_columns(now), now))
        member = exists().where(
            _M.tenant_id == self._tenant_id, _M.segment_key == key, _M.customer_id == _F.customer_id
        )
        entered = await self._session.execute(
            insert(segment_memberships)
            .from_select(
                ["tenant_id", "segment_key", "customer_id", "entered_at"],
                select(
                    literal(self._tenant_id),
                    literal(key),
                    _F.customer_id,
                    bindparam(None, now, type_=DateTime(timezone=True)),
                ).where(selects, ~member),
            )
            .returning(_M.customer_id)
        )
        entered_ids = [customer_id for (customer_id,) in entered]
        still_selected = exists().where(selects, _F.customer_id == _M.customer_id)
        exited = await self._session.execute(
            delete(segment_memberships)
            .where(
                _M.tenant_id == self._tenant_id,
                _M.segment_key == key,
                ~still_selected,
            )
            .returning(_M.customer_id)
        )
        return entered_ids, [customer_id for (customer_id,) in exited]

    async def drop_segment(self, key: str) -> list[uuid.UUID]:
        """Everyone leaves the segment (it is gone): who was in it."""
        rows = await self._session.execute(
            delete(segment_memberships)
            .where(_M.tenant_id == self._tenant_id, _M.segment_key == key)
            .returning(_M.customer_id)
        )
        return [customer_id for (customer_id,) in rows]


async def tenants(engine: AsyncEngine) -> list[str]:
    """Every tenant with customer facts (through the function migration 0004 made)."""
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT segmentation_tenants()"))
        return sorted(tenant for (tenant,) in rows)
