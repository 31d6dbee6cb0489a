"""Customer persistence (orders: `adapters.orders`)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, Text, cast, exists, func, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.addresses import addresses
from patron_profile.adapters.tables import customers
from patron_profile.domain.customer import Customer
from patron_profile.domain.customer_query import Cursor, CustomerFilters, CustomerSort
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

    async def list_page(
        self,
        filters: CustomerFilters,
        sort: CustomerSort,
        *,
        offset: int,
        limit: int,
        count_limit: int,
    ) -> tuple[list[Customer], int]:
        conditions = self._conditions(filters)
        # Counting every match of a broad filter over a million rows costs more than the
        # page itself; beyond `count_limit` the total is reported as at least that.
        matches = select(customers.c.id).where(*conditions).limit(count_limit + 1).subquery()
        total = await self._session.scalar(select(func.count()).select_from(matches))
        rows = await self._session.execute(
            select(customers)
            .where(*conditions)
            .order_by(*_order_by(sort))
            .offset(offset)
            .limit(limit)
        )
        return [customer_from_row(row) for row in rows], int(total or 0)

    async def scan(
        self, filters: CustomerFilters, *, descending: bool, after: Cursor | None, limit: int
    ) -> list[Customer]:
        """Keyset page by (created_at, id): cost independent of how deep the scan is."""
        conditions = self._conditions(filters)
        if after is not None:
            key = tuple_(customers.c.created_at, customers.c.id)
            bound = tuple_(literal(after.created_at), literal(after.id))
            conditions.append(key < bound if descending else key > bound)
        order = (customers.c.created_at, customers.c.id)
        rows = await self._session.execute(
            select(customers)
            .where(*conditions)
            .order_by(*(c.desc() if descending else c.asc() for c in order))
            .limit(limit)
        )
        return [customer_from_row(row) for row in rows]

    def _conditions(self, f: CustomerFilters) -> list[ColumnElement[bool]]:
        c = customers.c
        conditions: list[ColumnElement[bool]] = [
            c.tenant_id == self._tenant_id,
            c.deleted_at.is_(None),
        ]
        if f.search:
            conditions.append(
                c.search_text.like(f"%{_escape_like(f.search.lower())}%", escape="\\")
            )
        if f.email is not None:
            conditions.append(c.email == f.email)
        if f.tags:
            tags = cast(list(f.tags), ARRAY(Text))
            conditions.append(
                c.tags.overlap(tags) if f.tags_match == "any" else c.tags.contains(tags)
            )
        equal = {
            "accepts_marketing": f.accepts_marketing,
            "source": f.source,
            "group_id": f.group_id,
            "status": f.status,
            "is_vip": f.is_vip,
        }
        conditions += [c[name] == value for name, value in equal.items() if value is not None]
        if f.segment is not None:
            conditions.append(c.segments.contains(cast([f.segment], ARRAY(Text))))
        ranges = (
            ("total_spent", f.total_spent_min, f.total_spent_max),
            ("total_orders", f.orders_min, f.orders_max),
            ("last_order_at", f.last_order_from, f.last_order_to),
            ("created_at", f.created_from, f.created_to),
        )
        for name, low, high in ranges:
            if low is not None:
                conditions.append(c[name] >= low)
            if high is not None:
                conditions.append(c[name] <= high)
        if f.country or f.state or f.city:
            conditions.append(self._has_address_in(f))
        return conditions

    def _has_address_in(self, f: CustomerFilters) -> ColumnElement[bool]:
        a = addresses.c
        where = [a.tenant_id == self._tenant_id, a.customer_id == customers.c.id]
        if f.country:
            where.append(a.country == f.country.upper())
        if f.state:
            where.append(func.lower(a.state) == f.state.lower())
        if f.city:
            where.append(func.lower(a.city) == f.city.lower())
        return exists().where(*where)

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


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _order_by(sort: CustomerSort) -> list[Any]:
    c = customers.c
    keys = {
        "name": [c.last_name, c.first_name],
        "total_spent": [c.total_spent],
        "total_orders": [c.total_orders],
        "last_order_at": [c.last_order_at],
        "created_at": [c.created_at],
    }[sort.field]
    ordered = [k.desc() if sort.descending else k.asc() for k in keys]
    # Nulls last in both directions, said only where a key can be null: each order has
    # an index of its own (NOT NULL keys scan theirs backwards), migrations 0002 and 0008.
    ordered = [o.nulls_last() if k.nullable else o for o, k in zip(ordered, keys, strict=True)]
    # The id breaks ties, so equal sort values never shuffle between pages.
    return [*ordered, c.id.desc() if sort.descending else c.id.asc()]


def customer_from_row(row: Row[Any]) -> Customer:
    return Customer(
        id=row.id,
        tenant_id=row.tenant_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        email=row.email,
        phone=row.phone,
        first_name=row.first_name,
        last_name=row.last_name,
        accepts_marketing=row.accepts_marketing,
        tags=list(row.tags),
        notes=row.notes,
        external_ids=dict(row.external_ids),
        source=row.source,
        status=row.status,
        deleted_at=row.deleted_at,
        date_of_birth=row.date_of_birth,
        gender=row.gender,
        locale=row.locale,
        preferences=dict(row.preferences),
        group_id=row.group_id,
        last_login_at=row.last_login_at,
        is_vip=row.is_vip,
        segments=list(row.segments),
        loyalty_points=row.loyalty_points,
        loyalty_tier=row.loyalty_tier,
        stats=OrderStats(
            total_orders=row.total_orders,
            total_spent=Decimal(row.total_spent),
            currency=row.stats_currency,
            first_order_at=row.first_order_at,
            last_order_at=row.last_order_at,
            priced_orders=row.priced_orders,
        ),
    )
