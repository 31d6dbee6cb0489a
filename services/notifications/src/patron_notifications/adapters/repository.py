"""Contact persistence: all SQL of the notifications service lives here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_notifications.adapters.tables import contacts
from patron_notifications.domain.contact import Contact

_STORED_FIELDS = (
    "email",
    "phone",
    "first_name",
    "locale",
    "accepts_marketing",
    "source_updated_at",
    "deleted_at",
)


class SqlContactRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Contact | None:
        query = select(contacts).where(
            contacts.c.tenant_id == self._tenant_id, contacts.c.customer_id == customer_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_contact(row)

    async def save(self, contact: Contact) -> None:
        """Insert or update; a write older than the stored row never replaces it."""
        values = {name: getattr(contact, name) for name in _STORED_FIELDS}
        insert = pg_insert(contacts).values(
            tenant_id=self._tenant_id, customer_id=contact.customer_id, **values
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "customer_id"],
                set_=values | {"updated_at": func.now()},
                where=contacts.c.source_updated_at <= insert.excluded.source_updated_at,
            )
        )

    async def list_page(self, *, offset: int, limit: int) -> tuple[list[Contact], int]:
        conditions = [contacts.c.tenant_id == self._tenant_id, contacts.c.deleted_at.is_(None)]
        total = await self._session.scalar(select(func.count()).where(*conditions))
        rows = await self._session.execute(
            select(contacts)
            .where(*conditions)
            .order_by(contacts.c.created_at.desc(), contacts.c.customer_id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_to_contact(row) for row in rows], int(total or 0)


def _to_contact(row: Row[Any]) -> Contact:
    return Contact(
        customer_id=row.customer_id, **{name: getattr(row, name) for name in _STORED_FIELDS}
    )
