"""What messages know of a customer, kept from events of several topics that arrive in any
order, and queueing through it (real PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, update

from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.tables import contacts
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.contact import Contact, LastOrder
from patron_notifications.domain.unsubscribe import UnsubscribeTarget, read_unsubscribe_token
from patron_notifications.service.contacts import (
    record_consent,
    record_contact,
    record_last_order,
    record_points,
    record_tier,
)
from patron_notifications.service.messages import MessageRequest, Messenger, QueuedMessages
from patron_notifications.settings import NotificationsSettings
from patron_shared.events import (
    ConsentChanged,
    Contract,
    CustomerCreated,
    CustomerSnapshot,
    CustomerUpdated,
    OrderPlaced,
    PointsAdjusted,
    PointsEarned,
    TierChanged,
)
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def snapshot(
    at: datetime, *, accepts_marketing: bool = False, **fields: object
) -> CustomerSnapshot:
    values: dict[str, object] = {
        "email": "lena.fischer@example.com",
        "phone": "+4915123456789",
        "first_name": "Lena",
        "last_name": "Fischer",
        "accepts_marketing": accepts_marketing,
        "created_at": T0,
        "updated_at": at,
    }
    return CustomerSnapshot.model_validate(values | fields)


def order(customer_id: uuid.UUID, order_id: str, total: str, at: datetime) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        currency="EUR",
        total=Decimal(total),
        placed_at=at,
    )


async def apply(runtime: ServiceRuntime, tenant: str, event: Contract) -> None:
    uow = runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant)
    if isinstance(event, CustomerCreated | CustomerUpdated):
        await record_contact(uow, event)
    elif isinstance(event, ConsentChanged):
        await record_consent(uow, event)
    elif isinstance(event, OrderPlaced):
        await record_last_order(uow, event)
    elif isinstance(event, PointsEarned | PointsAdjusted):
        await record_points(uow, event)
    elif isinstance(event, TierChanged):
        await record_tier(uow, event)
    else:
        raise AssertionError(f"no handler for {event!r}")


async def contact_of(runtime: ServiceRuntime, tenant: str, customer_id: uuid.UUID) -> Contact:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        found = await uow.contacts.get(customer_id)
    assert found is not None
    return found


def history(customer_id: uuid.UUID) -> list[Contract]:
    """A customer's events from four topics; the final state does not depend on their order."""
    return [
        CustomerCreated(customer_id=customer_id, customer=snapshot(T0, accepts_marketing=True)),
        CustomerUpdated(
            customer_id=customer_id,
            changed_fields=["first_name"],
            customer=snapshot(T0 + timedelta(hours=1), accepts_marketing=True, first_name="Lene"),
        ),
        # email marketing withdrawn after the last snapshot: it wins
        ConsentChanged(
            customer_id=customer_id,
            channel="email",
            granted=False,
            changed_at=T0 + timedelta(hours=2),
        ),
        ConsentChanged(
            customer_id=customer_id, channel="sms", granted=True, changed_at=T0 + timedelta(hours=1)
        ),
        order(customer_id, "1001", "40.00", T0 + timedelta(days=1)),
        order(customer_id, "1002", "65.50", T0 + timedelta(days=3)),
        order(customer_id, "1000", "12.00", T0),
        PointsEarned(
            customer_id=customer_id,
            points=40,
            balance=40,
            reason="order",
            earned_at=T0 + timedelta(days=1),
        ),
        PointsAdjusted(
            customer_id=customer_id,
            points=25,
            balance=65,
            reason="review",
            actor="admin",
            adjusted_at=T0 + timedelta(days=2),
        ),
        TierChanged(
            customer_id=customer_id,
            tier="Silver",
            direction="upgrade",
            changed_at=T0 + timedelta(days=2),
        ),
    ]


# Orders that matter: each topic's events in reverse, consent before snapshots, and a few
# full interleavings.
ORDERS = [
    list(range(10)),
    list(reversed(range(10))),
    [2, 3, 9, 8, 7, 6, 5, 4, 1, 0],
    [4, 7, 2, 0, 9, 1, 5, 3, 8, 6],
    [6, 5, 4, 3, 2, 1, 0, 9, 8, 7],
]


@pytest.mark.parametrize("order_of_events", ORDERS)
async def test_the_customer_context_is_the_same_whatever_order_its_events_arrive_in(
    runtime: ServiceRuntime, tenant: str, order_of_events: Sequence[int]
) -> None:
    customer_id = uuid.uuid4()
    events = history(customer_id)
    for index in order_of_events:
        await apply(runtime, tenant, events[index])
    contact = await contact_of(runtime, tenant, customer_id)
    assert (contact.first_name, contact.last_name, contact.name) == (
        "Lene",
        "Fischer",
        "Lene Fischer",
    )
    assert contact.accepts_marketing is False, "the newer withdrawal outranks the snapshot"
    assert contact.sms_marketing is True
    assert contact.last_order == LastOrder(
        "1002", Decimal("65.5000"), "EUR", T0 + timedelta(days=3)
    )
    assert (contact.points, contact.tier) == (65, "Silver")
    assert contact.known
    variables = contact.template_variables()
    assert variables["last_order"] == {
        "order_id": "1002",
        "total": "65.5000",
        "currency": "EUR",
        "placed_at": "2026-05-04T12:00:00Z",
    }


async def test_a_snapshot_newer_than_a_consent_change_speaks_for_email_marketing(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    withdrawn = ConsentChanged(
        customer_id=customer_id, channel="email", granted=False, changed_at=T0
    )
    regranted = CustomerUpdated(
        customer_id=customer_id,
        changed_fields=["accepts_marketing"],
        customer=snapshot(T0 + timedelta(minutes=5), accepts_marketing=True),
    )
    for event in (regranted, withdrawn):  # the older consent event comes last
        await apply(runtime, tenant, event)
    assert (await contact_of(runtime, tenant, customer_id)).accepts_marketing is True


async def test_events_about_a_customer_not_seen_yet_make_no_listed_contact(
    runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = uuid.uuid4()
    await apply(runtime, tenant, order(customer_id, "7", "9.99", T0))
    contact = await contact_of(runtime, tenant, customer_id)
    assert not contact.known
    assert contact.email is None
    assert contact.last_order is not None
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        listed, total = await uow.contacts.list_page(offset=0, limit=10)
    assert (listed, total) == ([], 0)


def messenger(settings: NotificationsSettings, now: datetime) -> Messenger:
    return Messenger(settings.messaging_defaults(), settings.unsubscribe_url, now=lambda: now)


async def queue(
    runtime: ServiceRuntime, tenant: str, sender: Messenger, requests: list[MessageRequest]
) -> QueuedMessages:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        queued = await sender.queue(uow, requests)
        await uow.commit()
    return queued


async def rows_of(runtime: ServiceRuntime, tenant: str, cause: str) -> list[dict[str, object]]:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        found = await uow.session.execute(
            select(deliveries).where(deliveries.c.cause == cause).order_by(deliveries.c.recipient)
        )
    return [dict(row._mapping) for row in found]


async def test_queueing_renders_for_the_customer_respects_consent_and_happens_once(
    runtime: ServiceRuntime, tenant: str, service_settings: NotificationsSettings
) -> None:
    opted_in, not_opted_in, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for customer_id, consent in ((opted_in, True), (not_opted_in, False)):
        await apply(
            runtime,
            tenant,
            CustomerCreated(
                customer_id=customer_id,
                customer=snapshot(
                    T0, accepts_marketing=consent, email=f"{customer_id.hex[:8]}@example.com"
                ),
            ),
        )
    await apply(
        runtime,
        tenant,
        PointsEarned(customer_id=opted_in, points=120, balance=120, reason="order", earned_at=T0),
    )
    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    sender = messenger(service_settings, now)
    cause = f"campaign-{uuid.uuid4()}"
    requests = [
        MessageRequest(customer_id=c, template_key="birthday", channel="email", cause=cause)
        for c in (opted_in, not_opted_in, unknown)
    ]
    first = await queue(runtime, tenant, sender, requests)
    again = await queue(runtime, tenant, sender, requests)
    assert len(first.new) == 3
    assert again.new == set()
    rows = {row["customer_id"]: row for row in await rows_of(runtime, tenant, cause)}
    assert len(rows) == 3
    sent = rows[opted_in]
    assert (sent["status"], sent["category"], sent["recipient"]) == (
        "queued",
        "marketing",
        f"{opted_in.hex[:8]}@example.com",
    )
    assert sent["subject"] == "Happy birthday, Lena!"
    assert "120 points" in str(sent["text_body"])
    headers = dict(sent["headers"])  # type: ignore[call-overload]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{service_settings.public_base_url}/api/v1/unsubscribe/")
    secret = service_settings.unsubscribe_secret.get_secret_value().encode()
    assert read_unsubscribe_token(secret, link.rsplit("/", 1)[1]) == UnsubscribeTarget(
        tenant, opted_in, "email"
    )
    assert link in str(sent["text_body"])
    assert (rows[not_opted_in]["status"], rows[not_opted_in]["skipped_reason"]) == (
        "skipped",
        "no_marketing_consent",
    )
    assert rows[not_opted_in]["text_body"] == ""
    assert rows[not_opted_in]["recipient"] == ""
    # not seen as a customer yet: the message waits for their profile
    assert (rows[unknown]["status"], rows[unknown]["skipped_reason"]) == ("waiting", None)


async def test_the_marketing_cap_counts_what_was_queued_in_the_window(
    runtime: ServiceRuntime, tenant: str, service_settings: NotificationsSettings
) -> None:
    customer_id = uuid.uuid4()
    await apply(
        runtime,
        tenant,
        CustomerCreated(customer_id=customer_id, customer=snapshot(T0, accepts_marketing=True)),
    )
    cap = service_settings.messaging_defaults().rules.cap
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    statuses = []
    for day in range(cap + 2):
        sender = messenger(service_settings, start + timedelta(hours=day))
        queued = await queue(
            runtime,
            tenant,
            sender,
            [
                MessageRequest(
                    customer_id,
                    "flash_sale",
                    "email",
                    f"sale-{day}",
                    extras={
                        "sale": {
                            "name": "Sale",
                            "discount": "10%",
                            "code": "X",
                            "ends_at": "",
                            "url": "http://x",
                        }
                    },
                )
            ],
        )
        statuses.append((queued.deliveries[0].status, queued.deliveries[0].skipped_reason))
    assert statuses == [("queued", None)] * cap + [("skipped", "frequency_cap")] * 2
    # a transactional message is never capped
    sender = messenger(service_settings, start + timedelta(hours=cap + 3))
    queued = await queue(
        runtime, tenant, sender, [MessageRequest(customer_id, "welcome", "email", "welcome")]
    )
    assert queued.deliveries[0].status == "queued"


async def test_a_missing_variable_fails_the_message_instead_of_sending_it_broken(
    runtime: ServiceRuntime, tenant: str, service_settings: NotificationsSettings
) -> None:
    customer_id = uuid.uuid4()
    await apply(runtime, tenant, CustomerCreated(customer_id=customer_id, customer=snapshot(T0)))
    sender = messenger(service_settings, datetime(2026, 6, 1, tzinfo=UTC))
    # order_confirmation reads `order`, which this request does not give
    queued = await queue(
        runtime,
        tenant,
        sender,
        [MessageRequest(customer_id, "order_confirmation", "email", f"o-{uuid.uuid4()}")],
    )
    (failed,) = queued.deliveries
    assert failed.status == "failed"
    assert "order" in (failed.last_error or "")
    assert failed.failed_at is not None


async def test_requests_for_a_merged_customer_and_its_survivor_make_one_message(
    runtime: ServiceRuntime, tenant: str, service_settings: NotificationsSettings
) -> None:
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    for customer_id, email in ((survivor, "keep@example.com"), (merged, "old@example.com")):
        await apply(
            runtime,
            tenant,
            CustomerCreated(customer_id=customer_id, customer=snapshot(T0, email=email)),
        )
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            update(contacts).where(contacts.c.customer_id == merged).values(merged_into=survivor)
        )
        await uow.commit()
    sender = messenger(service_settings, datetime(2026, 6, 1, tzinfo=UTC))
    cause = f"c-{uuid.uuid4()}"
    requests = [MessageRequest(c, "welcome", "email", cause) for c in (merged, survivor)]
    queued = await queue(runtime, tenant, sender, requests)
    assert [(d.customer_id, d.recipient) for d in queued.deliveries] == [
        (survivor, "keep@example.com")
    ]
    assert len(await rows_of(runtime, tenant, cause)) == 1


async def test_a_callers_variables_never_replace_the_customer_or_the_unsubscribe_link(
    runtime: ServiceRuntime, tenant: str, service_settings: NotificationsSettings
) -> None:
    customer_id = uuid.uuid4()
    await apply(
        runtime,
        tenant,
        CustomerCreated(customer_id=customer_id, customer=snapshot(T0, accepts_marketing=True)),
    )
    sender = messenger(service_settings, datetime(2026, 6, 1, tzinfo=UTC))
    forged = {
        "customer": {"first_name": "Mallory", "points": 1_000_000},
        "unsubscribe_url": "https://evil.example/keep-subscribed",
        "shop": {"name": "Not the shop", "url": "https://evil.example"},
    }
    queued = await queue(
        runtime,
        tenant,
        sender,
        [MessageRequest(customer_id, "birthday", "email", f"b-{uuid.uuid4()}", extras=forged)],
    )
    (delivery,) = queued.deliveries
    assert delivery.subject == "Happy birthday, Lena!"
    assert "evil.example" not in delivery.text
    assert "evil.example" not in (delivery.html or "")
    assert "evil.example" not in delivery.headers["List-Unsubscribe"]


async def test_a_marketing_sms_queued_at_night_waits_for_the_morning_of_the_customers_zone(
    runtime: ServiceRuntime,
    tenant: str,
    service_settings: NotificationsSettings,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    # quiet hours 21:00-08:00; the tenant's default zone: Auckland (UTC+13 in December);
    # one customer lives in Kolkata (UTC+5:30), the other said nothing
    assert service_settings.sms_quiet_hours == "21:00-08:00"
    settings = await client.patch(
        "/api/v1/notifications/settings",
        json={"default_time_zone": "Pacific/Auckland"},
        headers=admin,
    )
    assert settings.status_code == 200, settings.text
    in_kolkata, unzoned = uuid.uuid4(), uuid.uuid4()
    for customer_id, zone in ((in_kolkata, {"time_zone": "Asia/Kolkata"}), (unzoned, {})):
        await apply(
            runtime,
            tenant,
            CustomerCreated(customer_id=customer_id, customer=snapshot(T0, accepts_marketing=True)),
        )
        answer = await client.put(
            f"/api/v1/customers/{customer_id}/preferences",
            json={"sms_marketing": True, **zone},
            headers=admin,
        )
        assert answer.status_code == 200, answer.text
    # 18:00 UTC: 23:30 in Kolkata, 07:00 the next morning in Auckland
    now = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    sale = {"name": "Sale", "discount": "10%", "code": "X", "ends_at": "", "url": "http://x"}
    points = {"delta": 10, "balance": 110, "reason": "review"}
    cause = f"night-{uuid.uuid4()}"
    requests = [
        MessageRequest(customer_id, key, channel, cause, extras=extras)
        for customer_id in (in_kolkata, unzoned)
        for key, channel, extras in (
            ("flash_sale", "sms", {"sale": sale}),
            ("flash_sale", "email", {"sale": sale}),
            ("points_adjusted", "sms", {"points": points}),
        )
    ]

    await queue(runtime, tenant, messenger(service_settings, now), requests)

    rows = await rows_of(runtime, tenant, cause)
    due = {(r["customer_id"], r["template_key"], r["channel"]): r["next_attempt_at"] for r in rows}
    assert {r["status"] for r in rows} == {"queued"}
    assert due == {
        # 08:00 in Kolkata is 02:30 UTC; 08:00 in Auckland is 19:00 UTC the same day
        (in_kolkata, "flash_sale", "sms"): datetime(2026, 12, 5, 2, 30, tzinfo=UTC),
        (unzoned, "flash_sale", "sms"): datetime(2026, 12, 4, 19, 0, tzinfo=UTC),
        # email and transactional SMS never wait
        (in_kolkata, "flash_sale", "email"): None,
        (in_kolkata, "points_adjusted", "sms"): None,
        (unzoned, "flash_sale", "email"): None,
        (unzoned, "points_adjusted", "sms"): None,
    }
