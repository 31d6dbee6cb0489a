"""The membership projection on a real database and a real broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from patron_loyalty.adapters.tables import loyalty_members
from patron_loyalty.adapters.uow import LoyaltyUnitOfWork
from patron_loyalty.domain.member import LoyaltyMember
from patron_loyalty.service.members import enroll_member
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerDeleted,
    CustomerSnapshot,
    Envelope,
    Topic,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import (
    KafkaProbe,
    ServiceDatabase,
    deliver_record,
    inbox_claims,
    row_security_of,
)

pytestmark = pytest.mark.integration
JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def created(customer_id: uuid.UUID, minutes: int = 0) -> CustomerCreated:
    customer = CustomerSnapshot(
        email="ann@example.com", created_at=JOINED, updated_at=JOINED + timedelta(minutes=minutes)
    )
    return CustomerCreated(customer_id=customer_id, customer=customer)


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="profile")


async def stored_row(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Any:
    async with runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant) as uow:
        query = select(loyalty_members).where(loyalty_members.c.customer_id == customer_id)
        return (await uow.session.execute(query)).first()


async def test_the_migration_creates_the_members_table_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    secured, version = await row_security_of(
        service_database, ["loyalty_members", "inbox", "outbox"]
    )
    assert secured == {"loyalty_members": True, "inbox": False, "outbox": False}
    assert version is not None
    assert version >= "0001"


async def test_enrolling_writes_the_member_through_the_real_unit_of_work(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()

    await enroll_member(
        runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant), created(customer_id)
    )

    row = await stored_row(runtime, tenant, customer_id)
    assert (row.tenant_id, row.status, row.member_since) == (tenant, "active", JOINED)


async def test_a_member_of_one_tenant_is_invisible_to_another_tenant(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await enroll_member(
        runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant), created(customer_id)
    )

    async with runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id="someone-else") as uow:
        assert await uow.members.get(customer_id) is None
        # Raw SQL without a tenant filter: row-level security still hides the row.
        raw = await uow.session.scalar(
            text("SELECT count(*) FROM loyalty_members WHERE customer_id = :id"),
            {"id": customer_id},
        )
    assert raw == 0


async def test_a_redelivered_envelope_changes_nothing(runtime: ServiceRuntime, tenant: str) -> None:
    customer_id = uuid.uuid4()
    message = envelope(created(customer_id), tenant)

    assert await deliver_record(runtime, message) == "processed"
    before = await stored_row(runtime, tenant, customer_id)
    assert await deliver_record(runtime, message) == "duplicate"

    assert await stored_row(runtime, tenant, customer_id) == before  # updated_at included
    assert await inbox_claims(runtime, message.id) == 1


async def test_a_late_creation_after_the_deletion_leaves_the_membership_closed(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    gone_at = JOINED + timedelta(days=2)

    await deliver_record(
        runtime, envelope(CustomerDeleted(customer_id=customer_id, deleted_at=gone_at), tenant)
    )
    assert await deliver_record(runtime, envelope(created(customer_id), tenant)) == "processed"

    row = await stored_row(runtime, tenant, customer_id)
    assert (row.status, row.closed_at, row.member_since) == ("closed", gone_at, JOINED)


async def test_the_database_refuses_to_replace_a_newer_membership_with_an_older_one(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    newer = LoyaltyMember(customer_id, JOINED, "closed", JOINED + timedelta(hours=2), JOINED)
    older = LoyaltyMember(customer_id, JOINED, "active", JOINED + timedelta(hours=1))
    for member in (newer, older):  # e.g. two deliveries racing past the row lock
        async with runtime.unit_of_work(LoyaltyUnitOfWork, tenant_id=tenant) as uow:
            await uow.members.save(member)
            await uow.commit()

    row = await stored_row(runtime, tenant, customer_id)
    assert (row.status, row.source_updated_at) == ("closed", JOINED + timedelta(hours=2))


async def test_a_customer_event_with_invalid_data_is_dead_lettered_on_kafka(
    runtime: ServiceRuntime, tenant: str, kafka_bootstrap: str
) -> None:
    customer_id = uuid.uuid4()
    poison = envelope(created(customer_id), tenant).model_copy(
        update={"data": {"customer_id": "x"}}
    )
    probe = KafkaProbe(kafka_bootstrap)
    await probe.start()
    try:
        since = await probe.end_offsets(Topic.CUSTOMER_EVENTS.dlq)
        assert await deliver_record(runtime, poison) == "dead_lettered"
        records = await probe.collect(
            Topic.CUSTOMER_EVENTS.dlq,
            since,
            until=lambda found: any(r.key == str(customer_id).encode() for r in found),
        )
    finally:
        await probe.stop()
    mine = [r for r in records if r.key == str(customer_id).encode()]
    assert len(mine) == 1
    headers = {key: value.decode() for key, value in mine[0].headers}
    assert headers["x-dlq-consumer-group"] == runtime.consumers[0].name
    assert headers["x-dlq-consumer-group"].endswith("loyalty.customer-projection")
    assert await stored_row(runtime, tenant, customer_id) is None
