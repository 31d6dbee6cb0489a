"""Merges and unmerges on a real database: the merged customer's log and opt-outs follow
the survivor, messages asked for the merged customer reach the survivor, an unmerge gives
back what moved, repeats and events out of order change nothing they should not."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.merge_tables import contact_merges
from patron_notifications.adapters.tables import contacts
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.delivery import Delivery, idempotency_key
from patron_notifications.service.contacts import record_contact
from patron_notifications.service.lifecycle import merge_contacts, unmerge_contacts
from patron_notifications.service.messages import MessageRequest, Messenger
from patron_notifications.settings import NotificationsSettings
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomersMerged,
    CustomerSnapshot,
    CustomersUnmerged,
    Envelope,
    build_envelope,
    utcnow,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import deliver_record, unique_tenant

pytestmark = pytest.mark.integration
JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MERGED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# never due while a test runs: no worker round claims these
FAR = datetime(9000, 1, 1, tzinfo=UTC)


def uow_of(runtime: ServiceRuntime, tenant: str) -> NotificationsUnitOfWork:
    return runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant)


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="tests")


async def customer(
    runtime: ServiceRuntime,
    tenant: str,
    *,
    email_unsubscribed: bool = False,
    sms_unsubscribed: bool = False,
    time_zone: str | None = None,
) -> uuid.UUID:
    customer_id = uuid.uuid4()
    snapshot = CustomerSnapshot(
        email=f"c-{customer_id.hex[:10]}@patron-tests.example",
        phone="+1415555" + str(random.randint(1000, 9999)),
        first_name="Pat",
        accepts_marketing=True,
        created_at=JOINED,
        updated_at=JOINED,
    )
    await record_contact(
        uow_of(runtime, tenant), CustomerCreated(customer_id=customer_id, customer=snapshot)
    )
    async with uow_of(runtime, tenant) as uow:
        await uow.session.execute(
            update(contacts)
            .where(contacts.c.tenant_id == tenant, contacts.c.customer_id == customer_id)
            .values(
                email_unsubscribed=email_unsubscribed,
                sms_unsubscribed=sms_unsubscribed,
                time_zone=time_zone,
            )
        )
        await uow.commit()
    return customer_id


async def logged(
    runtime: ServiceRuntime,
    tenant: str,
    customer_id: uuid.UUID,
    count: int,
    *,
    status: str = "sent",
    category: str = "transactional",
    at: datetime = JOINED,
) -> list[uuid.UUID]:
    made = []
    for n in range(count):
        cause = f"test-{uuid.uuid4()}"
        made.append(
            Delivery(
                delivery_id=uuid.uuid4(),
                customer_id=customer_id,
                channel="email",
                category=category,  # type: ignore[arg-type]
                template_key="order_confirmation",
                idempotency_key=idempotency_key(cause, "order_confirmation", customer_id, "email"),
                recipient=f"c-{customer_id.hex[:10]}@patron-tests.example",
                created_at=at + timedelta(minutes=n),
                cause=cause,
                subject="Your order",
                text="Thanks",
                status=status,  # type: ignore[arg-type]
                next_attempt_at=FAR if status == "queued" else None,
            )
        )
    async with uow_of(runtime, tenant) as uow:
        assert len(await uow.deliveries.queue(made)) == count
        await uow.commit()
    return [d.delivery_id for d in made]


async def log_rows(runtime: ServiceRuntime, tenant: str) -> dict[uuid.UUID, tuple[Any, Any]]:
    """Every delivery of the tenant: (customer_id, merged_from)."""
    async with uow_of(runtime, tenant) as uow:
        rows = await uow.session.execute(
            select(deliveries.c.delivery_id, deliveries.c.customer_id, deliveries.c.merged_from)
        )
        return {row.delivery_id: (row.customer_id, row.merged_from) for row in rows}


async def contact_row(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Any:
    async with uow_of(runtime, tenant) as uow:
        return (
            await uow.session.execute(select(contacts).where(contacts.c.customer_id == customer_id))
        ).first()


async def merge_rows(runtime: ServiceRuntime, tenant: str) -> list[Any]:
    async with uow_of(runtime, tenant) as uow:
        return list(
            (
                await uow.session.execute(
                    select(contact_merges).order_by(contact_merges.c.record_id)
                )
            ).all()
        )


def merged(survivor: uuid.UUID, tombstone: uuid.UUID, at: datetime = MERGED_AT) -> CustomersMerged:
    return CustomersMerged(
        customer_id=survivor, merged_customer_id=tombstone, merged_at=at, merge_id=uuid.uuid4()
    )


def unmerged(
    survivor: uuid.UUID, restored: uuid.UUID, at: datetime = MERGED_AT + timedelta(days=1)
) -> CustomersUnmerged:
    return CustomersUnmerged(customer_id=survivor, restored_customer_id=restored, unmerged_at=at)


async def test_a_merge_moves_the_log_and_the_opt_outs_to_the_survivor(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tombstone = await customer(runtime, tenant, email_unsubscribed=True, time_zone="Europe/Paris")
    survivor = await customer(runtime, tenant, sms_unsubscribed=False)
    moved = await logged(runtime, tenant, tombstone, 2)
    own = await logged(runtime, tenant, survivor, 1)

    assert await deliver_record(runtime, envelope(merged(survivor, tombstone), tenant)) == (
        "processed"
    )

    rows = await log_rows(runtime, tenant)
    assert {rows[d] for d in moved} == {(survivor, tombstone)}
    assert rows[own[0]] == (survivor, None)
    page = await client.get(f"/api/v1/customers/{survivor}/notifications", headers=admin)
    assert page.status_code == 200, page.text
    assert {item["id"] for item in page.json()["data"]} == {str(d) for d in moved + own}
    kept = await contact_row(runtime, tenant, survivor)
    assert (kept.email_unsubscribed, kept.sms_unsubscribed, kept.time_zone) == (
        True,
        False,
        "Europe/Paris",
    )
    assert kept.accepts_marketing is True  # its own opt-in, untouched
    assert (await contact_row(runtime, tenant, tombstone)).merged_into == survivor


async def test_the_merged_customers_log_answers_404_naming_the_survivor(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tombstone, survivor = await customer(runtime, tenant), await customer(runtime, tenant)
    await merge_contacts(uow_of(runtime, tenant), merged(survivor, tombstone))

    response = await client.get(f"/api/v1/customers/{tombstone}/notifications", headers=admin)

    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["merged_into"] == str(survivor)


async def test_the_survivor_keeps_its_own_time_zone(runtime: ServiceRuntime, tenant: str) -> None:
    tombstone = await customer(runtime, tenant, time_zone="Europe/Paris")
    survivor = await customer(runtime, tenant, time_zone="America/New_York")

    await merge_contacts(uow_of(runtime, tenant), merged(survivor, tombstone))

    assert (await contact_row(runtime, tenant, survivor)).time_zone == "America/New_York"


async def test_a_message_asked_for_the_merged_customer_reaches_the_survivor(
    runtime: ServiceRuntime, tenant: str, service_settings: NotificationsSettings
) -> None:
    tombstone, survivor = await customer(runtime, tenant), await customer(runtime, tenant)
    await merge_contacts(uow_of(runtime, tenant), merged(survivor, tombstone))
    messenger = Messenger(service_settings.messaging_defaults(), service_settings.unsubscribe_url)

    async with uow_of(runtime, tenant) as uow:
        queued = await messenger.queue(
            uow,
            [MessageRequest(tombstone, "welcome", "email", cause=f"w-{uuid.uuid4()}")],
        )
        await uow.commit()

    [delivery] = queued.deliveries
    assert (delivery.customer_id, delivery.status) == (survivor, "queued")
    assert delivery.recipient == f"c-{survivor.hex[:10]}@patron-tests.example"


async def test_the_frequency_cap_counts_the_merged_customers_history(
    runtime: ServiceRuntime, tenant: str, service_settings: NotificationsSettings
) -> None:
    tombstone, survivor = await customer(runtime, tenant), await customer(runtime, tenant)
    cap = service_settings.messaging_defaults().rules.cap
    await logged(
        runtime, tenant, tombstone, cap, category="marketing", at=utcnow() - timedelta(hours=2)
    )
    messenger = Messenger(service_settings.messaging_defaults(), service_settings.unsubscribe_url)

    async def ask() -> Delivery:
        async with uow_of(runtime, tenant) as uow:
            queued = await messenger.queue(
                uow, [MessageRequest(survivor, "win_back", "email", cause=f"c-{uuid.uuid4()}")]
            )
        return queued.deliveries[0]  # not committed: only the decision matters

    assert (await ask()).status == "queued"
    await merge_contacts(uow_of(runtime, tenant), merged(survivor, tombstone))
    after = await ask()
    assert (after.status, after.skipped_reason) == ("skipped", "frequency_cap")


async def test_an_unmerge_gives_back_the_log_and_the_restored_customers_own_flags(
    runtime: ServiceRuntime, tenant: str
) -> None:
    restored = await customer(runtime, tenant, email_unsubscribed=True)
    survivor = await customer(runtime, tenant, sms_unsubscribed=True)
    theirs = await logged(runtime, tenant, restored, 2)
    own = await logged(runtime, tenant, survivor, 2)
    await merge_contacts(uow_of(runtime, tenant), merged(survivor, restored))

    assert await deliver_record(runtime, envelope(unmerged(survivor, restored), tenant)) == (
        "processed"
    )

    rows = await log_rows(runtime, tenant)
    assert {rows[d] for d in theirs} == {(restored, None)}
    assert {rows[d] for d in own} == {(survivor, None)}
    back = await contact_row(runtime, tenant, restored)
    assert (back.merged_into, back.email_unsubscribed, back.sms_unsubscribed) == (
        None,
        True,
        False,
    )
    # the survivor keeps the opt-out it took: staying opted out is the safe side
    kept = await contact_row(runtime, tenant, survivor)
    assert (kept.email_unsubscribed, kept.sms_unsubscribed) == (True, True)


async def test_a_redelivered_or_repeated_merge_changes_nothing(
    runtime: ServiceRuntime, tenant: str
) -> None:
    tombstone, survivor = await customer(runtime, tenant), await customer(runtime, tenant)
    await logged(runtime, tenant, tombstone, 2)
    event = merged(survivor, tombstone)
    message = envelope(event, tenant)
    assert await deliver_record(runtime, message) == "processed"
    before = (
        await log_rows(runtime, tenant),
        await merge_rows(runtime, tenant),
        await contact_row(runtime, tenant, survivor),
        await contact_row(runtime, tenant, tombstone),
    )

    assert await deliver_record(runtime, message) == "duplicate"
    # the same merge again under another message id
    assert await deliver_record(runtime, envelope(event, tenant)) == "processed"

    assert (
        await log_rows(runtime, tenant),
        await merge_rows(runtime, tenant),
        await contact_row(runtime, tenant, survivor),
        await contact_row(runtime, tenant, tombstone),
    ) == before


async def test_an_unmerge_seen_before_its_merge_leaves_both_apart(
    runtime: ServiceRuntime, tenant: str
) -> None:
    restored, survivor = await customer(runtime, tenant), await customer(runtime, tenant)
    theirs = await logged(runtime, tenant, restored, 2)

    await deliver_record(runtime, envelope(unmerged(survivor, restored), tenant))
    await deliver_record(runtime, envelope(merged(survivor, restored), tenant))

    assert {(await log_rows(runtime, tenant))[d] for d in theirs} == {(restored, None)}
    assert (await contact_row(runtime, tenant, restored)).merged_into is None
    [record] = await merge_rows(runtime, tenant)
    assert (record.merged_at, record.unmerged_at) == (MERGED_AT, MERGED_AT + timedelta(days=1))


async def test_a_merge_seen_before_the_merged_customers_creation_survives_the_snapshot(
    runtime: ServiceRuntime, tenant: str
) -> None:
    survivor, tombstone = await customer(runtime, tenant), uuid.uuid4()
    await merge_contacts(uow_of(runtime, tenant), merged(survivor, tombstone))

    snapshot = CustomerSnapshot(
        email="late@patron-tests.example", created_at=JOINED, updated_at=JOINED
    )
    await record_contact(
        uow_of(runtime, tenant), CustomerCreated(customer_id=tombstone, customer=snapshot)
    )

    row = await contact_row(runtime, tenant, tombstone)
    assert (row.merged_into, row.email) == (survivor, "late@patron-tests.example")


async def test_chained_merges_and_their_unmerges_give_every_delivery_back_to_its_owner(
    runtime: ServiceRuntime,
) -> None:
    """Random sequences of merges and unmerges of three customers on the real tables: every
    delivery stays in the log of the customer its owner lives on in, and once every merge
    is undone each delivery is back where it was queued."""
    rng = random.Random(20261204)
    for _ in range(12):
        tenant = unique_tenant("lc")
        people = [await customer(runtime, tenant) for _ in range(3)]
        owners = {d: p for p in people for d in await logged(runtime, tenant, p, 2)}
        at = MERGED_AT
        for _ in range(rng.randint(1, 6)):
            at += timedelta(minutes=1)
            first, second = rng.sample(people, 2)
            if rng.random() < 0.6:
                await merge_contacts(uow_of(runtime, tenant), merged(first, second, at))
            else:
                await unmerge_contacts(uow_of(runtime, tenant), unmerged(first, second, at))
            rows = await log_rows(runtime, tenant)
            assert set(rows) == set(owners)
            for delivery, (holder, merged_from) in rows.items():
                assert (merged_from or holder) == owners[delivery]
                assert holder == await lives_in(runtime, tenant, owners[delivery])
        while True:
            still = [p for p in people if (await contact_row(runtime, tenant, p)).merged_into]
            if not still:
                break
            at += timedelta(minutes=1)
            into = (await contact_row(runtime, tenant, still[0])).merged_into
            await unmerge_contacts(uow_of(runtime, tenant), unmerged(into, still[0], at))
        assert await log_rows(runtime, tenant) == {d: (p, None) for d, p in owners.items()}


async def lives_in(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> uuid.UUID:
    for _ in range(5):
        row = await contact_row(runtime, tenant, customer_id)
        if row.merged_into is None:
            break
        customer_id = row.merged_into
    return customer_id


async def test_merges_of_one_tenant_are_invisible_to_another(
    runtime: ServiceRuntime, tenant: str
) -> None:
    tombstone, survivor = await customer(runtime, tenant), await customer(runtime, tenant)
    await merge_contacts(uow_of(runtime, tenant), merged(survivor, tombstone))

    assert await merge_rows(runtime, unique_tenant()) == []
    assert len(await merge_rows(runtime, tenant)) == 1
