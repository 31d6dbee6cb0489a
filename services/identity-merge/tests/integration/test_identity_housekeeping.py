"""Upkeep of the identity tables on a real database: old webhook deliveries are forgotten."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from patron_identity.adapters.connectors import purge_source_deliveries
from patron_shared.http import ServiceRuntime
from patron_shared.testing import ServiceDatabase, owner_fetch

pytestmark = pytest.mark.integration


async def test_deliveries_past_the_retention_are_purged_for_every_tenant_and_newer_kept(
    runtime: ServiceRuntime, service_database: ServiceDatabase
) -> None:
    tenants = [f"shop-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    now = datetime.now(UTC)
    rows = [
        (tenants[0], "old-1", now - timedelta(days=40)),
        (tenants[1], "old-2", now - timedelta(days=31)),
        (tenants[0], "new-1", now - timedelta(days=29)),
        (tenants[1], "new-2", now),
    ]
    await owner_fetch(
        service_database,
        "INSERT INTO source_deliveries (tenant_id, channel, delivery_key, fingerprint, "
        "received_at) SELECT t, 'shopify:test', k, 'f', r "
        "FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(t, k, r)",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )

    # one row per transaction: the loop goes on until a batch comes back short
    purged = await purge_source_deliveries(runtime.engine, timedelta(days=30), batch=1)

    assert purged >= 2
    kept = await owner_fetch(
        service_database,
        "SELECT delivery_key FROM source_deliveries WHERE tenant_id = ANY($1::text[])",
        tenants,
    )
    assert sorted(row["delivery_key"] for row in kept) == ["new-1", "new-2"]
