"""Migration 0019 (the names of a pending dead-letter scrub apart from its strong
identifiers) up and down with scrubs pending: a row written before it is still claimed and
matches as it did, each value alone; going down, no row loses a hash."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from patron_profile.adapters.dead_letter_scrubs import claim_dead_letter_scrubs
from patron_shared.messaging.dead_letter_erasure import ErasedCustomer, RecordText, value_hash
from patron_shared.testing import ServiceDatabase, migrate, owner_fetch, throwaway_database

pytestmark = pytest.mark.integration

SERVICE = Path(__file__).resolve().parents[2]
KEY = b"test-key"
SALT = b"0123456789abcdef"
REQUESTED = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
async def database(superuser_url: str) -> AsyncIterator[ServiceDatabase]:
    async with throwaway_database(SERVICE, superuser_url, "test_profile_0019") as created:
        yield created


async def pending_scrub(database: ServiceDatabase, value_hashes: list[str]) -> uuid.UUID:
    """An erasure and its scrub as the rows before 0019 are written; the erasure id."""
    erasure_id, customer_id = uuid.uuid4(), uuid.uuid4()
    await owner_fetch(
        database,
        "INSERT INTO customer_erasures (erasure_id, tenant_id, customer_id, mode, requested_at)"
        " VALUES ($1, 'shop-a', $2, 'hard', $3)",
        erasure_id,
        customer_id,
        REQUESTED,
    )
    await owner_fetch(
        database,
        "INSERT INTO dead_letter_scrubs (erasure_id, tenant_id, customer_id, mode, salt,"
        " value_hashes, requested_at, next_attempt_at)"
        " VALUES ($1, 'shop-a', $2, 'hard', $3, $4, $5, $5)",
        erasure_id,
        customer_id,
        SALT,
        value_hashes,
        REQUESTED,
    )
    return erasure_id


async def claim(database: ServiceDatabase) -> list[ErasedCustomer]:
    engine = create_async_engine(database.app_url)
    try:
        scrubs = await claim_dead_letter_scrubs(
            engine,
            REQUESTED + timedelta(days=1),
            limit=10,
            lease=timedelta(minutes=10),
            participants=["identity"],
            wait=timedelta(hours=1),
            hash_keys=[KEY],
        )
    finally:
        await engine.dispose()
    return [scrub.customer for scrub in scrubs]


def hashed(*values: str) -> list[str]:
    return sorted(value_hash(value, SALT, KEY) for value in values)


def names_in(customer: ErasedCustomer, value: bytes) -> bool:
    return customer.named_in(RecordText.of(None, value))


async def test_0019_keeps_the_scrubs_pending_before_it_and_gives_back_every_hash(
    database: ServiceDatabase,
) -> None:
    await migrate(SERVICE, database, "downgrade", "0018")
    old = await pending_scrub(database, hashed("ann@example.com", "Ann", "Smith"))

    await migrate(SERVICE, database, "upgrade", "head")

    [row] = await owner_fetch(
        database, "SELECT * FROM dead_letter_scrubs WHERE erasure_id = $1", old
    )
    assert (row["name_hashes"], row["full_name_hashes"]) == ([], [])
    [customer] = await claim(database)
    assert customer.value_hashes == set(hashed("ann@example.com", "Ann", "Smith"))
    # held the old way: a name alone still matches, as when the scrub was recorded
    assert names_in(customer, b'{"last_name": "Smith"}')
    assert not names_in(customer, b'{"last_name": "Jones"}')

    # a scrub written now, then the migration undone: its names join the strong hashes
    new = await pending_scrub(database, hashed("bob@example.com"))
    await owner_fetch(
        database,
        "UPDATE dead_letter_scrubs SET name_hashes = $2, full_name_hashes = $3"
        " WHERE erasure_id = $1",
        new,
        hashed("Bob", "Brown"),
        hashed("bob brown", "brown bob"),
    )
    await migrate(SERVICE, database, "downgrade", "0018")
    rows = await owner_fetch(database, "SELECT erasure_id, value_hashes FROM dead_letter_scrubs")
    assert {row["erasure_id"]: sorted(row["value_hashes"]) for row in rows} == {
        old: hashed("ann@example.com", "Ann", "Smith"),
        new: sorted(hashed("bob@example.com", "Bob", "Brown", "bob brown", "brown bob")),
    }
    await migrate(SERVICE, database, "upgrade", "head")
