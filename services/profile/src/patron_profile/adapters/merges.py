"""Merge persistence: the `customer_merges` records, and the set-based moves a merge makes
(orders and notes change owner; a consent copy is withdrawn on unmerge)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Row,
    String,
    Table,
    Text,
    Uuid,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.consents import consent_entries, consents
from patron_profile.adapters.notes import customer_notes
from patron_profile.adapters.tables import metadata, orders
from patron_profile.domain.consent import Consent
from patron_profile.domain.merge import ConsentMove, MergeRecord, MovedAddress

customer_merges = Table(
    "customer_merges",
    metadata,
    Column("merge_id", Uuid, primary_key=True),
    Column("tenant_id", String(63), nullable=False),
    Column("primary_id", Uuid, nullable=False),
    Column("secondary_id", Uuid, nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False),
    Column("merged_by", String(200)),
    Column("rule", String(200)),
    Column("score", Float),
    Column("suggestion_id", Uuid),
    Column("filled_fields", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("added_tags", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("added_external_ids", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("moved_addresses", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("moved_note_ids", ARRAY(Uuid), nullable=False, server_default=text("'{}'")),
    Column("moved_order_ids", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("consent_changes", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("unmerged_at", DateTime(timezone=True)),
    Column("unmerged_by", String(200)),
    Index("ix_customer_merges_pair", "tenant_id", "primary_id", "secondary_id", "merged_at"),
)

# Filled values that JSON does not carry as themselves.
_DATE_FIELDS = frozenset({"date_of_birth"})
_UUID_FIELDS = frozenset({"group_id"})


class SqlMergeRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(self, record: MergeRecord) -> None:
        await self._session.execute(
            insert(customer_merges).values(
                merge_id=record.merge_id,
                tenant_id=self._tenant_id,
                primary_id=record.primary_id,
                secondary_id=record.secondary_id,
                merged_at=record.merged_at,
                merged_by=record.merged_by,
                rule=record.rule,
                score=record.score,
                suggestion_id=record.suggestion_id,
                filled_fields={k: _json_value(v) for k, v in record.filled_fields.items()},
                added_tags=list(record.added_tags),
                added_external_ids=dict(record.added_external_ids),
                moved_addresses=[
                    {"address_id": str(m.address_id), "was_default": m.was_default}
                    for m in record.moved_addresses
                ],
                moved_note_ids=list(record.moved_note_ids),
                moved_order_ids=list(record.moved_order_ids),
                consent_changes=[_consent_move_json(m) for m in record.consent_changes],
            )
        )

    async def latest(self, primary_id: uuid.UUID, secondary_id: uuid.UUID) -> MergeRecord | None:
        """The newest merge of `secondary_id` into `primary_id`, unmerged or not."""
        row = (
            await self._session.execute(
                select(customer_merges)
                .where(
                    customer_merges.c.tenant_id == self._tenant_id,
                    customer_merges.c.primary_id == primary_id,
                    customer_merges.c.secondary_id == secondary_id,
                )
                .order_by(customer_merges.c.merged_at.desc(), customer_merges.c.merge_id.desc())
                .limit(1)
                .with_for_update()
            )
        ).first()
        return None if row is None else _to_record(row)

    async def mark_unmerged(self, merge_id: uuid.UUID, *, at: datetime, by: str | None) -> None:
        await self._session.execute(
            update(customer_merges)
            .where(customer_merges.c.tenant_id == self._tenant_id)
            .where(customer_merges.c.merge_id == merge_id)
            .values(unmerged_at=at, unmerged_by=by)
        )

    async def move_orders(
        self, from_id: uuid.UUID, to_id: uuid.UUID, order_ids: Sequence[str] | None = None
    ) -> list[str]:
        """Re-point `from_id`'s orders (all, or those of `order_ids`) to `to_id`; their ids."""
        conditions = [orders.c.tenant_id == self._tenant_id, orders.c.customer_id == from_id]
        if order_ids is not None:
            conditions.append(orders.c.order_id.in_(list(order_ids)))
        result = await self._session.execute(
            update(orders).where(*conditions).values(customer_id=to_id).returning(orders.c.order_id)
        )
        return sorted(result.scalars())

    async def move_notes(
        self,
        from_id: uuid.UUID,
        to_id: uuid.UUID,
        note_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[uuid.UUID]:
        """Re-point `from_id`'s notes (deleted ones too: their history goes with them)."""
        notes = customer_notes.c
        conditions = [notes.tenant_id == self._tenant_id, notes.customer_id == from_id]
        if note_ids is not None:
            conditions.append(notes.id.in_(list(note_ids)))
        result = await self._session.execute(
            update(customer_notes).where(*conditions).values(customer_id=to_id).returning(notes.id)
        )
        return sorted(result.scalars(), key=str)

    async def withdraw_consent_copy(
        self, customer_id: uuid.UUID, move: ConsentMove, *, restore: bool
    ) -> None:
        """Remove the copy a merge wrote to the customer's consent history; with `restore`
        (the copy is still the current state) the state before it comes back too."""
        if restore and move.previous is None:
            await self._session.execute(
                delete(consents).where(
                    consents.c.tenant_id == self._tenant_id,
                    consents.c.customer_id == customer_id,
                    consents.c.purpose == move.purpose,
                )
            )
        await self._session.execute(
            delete(consent_entries).where(
                consent_entries.c.tenant_id == self._tenant_id,
                consent_entries.c.customer_id == customer_id,
                consent_entries.c.id == move.entry_id,
            )
        )


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _filled_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DATE_FIELDS:
        return date.fromisoformat(value)
    if name in _UUID_FIELDS:
        return uuid.UUID(value)
    return value


def _consent_move_json(move: ConsentMove) -> dict[str, Any]:
    previous = move.previous
    return {
        "purpose": move.purpose,
        "entry_id": str(move.entry_id),
        "previous": None
        if previous is None
        else {
            "granted": previous.granted,
            "occurred_at": previous.occurred_at.isoformat(),
            "source": previous.source,
            "entry_id": str(previous.entry_id),
            "recorded_at": previous.recorded_at.isoformat(),
            "recorded_by": previous.recorded_by,
        },
    }


def _consent_move(customer_id: uuid.UUID, stored: dict[str, Any]) -> ConsentMove:
    previous = stored["previous"]
    return ConsentMove(
        purpose=stored["purpose"],
        entry_id=uuid.UUID(stored["entry_id"]),
        previous=None
        if previous is None
        else Consent(
            customer_id=customer_id,
            purpose=stored["purpose"],
            granted=previous["granted"],
            occurred_at=datetime.fromisoformat(previous["occurred_at"]),
            source=previous["source"],
            entry_id=uuid.UUID(previous["entry_id"]),
            recorded_at=datetime.fromisoformat(previous["recorded_at"]),
            recorded_by=previous["recorded_by"],
        ),
    )


def _to_record(row: Row[Any]) -> MergeRecord:
    return MergeRecord(
        merge_id=row.merge_id,
        primary_id=row.primary_id,
        secondary_id=row.secondary_id,
        merged_at=row.merged_at,
        merged_by=row.merged_by,
        rule=row.rule,
        score=row.score,
        suggestion_id=row.suggestion_id,
        filled_fields={k: _filled_value(k, v) for k, v in row.filled_fields.items()},
        added_tags=list(row.added_tags),
        added_external_ids=dict(row.added_external_ids),
        moved_addresses=[
            MovedAddress(uuid.UUID(m["address_id"]), bool(m["was_default"]))
            for m in row.moved_addresses
        ],
        moved_note_ids=list(row.moved_note_ids),
        moved_order_ids=list(row.moved_order_ids),
        consent_changes=[_consent_move(row.primary_id, m) for m in row.consent_changes],
        unmerged_at=row.unmerged_at,
        unmerged_by=row.unmerged_by,
    )
