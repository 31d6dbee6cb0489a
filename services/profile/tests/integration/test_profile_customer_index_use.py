"""The list's segment and group filters are served by their partial indexes (migration 0020).

Those indexes leave out the customers no such filter can match (no segment, no group), so
that creating customers, by the hundred thousand in an import, does not write them; the
planner must still be able to pick them for the filters, under row-level security.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest

from patron_profile.adapters import customer_queries as sql
from patron_profile.domain.customer_query import CustomerFilters, CustomerSort
from patron_shared.db.reads import TENANT_SETTING, asyncpg_dsn
from patron_shared.testing import ServiceDatabase

pytestmark = pytest.mark.integration

CUSTOMERS = 3_000


async def populate(owner_dsn: str, tenant: str, group_id: uuid.UUID) -> None:
    """`CUSTOMERS` live customers; every 500th in segment `vip` and group `group_id`."""
    connection = await asyncpg.connect(owner_dsn)
    try:
        await connection.execute(
            """
            INSERT INTO customers (id, tenant_id, email, segments, group_id)
            SELECT gen_random_uuid(), $1, 'c' || n || '@example.com',
                   CASE WHEN n % 500 = 0 THEN ARRAY['vip'] ELSE '{}' END,
                   CASE WHEN n % 500 = 0 THEN $2::uuid END
            FROM generate_series(1, $3) AS n
            """,
            tenant,
            group_id,
            CUSTOMERS,
        )
        await connection.execute("ANALYZE customers")
    finally:
        await connection.close()


async def plan_and_rows(
    app_dsn: str, tenant: str, filters: CustomerFilters
) -> tuple[set[str], list[Any]]:
    """The indexes the list's count-and-page statement reads for `filters`, as the
    application role plans it, and the rows it returns."""
    shape = sql.ListShape.of(filters, CustomerSort())
    query = sql.count_and_page(shape, None)
    values = sql.filter_values(filters, tenant) | {
        "count_limit": 10_000,
        "matches_limit": 10_001,
        "page_offset": 0,
        "page_limit": 50,
    }
    arguments = query.arguments(values)
    connection = await asyncpg.connect(app_dsn)
    try:
        await connection.execute(f"SELECT set_config('{TENANT_SETTING}', $1, false)", tenant)
        plan = await connection.fetchval(f"EXPLAIN (FORMAT JSON) {query.sql}", *arguments)
        rows = await connection.fetch(query.sql, *arguments)
    finally:
        await connection.close()
    return _index_names(json.loads(plan)), rows


def _index_names(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if "Index Name" in node:
            found.add(node["Index Name"])
        for value in node.values():
            found |= _index_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= _index_names(item)
    return found


async def test_segment_and_group_filters_read_their_partial_indexes(
    service_database: ServiceDatabase,
) -> None:
    tenant, group_id = f"plans-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    await populate(asyncpg_dsn(service_database.owner_url), tenant, group_id)
    app_dsn = asyncpg_dsn(service_database.app_url)

    indexes, rows = await plan_and_rows(app_dsn, tenant, CustomerFilters(segment="vip"))
    assert "ix_customers_segments" in indexes
    assert rows[0]["matched"] == CUSTOMERS // 500

    indexes, rows = await plan_and_rows(app_dsn, tenant, CustomerFilters(group_id=group_id))
    assert "ix_customers_tenant_group" in indexes
    assert rows[0]["matched"] == CUSTOMERS // 500
