"""Migration 0007 seals the connector secrets stored before it, and unseals them going back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from patron_identity.settings import IdentitySettings
from patron_shared.secrets import SEALED_PREFIX
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
    async with throwaway_database(SERVICE, superuser_url, "test_identity_0007") as created:
        yield created


async def secrets_of(database: ServiceDatabase) -> dict[uuid.UUID, str]:
    rows = await owner_fetch(database, "SELECT id, secret FROM source_connectors")
    return {row["id"]: row["secret"] for row in rows}


async def test_0007_seals_clear_secrets_and_going_back_unseals_them(
    database: ServiceDatabase,
) -> None:
    await migrate(SERVICE, database, "downgrade", "0006")
    ids = [uuid.uuid4(), uuid.uuid4()]
    clear = ["shpss_first-secret-0123456789abcdef", "second-secret-0123456789abcdef0123"]
    now = datetime.now(UTC)
    await owner_fetch(
        database,
        "INSERT INTO source_connectors (id, tenant_id, source, account, secret, status, "
        "created_at, updated_at) SELECT id, 'shop-a', 'shopify', 'a' || n, secret, 'active', "
        "$3, $3 FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS u(id, secret, n)",
        ids,
        clear,
        now,
    )

    await migrate(SERVICE, database, "upgrade", "head")

    sealed = await secrets_of(database)
    box = IdentitySettings().secret_box
    for connector_id, secret in zip(ids, clear, strict=True):
        assert sealed[connector_id].startswith(SEALED_PREFIX)
        assert secret not in sealed[connector_id]
        assert box.open(sealed[connector_id]) == secret

    await migrate(SERVICE, database, "downgrade", "0006")

    assert await secrets_of(database) == dict(zip(ids, clear, strict=True))
