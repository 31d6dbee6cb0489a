"""The identity projection on a real database and a real broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from patron_identity.adapters.tables import identity_customers
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.matching import NormalizationRules
from patron_identity.service.customers import record_customer
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerErased,
    CustomerSnapshot,
    CustomerUpdated,
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
RULES = NormalizationRules()


def snapshot(minutes: int = 0, email: str = "Ann@Example.com") -> CustomerSnapshot:
    return CustomerSnapshot(
        email=email,
        phone="+14155550123",
        external_ids={"shopify": "123"},
        created_at=JOINED,
        updated_at=JOINED + timedelta(minutes=minutes),
    )


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="profile")


async def stored_row(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Any:
    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        query = select(identity_customers).where(identity_customers.c.customer_id == customer_id)
        return (await uow.session.execute(query)).first()


async def test_the_migrations_create_the_tables_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    tables = ["identity_customers", "identifiers", "identity_merges", "identity_merge_identifiers"]
    secured, version = await row_security_of(service_database, [*tables, "audit_log", "inbox"])
    assert secured == dict.fromkeys([*tables, "audit_log"], True) | {"inbox": False}
    assert version >= "0003"


async def test_recording_writes_the_identifiers_through_the_real_unit_of_work(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    event = CustomerCreated(customer_id=customer_id, customer=snapshot())

    await record_customer(
        runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant), event, rules=RULES
    )

    row = await stored_row(runtime, tenant, customer_id)
    assert (row.tenant_id, row.email, row.external_ids) == (
        tenant,
        "ann@example.com",
        {"shopify": "123"},
    )


async def test_a_customer_of_one_tenant_is_invisible_to_another_tenant(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    event = CustomerCreated(customer_id=customer_id, customer=snapshot())
    await record_customer(
        runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant), event, rules=RULES
    )

    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id="someone-else") as uow:
        assert await uow.customers.get(customer_id) is None
        # Raw SQL without a tenant filter: row-level security still hides the row.
        raw = await uow.session.scalar(
            text("SELECT count(*) FROM identity_customers WHERE customer_id = :id"),
            {"id": customer_id},
        )
    assert raw == 0


async def test_a_redelivered_envelope_changes_nothing(runtime: ServiceRuntime, tenant: str) -> None:
    customer_id = uuid.uuid4()
    message = envelope(CustomerCreated(customer_id=customer_id, customer=snapshot()), tenant)

    assert await deliver_record(runtime, message) == "processed"
    before = await stored_row(runtime, tenant, customer_id)
    assert await deliver_record(runtime, message) == "duplicate"

    assert await stored_row(runtime, tenant, customer_id) == before  # updated_at included
    assert await inbox_claims(runtime, message.id) == 1


async def test_a_late_snapshot_after_an_erasure_brings_no_personal_data_back(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    erased_at = JOINED + timedelta(days=1)
    await deliver_record(
        runtime, envelope(CustomerCreated(customer_id=customer_id, customer=snapshot()), tenant)
    )

    erasure = CustomerErased(customer_id=customer_id, mode="anonymize", erased_at=erased_at)
    await deliver_record(runtime, envelope(erasure, tenant))
    late = CustomerUpdated(customer_id=customer_id, changed_fields=["email"], customer=snapshot(5))
    assert await deliver_record(runtime, envelope(late, tenant)) == "processed"

    row = await stored_row(runtime, tenant, customer_id)
    assert (row.email, row.phone, row.external_ids, row.deleted_at) == (None, None, {}, None)
    assert row.source_updated_at == erased_at


async def test_the_database_refuses_to_replace_a_newer_record_with_an_older_one(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    newer = IdentityCustomer(customer_id, JOINED + timedelta(hours=2), email="new@example.com")
    older = IdentityCustomer(customer_id, JOINED + timedelta(hours=1), email="old@example.com")
    for customer in (newer, older):  # e.g. two deliveries racing past the row lock
        async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
            await uow.customers.save(customer)
            await uow.commit()

    row = await stored_row(runtime, tenant, customer_id)
    assert row.email == "new@example.com"


async def test_a_customer_event_with_invalid_data_is_dead_lettered_on_kafka(
    runtime: ServiceRuntime, tenant: str, kafka_bootstrap: str
) -> None:
    customer_id = uuid.uuid4()
    valid = envelope(CustomerCreated(customer_id=customer_id, customer=snapshot()), tenant)
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
    assert headers["x-dlq-consumer-group"].endswith("identity.customer-projection")
    assert await stored_row(runtime, tenant, customer_id) is None
