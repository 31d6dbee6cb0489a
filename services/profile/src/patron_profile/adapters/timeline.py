"""Timeline and audit persistence: the `timeline_entries` and `audit_log` tables.

`timeline_entries` is a projection keyed by (tenant, entry_id): an entry's id is the id of
the message that made it (or of the note it records), so a redelivered event adds nothing.
A merged customer's entries stay under its own id; reading a customer's timeline reads the
entries of every customer merged into it (following `customers.merged_into`, which an
unmerge clears), so a merge shows both histories and an unmerge gives each its own back
without moving a row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    Uuid,
    and_,
    delete,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.tables import metadata
from patron_profile.domain.timeline import AuditRecord, TimelineEntry

timeline_entries = Table(
    "timeline_entries",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("entry_id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("summary", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("tenant_id", "entry_id"),
    Index("ix_timeline_entries_customer", "tenant_id", "customer_id", "occurred_at", "entry_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("id", Uuid, nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(20), nullable=False),
    Column("fields", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("request_id", String(200)),
    Column("at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index("ix_audit_log_customer", "tenant_id", "customer_id", "at", "id"),
)

# Bounds the walk down merges into a customer (merges of merges are few).
_MAX_MERGE_DEPTH = 50
_MERGED_INTO = text(
    """
    WITH RECURSIVE absorbed (id, depth) AS (
        SELECT CAST(:customer_id AS uuid), 0
        UNION
        SELECT c.id, absorbed.depth + 1
        FROM customers c JOIN absorbed ON c.merged_into = absorbed.id
        WHERE c.tenant_id = :tenant_id AND absorbed.depth < :max_depth
    )
    SELECT DISTINCT id FROM absorbed
    """
)


class SqlTimelineRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add_many(self, entries: Sequence[TimelineEntry]) -> int:
        """Store entries not stored yet (by entry id); returns how many were new."""
        if not entries:
            return 0
        statement = (
            pg_insert(timeline_entries)
            .on_conflict_do_nothing(index_elements=["tenant_id", "entry_id"])
            .returning(timeline_entries.c.entry_id)
        )
        rows = [
            {
                "tenant_id": self._tenant_id,
                "entry_id": entry.entry_id,
                "customer_id": entry.customer_id,
                "kind": entry.kind,
                "occurred_at": entry.occurred_at,
                "summary": entry.summary,
            }
            for entry in entries
        ]
        return len((await self._session.execute(statement, rows)).all())

    async def remove(self, entry_ids: Sequence[uuid.UUID]) -> None:
        if entry_ids:
            await self._session.execute(
                delete(timeline_entries).where(
                    timeline_entries.c.tenant_id == self._tenant_id,
                    timeline_entries.c.entry_id.in_(entry_ids),
                )
            )

    async def customers_shown_as(self, customer_id: uuid.UUID) -> list[uuid.UUID]:
        """The customer and every customer merged into it (directly or through others)."""
        result = await self._session.execute(
            _MERGED_INTO,
            {
                "customer_id": customer_id,
                "tenant_id": self._tenant_id,
                "max_depth": _MAX_MERGE_DEPTH,
            },
        )
        return [row[0] for row in result]

    async def page(
        self,
        customer_id: uuid.UUID,
        *,
        kinds: Sequence[str] | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[TimelineEntry]:
        """The customer's entries (its own and those of customers merged into it), newest
        first, after the keyset position `after`."""
        ids = await self.customers_shown_as(customer_id)
        t = timeline_entries.c
        conditions: list[Any] = [t.tenant_id == self._tenant_id, t.customer_id.in_(ids)]
        if kinds:
            conditions.append(t.kind.in_(kinds))
        if after is not None:
            conditions.append(tuple_(t.occurred_at, t.entry_id) < tuple_(*after))
        rows = await self._session.execute(
            select(timeline_entries)
            .where(*conditions)
            .order_by(t.occurred_at.desc(), t.entry_id.desc())
            .limit(limit)
        )
        return [_to_entry(row) for row in rows]

    async def erase_timeline(self, customer_id: uuid.UUID) -> int:
        """Delete every timeline entry of the customer (its erasure); returns how many.

        Only the customer's own entries: those of customers merged into it are theirs."""
        result = await self._session.execute(
            delete(timeline_entries)
            .where(
                timeline_entries.c.tenant_id == self._tenant_id,
                timeline_entries.c.customer_id == customer_id,
            )
            .returning(timeline_entries.c.entry_id)
        )
        return len(result.all())


def _to_entry(row: Row[Any]) -> TimelineEntry:
    return TimelineEntry(
        entry_id=row.entry_id,
        customer_id=row.customer_id,
        kind=row.kind,
        occurred_at=row.occurred_at,
        summary=dict(row.summary),
    )


class SqlAuditRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add_many(self, records: Sequence[AuditRecord]) -> None:
        if records:
            await self._session.execute(
                pg_insert(audit_log),
                [
                    {
                        "tenant_id": self._tenant_id,
                        "id": record.id,
                        "customer_id": record.customer_id,
                        "actor": record.actor[:200],
                        "action": record.action,
                        "fields": list(record.fields),
                        "request_id": record.request_id,
                        "at": record.at,
                    }
                    for record in records
                ],
            )

    async def page(
        self,
        customer_id: uuid.UUID,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[AuditRecord]:
        """The customer's audit records, newest first, after the keyset position `after`."""
        a = audit_log.c
        conditions: list[Any] = [a.tenant_id == self._tenant_id, a.customer_id == customer_id]
        if after is not None:
            at, key = after
            conditions.append(or_(a.at < at, and_(a.at == at, a.id < key)))
        rows = await self._session.execute(
            select(audit_log).where(*conditions).order_by(a.at.desc(), a.id.desc()).limit(limit)
        )
        return [
            AuditRecord(
                id=row.id,
                customer_id=row.customer_id,
                actor=row.actor,
                action=row.action,
                fields=tuple(row.fields),
                request_id=row.request_id,
                at=row.at,
            )
            for row in rows
        ]
