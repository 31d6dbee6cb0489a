"""Customer persistence (orders: `adapters.orders`)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Row,
    Text,
    any_,
    cast,
    exists,
    func,
    literal,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron_profile.adapters.addresses import addresses
from patron_profile.adapters.tables import customer_tags, customers
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

    async def list_page(
        self,
        filters: CustomerFilters,
        sort: CustomerSort,
        *,
        offset: int,
        limit: int,
        count_limit: int,
    ) -> tuple[list[Customer], int]:
        # Up to `count_limit` + 1 matches in no particular order, so the planner takes the
        # cheapest way to them (a trigram or tag index for rare values, a scan stopping
        # early for common ones); counted, and sorted for the page when that is all of
        # them: one statement, one snapshot. Beyond `count_limit` the total is reported as
        # at least that, and the page is walked in sort order instead (below).
        # Only ids and sort keys are carried along: the page's 20 rows are read whole last.
        keys = [customers.c[name] for name in _SORT_KEYS[sort.field]]
        matches = (
            select(customers.c.id, *keys)
            .where(*self._conditions(filters))
            .limit(count_limit + 1)
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
        matched = select(func.count()).select_from(matches).scalar_subquery()
        counted = select(matched.label("matched")).subquery("counted")
        few = (
            select(matches)
            # Evaluated once, before the sort: beyond the limit the page is not built here.
            .where(matched <= count_limit)
            .order_by(*_order_by(sort, matches.c))
            .offset(offset)
            .limit(limit)
            .subquery("few")
        )
        page = few.join(customers, customers.c.id == few.c.id)
        found = await self._session.execute(
            select(counted.c.matched, customers)
            .select_from(counted.outerjoin(page, true()))
            .order_by(*_order_by(sort, few.c))
        )
        rows = found.all()
        total = int(rows[0].matched)
        if total <= count_limit:
            # An empty page still comes as one row, carrying the count and nulls.
            return [customer_from_row(row) for row in rows if row.id is not None], total
        walked = await self._session.execute(
            select(customers)
            .where(*self._walk_conditions(filters))
            .order_by(*_order_by(sort))
            .offset(offset)
            .limit(limit)
        )
        return [customer_from_row(row) for row in walked], total

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

    def _walk_conditions(self, f: CustomerFilters) -> list[ColumnElement[bool]]:
        """The filters for a page walked in sort order, when there are many matches.

        A search term then matches more than `count_limit` rows, so walking the sort's
        index meets a match often and stops after the page. `strpos` is the same test as
        LIKE '%term%' (search_text is lower-cased, never null), but no index serves it, so
        the planner cannot instead collect every match of a common term through the
        trigram index and sort them all; its estimates for '%term%' are too rough to
        choose between the two reliably.
        """
        if not f.search:
            return self._conditions(f)
        term = func.strpos(customers.c.search_text, f.search.lower()) > 0
        return [*self._conditions(replace(f, search=None)), term]

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
            # The customers `customer_tags` lists with the tags (migration 0009: no index on
            # `customers.tags`), which lets a rare tag lead to its few customers; then the
            # same test on the row's own array, so a scan rejects most rows without a lookup.
            # coalesce() changes nothing (tags is never null) but keeps the planner from
            # counting the test's selectivity twice.
            tags = cast(list(f.tags), ARRAY(Text))
            tagged = select(customer_tags.c.customer_id).where(
                customer_tags.c.tenant_id == self._tenant_id, customer_tags.c.tag == any_(tags)
            )
            if f.tags_match == "all":  # one row per customer and tag: all n of them
                tagged = tagged.group_by(customer_tags.c.customer_id).having(
                    func.count() == len(set(f.tags))
                )
            on_row = c.tags.overlap(tags) if f.tags_match == "any" else c.tags.contains(tags)
            conditions += [c.id.in_(tagged), func.coalesce(on_row, true())]
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


_SORT_KEYS = {
    "name": ("last_name", "first_name"),
    "total_spent": ("total_spent",),
    "total_orders": ("total_orders",),
    "last_order_at": ("last_order_at",),
    "created_at": ("created_at",),
}


def _order_by(sort: CustomerSort, columns: Any = customers.c) -> list[Any]:
    """ORDER BY for `sort` over `columns`: the table's, or a subquery's of the same names."""
    c = columns
    names = _SORT_KEYS[sort.field]
    keys = [c[name] for name in names]
    ordered = [k.desc() if sort.descending else k.asc() for k in keys]
    # Nulls last in both directions, said only where a key can be null: each order has
    # an index of its own (NOT NULL keys scan theirs backwards), migrations 0002 and 0008.
    nullable = [customers.c[name].nullable for name in names]
    ordered = [o.nulls_last() if n else o for o, n in zip(ordered, nullable, strict=True)]
    # The id breaks ties, so equal sort values never shuffle between pages.
    return [*ordered, c.id.desc() if sort.descending else c.id.asc()]


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
