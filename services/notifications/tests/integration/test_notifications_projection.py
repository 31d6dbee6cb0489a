"""The contact projection on a real database and a real broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from patron_notifications.adapters.tables import contacts
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.contact import Contact
from patron_notifications.service.contacts import record_contact
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerErased,
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


def created(customer_id: uuid.UUID) -> CustomerCreated:
    customer = CustomerSnapshot(
        email="ann@example.com",
        phone="+14155550123",
        first_name="Ann",
        locale="fr-FR",
        accepts_marketing=True,
        created_at=JOINED,
        updated_at=JOINED,
    )
    return CustomerCreated(customer_id=customer_id, customer=customer)


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="profile")


async def stored_row(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Any:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        query = select(contacts).where(contacts.c.customer_id == customer_id)
        return (await uow.session.execute(query)).first()


async def test_the_migration_creates_the_contacts_table_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    secured, version = await row_security_of(service_database, ["contacts", "inbox", "outbox"])
    assert secured == {"contacts": True, "inbox": False, "outbox": False}
    assert version is not None
    assert version >= "0001"


async def test_recording_writes_the_contact_through_the_real_unit_of_work(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()

    await record_contact(
        runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant), created(customer_id)
    )

    row = await stored_row(runtime, tenant, customer_id)
    assert (row.tenant_id, row.email, row.locale, row.accepts_marketing) == (
        tenant,
        "ann@example.com",
        "fr-FR",
        True,
    )


async def test_a_contact_of_one_tenant_is_invisible_to_another_tenant(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await record_contact(
        runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant), created(customer_id)
    )

    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id="someone-else") as uow:
        assert await uow.contacts.get(customer_id) is None
        # Raw SQL without a tenant filter: row-level security still hides the row.
        raw = await uow.session.scalar(
            text("SELECT count(*) FROM contacts WHERE customer_id = :id"), {"id": customer_id}
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


async def test_a_hard_erasure_leaves_no_personal_data_and_a_late_creation_adds_none(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    erased_at = JOINED + timedelta(days=1)
    await deliver_record(runtime, envelope(created(customer_id), tenant))

    erasure = CustomerErased(customer_id=customer_id, mode="hard", erased_at=erased_at)
    assert await deliver_record(runtime, envelope(erasure, tenant)) == "processed"
    assert await deliver_record(runtime, envelope(created(customer_id), tenant)) == "processed"

    row = await stored_row(runtime, tenant, customer_id)
    assert (row.email, row.phone, row.first_name) == (None, None, None)
    assert row.deleted_at == erased_at


async def test_the_database_refuses_to_replace_a_newer_contact_with_an_older_one(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    newer = Contact(customer_id, JOINED + timedelta(hours=2), email="new@example.com")
    older = Contact(customer_id, JOINED + timedelta(hours=1), email="old@example.com")
    for contact in (newer, older):  # e.g. two deliveries racing past the row lock
        async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
            await uow.contacts.save(contact)
            await uow.commit()

    row = await stored_row(runtime, tenant, customer_id)
    assert row.email == "new@example.com"


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
    assert headers["x-dlq-consumer-group"].endswith("notifications.customer-projection")
    assert await stored_row(runtime, tenant, customer_id) is None
