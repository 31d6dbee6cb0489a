"""Customer persistence (orders: `adapters.orders`)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    Row,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.tables import customers
from patron_profile.domain.customer import Customer
from patron_profile.domain.order_stats import OrderStats
from patron_shared.errors import Conflict

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

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
        query = select(customers).where(
            customers.c.tenant_id == self._tenant_id,
            customers.c.id == customer_id,
            customers.c.deleted_at.is_(None),
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        customer = customer_from_row(row)
        self.seen[customer.id] = customer
        return customer

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
