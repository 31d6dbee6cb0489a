"""Customer persistence: all SQL of the identity service lives here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_identity.adapters.tables import identity_customers
from patron_identity.domain.customer import IdentityCustomer

_STORED_FIELDS = (
    "email",
    "phone",
    "external_ids",
    "first_name",
    "last_name",
    "source_updated_at",
    "deleted_at",
)


class SqlCustomerRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> IdentityCustomer | None:
        query = select(identity_customers).where(
            identity_customers.c.tenant_id == self._tenant_id,
            identity_customers.c.customer_id == customer_id,
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_customer(row)

    async def save(self, customer: IdentityCustomer) -> None:
        """Insert or update; a write older than the stored row never replaces it."""
        values = {name: getattr(customer, name) for name in _STORED_FIELDS}
        insert = pg_insert(identity_customers).values(
            tenant_id=self._tenant_id, customer_id=customer.customer_id, **values
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "customer_id"],
                set_=values | {"updated_at": func.now()},
                where=identity_customers.c.source_updated_at <= insert.excluded.source_updated_at,
            )
        )


def _to_customer(row: Row[Any]) -> IdentityCustomer:
    return IdentityCustomer(
        customer_id=row.customer_id,
        **{name: getattr(row, name) for name in _STORED_FIELDS},
    )
