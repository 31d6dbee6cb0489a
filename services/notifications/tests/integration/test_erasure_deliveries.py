"""Erasure on a real database: the customer's addresses and the rendered content of its
messages are gone from every column of its contacts and deliveries, the counts stay, and
nothing still queued or being sent goes out or writes anything back."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.tables import contacts
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.delivery import Delivery, RetryPolicy, idempotency_key
from patron_notifications.service.contacts import record_contact
from patron_notifications.service.lifecycle import merge_contacts
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerErased,
    CustomersMerged,
    CustomerSnapshot,
    Envelope,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import deliver_record

pytestmark = pytest.mark.integration
JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ERASED_AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FAR = datetime(9000, 1, 1, tzinfo=UTC)  # never due while a test runs


def uow_of(runtime: ServiceRuntime, tenant: str) -> NotificationsUnitOfWork:
    return runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant)


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="tests")


class Person:
    """A customer with personal data unique to the test, to look for afterwards."""

    def __init__(self) -> None:
        self.customer_id = uuid.uuid4()
        tag = self.customer_id.hex[:10]
        self.email = f"erin-{tag}@patron-tests.example"
        self.phone = f"+1415{self.customer_id.int % 10_000_000:07d}"
        self.first_name, self.last_name = f"Erin{tag}", f"Quill{tag}"

    @property
    def traces(self) -> list[str]:
        return [self.email, self.phone, self.first_name, self.last_name, self.email.split("@")[0]]


async def known(
    runtime: ServiceRuntime, tenant: str, person: Person, *, time_zone: bool = True
) -> None:
    snapshot = CustomerSnapshot(
        email=person.email,
        phone=person.phone,
        first_name=person.first_name,
        last_name=person.last_name,
        full_name=f"{person.first_name} {person.last_name}",
        accepts_marketing=True,
        created_at=JOINED,
        updated_at=JOINED,
    )
    await record_contact(
        uow_of(runtime, tenant), CustomerCreated(customer_id=person.customer_id, customer=snapshot)
    )
    if not time_zone:
        return
    async with uow_of(runtime, tenant) as uow:
        await uow.session.execute(
            update(contacts)
            .where(contacts.c.customer_id == person.customer_id)
            .values(time_zone="Europe/Paris")
        )
        await uow.commit()


async def messages(
    runtime: ServiceRuntime, tenant: str, person: Person, statuses: list[str]
) -> list[Delivery]:
    """One rendered message per status, with the person's address, name and links in it."""
    made = []
    for n, status in enumerate(statuses):
        cause = f"test-{uuid.uuid4()}"
        channel = "sms" if n % 2 else "email"
        made.append(
            Delivery(
                delivery_id=uuid.uuid4(),
                customer_id=person.customer_id,
                channel=channel,  # type: ignore[arg-type]
                category="marketing",
                template_key="win_back",
                idempotency_key=idempotency_key(cause, "win_back", person.customer_id, channel),  # type: ignore[arg-type]
                recipient=person.email if channel == "email" else person.phone,
                created_at=JOINED + timedelta(days=n),
                cause=cause,
                subject=f"We miss you, {person.first_name}",
                text=f"Hi {person.first_name} {person.last_name} ({person.email})",
                html=f"<p>Hi {person.first_name}</p>",
                headers={"List-Unsubscribe": f"<https://x.example/u?e={person.email}>"},
                status="queued" if status == "sending" else status,  # type: ignore[arg-type]
                next_attempt_at=FAR if status in ("queued", "sending") else None,
                skipped_reason="frequency_cap" if status == "skipped" else None,
            )
        )
    async with uow_of(runtime, tenant) as uow:
        assert len(await uow.deliveries.queue(made)) == len(made)
        for delivery, status in zip(made, statuses, strict=True):
            extra: dict[str, Any] = {}
            if status == "failed":
                extra = {"last_error": f"550 <{person.email}> unknown", "failed_at": JOINED}
            elif status == "sending":  # claimed by a worker that is sending it now
                extra = {"attempts": 1, "lease_until": FAR}
                delivery.status, delivery.attempts = "sending", 1
            if extra or status == "sending":
                await uow.session.execute(
                    update(deliveries)
                    .where(deliveries.c.delivery_id == delivery.delivery_id)
                    .values(status=status, **extra)
                )
        await uow.commit()
    return made


async def rows_as_text(
    runtime: ServiceRuntime, tenant: str, table: str, column: str, ids: list[uuid.UUID]
) -> list[str]:
    """Every column of the rows, as one JSON text each (what any column still holds)."""
    async with uow_of(runtime, tenant) as uow:
        result = await uow.session.execute(
            text(f"SELECT row_to_json(t)::text FROM {table} t WHERE {column} = ANY(:ids)"),
            {"ids": ids},
        )
        return [row for (row,) in result]


async def statuses(runtime: ServiceRuntime, tenant: str, ids: list[uuid.UUID]) -> Counter[str]:
    async with uow_of(runtime, tenant) as uow:
        result = await uow.session.execute(
            text("SELECT status FROM deliveries WHERE delivery_id = ANY(:ids)"), {"ids": ids}
        )
        return Counter(status for (status,) in result)


ALL = ["sent", "delivered", "failed", "skipped", "queued", "sending"]


async def test_erasure_blanks_addresses_and_contents_and_keeps_the_counts(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    erin, other = Person(), Person()
    for person in (erin, other):
        await known(runtime, tenant, person)
    hers = await messages(runtime, tenant, erin, ALL)
    others = await messages(runtime, tenant, other, ["sent", "queued"])
    ids = [d.delivery_id for d in hers]
    assert any(
        erin.email in row
        for row in await rows_as_text(runtime, tenant, "deliveries", "delivery_id", ids)
    )

    erasure = CustomerErased(customer_id=erin.customer_id, mode="anonymize", erased_at=ERASED_AT)
    assert await deliver_record(runtime, envelope(erasure, tenant)) == "processed"

    stored = await rows_as_text(runtime, tenant, "deliveries", "delivery_id", ids)
    stored += await rows_as_text(runtime, tenant, "contacts", "customer_id", [erin.customer_id])
    assert len(stored) == len(ALL) + 1
    for row in stored:
        for trace in erin.traces:
            assert trace not in row
        assert "Europe/Paris" not in row
    assert await statuses(runtime, tenant, ids) == Counter(
        {"sent": 1, "delivered": 1, "failed": 1, "skipped": 3}
    )
    page = (
        await client.get(f"/api/v1/customers/{erin.customer_id}/notifications", headers=admin)
    ).json()
    by_id = {item["id"]: item for item in page["data"]}
    assert len(by_id) == len(ALL)
    for delivery, status in zip(hers, ALL, strict=True):
        item = by_id[str(delivery.delivery_id)]
        assert (item["recipient"], item["subject"], item["last_error"]) == ("", None, None)
        assert item["template"] == "win_back"
        if status in ("queued", "sending"):
            assert (item["status"], item["skipped_reason"]) == ("skipped", "customer_erased")
        else:
            assert item["status"] == status
    # another customer's messages are untouched
    untouched = await rows_as_text(
        runtime, tenant, "deliveries", "delivery_id", [d.delivery_id for d in others]
    )
    assert all(other.email in row or other.phone in row for row in untouched)
    assert await statuses(runtime, tenant, [d.delivery_id for d in others]) == Counter(
        {"sent": 1, "queued": 1}
    )


async def test_a_worker_finishing_a_send_after_the_erasure_writes_nothing_back(
    runtime: ServiceRuntime, tenant: str
) -> None:
    erin = Person()
    await known(runtime, tenant, erin)
    [in_flight] = await messages(runtime, tenant, erin, ["sending"])
    erasure = CustomerErased(customer_id=erin.customer_id, mode="hard", erased_at=ERASED_AT)
    await deliver_record(runtime, envelope(erasure, tenant))

    # the worker's copy still holds the address; its outcome comes after the erasure
    in_flight.failed(
        f"550 <{erin.email}> mailbox unavailable",
        transient=False,
        now=ERASED_AT,
        policy=RetryPolicy(),
    )
    async with uow_of(runtime, tenant) as uow:
        assert await uow.deliveries.record_outcome(in_flight) is False
        await uow.commit()

    [row] = await rows_as_text(
        runtime, tenant, "deliveries", "delivery_id", [in_flight.delivery_id]
    )
    assert erin.email not in row
    assert '"status":"skipped"' in row


async def test_erasing_a_merged_customer_blanks_its_messages_in_the_survivors_log_only(
    runtime: ServiceRuntime, tenant: str
) -> None:
    erin, survivor = Person(), Person()
    for person in (erin, survivor):
        await known(runtime, tenant, person)
    hers = await messages(runtime, tenant, erin, ["sent", "failed"])
    theirs = await messages(runtime, tenant, survivor, ["sent"])
    await merge_contacts(
        uow_of(runtime, tenant),
        CustomersMerged(
            customer_id=survivor.customer_id,
            merged_customer_id=erin.customer_id,
            merged_at=ERASED_AT - timedelta(days=1),
        ),
    )

    erasure = CustomerErased(customer_id=erin.customer_id, mode="anonymize", erased_at=ERASED_AT)
    await deliver_record(runtime, envelope(erasure, tenant))

    for row in await rows_as_text(
        runtime, tenant, "deliveries", "delivery_id", [d.delivery_id for d in hers]
    ):
        assert all(trace not in row for trace in erin.traces)
        assert str(survivor.customer_id) in row  # still in the survivor's log
    [kept] = await rows_as_text(
        runtime, tenant, "deliveries", "delivery_id", [d.delivery_id for d in theirs]
    )
    assert survivor.email in kept


async def test_erasing_a_survivor_erases_the_customers_merged_into_it(
    runtime: ServiceRuntime, tenant: str
) -> None:
    erin, merged_away = Person(), Person()
    for person in (erin, merged_away):
        await known(runtime, tenant, person)
    moved = await messages(runtime, tenant, merged_away, ["sent", "queued"])
    await merge_contacts(
        uow_of(runtime, tenant),
        CustomersMerged(
            customer_id=erin.customer_id,
            merged_customer_id=merged_away.customer_id,
            merged_at=ERASED_AT - timedelta(days=1),
        ),
    )

    erasure = CustomerErased(customer_id=erin.customer_id, mode="hard", erased_at=ERASED_AT)
    await deliver_record(runtime, envelope(erasure, tenant))

    rows = await rows_as_text(
        runtime, tenant, "contacts", "customer_id", [erin.customer_id, merged_away.customer_id]
    )
    rows += await rows_as_text(
        runtime, tenant, "deliveries", "delivery_id", [d.delivery_id for d in moved]
    )
    assert len(rows) == 4
    for row in rows:
        for trace in erin.traces + merged_away.traces:
            assert trace not in row
    assert await statuses(runtime, tenant, [d.delivery_id for d in moved]) == Counter(
        {"sent": 1, "skipped": 1}
    )


async def test_a_redelivered_erasure_changes_nothing_and_a_late_snapshot_brings_nothing_back(
    runtime: ServiceRuntime, tenant: str
) -> None:
    erin = Person()
    await known(runtime, tenant, erin)
    hers = await messages(runtime, tenant, erin, ["sent"])
    message = envelope(
        CustomerErased(customer_id=erin.customer_id, mode="hard", erased_at=ERASED_AT), tenant
    )
    await deliver_record(runtime, message)
    before = await rows_as_text(runtime, tenant, "deliveries", "delivery_id", [hers[0].delivery_id])

    assert await deliver_record(runtime, message) == "duplicate"
    # a snapshot from before the erasure, arriving late
    await known(runtime, tenant, erin, time_zone=False)

    assert (
        await rows_as_text(runtime, tenant, "deliveries", "delivery_id", [hers[0].delivery_id])
        == before
    )
    [contact] = await rows_as_text(runtime, tenant, "contacts", "customer_id", [erin.customer_id])
    assert all(trace not in contact for trace in erin.traces)
