"""Customer reads outside any transaction (point reads: `patron_shared.db.reads`): one by
id, a filtered page, a keyset scan. Each is one statement, so it sees one snapshot."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from sqlalchemy import bindparam, select

from patron_profile.adapters import customer_queries as sql
from patron_profile.adapters.repository import customer_from_values, survivor_query
from patron_profile.adapters.tables import customers
from patron_profile.domain.customer import Customer
from patron_profile.domain.customer_query import Cursor, CustomerFilters, CustomerSort
from patron_shared.db.reads import PointQuery, TenantReads

_LIVE_CUSTOMER_BY_ID = PointQuery.of(
    select(*sql.CUSTOMER_COLUMNS).where(
        customers.c.tenant_id == bindparam("tenant_id"),
        customers.c.id == bindparam("customer_id"),
        customers.c.deleted_at.is_(None),
    )
)

_SURVIVOR = PointQuery.of(survivor_query())


class SqlCustomerLookup:
    def __init__(self, reads: TenantReads, *, tag_probes: int = sql.TAG_PROBES) -> None:
        self._reads = reads
        self._tag_probes = tag_probes

    async def customer(self, customer_id: uuid.UUID) -> Customer | None:
        row = await self._reads.fetch_one(
            _LIVE_CUSTOMER_BY_ID, tenant_id=self._reads.tenant_id, customer_id=customer_id
        )
        return None if row is None else customer_from_values(row)

    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID | None:
        """Where a merged customer ended up; None when it was never merged."""
        row = await self._reads.fetch_one(
            _SURVIVOR, tenant_id=self._reads.tenant_id, customer_id=customer_id
        )
        return None if row is None else uuid.UUID(str(row["id"]))

    async def list_page(
        self,
        filters: CustomerFilters,
        sort: CustomerSort,
        *,
        offset: int,
        limit: int,
        count_limit: int,
    ) -> tuple[list[Customer], int]:
        """A page and the number of matches, counted up to `count_limit` + 1 (see
        `customer_queries` for how)."""
        shape = sql.ListShape.of(filters, sort)
        values = sql.filter_values(filters, self._reads.tenant_id) | {
            "count_limit": count_limit,
            "matches_limit": count_limit + 1,
            "page_offset": offset,
            "page_limit": limit,
            "tag_probes": self._tag_probes,
        }
        lead = shape.tag_lead(len(values["tags"]))
        rows = None
        if lead is not None:
            rows = await self._reads.fetch_all(sql.count_and_page(shape, lead), **values)
            if rows[0]["matched"] <= count_limit and rows[0]["probed"] >= self._tag_probes:
                rows = None  # the walk of the tag's customers ended too early to know
        if rows is None:
            rows = await self._reads.fetch_all(sql.count_and_page(shape, None), **values)
        total: int = rows[0]["matched"]
        if total <= count_limit:
            # An empty page still comes as one row, carrying the count and nulls.
            return _customers(row for row in rows if row["id"] is not None), total
        return _customers(await self._reads.fetch_all(sql.walk(shape), **values)), total

    async def scan(
        self, filters: CustomerFilters, *, descending: bool, after: Cursor | None, limit: int
    ) -> list[Customer]:
        """Keyset page by (created_at, id): cost independent of how deep the scan is."""
        values = sql.filter_values(filters, self._reads.tenant_id) | {"page_limit": limit}
        if after is not None:
            values |= {"after_created_at": after.created_at, "after_id": after.id}
        query = sql.scan(
            sql.ListShape.of(filters, CustomerSort("created_at", descending)),
            descending=descending,
            after=after is not None,
        )
        return _customers(await self._reads.fetch_all(query, **values))


def _customers(rows: Any) -> list[Customer]:
    found: list[asyncpg.Record] = list(rows)
    return [customer_from_values(row) for row in found]
