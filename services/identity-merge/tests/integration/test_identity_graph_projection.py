"""The identity graph fed by the profile's events, on a real database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from patron_identity.adapters.tables import identity_merge_identifiers, identity_merges
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_shared.events import (
    AddressChanged,
    AddressSnapshot,
    CustomerDeleted,
    CustomerErased,
    CustomerSnapshot,
    CustomerUpdated,
)
from patron_shared.http import ServiceRuntime

from .lineage_support import JOINED, created, deliver, merged, owned

pytestmark = pytest.mark.integration


async def test_a_profile_customer_claims_its_identifiers_and_releases_dropped_ones(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await created(runtime, tenant, "Ann.Lee+promo@gmail.com", "(415) 555-0123")
    first = await owned(runtime, tenant, customer_id)
    assert set(first.values()) == {"profile"}
    assert {"annlee@gmail.com", "+14155550123"} <= set(first)

    update = CustomerUpdated(
        customer_id=customer_id,
        changed_fields=["phone"],
        customer=CustomerSnapshot(
            email="ann.lee@gmail.com", created_at=JOINED, updated_at=JOINED + timedelta(hours=1)
        ),
    )
    assert await deliver(runtime, tenant, update) == "processed"

    assert await owned(runtime, tenant, customer_id) == {"annlee@gmail.com": "profile"}


async def test_an_identifier_of_another_customer_stays_with_it(
    runtime: ServiceRuntime, tenant: str
) -> None:
    first = await created(runtime, tenant, "shared@example.com")
    second = await created(runtime, tenant, "shared@example.com")

    assert "shared@example.com" in await owned(runtime, tenant, first)
    assert "shared@example.com" not in await owned(runtime, tenant, second)


async def test_the_default_shipping_address_and_birth_date_are_stored_as_features(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await created(runtime, tenant, "ann@example.com")
    for city, is_default in (("Paris", True), ("Rome", False)):
        event = AddressChanged(
            customer_id=customer_id,
            address_id=uuid.uuid4(),
            change="created",
            address=AddressSnapshot(
                type="shipping",
                is_default=is_default,
                address1="1 Rue X",
                city=city,
                pincode="75001",
                country="FR",
            ),
        )
        assert await deliver(runtime, tenant, event) == "processed"

    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        stored = await uow.customers.get(customer_id)
    assert stored is not None
    assert (stored.address1, stored.city, stored.postcode, stored.country) == (
        "1 Rue X",
        "Paris",
        "75001",
        "FR",
    )
    assert (len(stored.addresses), stored.created_at) == (2, JOINED)


async def test_a_merge_moves_identifiers_once_however_often_it_is_announced(
    runtime: ServiceRuntime, tenant: str
) -> None:
    survivor = await created(runtime, tenant, "ann@example.com")
    gone = await created(runtime, tenant, "ann.lee@example.com", "+14155550199")
    before = await owned(runtime, tenant, gone)
    event = merged(survivor, gone)

    assert await deliver(runtime, tenant, event) == "processed"
    assert await deliver(runtime, tenant, event) == "processed"  # another message, same merge

    assert await owned(runtime, tenant, gone) == {}
    assert set(before) <= set(await owned(runtime, tenant, survivor))
    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        merges = await uow.session.scalar(
            select(func.count())
            .select_from(identity_merges)
            .where(identity_merges.c.merged_customer_id == gone)
        )
        moved = await uow.session.scalar(
            select(func.count())
            .select_from(identity_merge_identifiers)
            .where(identity_merge_identifiers.c.merge_id == event.merge_id)
        )
        gone_record = await uow.customers.get(gone)
    assert (merges, moved) == (1, len(before))
    assert gone_record is not None
    assert gone_record.merged_into == survivor


async def test_erasure_purges_identifiers_features_and_the_merges_copies(
    runtime: ServiceRuntime, tenant: str
) -> None:
    survivor = await created(runtime, tenant, "ann@example.com")
    gone = await created(runtime, tenant, "ann.lee@example.com")
    event = merged(survivor, gone)
    await deliver(runtime, tenant, event)

    erasure = CustomerErased(
        customer_id=survivor, mode="hard", erased_at=JOINED + timedelta(days=2)
    )
    assert await deliver(runtime, tenant, erasure) == "processed"

    assert await owned(runtime, tenant, survivor) == {}
    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        copies = await uow.session.scalar(
            select(func.count())
            .select_from(identity_merge_identifiers)
            .where(identity_merge_identifiers.c.merge_id == event.merge_id)
        )
        stored = await uow.customers.get(survivor)
    assert copies == 0
    assert stored is not None
    assert (stored.email, stored.external_ids, stored.deleted_at) == (
        None,
        {},
        JOINED + timedelta(days=2),
    )


async def test_a_deleted_customer_releases_its_identifiers_for_others(
    runtime: ServiceRuntime, tenant: str
) -> None:
    first = await created(runtime, tenant, "kept@example.com")
    deletion = CustomerDeleted(customer_id=first, deleted_at=JOINED + timedelta(days=1))
    assert await deliver(runtime, tenant, deletion) == "processed"

    second = await created(runtime, tenant, "kept@example.com")

    assert await owned(runtime, tenant, first) == {}
    assert "kept@example.com" in await owned(runtime, tenant, second)
