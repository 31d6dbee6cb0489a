"""A customer by id in one round trip (point reads: `patron_shared.db.reads`)."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select

from patron_profile.adapters.repository import customer_from_values
from patron_profile.adapters.tables import customers
from patron_profile.domain.customer import Customer
from patron_shared.db.reads import PointQuery, TenantReads

_LIVE_CUSTOMER_BY_ID = PointQuery.of(
    select(*(column for column in customers.c if column.name != "search_text")).where(
        customers.c.tenant_id == bindparam("tenant_id"),
        customers.c.id == bindparam("customer_id"),
        customers.c.deleted_at.is_(None),
    )
)


class SqlCustomerLookup:
    def __init__(self, reads: TenantReads) -> None:
        self._reads = reads

    async def customer(self, customer_id: uuid.UUID) -> Customer | None:
        row = await self._reads.fetch_one(
            _LIVE_CUSTOMER_BY_ID, tenant_id=self._reads.tenant_id, customer_id=customer_id
        )
        return None if row is None else customer_from_values(row)
