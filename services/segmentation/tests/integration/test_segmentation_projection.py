"""The customer-fact projection on a real database and a real broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from patron_segmentation.adapters.tables import customer_facts
from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.domain.facts import CustomerFacts
from patron_segmentation.service.facts import record_facts
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
REGISTERED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def created(customer_id: uuid.UUID) -> CustomerCreated:
    customer = CustomerSnapshot(
        email="ann@example.com",
        tags=["vip", "wholesale"],
        accepts_marketing=True,
        created_at=REGISTERED,
        updated_at=REGISTERED,
    )
    return CustomerCreated(customer_id=customer_id, customer=customer)


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="profile")


async def stored_row(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Any:
    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
        query = select(customer_facts).where(customer_facts.c.customer_id == customer_id)
        return (await uow.session.execute(query)).first()


async def test_the_migration_creates_the_facts_table_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    secured, version = await row_security_of(
        service_database, ["customer_facts", "orders", "inbox", "outbox"]
    )
    assert secured == {"customer_facts": True, "orders": True, "inbox": False, "outbox": False}
    assert version is not None
    assert version >= "0002"


async def test_recording_writes_the_facts_through_the_real_unit_of_work(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()

    await record_facts(
        runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant), created(customer_id)
    )

    row = await stored_row(runtime, tenant, customer_id)
    assert (row.tenant_id, row.tags, row.accepts_marketing) == (tenant, ["vip", "wholesale"], True)
    assert row.registered_at == REGISTERED


async def test_facts_of_one_tenant_are_invisible_to_another_tenant(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await record_facts(
        runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant), created(customer_id)
    )

    async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id="someone-else") as uow:
        assert await uow.facts.get(customer_id) is None
        # Raw SQL without a tenant filter: row-level security still hides the row.
        raw = await uow.session.scalar(
            text("SELECT count(*) FROM customer_facts WHERE customer_id = :id"),
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


async def test_a_late_creation_after_the_deletion_leaves_the_facts_deleted(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    gone_at = REGISTERED + timedelta(days=2)
    deletion = CustomerDeleted(customer_id=customer_id, deleted_at=gone_at)

    await deliver_record(runtime, envelope(deletion, tenant))
    assert await deliver_record(runtime, envelope(created(customer_id), tenant)) == "processed"

    row = await stored_row(runtime, tenant, customer_id)
    assert (row.deleted_at, row.tags, row.registered_at) == (gone_at, [], None)


async def test_the_database_refuses_to_replace_newer_facts_with_older_ones(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    newer = CustomerFacts(customer_id, REGISTERED + timedelta(hours=2), tags=["gold"])
    older = CustomerFacts(customer_id, REGISTERED + timedelta(hours=1), tags=["silver"])
    for facts in (newer, older):  # e.g. two deliveries racing past the row lock
        async with runtime.unit_of_work(SegmentationUnitOfWork, tenant_id=tenant) as uow:
            await uow.facts.save(facts)
            await uow.commit()

    row = await stored_row(runtime, tenant, customer_id)
    assert row.tags == ["gold"]


async def test_a_customer_event_with_invalid_data_is_dead_lettered_on_kafka(
    runtime: ServiceRuntime, tenant: str, kafka_bootstrap: str
) -> None:
    customer_id = uuid.uuid4()
    valid = envelope(created(customer_id), tenant)
    poison = valid.model_copy(update={"data": {"customer_id": "not-a-uuid"}})
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
    assert headers["x-dlq-consumer-group"].endswith("segmentation.customer-projection")
    assert await stored_row(runtime, tenant, customer_id) is None
