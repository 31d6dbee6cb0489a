"""Tag SQL: set-based bulk tagging and per-tenant tag counts.

Tag filters and counts read `customer_tags`, which triggers keep equal to `customers.tags`
(migration 0009); a tag change writes only `customers`, in place when the page has room.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.tables import customer_tags
from patron_profile.domain.contact import MAX_TAGS
from patron_profile.domain.customer import TagChange, full_name_of
from patron_shared.events import CustomerSnapshot

# The stored fields a tag change announces: `CustomerSnapshot`'s, but the derived full name
# (taken from the contract, so a field added there is never missing here).
_SNAPSHOT_COLUMNS = tuple(name for name in CustomerSnapshot.model_fields if name != "full_name")

# One statement: lock the targets, compute each one's new tags (order kept, no duplicates),
# write only real changes, and return every target found, with the stored row of each one
# changed (`changed` is false for the others). Locking first keeps `old_tags` exact when
# another transaction changes the same customers at the same time; the lock also pins the
# row version, so the UPDATE finds it again by its ctid instead of a second key lookup.
_BULK_TAGS = text(
    f"""
    WITH target AS (
        SELECT c.id,
               c.ctid AS locked_version,
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
    ), changed AS (
        UPDATE customers c
        SET tags = target.new_tags, updated_at = now()
        FROM target
        WHERE c.ctid = target.locked_version AND c.id = target.id
          AND target.new_tags <> target.old_tags
          AND cardinality(target.new_tags) <= :max_tags
        RETURNING c.id, {", ".join(f"c.{name}" for name in _SNAPSHOT_COLUMNS)}
    )
    SELECT target.id, target.old_tags, changed.id IS NOT NULL AS changed,
           {", ".join(f"changed.{name}" for name in _SNAPSHOT_COLUMNS)}
    FROM target LEFT JOIN changed ON changed.id = target.id
    """  # noqa: S608 - built from this module's constants only
)


class SqlTagRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def change_tags(
        self, ids: Sequence[uuid.UUID], tags: Sequence[str], mode: Literal["add", "remove"]
    ) -> tuple[set[uuid.UUID], list[TagChange]]:
        """The live customers found among `ids`, and the changes stored for those whose
        tags changed."""
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
        found: set[uuid.UUID] = set()
        changes: list[TagChange] = []
        for row in rows.mappings():
            found.add(row["id"])
            if row["changed"]:
                snapshot = {name: row[name] for name in _SNAPSHOT_COLUMNS}
                snapshot["full_name"] = full_name_of(row["first_name"], row["last_name"])
                changes.append(TagChange(row["id"], snapshot, row["old_tags"]))
        return found, changes

    async def counts(self, *, offset: int, limit: int) -> tuple[list[tuple[str, int]], int]:
        """Each tag with how many live customers carry it, most used first."""
        grouped = (
            select(customer_tags.c.tag, func.count().label("customers"))
            .where(customer_tags.c.tenant_id == self._tenant_id)
            .group_by(customer_tags.c.tag)
            .subquery()
        )
        total = await self._session.scalar(select(func.count()).select_from(grouped))
        rows = await self._session.execute(
            select(grouped.c.tag, grouped.c.customers)
            .order_by(literal_column("customers").desc(), grouped.c.tag)
            .offset(offset)
            .limit(limit)
        )
        return [(row.tag, int(row.customers)) for row in rows], int(total or 0)
