"""Notes and metadata persistence: the `customer_notes` and `customer_metadata` tables.

Notes are soft-deleted (`deleted_at`, `deleted_by`); the partial index serves the listing,
which only ever shows live notes, newest first. Metadata entries are unique per
(tenant, customer, key), and a write is one `INSERT ... ON CONFLICT DO UPDATE`, so two
modules writing the same key at once leave one row, the last write's; the key is the
primary key. Both tables follow
their customer out when it is erased (ON DELETE CASCADE).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    Uuid,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.tables import metadata
from patron_profile.domain.metadata import MetadataEntry
from patron_profile.domain.notes import MAX_NOTE_LENGTH, NOTE_TYPES, Note, NoteType
from patron_shared.db import base_columns

customer_notes = Table(
    "customer_notes",
    metadata,
    *base_columns(),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(20), nullable=False),
    Column("body", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    Column("deleted_by", Text),
    CheckConstraint("type IN (" + ", ".join(f"'{kind}'" for kind in NOTE_TYPES) + ")", name="type"),
    CheckConstraint(f"char_length(body) BETWEEN 1 AND {MAX_NOTE_LENGTH}", name="body"),
    Index(
        "ix_customer_notes_live",
        "tenant_id",
        "customer_id",
        "created_at",
        postgresql_where=text("deleted_at IS NULL"),
    ),
)

customer_metadata = Table(
    "customer_metadata",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(100), nullable=False),
    Column("value", JSONB(none_as_null=False), nullable=False),
    Column("module_source", String(50), nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id", "key"),
    CheckConstraint("key ~ '^[a-z0-9][a-z0-9_.:-]{0,99}$'", name="key"),
)


class SqlNoteRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(self, note: Note) -> None:
        await self._session.execute(
            insert(customer_notes).values(
                id=note.id,
                tenant_id=self._tenant_id,
                customer_id=note.customer_id,
                type=note.type,
                body=note.body,
                author=note.author,
                created_at=note.created_at,
                updated_at=note.created_at,
            )
        )

    async def get(
        self, customer_id: uuid.UUID, note_id: uuid.UUID, *, for_update: bool = False
    ) -> Note | None:
        """The customer's note, deleted or not (the caller decides what a deleted one means)."""
        query = select(customer_notes).where(*self._of(customer_id), customer_notes.c.id == note_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return _to_note(row) if row else None

    async def save(self, note: Note) -> None:
        """Store what can change about a note: its deletion."""
        await self._session.execute(
            update(customer_notes)
            .where(*self._of(note.customer_id), customer_notes.c.id == note.id)
            .values(
                deleted_at=note.deleted_at,
                deleted_by=note.deleted_by,
                updated_at=note.deleted_at or note.created_at,
            )
        )

    async def list_page(
        self, customer_id: uuid.UUID, *, type: NoteType | None, offset: int, limit: int
    ) -> tuple[list[Note], int]:
        """Live notes, newest first."""
        conditions = [*self._of(customer_id), customer_notes.c.deleted_at.is_(None)]
        if type is not None:
            conditions.append(customer_notes.c.type == type)
        total = await self._session.scalar(
            select(func.count()).select_from(customer_notes).where(*conditions)
        )
        rows = await self._session.execute(
            select(customer_notes)
            .where(*conditions)
            .order_by(customer_notes.c.created_at.desc(), customer_notes.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_to_note(row) for row in rows], int(total or 0)

    def _of(self, customer_id: uuid.UUID) -> list[Any]:
        return [
            customer_notes.c.tenant_id == self._tenant_id,
            customer_notes.c.customer_id == customer_id,
        ]


def _to_note(row: Row[Any]) -> Note:
    return Note(
        id=row.id,
        tenant_id=row.tenant_id,
        customer_id=row.customer_id,
        type=row.type,
        body=row.body,
        author=row.author,
        created_at=row.created_at,
        deleted_at=row.deleted_at,
        deleted_by=row.deleted_by,
    )


class SqlMetadataRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, module_source: str | None = None
    ) -> list[MetadataEntry]:
        """All of a customer's entries by key (the caller checks the customer)."""
        rows = await self._session.execute(
            select(customer_metadata)
            .where(*self._of(customer_id, module_source))
            .order_by(customer_metadata.c.key)
        )
        return [_to_entry(row) for row in rows]

    async def list_page(
        self, customer_id: uuid.UUID, *, module_source: str | None, offset: int, limit: int
    ) -> tuple[list[MetadataEntry], int]:
        conditions = self._of(customer_id, module_source)
        total = await self._session.scalar(
            select(func.count()).select_from(customer_metadata).where(*conditions)
        )
        rows = await self._session.execute(
            select(customer_metadata)
            .where(*conditions)
            .order_by(customer_metadata.c.key)
            .offset(offset)
            .limit(limit)
        )
        return [_to_entry(row) for row in rows], int(total or 0)

    async def upsert(self, entry: MetadataEntry) -> MetadataEntry:
        """Insert the entry or replace the key's value; the stored entry comes back."""
        statement = pg_insert(customer_metadata).values(
            tenant_id=self._tenant_id,
            customer_id=entry.customer_id,
            key=entry.key,
            # JSON null is a value like any other, not SQL NULL.
            value=JSONB.NULL if entry.value is None else entry.value,
            module_source=entry.module_source,
            updated_by=entry.updated_by,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
        )
        upsert = statement.on_conflict_do_update(
            index_elements=["tenant_id", "customer_id", "key"],
            set_={
                "value": statement.excluded.value,
                "module_source": statement.excluded.module_source,
                "updated_by": statement.excluded.updated_by,
                "updated_at": statement.excluded.updated_at,
            },
        ).returning(*customer_metadata.c)
        row = (await self._session.execute(upsert)).one()
        return _to_entry(row)

    async def delete(self, customer_id: uuid.UUID, key: str) -> bool:
        """Whether the key existed."""
        result = await self._session.execute(
            delete(customer_metadata)
            .where(*self._of(customer_id), customer_metadata.c.key == key)
            .returning(customer_metadata.c.key)
        )
        return result.first() is not None

    def _of(self, customer_id: uuid.UUID, module_source: str | None = None) -> list[Any]:
        conditions = [
            customer_metadata.c.tenant_id == self._tenant_id,
            customer_metadata.c.customer_id == customer_id,
        ]
        if module_source is not None:
            conditions.append(customer_metadata.c.module_source == module_source)
        return conditions


def _to_entry(row: Row[Any]) -> MetadataEntry:
    return MetadataEntry(
        tenant_id=row.tenant_id,
        customer_id=row.customer_id,
        key=row.key,
        value=row.value,
        module_source=row.module_source,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        created_at=row.created_at,
    )
