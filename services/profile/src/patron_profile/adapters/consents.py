"""Consent persistence: the append-only `consent_entries` history and the `consents` state.

`consent_entries` gets one row per recorded opt-in or opt-out; a trigger (migration 0006)
refuses any update except clearing `ip_address` or `user_agent` (erasure). `consents` holds
one row per customer and purpose: the entry that currently takes precedence, copied.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Uuid,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.tables import metadata
from patron_profile.domain.consent import Consent, ConsentEntry

consent_entries = Table(
    "consent_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(50), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("source", String(50), nullable=False),
    Column("recorded_by", String(255)),
    Column("ip_address", INET),
    Column("user_agent", String(512)),
    # The history page, newest first: (occurred_at, granted, id) is the precedence order.
    Index(
        "ix_consent_entries_customer",
        "tenant_id",
        "customer_id",
        "occurred_at",
        "granted",
        "id",
    ),
)

consents = Table(
    "consents",
    metadata,
    Column("tenant_id", String(63), nullable=False),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(50), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("source", String(50), nullable=False),
    Column("entry_id", Uuid, nullable=False),
    Column("recorded_by", String(255)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "customer_id", "purpose"),
)

# Newest first, the precedence order reversed: a purpose's first row is its current state.
_NEWEST_FIRST = (
    consent_entries.c.occurred_at.desc(),
    consent_entries.c.granted.asc(),
    consent_entries.c.id.desc(),
)


class SqlConsentRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def current(self, customer_id: uuid.UUID, purpose: str) -> Consent | None:
        row = (
            await self._session.execute(
                select(consents).where(
                    consents.c.tenant_id == self._tenant_id,
                    consents.c.customer_id == customer_id,
                    consents.c.purpose == purpose,
                )
            )
        ).first()
        return _to_consent(row) if row is not None else None

    async def list_current(self, customer_id: uuid.UUID) -> list[Consent]:
        rows = await self._session.execute(
            select(consents)
            .where(consents.c.tenant_id == self._tenant_id, consents.c.customer_id == customer_id)
            .order_by(consents.c.purpose)
        )
        return [_to_consent(row) for row in rows]

    async def append(self, entry: ConsentEntry) -> None:
        await self._session.execute(
            consent_entries.insert().values(
                id=entry.id,
                tenant_id=self._tenant_id,
                customer_id=entry.customer_id,
                purpose=entry.purpose,
                granted=entry.granted,
                occurred_at=entry.occurred_at,
                recorded_at=entry.recorded_at,
                source=entry.source,
                recorded_by=entry.recorded_by,
                ip_address=entry.ip_address,
                user_agent=entry.user_agent,
            )
        )

    async def put_current(self, consent: Consent) -> None:
        values = {
            "granted": consent.granted,
            "occurred_at": consent.occurred_at,
            "source": consent.source,
            "entry_id": consent.entry_id,
            "recorded_by": consent.recorded_by,
            "updated_at": consent.recorded_at,
        }
        await self._session.execute(
            pg_insert(consents)
            .values(
                tenant_id=self._tenant_id,
                customer_id=consent.customer_id,
                purpose=consent.purpose,
                **values,
            )
            .on_conflict_do_update(
                index_elements=["tenant_id", "customer_id", "purpose"], set_=values
            )
        )

    async def history_page(
        self, customer_id: uuid.UUID, *, purpose: str | None, offset: int, limit: int
    ) -> tuple[list[ConsentEntry], int]:
        conditions: list[Any] = [
            consent_entries.c.tenant_id == self._tenant_id,
            consent_entries.c.customer_id == customer_id,
        ]
        if purpose is not None:
            conditions.append(consent_entries.c.purpose == purpose)
        total = await self._session.scalar(
            select(func.count()).select_from(consent_entries).where(*conditions)
        )
        rows = await self._session.execute(
            select(consent_entries)
            .where(*conditions)
            .order_by(*_NEWEST_FIRST)
            .offset(offset)
            .limit(limit)
        )
        return [_to_entry(row) for row in rows], int(total or 0)


def _to_consent(row: Row[Any]) -> Consent:
    return Consent(
        customer_id=row.customer_id,
        purpose=row.purpose,
        granted=row.granted,
        occurred_at=row.occurred_at,
        source=row.source,
        entry_id=row.entry_id,
        recorded_at=row.updated_at,
        recorded_by=row.recorded_by,
    )


def _to_entry(row: Row[Any]) -> ConsentEntry:
    return ConsentEntry(
        id=row.id,
        customer_id=row.customer_id,
        purpose=row.purpose,
        granted=row.granted,
        occurred_at=row.occurred_at,
        source=row.source,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        ip_address=str(row.ip_address) if row.ip_address is not None else None,
        user_agent=row.user_agent,
    )
