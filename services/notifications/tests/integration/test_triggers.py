"""Triggers on a real database, through the real consumers (inbox included): the message an
event queues, with what it renders, and when it queues nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.tables import contacts
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.triggers import Triggers
from patron_shared.events import (
    ConsentChanged,
    Contract,
    CustomerCreated,
    CustomerSnapshot,
    Envelope,
    OrderItem,
    OrderPlaced,
    PointsAdjusted,
    SegmentEntered,
    TierChanged,
    build_envelope,
    utcnow,
)
from patron_shared.events.delivery import Delivery as Delivered
from patron_shared.http import ServiceRuntime
from patron_shared.testing import deliver_record

pytestmark = pytest.mark.integration


def envelope(event: Contract, tenant: str) -> Envelope:
    return build_envelope(event, tenant_id=tenant, source="tests")


def created(
    customer_id: uuid.UUID,
    *,
    email: str | None = None,
    phone: str | None = None,
    first_name: str = "Ann",
    marketing: bool = False,
    **fields: Any,
) -> CustomerCreated:
    now = utcnow()
    snapshot = CustomerSnapshot(
        email=email,
        phone=phone,
        first_name=first_name,
        accepts_marketing=marketing,
        created_at=now,
        updated_at=now,
        **fields,
    )
    return CustomerCreated(customer_id=customer_id, customer=snapshot)


def placed(customer_id: uuid.UUID, **fields: Any) -> OrderPlaced:
    values: dict[str, Any] = {
        "order_id": "1042",
        "customer_id": customer_id,
        "currency": "EUR",
        "total": Decimal("65.00"),
        "items": [
            OrderItem(sku="TS-BLUE-M", name="Blue T-Shirt", quantity=2, unit_price=Decimal("25.00"))
        ],
        "placed_at": utcnow(),
    }
    return OrderPlaced(**(values | fields))


def email_of() -> str:
    return f"trigger-{uuid.uuid4().hex[:10]}@patron-tests.example"


async def rows_of(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> list[Any]:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        query = (
            select(deliveries)
            .where(deliveries.c.customer_id == customer_id)
            .order_by(deliveries.c.created_at)
        )
        return list((await uow.session.execute(query)).all())


async def a_customer(
    runtime: ServiceRuntime, tenant: str, **fields: Any
) -> tuple[uuid.UUID, Envelope]:
    customer_id = uuid.uuid4()
    message = envelope(created(customer_id, **fields), tenant)
    assert await deliver_record(runtime, message) == "processed"
    return customer_id, message


async def test_a_new_customer_is_recorded_and_welcomed_by_email_in_one_go(
    runtime: ServiceRuntime, tenant: str
) -> None:
    address = email_of()
    customer_id, _ = await a_customer(runtime, tenant, email=address, first_name="Ann")

    [row] = await rows_of(runtime, tenant, customer_id)
    assert (row.template_key, row.channel, row.category, row.status, row.recipient) == (
        "welcome",
        "email",
        "transactional",
        "queued",
        address,
    )
    assert row.cause == "welcome"  # one welcome per customer, whatever announces them
    assert row.subject == "Welcome to Patron Shop, Ann!"
    assert "Hi Ann," in row.text_body
    assert row.headers == {}  # transactional: no List-Unsubscribe


async def test_a_redelivered_customer_created_event_queues_nothing_new(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, message = await a_customer(runtime, tenant, email=email_of())

    assert await deliver_record(runtime, message) == "duplicate"

    assert len(await rows_of(runtime, tenant, customer_id)) == 1


async def test_the_same_event_handled_twice_past_the_inbox_still_queues_one_message(
    runtime: ServiceRuntime, tenant: str, service_app: Any
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, email=email_of())
    triggers = Triggers(service_app.state.messenger)
    order = envelope(placed(customer_id), tenant)
    for _ in range(2):  # no inbox claim: only the idempotency key stands in the way
        await triggers.orders_placed(
            runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant),
            [Delivered(order, placed(customer_id))],
        )

    rows = await rows_of(runtime, tenant, customer_id)
    assert [r.template_key for r in rows] == ["welcome", "order_confirmation"]


async def test_a_customer_with_only_a_phone_is_not_welcomed_as_there_is_no_sms_welcome(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, phone="+14155550123")

    [row] = await rows_of(runtime, tenant, customer_id)
    assert (row.template_key, row.channel, row.status, row.skipped_reason) == (
        "welcome",
        "email",
        "skipped",
        "no_address",
    )


async def test_a_disabled_account_is_recorded_but_not_welcomed(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, email=email_of(), status="disabled")

    assert await rows_of(runtime, tenant, customer_id) == []
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        assert await uow.contacts.get(customer_id) is not None


async def test_an_imported_customer_is_recorded_but_not_welcomed(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    event = created(customer_id, email=email_of()).model_copy(update={"imported": True})
    assert await deliver_record(runtime, envelope(event, tenant)) == "processed"

    assert await rows_of(runtime, tenant, customer_id) == []
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        contact = await uow.contacts.get(customer_id)
    assert contact is not None, "known for the messages that will come (orders, campaigns)"


async def test_an_order_is_recorded_as_the_last_and_confirmed_with_its_lines(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, email=email_of(), first_name="Bea")
    order = envelope(placed(customer_id), tenant)

    assert await deliver_record(runtime, order) == "processed"

    row = (await rows_of(runtime, tenant, customer_id))[-1]
    assert (row.template_key, row.status, row.cause) == (
        "order_confirmation",
        "queued",
        "order:1042",  # one confirmation per order, whatever announces it
    )
    assert row.subject == "Order #1042 confirmed"
    assert "Hi Bea," in row.text_body
    assert "2 x Blue T-Shirt (EUR 25.00)" in row.text_body
    assert "Total: EUR 65.00" in row.text_body
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        stored = (
            await uow.session.execute(
                select(contacts.c.last_order_id).where(contacts.c.customer_id == customer_id)
            )
        ).scalar_one()
    assert stored == "1042"
    assert await deliver_record(runtime, order) == "duplicate"
    assert len(await rows_of(runtime, tenant, customer_id)) == 2


async def test_a_phone_only_customer_gets_the_order_confirmation_by_sms(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, phone="+14155550123", first_name="Cy")

    await deliver_record(runtime, envelope(placed(customer_id, order_number="NW-7"), tenant))

    row = (await rows_of(runtime, tenant, customer_id))[-1]
    assert (row.template_key, row.channel, row.status, row.recipient) == (
        "order_confirmation",
        "sms",
        "queued",
        "+14155550123",
    )
    assert "thanks Cy! Order NW-7 (EUR 65.00) is confirmed" in row.text_body


async def test_a_trigger_switched_off_queues_nothing_but_the_event_is_recorded(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, email=email_of())
    switched = await client.patch(
        "/api/v1/notifications/settings",
        json={"triggers": {"order_confirmation": False}},
        headers=admin,
    )
    assert switched.status_code == 200, switched.text

    await deliver_record(runtime, envelope(placed(customer_id, order_id="77"), tenant))

    assert [r.template_key for r in await rows_of(runtime, tenant, customer_id)] == ["welcome"]
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        contact = await uow.contacts.get(customer_id)
    assert contact is not None
    assert contact.last_order is not None
    assert contact.last_order.order_id == "77"


EVENT_TRIGGERS = ("welcome", "order_confirmation", "win_back", "points_adjusted", "tier_upgrade")


@pytest.mark.parametrize("switched_off", EVENT_TRIGGERS)
async def test_each_trigger_switches_off_alone_and_the_others_still_send(
    runtime: ServiceRuntime,
    tenant: str,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    switched_off: str,
) -> None:
    switched = await client.patch(
        "/api/v1/notifications/settings", json={"triggers": {switched_off: False}}, headers=admin
    )
    assert switched.status_code == 200, switched.text
    customer_id = uuid.uuid4()
    events: list[Contract] = [
        created(customer_id, email=email_of(), marketing=True),
        placed(customer_id, order_id=f"o-{switched_off}"),
        entered(customer_id, "at_risk"),
        PointsAdjusted(
            customer_id=customer_id,
            points=50,
            balance=50,
            reason="goodwill",
            actor="ops",
            adjusted_at=utcnow(),
        ),
        TierChanged(customer_id=customer_id, tier="gold", direction="upgrade", changed_at=utcnow()),
    ]

    for event in events:
        assert await deliver_record(runtime, envelope(event, tenant)) == "processed"

    rows = await rows_of(runtime, tenant, customer_id)
    assert sorted(r.template_key for r in rows) == sorted(set(EVENT_TRIGGERS) - {switched_off})
    assert {r.status for r in rows} == {"queued"}


async def test_an_event_older_than_the_maximum_age_queues_nothing(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, email=email_of())
    old = placed(customer_id, placed_at=utcnow() - timedelta(days=30))

    assert await deliver_record(runtime, envelope(old, tenant)) == "processed"

    assert [r.template_key for r in await rows_of(runtime, tenant, customer_id)] == ["welcome"]


def entered(customer_id: uuid.UUID, segment_key: str) -> SegmentEntered:
    return SegmentEntered(
        customer_id=customer_id, segment_key=segment_key, segment_name=segment_key, at=utcnow()
    )


async def test_entering_at_risk_sends_win_back_to_who_accepts_marketing_only(
    runtime: ServiceRuntime, tenant: str
) -> None:
    keen, _ = await a_customer(runtime, tenant, email=email_of(), marketing=True)
    silent, _ = await a_customer(runtime, tenant, email=email_of(), marketing=False)

    for customer_id in (keen, silent):
        await deliver_record(runtime, envelope(entered(customer_id, "at_risk"), tenant))
        await deliver_record(runtime, envelope(entered(customer_id, "vip"), tenant))

    [_, to_keen] = await rows_of(runtime, tenant, keen)
    assert (to_keen.template_key, to_keen.category, to_keen.status) == (
        "win_back",
        "marketing",
        "queued",
    )
    assert to_keen.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Unsubscribe: " in to_keen.text_body
    [_, to_silent] = await rows_of(runtime, tenant, silent)
    assert (to_silent.template_key, to_silent.status, to_silent.skipped_reason) == (
        "win_back",
        "skipped",
        "no_marketing_consent",
    )


async def test_consent_events_open_and_close_marketing_channel_by_channel(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, _ = await a_customer(
        runtime, tenant, email=email_of(), phone="+14155550199", marketing=False
    )

    def consent(channel: Any, granted: bool) -> Envelope:
        changed = ConsentChanged(
            customer_id=customer_id, channel=channel, granted=granted, changed_at=utcnow()
        )
        return envelope(changed, tenant)

    async def marketing() -> tuple[bool, bool]:
        async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
            contact = await uow.contacts.get(customer_id)
        assert contact is not None
        return contact.accepts_marketing, contact.sms_marketing

    assert await deliver_record(runtime, consent("sms", True)) == "processed"
    assert await marketing() == (False, True), "the SMS opt-in leaves email alone"
    await deliver_record(runtime, envelope(entered(customer_id, "at_risk"), tenant))

    assert await deliver_record(runtime, consent("email", True)) == "processed"
    assert await marketing() == (True, True)
    await deliver_record(runtime, envelope(entered(customer_id, "at_risk"), tenant))

    assert await deliver_record(runtime, consent("email", False)) == "processed"
    assert await marketing() == (False, True)
    await deliver_record(runtime, envelope(entered(customer_id, "at_risk"), tenant))

    win_backs = [r for r in await rows_of(runtime, tenant, customer_id) if r.channel == "email"]
    assert [(r.template_key, r.status, r.skipped_reason) for r in win_backs[1:]] == [
        ("win_back", "skipped", "no_marketing_consent"),
        ("win_back", "queued", None),
        ("win_back", "skipped", "no_marketing_consent"),
    ]


async def test_a_points_adjustment_is_recorded_then_told_with_the_new_balance(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, email=email_of(), first_name="Dee")
    adjusted = PointsAdjusted(
        customer_id=customer_id,
        points=200,
        balance=1450,
        reason="Thank you for your review",
        actor="ops",
        adjusted_at=utcnow(),
    )

    await deliver_record(runtime, envelope(adjusted, tenant))

    row = (await rows_of(runtime, tenant, customer_id))[-1]
    assert (row.template_key, row.status) == ("points_adjusted", "queued")
    assert "We added 200 points to your account: Thank you for your review." in row.text_body
    assert "Your balance is now 1450 points." in row.text_body
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        contact = await uow.contacts.get(customer_id)
    assert contact is not None
    assert contact.points == 1450


async def test_a_tier_upgrade_is_congratulated_and_a_downgrade_is_not(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, email=email_of(), first_name="Eve")

    def changed(tier: str, direction: Any) -> TierChanged:
        # as loyalty announces it: the tier's key, and its name for customers
        return TierChanged(
            customer_id=customer_id,
            tier=tier.lower(),
            tier_name=tier,
            direction=direction,
            changed_at=utcnow(),
            benefits=["Free shipping", "Early access"],
        )

    await deliver_record(runtime, envelope(changed("Gold", "upgrade"), tenant))
    await deliver_record(runtime, envelope(changed("Silver", "downgrade"), tenant))

    rows = await rows_of(runtime, tenant, customer_id)
    assert [r.template_key for r in rows] == ["welcome", "tier_upgrade"]
    assert rows[-1].subject == "You've reached Gold!"
    assert "- Free shipping\n- Early access" in rows[-1].text_body
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        contact = await uow.contacts.get(customer_id)
    assert contact is not None
    assert contact.tier == "Silver"


async def test_an_order_announced_twice_is_confirmed_once(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id, _ = await a_customer(runtime, tenant, email=email_of(), first_name="Bea")
    # the same order in two messages (a source that retried with a new envelope)
    for _ in range(2):
        assert await deliver_record(runtime, envelope(placed(customer_id), tenant)) == "processed"
    rows = [r for r in await rows_of(runtime, tenant, customer_id) if r.template_key != "welcome"]
    assert [(r.template_key, r.cause) for r in rows] == [("order_confirmation", "order:1042")]
