"""Customer persistence: the identity customers' rows and their matching features."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_identity.adapters.tables import identity_customers
from patron_identity.domain.addresses import KnownAddress
from patron_identity.domain.customer import IdentityCustomer

_STORED_FIELDS = (
    "email",
    "phone",
    "external_ids",
    "first_name",
    "last_name",
    "source_updated_at",
    "deleted_at",
    "date_of_birth",
    "address1",
    "address2",
    "city",
    "state",
    "postcode",
    "country",
    "merged_into",
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

    async def many(self, customer_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, IdentityCustomer]:
        """The stored ones among these customers, in one round trip."""
        if not customer_ids:
            return {}
        query = select(identity_customers).where(
            identity_customers.c.tenant_id == self._tenant_id,
            identity_customers.c.customer_id.in_(customer_ids),
        )
        rows = (await self._session.execute(query)).all()
        return {row.customer_id: _to_customer(row) for row in rows}

    async def save(self, customer: IdentityCustomer) -> None:
        """Insert or update; a write older than the stored row never replaces it."""
        values: dict[str, Any] = {name: getattr(customer, name) for name in _STORED_FIELDS}
        values["addresses"] = {str(id_): a.to_dict() for id_, a in customer.addresses.items()}
        if customer.created_at is not None:  # unknown until the profile's snapshot comes
            values["created_at"] = customer.created_at
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
        created_at=row.created_at,
        addresses={
            uuid.UUID(id_): KnownAddress.from_dict(stored) for id_, stored in row.addresses.items()
        },
        **{name: getattr(row, name) for name in _STORED_FIELDS},
    )
