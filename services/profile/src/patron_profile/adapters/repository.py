"""Customer persistence (orders: `adapters.orders`)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    Row,
    TextualSelect,
    Uuid,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.tables import customers
from patron_profile.domain.customer import Customer
from patron_shared.errors import Conflict
from patron_shared.orders import OrderStats

_STORED_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "accepts_marketing",
    "tags",
    "notes",
    "external_ids",
    "source",
    "status",
    "date_of_birth",
    "gender",
    "locale",
    "preferences",
    "group_id",
    "last_login_at",
    "updated_at",
    "deleted_at",
    "merged_into",
)


class ColumnValues(Protocol):
    def __getitem__(self, column: str, /) -> Any: ...


class SqlCustomerRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id
        self.seen: dict[uuid.UUID, Customer] = {}

    async def add(self, customer: Customer) -> None:
        values = self._values(customer) | {
            "id": customer.id,
            "tenant_id": customer.tenant_id,
            "created_at": customer.created_at,
        }
        await self._write(customers.insert().values(**values), customer)
        self.seen[customer.id] = customer

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False, include_removed: bool = False
    ) -> Customer | None:
        """The live customer; with `include_removed`, also a deleted or merged one."""
        query = select(customers).where(
            customers.c.tenant_id == self._tenant_id, customers.c.id == customer_id
        )
        if not include_removed:
            query = query.where(customers.c.deleted_at.is_(None))
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        customer = customer_from_row(row)
        self.seen[customer.id] = customer
        return customer

    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID | None:
        """The customer a merged one ended up in (following merges of merges); None when
        `customer_id` was never merged."""
        survivor: uuid.UUID | None = await self._session.scalar(
            survivor_query(), {"tenant_id": self._tenant_id, "customer_id": customer_id}
        )
        return survivor

    async def email_owner(self, email: str) -> uuid.UUID | None:
        """The live customer holding `email` (stored lower-cased), if any."""
        return await self._session.scalar(
            select(customers.c.id).where(
                customers.c.tenant_id == self._tenant_id,
                customers.c.email == email,
                customers.c.deleted_at.is_(None),
            )
        )

    async def save(self, customer: Customer) -> None:
        statement = (
            update(customers)
            .where(customers.c.tenant_id == self._tenant_id, customers.c.id == customer.id)
            .values(**self._values(customer))
        )
        await self._write(statement, customer)
        self.seen[customer.id] = customer

    async def _write(self, statement: Any, customer: Customer) -> None:
        # No savepoint: a violation aborts the unit of work, which rolls back as a whole.
        try:
            await self._session.execute(statement)
        except IntegrityError as error:
            if "uq_customers_tenant_email" in str(error.orig):
                raise Conflict(
                    f"a customer with email {customer.email} already exists", field="email"
                ) from None
            raise

    @staticmethod
    def _values(customer: Customer) -> dict[str, Any]:
        values = {name: getattr(customer, name) for name in _STORED_FIELDS}
        stats = customer.stats
        values |= {
            "total_orders": stats.total_orders,
            "priced_orders": stats.priced_orders,
            "total_spent": stats.total_spent,
            "stats_currency": stats.currency,
            "first_order_at": stats.first_order_at,
            "last_order_at": stats.last_order_at,
        }
        return values


# Bounds the walk along merged_into: merges of merges are short, and a cycle (which no use
# case writes) must not loop.
MAX_MERGE_CHAIN = 32


def survivor_query() -> TextualSelect:
    """Parameters `tenant_id`, `customer_id`; one column: the end of the customer's chain of
    merges, or no row when it was never merged."""
    return text(
        f"""
        WITH RECURSIVE chain (id, merged_into, depth) AS (
            SELECT id, merged_into, 0 FROM customers
            WHERE tenant_id = :tenant_id AND id = :customer_id AND merged_into IS NOT NULL
            UNION ALL
            SELECT c.id, c.merged_into, chain.depth + 1
            FROM customers c JOIN chain ON c.id = chain.merged_into
            WHERE c.tenant_id = :tenant_id AND chain.depth < {MAX_MERGE_CHAIN}
        )
        SELECT id FROM chain WHERE depth > 0 ORDER BY depth DESC LIMIT 1
        """  # noqa: S608 - no value is formatted in, only this module's constant
    ).columns(id=Uuid)


def customer_from_row(row: Row[Any]) -> Customer:
    return customer_from_values(row._mapping)


def customer_from_values(row: ColumnValues) -> Customer:
    """A customer from its `customers` columns, by name (a SQLAlchemy mapping or an asyncpg
    record)."""
    return Customer(
        id=row["id"],
        tenant_id=row["tenant_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        email=row["email"],
        phone=row["phone"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        accepts_marketing=row["accepts_marketing"],
        tags=list(row["tags"]),
        notes=row["notes"],
        external_ids=dict(row["external_ids"]),
        source=row["source"],
        status=row["status"],
        deleted_at=row["deleted_at"],
        merged_into=row["merged_into"],
        date_of_birth=row["date_of_birth"],
        gender=row["gender"],
        locale=row["locale"],
        preferences=dict(row["preferences"]),
        group_id=row["group_id"],
        last_login_at=row["last_login_at"],
        is_vip=row["is_vip"],
        segments=list(row["segments"]),
        loyalty_points=row["loyalty_points"],
        loyalty_tier=row["loyalty_tier"],
        stats=OrderStats(
            total_orders=row["total_orders"],
            total_spent=Decimal(row["total_spent"]),
            currency=row["stats_currency"],
            first_order_at=row["first_order_at"],
            last_order_at=row["last_order_at"],
            priced_orders=row["priced_orders"],
        ),
    )
