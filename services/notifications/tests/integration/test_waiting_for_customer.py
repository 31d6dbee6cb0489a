"""Messages for a customer the service does not know yet wait for them: an order placed
before the customer's creation reached this service is confirmed once it does, by the
channel the customer can be reached on, exactly once; what never learns its customer is
skipped after the wait, or at once when the customer is deleted; counts, erasure and merges
see what waits."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_notifications.adapters.deliveries import expire_waiting_deliveries
from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.messages import (
    MessageRequest,
    Messenger,
    expire_waiting_messages,
)
from patron_notifications.service.triggers import Triggers
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomersMerged,
    CustomerSnapshot,
    CustomerUpdated,
    Envelope,
    OrderItem,
    OrderPlaced,
    build_envelope,
    utcnow,
)
from patron_shared.events.delivery import Delivery as Delivered
from patron_shared.http import ServiceRuntime
from patron_shared.testing import deliver_record

pytestmark = pytest.mark.integration


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="tests")


def snapshot(
    *,
    email: str | None = None,
    phone: str | None = None,
    first_name: str = "Bea",
    marketing: bool = False,
    at: datetime | None = None,
) -> CustomerSnapshot:
    at = at or utcnow()
    return CustomerSnapshot(
        email=email,
        phone=phone,
        first_name=first_name,
        accepts_marketing=marketing,
        created_at=at,
        updated_at=at,
    )


def placed(customer_id: uuid.UUID, order_id: str = "1042") -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        currency="EUR",
        total=Decimal("65.00"),
        items=[
            OrderItem(sku="TS-BLUE-M", name="Blue T-Shirt", quantity=2, unit_price=Decimal("25.00"))
        ],
        placed_at=utcnow(),
    )


def email_of() -> str:
    return f"waiting-{uuid.uuid4().hex[:10]}@patron-tests.example"


def uow_of(runtime: ServiceRuntime, tenant: str) -> NotificationsUnitOfWork:
    return runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant)


async def rows_of(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> list[Any]:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        query = (
            select(deliveries)
            .where(deliveries.c.customer_id == customer_id)
            .order_by(deliveries.c.created_at, deliveries.c.template_key)
        )
        return list((await uow.session.execute(query)).all())


async def confirmation_of(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Any:
    [row] = [
        r
        for r in await rows_of(runtime, tenant, customer_id)
        if r.template_key == "order_confirmation"
    ]
    return row


async def order_first(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Envelope:
    order = envelope(placed(customer_id), tenant)
    assert await deliver_record(runtime, order) == "processed"
    return order


async def test_an_order_before_its_customer_waits_then_is_confirmed_by_email_when_they_arrive(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = uuid.uuid4()
    await order_first(runtime, tenant, customer_id)

    waiting = await confirmation_of(runtime, tenant, customer_id)
    assert (waiting.status, waiting.skipped_reason, waiting.recipient) == ("waiting", None, "")
    assert (waiting.subject, waiting.text_body, waiting.next_attempt_at) == (None, "", None)
    assert waiting.request["extras"]["order"]["order_number"] == "#1042"
    assert waiting.request["sms_if_phone_only"] is True
    log = await client.get(f"/api/v1/customers/{customer_id}/notifications", headers=admin)
    assert [(d["template"], d["status"]) for d in log.json()["data"]] == [
        ("order_confirmation", "waiting")
    ]

    address = email_of()
    created = envelope(
        CustomerCreated(customer_id=customer_id, customer=snapshot(email=address)), tenant
    )
    assert await deliver_record(runtime, created) == "processed"

    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.channel, row.recipient, row.skipped_reason) == (
        "queued",
        "email",
        address,
        None,
    )
    assert row.subject == "Order #1042 confirmed"
    assert "Hi Bea," in row.text_body
    assert "2 x Blue T-Shirt (EUR 25.00)" in row.text_body
    assert row.request is None
    # the same delivery, planned again in place
    assert (row.delivery_id, row.idempotency_key, row.cause, row.created_at) == (
        waiting.delivery_id,
        waiting.idempotency_key,
        "order:1042",
        waiting.created_at,
    )
    templates = sorted(r.template_key for r in await rows_of(runtime, tenant, customer_id))
    assert templates == ["order_confirmation", "welcome"]


async def test_a_customer_with_only_a_phone_gets_the_waiting_confirmation_by_sms(
    runtime: ServiceRuntime, tenant: str, service_app: Any
) -> None:
    customer_id = uuid.uuid4()
    order = await order_first(runtime, tenant, customer_id)
    assert (await confirmation_of(runtime, tenant, customer_id)).channel == "email"

    created = CustomerCreated(customer_id=customer_id, customer=snapshot(phone="+14155550123"))
    assert await deliver_record(runtime, envelope(created, tenant)) == "processed"

    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.channel, row.recipient) == ("queued", "sms", "+14155550123")
    assert "1042" in row.text_body

    # the order again past the inbox: its SMS exists, nothing new (no second message)
    await Triggers(service_app.state.messenger).orders_placed(
        uow_of(runtime, tenant), [Delivered(order, placed(customer_id))]
    )
    confirmations = [
        r.delivery_id
        for r in await rows_of(runtime, tenant, customer_id)
        if r.template_key == "order_confirmation"
    ]
    assert confirmations == [row.delivery_id]


async def test_a_waiting_message_is_released_once_and_later_events_change_nothing(
    runtime: ServiceRuntime, tenant: str, service_app: Any
) -> None:
    customer_id = uuid.uuid4()
    order = await order_first(runtime, tenant, customer_id)
    address = email_of()
    creation = CustomerCreated(customer_id=customer_id, customer=snapshot(email=address))
    created = envelope(creation, tenant)
    assert await deliver_record(runtime, created) == "processed"
    released = await rows_of(runtime, tenant, customer_id)

    newer = snapshot(email=email_of(), first_name="Cleo", at=utcnow() + timedelta(seconds=1))
    updated = CustomerUpdated(customer_id=customer_id, changed_fields=["email"], customer=newer)
    assert await deliver_record(runtime, envelope(updated, tenant)) == "processed"
    assert await deliver_record(runtime, order) == "duplicate"
    assert await deliver_record(runtime, created) == "duplicate"
    # past the inbox, only the idempotency key stands in the way
    triggers = Triggers(service_app.state.messenger)
    await triggers.orders_placed(uow_of(runtime, tenant), [Delivered(order, placed(customer_id))])
    await triggers.customers_created(uow_of(runtime, tenant), [Delivered(created, creation)])

    assert await rows_of(runtime, tenant, customer_id) == released
    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.recipient) == ("queued", address)


async def test_a_customer_known_only_by_an_update_releases_what_waited(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await order_first(runtime, tenant, customer_id)
    address = email_of()
    updated = CustomerUpdated(
        customer_id=customer_id, changed_fields=["email"], customer=snapshot(email=address)
    )

    assert await deliver_record(runtime, envelope(updated, tenant)) == "processed"

    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.recipient) == ("queued", address)


async def test_a_known_customer_without_an_address_is_still_skipped_at_once(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    created = CustomerCreated(customer_id=customer_id, customer=snapshot())
    assert await deliver_record(runtime, envelope(created, tenant)) == "processed"

    await order_first(runtime, tenant, customer_id)

    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.skipped_reason) == ("skipped", "no_address")


async def test_a_waiting_marketing_message_to_a_customer_without_consent_is_skipped_on_arrival(
    runtime: ServiceRuntime, tenant: str, service_app: Any
) -> None:
    messenger: Messenger = service_app.state.messenger
    customer_id = uuid.uuid4()
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        queued = await messenger.queue(
            uow, [MessageRequest(customer_id, "win_back", "email", cause=f"test-{customer_id}")]
        )
        await uow.commit()
    assert queued.count("waiting") == 1

    created = CustomerCreated(
        customer_id=customer_id, customer=snapshot(email=email_of(), marketing=False)
    )
    assert await deliver_record(runtime, envelope(created, tenant)) == "processed"

    [row] = [r for r in await rows_of(runtime, tenant, customer_id) if r.template_key == "win_back"]
    assert (row.status, row.skipped_reason, row.recipient, row.text_body) == (
        "skipped",
        "no_marketing_consent",
        "",
        "",
    )
    assert row.request is None


async def test_a_waiting_marketing_message_with_consent_carries_the_unsubscribe_headers(
    runtime: ServiceRuntime, tenant: str, service_app: Any
) -> None:
    messenger: Messenger = service_app.state.messenger
    customer_id = uuid.uuid4()
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await messenger.queue(
            uow, [MessageRequest(customer_id, "win_back", "email", cause=f"test-{customer_id}")]
        )
        await uow.commit()

    address = email_of()
    created = CustomerCreated(
        customer_id=customer_id, customer=snapshot(email=address, marketing=True)
    )
    assert await deliver_record(runtime, envelope(created, tenant)) == "processed"

    [row] = [r for r in await rows_of(runtime, tenant, customer_id) if r.template_key == "win_back"]
    assert (row.status, row.category, row.recipient) == ("queued", "marketing", address)
    assert row.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_a_message_that_waited_past_the_limit_is_skipped_as_customer_unknown(
    runtime: ServiceRuntime, tenant: str, service_app: Any
) -> None:
    messenger: Messenger = service_app.state.messenger
    long_ago = utcnow() - messenger.wait_limit - timedelta(hours=1)
    old = replace(messenger, now=lambda: long_ago)
    stale, fresh = uuid.uuid4(), uuid.uuid4()
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await old.queue(uow, [MessageRequest(stale, "order_confirmation", "email", cause="old")])
        await messenger.queue(
            uow, [MessageRequest(fresh, "order_confirmation", "email", cause="new")]
        )
        await uow.commit()

    expired = await expire_waiting_messages(
        lambda before, reason: expire_waiting_deliveries(runtime.engine, before, reason),
        now=utcnow(),
        wait_limit=messenger.wait_limit,
    )

    assert expired >= 1
    [gone] = await rows_of(runtime, tenant, stale)
    assert (gone.status, gone.skipped_reason, gone.request) == ("skipped", "customer_unknown", None)
    [still] = await rows_of(runtime, tenant, fresh)
    assert still.status == "waiting"


async def test_a_customer_arriving_after_the_wait_limit_does_not_get_the_old_message(
    runtime: ServiceRuntime, tenant: str, service_app: Any
) -> None:
    messenger: Messenger = service_app.state.messenger
    long_ago = utcnow() - messenger.wait_limit - timedelta(minutes=5)
    customer_id = uuid.uuid4()
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await replace(messenger, now=lambda: long_ago).queue(
            uow, [MessageRequest(customer_id, "order_confirmation", "email", cause="late")]
        )
        await uow.commit()

    created = CustomerCreated(customer_id=customer_id, customer=snapshot(email=email_of()))
    assert await deliver_record(runtime, envelope(created, tenant)) == "processed"

    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.skipped_reason) == ("skipped", "customer_unknown")


async def test_a_campaign_is_not_completed_while_a_message_waits_for_its_customer(
    runtime: ServiceRuntime,
    tenant: str,
    service_app: Any,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    stranger = uuid.uuid4()
    response = await client.post(
        "/api/v1/campaigns",
        json={
            "name": "Waiting",
            "template": "win_back",
            "channel": "email",
            "customer_ids": [str(stranger)],
            "send_now": True,
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    campaign_id = uuid.UUID(response.json()["id"])
    messenger: Messenger = service_app.state.messenger
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        # what the runner does for the listed customer
        await messenger.queue(
            uow,
            [
                MessageRequest(
                    stranger,
                    "win_back",
                    "email",
                    cause=f"campaign:{campaign_id}",
                    campaign_id=campaign_id,
                )
            ],
        )
        await uow.commit()

    body = (await client.get(f"/api/v1/campaigns/{campaign_id}", headers=admin)).json()
    assert body["counts"]["waiting"] == 1
    assert body["status"] != "completed"

    cancelled = await client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    counts = cancelled.json()["counts"]
    assert (counts["waiting"], counts["skipped_by_reason"]) == (0, {"campaign_cancelled": 1})


async def test_erasing_a_customer_skips_what_waited_and_forgets_its_request(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await order_first(runtime, tenant, customer_id)

    erased = CustomerErased(customer_id=customer_id, mode="anonymize", erased_at=utcnow())
    assert await deliver_record(runtime, envelope(erased, tenant)) == "processed"

    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.skipped_reason, row.request) == ("skipped", "customer_erased", None)
    # a late snapshot brings nothing back
    created = CustomerCreated(customer_id=customer_id, customer=snapshot(email=email_of()))
    assert await deliver_record(runtime, envelope(created, tenant)) == "processed"
    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.recipient) == ("skipped", "")


async def test_deleting_a_customer_skips_what_waited_for_them_at_once(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id, bystander = uuid.uuid4(), uuid.uuid4()
    await order_first(runtime, tenant, customer_id)
    await order_first(runtime, tenant, bystander)

    deleted = CustomerDeleted(customer_id=customer_id, deleted_at=utcnow())
    assert await deliver_record(runtime, envelope(deleted, tenant)) == "processed"

    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.skipped_reason, row.request) == ("skipped", "customer_deleted", None)
    assert (row.recipient, row.next_attempt_at) == ("", None)
    log = await client.get(f"/api/v1/customers/{customer_id}/notifications", headers=admin)
    assert [(d["status"], d["skipped_reason"]) for d in log.json()["data"]] == [
        ("skipped", "customer_deleted")
    ]
    # another customer's message goes on waiting for them
    assert (await confirmation_of(runtime, tenant, bystander)).status == "waiting"
    # a late snapshot of the deleted customer brings nothing back, nor does the order again
    created = CustomerCreated(customer_id=customer_id, customer=snapshot(email=email_of()))
    assert await deliver_record(runtime, envelope(created, tenant)) == "processed"
    await order_first(runtime, tenant, customer_id)
    [again] = [
        r
        for r in await rows_of(runtime, tenant, customer_id)
        if r.template_key == "order_confirmation"
    ]
    assert (again.delivery_id, again.status, again.recipient) == (row.delivery_id, "skipped", "")


async def test_an_order_after_the_deletion_does_not_wait(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    deleted = CustomerDeleted(customer_id=customer_id, deleted_at=utcnow())
    assert await deliver_record(runtime, envelope(deleted, tenant)) == "processed"

    await order_first(runtime, tenant, customer_id)

    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.skipped_reason) == ("skipped", "customer_gone")


async def test_a_waiting_message_of_a_merged_customer_moves_to_the_survivor_and_goes_to_them(
    runtime: ServiceRuntime, tenant: str
) -> None:
    merged_id, survivor_id = uuid.uuid4(), uuid.uuid4()
    await order_first(runtime, tenant, merged_id)
    merge = CustomersMerged(
        customer_id=survivor_id, merged_customer_id=merged_id, merged_at=utcnow()
    )
    assert await deliver_record(runtime, envelope(merge, tenant)) == "processed"

    [moved] = await rows_of(runtime, tenant, survivor_id)
    assert (moved.status, moved.merged_from) == ("waiting", merged_id)

    address = email_of()
    created = CustomerCreated(customer_id=survivor_id, customer=snapshot(email=address))
    assert await deliver_record(runtime, envelope(created, tenant)) == "processed"

    row = await confirmation_of(runtime, tenant, survivor_id)
    assert (row.status, row.recipient, row.delivery_id) == ("queued", address, moved.delivery_id)


async def test_deleting_a_customer_skips_what_was_queued_for_them(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, bystander = uuid.uuid4(), uuid.uuid4()
    for someone in (customer_id, bystander):
        created = CustomerCreated(customer_id=someone, customer=snapshot(email=email_of()))
        assert await deliver_record(runtime, envelope(created, tenant)) == "processed"
        await order_first(runtime, tenant, someone)
        assert (await confirmation_of(runtime, tenant, someone)).status == "queued"

    deleted = CustomerDeleted(customer_id=customer_id, deleted_at=utcnow())
    assert await deliver_record(runtime, envelope(deleted, tenant)) == "processed"

    row = await confirmation_of(runtime, tenant, customer_id)
    assert (row.status, row.skipped_reason, row.request) == ("skipped", "customer_deleted", None)
    assert row.next_attempt_at is None
    assert (await confirmation_of(runtime, tenant, bystander)).status == "queued"
