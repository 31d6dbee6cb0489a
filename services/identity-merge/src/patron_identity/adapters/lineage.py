"""Merge lineage: the merges the identity graph saw and the identifiers each one moved."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_identity.adapters.tables import identity_merge_identifiers, identity_merges
from patron_identity.domain.lineage import MergeRecord, TransferredIdentifier
from patron_identity.domain.resolution import Identifier

_RECORD_FIELDS = (
    "merge_id",
    "survivor_id",
    "merged_customer_id",
    "merged_at",
    "merged_by",
    "rule",
    "score",
    "suggestion_id",
    "unmerged_at",
    "unmerged_by",
)


class SqlLineageRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get(self, merge_id: uuid.UUID, *, for_update: bool = False) -> MergeRecord | None:
        m = identity_merges.c
        query = select(identity_merges).where(
            m.tenant_id == self._tenant_id, m.merge_id == merge_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_record(row)

    async def between(
        self, survivor_id: uuid.UUID, merged_customer_id: uuid.UUID, *, for_update: bool = False
    ) -> list[MergeRecord]:
        """Merges of `merged_customer_id` into `survivor_id`, newest first."""
        m = identity_merges.c
        query = (
            select(identity_merges)
            .where(
                m.tenant_id == self._tenant_id,
                m.survivor_id == survivor_id,
                m.merged_customer_id == merged_customer_id,
            )
            .order_by(m.merged_at.desc(), m.recorded_at.desc())
        )
        if for_update:
            query = query.with_for_update()
        return [_to_record(row) for row in await self._session.execute(query)]

    async def add(self, merge: MergeRecord) -> bool:
        """Record the merge; False when it was recorded before (its id is its natural key)."""
        values = {name: getattr(merge, name) for name in _RECORD_FIELDS}
        inserted = await self._session.execute(
            pg_insert(identity_merges)
            .values(tenant_id=self._tenant_id, **values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "merge_id"])
            .returning(identity_merges.c.merge_id)
        )
        return inserted.first() is not None

    async def record_moves(
        self, merge_id: uuid.UUID, moved: Iterable[TransferredIdentifier]
    ) -> None:
        rows = [
            {
                "tenant_id": self._tenant_id,
                "merge_id": merge_id,
                "kind": t.identifier.kind,
                "value": t.identifier.value,
                "source": t.source,
            }
            for t in moved
        ]
        if rows:
            await self._session.execute(
                pg_insert(identity_merge_identifiers).on_conflict_do_nothing(), rows
            )

    async def mark_unmerged(self, merge: MergeRecord) -> None:
        m = identity_merges.c
        await self._session.execute(
            update(identity_merges)
            .where(m.tenant_id == self._tenant_id, m.merge_id == merge.merge_id)
            .values(unmerged_at=merge.unmerged_at, unmerged_by=merge.unmerged_by)
        )

    async def moved(self, merge_id: uuid.UUID) -> list[TransferredIdentifier]:
        mi = identity_merge_identifiers.c
        rows = await self._session.execute(
            select(mi.kind, mi.value, mi.source)
            .where(mi.tenant_id == self._tenant_id, mi.merge_id == merge_id)
            .order_by(mi.kind, mi.value)
        )
        return [TransferredIdentifier(Identifier(row.kind, row.value), row.source) for row in rows]

    async def history_of(self, customer_id: uuid.UUID) -> list[MergeRecord]:
        """Merges into the customer and out of it, oldest first."""
        m = identity_merges.c
        rows = await self._session.execute(
            select(identity_merges)
            .where(
                m.tenant_id == self._tenant_id,
                or_(m.survivor_id == customer_id, m.merged_customer_id == customer_id),
            )
            .order_by(m.merged_at, m.recorded_at)
        )
        return [_to_record(row) for row in rows]

    async def held_through_merges(self, survivor_id: uuid.UUID) -> set[Identifier]:
        """Identifiers the survivor took from customers merged into it (merges not undone)."""
        m, mi = identity_merges.c, identity_merge_identifiers.c
        rows = await self._session.execute(
            select(mi.kind, mi.value)
            .join(
                identity_merges,
                (m.tenant_id == mi.tenant_id) & (m.merge_id == mi.merge_id),
            )
            .where(
                m.tenant_id == self._tenant_id,
                m.survivor_id == survivor_id,
                m.unmerged_at.is_(None),
            )
        )
        return {Identifier(row.kind, row.value) for row in rows}

    async def forget_moves_of(self, customer_id: uuid.UUID) -> None:
        """Drop the copies of identifier values kept for merges on either side of the customer
        (erasure); the merges themselves (ids, who, when) stay."""
        m, mi = identity_merges.c, identity_merge_identifiers.c
        involved = select(m.merge_id).where(
            m.tenant_id == self._tenant_id,
            or_(m.survivor_id == customer_id, m.merged_customer_id == customer_id),
        )
        await self._session.execute(
            delete(identity_merge_identifiers).where(
                mi.tenant_id == self._tenant_id, mi.merge_id.in_(involved)
            )
        )


def _to_record(row: Row[Any]) -> MergeRecord:
    return MergeRecord(**{name: getattr(row, name) for name in _RECORD_FIELDS})
