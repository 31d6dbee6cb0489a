"""Segment memberships in PostgreSQL: one customer's, or a whole segment set-based."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    DateTime,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.selectable import TableValuedAlias

from patron_segmentation.adapters.rule_sql import compile_rule
from patron_segmentation.adapters.segments import fact_columns, live_facts
from patron_segmentation.adapters.tables import customer_facts, segment_memberships
from patron_segmentation.domain.rules import Rule
from patron_shared.db import is_one_of, json_recordset

_M = segment_memberships.c
_F = customer_facts.c


class SqlMembershipRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def of_customers(self, customer_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
        """The segments each customer is in (none: an empty set)."""
        held: dict[uuid.UUID, set[str]] = {c: set() for c in customer_ids}
        if held:
            rows = await self._session.execute(
                select(_M.customer_id, _M.segment_key).where(
                    _M.tenant_id == self._tenant_id, is_one_of(_M.customer_id, list(held))
                )
            )
            for customer_id, key in rows:
                held[customer_id].add(key)
        return held

    async def enter(self, memberships: Collection[tuple[uuid.UUID, str]], at: datetime) -> None:
        """Each (customer, segment key) pair becomes a membership, entered `at`."""
        if memberships:
            columns = ["tenant_id", "segment_key", "customer_id", "entered_at"]
            rows = self._pairs(memberships, columns, at)
            await self._session.execute(
                pg_insert(segment_memberships)
                .from_select(columns, select(*(rows.c[name] for name in columns)))
                .on_conflict_do_nothing()
            )

    async def leave(self, memberships: Collection[tuple[uuid.UUID, str]]) -> None:
        """Each (customer, segment key) pair stops being a membership."""
        if memberships:
            rows = self._pairs(memberships, ["segment_key", "customer_id"])
            await self._session.execute(
                delete(segment_memberships).where(
                    _M.tenant_id == self._tenant_id,
                    _M.customer_id == rows.c.customer_id,
                    _M.segment_key == rows.c.segment_key,
                )
            )

    def _pairs(
        self,
        memberships: Collection[tuple[uuid.UUID, str]],
        columns: list[str],
        at: datetime | None = None,
    ) -> TableValuedAlias:
        # in (customer, key) order, so two writers never wait on each other in a cycle
        return json_recordset(
            segment_memberships,
            [
                {
                    "tenant_id": self._tenant_id,
                    "segment_key": key,
                    "customer_id": customer_id,
                    "entered_at": at,
                }
                for customer_id, key in sorted(memberships)
            ],
            columns,
        )

    async def recompute(
        self, rules: Mapping[str, Rule], now: datetime
    ) -> dict[str, tuple[list[uuid.UUID], list[uuid.UUID]]]:
        """Bring each segment's members in line with its rule now: (entered, exited) per key.

        One statement for all of them: a single scan of the facts says which segments hold
        each live customer, compared with the memberships those segments have; the missing
        are inserted and the extra deleted, in one snapshot.
        """
        moved: dict[str, tuple[list[uuid.UUID], list[uuid.UUID]]] = {key: ([], []) for key in rules}
        if not rules:
            return moved
        columns = fact_columns(now)
        # per customer, an array of each segment's key where its rule holds, else null
        holds: list[ColumnElement[str]] = [
            case((compile_rule(rule, columns, now), literal(key)), else_=null())
            for key, rule in rules.items()
        ]
        pairs = (
            select(_F.customer_id, func.unnest(postgresql.array(holds)).label("segment_key"))
            .where(live_facts(self._tenant_id))
            .subquery("pairs")
        )
        should = (
            select(pairs.c.customer_id, pairs.c.segment_key)
            .where(pairs.c.segment_key.is_not(None))
            .cte("should")
        )
        current = (
            select(_M.customer_id, _M.segment_key)
            .where(_M.tenant_id == self._tenant_id, _M.segment_key.in_(list(rules)))
            .cte("current")
        )
        # Who should be in which segment against who is: a full join is hashed or merged,
        # never a nested loop, whatever the planner believes of memberships just written.
        diff = (
            select(
                func.coalesce(should.c.customer_id, current.c.customer_id).label("customer_id"),
                func.coalesce(should.c.segment_key, current.c.segment_key).label("segment_key"),
                should.c.customer_id.is_not(None).label("enters"),
            )
            .select_from(
                should.join(
                    current,
                    and_(
                        current.c.customer_id == should.c.customer_id,
                        current.c.segment_key == should.c.segment_key,
                    ),
                    full=True,
                )
            )
            .where(or_(should.c.customer_id.is_(None), current.c.customer_id.is_(None)))
            .cte("diff")
        )
        entered = (
            insert(segment_memberships)
            .from_select(
                ["tenant_id", "segment_key", "customer_id", "entered_at"],
                select(
                    literal(self._tenant_id),
                    diff.c.segment_key,
                    diff.c.customer_id,
                    bindparam(None, now, type_=DateTime(timezone=True)),
                ).where(diff.c.enters),
            )
            .returning(_M.segment_key, _M.customer_id)
            .cte("entered")
        )
        exited = (
            delete(segment_memberships)
            .where(
                _M.tenant_id == self._tenant_id,
                _M.segment_key == diff.c.segment_key,
                _M.customer_id == diff.c.customer_id,
                ~diff.c.enters,
            )
            .returning(_M.segment_key, _M.customer_id)
            .cte("exited")
        )
        rows = await self._session.execute(
            select(literal(True), entered.c.segment_key, entered.c.customer_id).union_all(
                select(literal(False), exited.c.segment_key, exited.c.customer_id)
            )
        )
        for is_entry, key, customer_id in rows:
            moved[key][0 if is_entry else 1].append(customer_id)
        return moved

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
