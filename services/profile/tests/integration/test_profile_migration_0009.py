"""Migration 0009 (the tag index in `customer_tags`) up and down on a database with data."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from patron_shared.testing import (
    ServiceDatabase,
    migrate,
    owner_fetch,
    throwaway_database,
)

pytestmark = pytest.mark.integration

SERVICE = Path(__file__).resolve().parents[2]


@pytest.fixture
async def database(superuser_url: str) -> AsyncIterator[ServiceDatabase]:
    async with throwaway_database(SERVICE, superuser_url, "test_profile_0009") as created:
        yield created


async def query(database: ServiceDatabase, sql: str, *args: Any) -> list[asyncpg.Record]:
    return await owner_fetch(database, sql, *args)


async def schema_of(database: ServiceDatabase) -> dict[str, Any]:
    [row] = await query(
        database,
        "SELECT to_regclass('customer_tags') IS NOT NULL AS side_table, "
        "to_regclass('ix_customers_tags') IS NOT NULL AS gin_index, "
        "(SELECT reloptions FROM pg_class WHERE relname = 'customers') AS options, "
        "(SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'customer_tags_%') AS triggers",
    )
    return dict(row)


async def test_0009_indexes_existing_tags_and_goes_back_to_the_gin_index(
    database: ServiceDatabase,
) -> None:
    await migrate(SERVICE, database, "downgrade", "0008")
    tenants = ("shop-a", "shop-b")
    ids = [uuid.uuid4() for _ in range(4)]
    await query(
        database,
        "INSERT INTO customers (id, tenant_id, email, tags, deleted_at) "
        "SELECT id, tenant, email, string_to_array(tags, ','), deleted "
        "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])"
        " AS u(id, tenant, email, tags, deleted)",
        ids,
        [tenants[0], tenants[0], tenants[1], tenants[0]],
        ["a@example.com", "b@example.com", "c@example.com", "d@example.com"],
        ["vip,gift", "", "vip", "vip"],
        [None, None, None, datetime(2026, 11, 1, tzinfo=UTC)],
    )

    await migrate(SERVICE, database, "upgrade", "head")

    assert (await schema_of(database)) == {
        "side_table": True,
        "gin_index": False,
        "options": ["fillfactor=90"],
        "triggers": 3,
    }
    indexed = await query(database, "SELECT tenant_id, tag, customer_id FROM customer_tags")
    assert {tuple(row) for row in indexed} == {
        (tenants[0], "vip", ids[0]),
        (tenants[0], "gift", ids[0]),
        (tenants[1], "vip", ids[2]),
    }

    await migrate(SERVICE, database, "downgrade", "0008")

    assert (await schema_of(database)) == {
        "side_table": False,
        "gin_index": True,
        "options": None,
        "triggers": 0,
    }
    tagged = await query(
        database, "SELECT id FROM customers WHERE tags && ARRAY['vip'] AND deleted_at IS NULL"
    )
    assert {row["id"] for row in tagged} == {ids[0], ids[2]}
    await migrate(SERVICE, database, "upgrade", "head")
    assert (await schema_of(database))["side_table"]
