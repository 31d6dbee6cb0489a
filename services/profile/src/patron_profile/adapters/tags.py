"""Tag SQL: set-based bulk tagging and per-tenant tag counts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.repository import customer_from_row
from patron_profile.adapters.tables import customers
from patron_profile.domain.contact import MAX_TAGS
from patron_profile.domain.customer import Customer

# One statement: lock the targets, compute each one's new tags (order kept, no duplicates),
# write only real changes, and return the new rows with their old tags.
_BULK_TAGS = text(
    """
    WITH target AS (
        SELECT c.id,
               c.tags AS old_tags,
               CASE WHEN :mode = 'add' THEN
                   c.tags || ARRAY(
                       SELECT t FROM unnest(CAST(:tags AS text[])) WITH ORDINALITY AS u(t, o)
                       WHERE NOT t = ANY(c.tags) ORDER BY o)
               ELSE ARRAY(
                       SELECT t FROM unnest(c.tags) WITH ORDINALITY AS u(t, o)
                       WHERE NOT t = ANY(CAST(:tags AS text[])) ORDER BY o)
               END AS new_tags
        FROM customers c
        WHERE c.tenant_id = :tenant AND c.id = ANY(:ids) AND c.deleted_at IS NULL
        FOR UPDATE
    )
    UPDATE customers c
    SET tags = target.new_tags, updated_at = now()
    FROM target
    WHERE c.id = target.id
      AND target.new_tags <> target.old_tags
      AND cardinality(target.new_tags) <= :max_tags
    RETURNING c.*, target.old_tags
    """
)


class SqlTagRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def change_tags(
        self, ids: Sequence[uuid.UUID], tags: Sequence[str], mode: Literal["add", "remove"]
    ) -> list[tuple[Customer, list[str]]]:
        """Customers whose tags changed, each with its tags from before."""
        rows = await self._session.execute(
            _BULK_TAGS,
            {
                "mode": mode,
                "tags": list(tags),
                "ids": list(ids),
                "tenant": self._tenant_id,
                "max_tags": MAX_TAGS,
            },
        )
        return [(customer_from_row(row), list(row.old_tags)) for row in rows]

    async def existing_ids(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        found = await self._session.scalars(
            select(customers.c.id).where(
                customers.c.tenant_id == self._tenant_id,
                customers.c.id.in_(list(ids)),
                customers.c.deleted_at.is_(None),
            )
        )
        return set(found)

    async def counts(self, *, offset: int, limit: int) -> tuple[list[tuple[str, int]], int]:
        """Each tag with how many live customers carry it, most used first."""
        tag = func.unnest(customers.c.tags).label("tag")
        tagged = (
            select(tag)
            .where(customers.c.tenant_id == self._tenant_id, customers.c.deleted_at.is_(None))
            .subquery()
        )
        grouped = (
            select(tagged.c.tag, func.count().label("customers")).group_by(tagged.c.tag).subquery()
        )
        total = await self._session.scalar(select(func.count()).select_from(grouped))
        rows = await self._session.execute(
            select(grouped.c.tag, grouped.c.customers)
            .order_by(literal_column("customers").desc(), grouped.c.tag)
            .offset(offset)
            .limit(limit)
        )
        return [(row.tag, int(row.customers)) for row in rows], int(total or 0)
