"""Across the running stack, what the notifications service sends besides welcomes, order
confirmations and campaigns sent at once, each checked in the real SMTP sink: a tenant's own
template; the loyalty news (a points adjustment, a tier upgrade) and a trigger switched off;
the win-back message of a customer segmentation finds at risk; a `SendNotification` command
from another service; campaigns scheduled, cancelled and paced; the preference centre; and
`NotificationSent` on Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from patron_shared.events import OrderItem, OrderPlaced, SendNotification, Topic, build_envelope
from patron_shared.testing import KafkaProbe

from .journeys import create_customer, emails_to, place_order, publish_paid_order
from .test_customer_flow import eventually

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def unique_email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@e2e.example"


def plain(body: str) -> str:
    """A body as written in the template: SMTP carries its line ends as CRLF."""
    return body.replace("\r\n", "\n")


async def emails_with(stack: dict[str, str], recipient: str, text: str) -> list[dict[str, Any]]:
    """The recipient's emails whose subject or text body holds `text`."""
    return [
        m
        for m in await emails_to(stack, recipient)
        if text in (m["subject"] or "") or text in (m["text"] or "")
    ]


async def welcomed(stack: dict[str, str], recipient: str) -> None:
    """Wait for the customer's welcome: notifications knows them from then on."""
    assert await eventually(lambda: emails_to(stack, recipient)), f"{recipient} was welcomed"


async def campaign_where(
    gateway: httpx.AsyncClient,
    headers: dict[str, str],
    campaign_id: str,
    done: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """The campaign once `done(campaign)` holds; fails if it never does in time."""

    async def read() -> dict[str, Any] | None:
        response = await gateway.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)
        assert response.status_code == 200, response.text
        campaign: dict[str, Any] = response.json()
        return campaign if done(campaign) else None

    found = await eventually(read)
    assert found is not None, f"campaign {campaign_id} never got there"
    return found


def flash_sale(code: str) -> dict[str, Any]:
    return {
        "sale": {
            "name": "Spring Sale",
            "discount": "20%",
            "code": code,
            "ends_at": "2027-03-31T23:59:00Z",
            "url": "https://shop.example.com/spring",
        }
    }


async def test_a_tenants_own_welcome_template_is_checked_previewed_and_sent(
    gateway: httpx.AsyncClient, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    run = uuid.uuid4().hex[:8]
    first = {
        "key": "welcome",
        "channel": "email",
        "subject": "Tea Club {{ customer.first_name }}",
        "text": "Hello {{ customer.first_name }}, first draft.",
    }
    saved = await gateway.post("/api/v1/templates", json=first, headers=headers)
    assert saved.status_code == 201, saved.text
    assert (saved.json()["version"], saved.json()["builtin"]) == (1, False)
    assert saved.json()["category"] == "transactional"  # a built-in key keeps its own
    second = {
        "key": "welcome",
        "channel": "email",
        "subject": "{{ customer.first_name }}, your Tea Club card " + run,
        "text": "Dear {{ customer.first_name }},\n\nYour {{ shop.name }} Tea Club card is "
        "ready. Brewing since 1887.\n",
        "html": "<p>Dear {{ customer.first_name }},</p><p>Brewing since 1887.</p>",
    }
    saved = await gateway.post("/api/v1/templates", json=second, headers=headers)
    assert saved.status_code == 201, saved.text
    assert saved.json()["version"] == 2

    in_use = await gateway.get("/api/v1/templates/welcome", headers=headers)
    assert in_use.status_code == 200, in_use.text
    assert (in_use.json()["version"], in_use.json()["subject"]) == (2, second["subject"])
    kept = await gateway.get("/api/v1/templates/welcome/versions/1", headers=headers)
    assert kept.json()["text"] == first["text"]

    # the preview renders the template in use with a customer's values
    customer_values = {
        "customer": {"first_name": "Rosalind", "name": "Rosalind Franklin"},
        "shop": {"name": "Kew Teas", "url": "https://kew.example.com"},
    }
    preview = await gateway.post(
        "/api/v1/templates/preview",
        json={"key": "welcome", "variables": customer_values},
        headers=headers,
    )
    assert preview.status_code == 200, preview.text
    assert preview.json() == {
        "subject": f"Rosalind, your Tea Club card {run}",
        "text": "Dear Rosalind,\n\nYour Kew Teas Tea Club card is ready. Brewing since 1887.\n",
        "html": "<p>Dear Rosalind,</p><p>Brewing since 1887.</p>",
    }

    # a variable the catalogue does not have: 422 naming the part and the variable,
    # when saving, when previewing a draft, and in a preview's values
    misspelt = second | {"html": "<p>Dear {{ customer.nickname }}</p>"}
    refused = await gateway.post("/api/v1/templates", json=misspelt, headers=headers)
    draft = await gateway.post(
        "/api/v1/templates/preview",
        json={"key": "welcome", "text": "Use {{ coupon }} today"},
        headers=headers,
    )
    values = await gateway.post(
        "/api/v1/templates/preview",
        json={"key": "welcome", "variables": {"customer": {"nickname": "Ros"}}},
        headers=headers,
    )
    for answer, field, named in (
        (refused, "html", "customer.nickname"),
        (draft, "text", "coupon"),
        (values, "variables.customer.nickname", "not in the variable catalogue"),
    ):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == PROBLEM
        [error] = answer.json()["errors"]
        assert error["field"] == field
        assert named in error["message"]
    in_use = await gateway.get("/api/v1/templates/welcome", headers=headers)
    assert in_use.json()["version"] == 2, "a refused template is not stored"

    email = unique_email("rosalind")
    await create_customer(gateway, headers, email=email, first_name="Rosalind")

    (welcome,) = await eventually(lambda: emails_to(stack, email))
    assert welcome["subject"] == f"Rosalind, your Tea Club card {run}"
    assert plain(welcome["text"]).startswith("Dear Rosalind,\n\nYour Patron Shop Tea Club card")
    assert "<p>Dear Rosalind,</p>" in welcome["html"]
    assert "Thanks for joining" not in welcome["text"], "the built-in is not used"


async def test_loyalty_news_a_points_notice_and_a_tier_upgrade_and_a_trigger_switched_off(
    gateway: httpx.AsyncClient, probe: KafkaProbe, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    settings = await gateway.get("/api/v1/notifications/settings", headers=headers)
    assert settings.status_code == 200, settings.text
    triggers = settings.json()["triggers"]
    assert (triggers["points_adjusted"], triggers["tier_upgrade"]) == (True, True), "default"
    email = unique_email("grace")
    customer_id = await create_customer(gateway, headers, email=email, first_name="Grace")
    await welcomed(stack, email)
    points_url = f"/api/v1/customers/{customer_id}/points"

    adjusted = await gateway.post(
        points_url, json={"points": 250, "reason": "Thank you for your review"}, headers=headers
    )
    assert adjusted.status_code == 201, adjusted.text

    (notice,) = await eventually(lambda: emails_with(stack, email, "points balance changed"))
    assert "Hi Grace," in notice["text"]
    assert "We added 250 points to your account: Thank you for your review." in notice["text"]
    assert "Your balance is now 250 points." in notice["text"]
    assert "<strong>250 points</strong>" in notice["html"]
    assert "List-Unsubscribe" not in notice["headers"]  # transactional

    switched = await gateway.patch(
        "/api/v1/notifications/settings",
        json={"triggers": {"points_adjusted": False}},
        headers=headers,
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["triggers"]["points_adjusted"] is False
    assert switched.json()["triggers"]["tier_upgrade"] is True
    assert "triggers.points_adjusted" in switched.json()["own"]
    off = await gateway.post(
        points_url, json={"points": 50, "reason": "Goodwill gesture"}, headers=headers
    )
    assert off.status_code == 201, off.text

    # 110 USD paid at Bronze's 10 points a unit: 1,100 points earned, Silver from 1,000
    await publish_paid_order(probe, tenant, customer_id, f"E2E-T-{uuid.uuid4().hex[:6]}", "110.00")

    (upgrade,) = await eventually(lambda: emails_with(stack, email, "You've reached"))
    assert upgrade["subject"] == "You've reached Silver!"  # the tier's name, not its key
    assert "Congratulations, Grace!" in upgrade["text"]
    assert "- free_shipping" in upgrade["text"]  # the default program's Silver benefits
    # the customer's loyalty events come in order, one partition: the adjustment made while
    # the trigger was off was handled before the upgrade, and sent nothing
    assert await emails_with(stack, email, "Goodwill gesture") == []
    assert len(await emails_with(stack, email, "points balance changed")) == 1
    log = await gateway.get(f"/api/v1/customers/{customer_id}/notifications", headers=headers)
    templates = [entry["template"] for entry in log.json()["data"]]
    assert templates.count("points_adjusted") == 1
    assert templates.count("tier_upgrade") == 1


async def test_a_customer_segmentation_finds_at_risk_gets_the_win_back_email(
    gateway: httpx.AsyncClient, probe: KafkaProbe, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    """The real path: five orders, the last one 100 days ago, make segmentation put the
    customer in the built-in `at_risk` segment (no order for 90 days after at least 5), and
    its SegmentEntered makes notifications send `win_back`. The orders are too old to be
    confirmed (older than the service's trigger age)."""
    headers = auth(tenant)
    email = unique_email("hedy")
    customer_id = await create_customer(
        gateway, headers, email=email, first_name="Hedy", accepts_marketing=True
    )
    await welcomed(stack, email)
    now = datetime.now(UTC)
    for n in range(5):
        order = OrderPlaced(
            order_id=f"E2E-W-{n}",
            customer_id=uuid.UUID(customer_id),
            currency="EUR",
            total=Decimal("40.00"),
            placed_at=now - timedelta(days=140 - 10 * n),
            items=[OrderItem(name="Tea", quantity=1, unit_price=Decimal("40.00"))],
        )
        envelope = build_envelope(order, tenant_id=tenant, source="orders-service")
        await probe.publish(Topic.ORDER_EVENTS, envelope.to_json_bytes(), key=customer_id)

    (win_back,) = await eventually(lambda: emails_with(stack, email, "We miss you"))
    assert win_back["subject"] == "We miss you, Hedy"
    assert "It's been a while since your last visit" in win_back["text"]
    assert win_back["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = win_back["headers"]["List-Unsubscribe"].strip("<>")
    assert link in win_back["text"]

    log = await gateway.get(f"/api/v1/customers/{customer_id}/notifications", headers=headers)
    entries = log.json()["data"]
    assert [(e["template"], e["category"]) for e in entries] == [
        ("win_back", "marketing"),
        ("welcome", "transactional"),
    ], "no confirmation of orders placed months ago"
    assert [m["subject"] for m in await emails_to(stack, email)][1:] == ["We miss you, Hedy"]


async def test_a_send_notification_command_from_another_service_is_sent_once(
    gateway: httpx.AsyncClient, probe: KafkaProbe, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    email = unique_email("mary")
    customer_id = await create_customer(gateway, headers, email=email, first_name="Mary")
    await welcomed(stack, email)
    run = uuid.uuid4().hex[:6]

    def command(order_number: str, key: str) -> bytes:
        shipped = SendNotification(
            customer_id=uuid.UUID(customer_id),
            template="shipping_update",
            channel="email",
            category="transactional",
            variables={
                "order": {
                    "order_number": order_number,
                    "status": "shipped",
                    "carrier": "DHL",
                    "tracking_url": f"https://track.example.com/{order_number}",
                }
            },
            idempotency_key=key,
            requested_by="fulfilment-service",
        )
        envelope = build_envelope(shipped, tenant_id=tenant, source="fulfilment-service")
        return envelope.to_json_bytes()

    first = command(f"#S-{run}-1", f"shipment:{run}:1")
    await probe.publish(Topic.NOTIFICATION_COMMANDS, first, key=customer_id)

    (shipped,) = await eventually(lambda: emails_with(stack, email, f"#S-{run}-1"))
    assert shipped["subject"] == f"Your order #S-{run}-1 is shipped"
    assert "Hi Mary," in shipped["text"]
    assert f"is shipped with DHL.\n\nTrack it: https://track.example.com/#S-{run}-1" in (
        plain(shipped["text"])
    )
    assert "List-Unsubscribe" not in shipped["headers"]

    # the same command redelivered, and another command with the same idempotency key,
    # then a different one: in order on the customer's partition
    await probe.publish(Topic.NOTIFICATION_COMMANDS, first, key=customer_id)
    again = command(f"#S-{run}-1", f"shipment:{run}:1")
    await probe.publish(Topic.NOTIFICATION_COMMANDS, again, key=customer_id)
    marker = command(f"#S-{run}-2", f"shipment:{run}:2")
    await probe.publish(Topic.NOTIFICATION_COMMANDS, marker, key=customer_id)

    assert await eventually(lambda: emails_with(stack, email, f"#S-{run}-2"))
    assert len(await emails_with(stack, email, f"#S-{run}-1")) == 1, "sent once"
    log = await gateway.get(f"/api/v1/customers/{customer_id}/notifications", headers=headers)
    templates = [entry["template"] for entry in log.json()["data"]]
    assert templates == ["shipping_update", "shipping_update", "welcome"]


async def test_a_scheduled_campaign_is_sent_when_due_and_another_is_cancelled(
    gateway: httpx.AsyncClient, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    run = uuid.uuid4().hex[:8]
    email = unique_email("joan")
    customer_id = await create_customer(
        gateway, headers, email=email, first_name="Joan", accepts_marketing=True
    )
    await welcomed(stack, email)
    due_at = datetime.now(UTC) + timedelta(seconds=4)
    soon = {
        "name": "Spring sale, scheduled",
        "template": "flash_sale",
        "channel": "email",
        "customer_ids": [customer_id],
        "scheduled_at": due_at.isoformat(),
        "throttle_per_second": 5,
        "variables": flash_sale(f"SOON{run}"),
    }
    created = await gateway.post("/api/v1/campaigns", json=soon, headers=headers)
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert (campaign["status"], campaign["throttle_per_second"]) == ("scheduled", 5.0)
    assert datetime.fromisoformat(campaign["scheduled_at"]) == due_at
    assert campaign["started_at"] is None
    assert await emails_with(stack, email, f"SOON{run}") == []

    # a second before it is due: still nothing
    await asyncio.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() - 1))
    assert await emails_with(stack, email, f"SOON{run}") == []
    (sale,) = await eventually(lambda: emails_with(stack, email, f"SOON{run}"))
    assert datetime.fromisoformat(sale["received_at"]) >= due_at
    assert sale["subject"] == "Spring Sale: 20% off, today only"
    sent = await campaign_where(
        gateway, headers, campaign["id"], lambda c: c["counts"]["sent"] == 1
    )
    assert sent["status"] == "completed"
    assert datetime.fromisoformat(sent["started_at"]) >= due_at

    later = soon | {
        "name": "Spring sale, next month",
        "scheduled_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "throttle_per_second": 0.5,
        "variables": flash_sale(f"LATER{run}"),
    }
    created = await gateway.post("/api/v1/campaigns", json=later, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["throttle_per_second"] == 0.5
    cancelled = await gateway.post(
        f"/api/v1/campaigns/{created.json()['id']}/cancel", headers=headers
    )
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["cancelled_at"] is not None
    assert body["cancelled_by"] == "dev-user"
    assert body["started_at"] is None
    assert body["counts"]["audience"] == 1
    assert body["counts"]["targeted"] == body["counts"]["sent"] == body["counts"]["queued"] == 0
    again = await gateway.post(f"/api/v1/campaigns/{created.json()['id']}/cancel", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM

    too_fast = await gateway.post(
        "/api/v1/campaigns", json=later | {"throttle_per_second": 0}, headers=headers
    )
    assert too_fast.status_code == 422
    assert too_fast.headers["content-type"] == PROBLEM
    assert [e["field"] for e in too_fast.json()["errors"]] == ["throttle_per_second"]
    listed = await gateway.get("/api/v1/campaigns", headers=headers)
    assert [c["status"] for c in listed.json()["data"]] == ["cancelled", "completed"]
    assert await emails_with(stack, email, f"LATER{run}") == []


async def test_the_preference_centre_opts_out_of_marketing_and_keeps_order_messages(
    gateway: httpx.AsyncClient, probe: KafkaProbe, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    run = uuid.uuid4().hex[:8]
    email = unique_email("dorothy")
    customer_id = await create_customer(
        gateway, headers, email=email, first_name="Dorothy", accepts_marketing=True
    )
    await welcomed(stack, email)
    campaign = {
        "name": "Spring sale",
        "template": "flash_sale",
        "channel": "email",
        "customer_ids": [customer_id],
        "send_now": True,
        "variables": flash_sale(f"PREF{run}"),
    }
    created = await gateway.post("/api/v1/campaigns", json=campaign, headers=headers)
    assert created.status_code == 201, created.text
    (offer,) = await eventually(lambda: emails_with(stack, email, f"PREF{run}"))
    token = urlsplit(offer["headers"]["List-Unsubscribe"].strip("<>")).path.rsplit("/", 1)[-1]

    # the customer's own door: the link's token is the credential, no bearer token
    async with httpx.AsyncClient(base_url=stack["PATRON_GATEWAY_URL"], timeout=15) as public:
        mine = await public.get(f"/api/v1/preferences/{token}")
        assert mine.status_code == 200, mine.text
        assert mine.json()["customer_id"] == customer_id
        assert mine.json()["email_marketing"] is True
        assert mine.json()["email"] != email, "masked"
        changed = await public.put(f"/api/v1/preferences/{token}", json={"email_marketing": False})
    assert changed.status_code == 200, changed.text
    assert changed.json()["email_marketing"] is False
    assert changed.json()["email_unsubscribed"] is False, "transactional email still goes"

    again = await gateway.post(
        "/api/v1/campaigns", json=campaign | {"name": "Spring sale, again"}, headers=headers
    )
    assert again.status_code == 201, again.text
    skipped = await campaign_where(
        gateway, headers, again.json()["id"], lambda c: c["counts"]["skipped"] == 1
    )
    assert skipped["counts"]["skipped_by_reason"] == {"no_marketing_consent": 1}
    assert skipped["counts"]["sent"] == 0

    order_id = f"E2E-P-{run}"
    await place_order(probe, tenant, customer_id, order_id, "25.00")
    (confirmation,) = await eventually(lambda: emails_with(stack, email, order_id))
    assert confirmation["subject"] == f"Order #{order_id} confirmed"
    assert len(await emails_with(stack, email, f"PREF{run}")) == 1, "one offer, before opting out"

    async def withdrawn_at_profile() -> bool:
        response = await gateway.get(f"/api/v1/customers/{customer_id}", headers=headers)
        return response.json()["accepts_marketing"] is False

    assert await eventually(withdrawn_at_profile), "the customer record learns the opt-out"


async def test_a_sent_message_is_announced_on_kafka(
    gateway: httpx.AsyncClient, probe: KafkaProbe, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    since = await probe.end_offsets(Topic.NOTIFICATION_EVENTS)
    email = unique_email("barbara")
    customer_id = await create_customer(gateway, headers, email=email, first_name="Barbara")

    def sent(records: list[Any]) -> list[dict[str, Any]]:
        events = [json.loads(r.value) for r in records]
        return [
            e
            for e in events
            if e["type"] == "NotificationSent" and e["data"]["customer_id"] == customer_id
        ]

    records = await probe.collect(Topic.NOTIFICATION_EVENTS, since, until=lambda rs: bool(sent(rs)))
    [event] = sent(records)
    assert event["tenant_id"] == tenant
    assert event["data"]["template"] == "welcome"
    assert (event["data"]["channel"], event["data"]["category"]) == ("email", "transactional")
    (welcome,) = await eventually(lambda: emails_to(stack, email))
    assert welcome["subject"] == "Welcome to Patron Shop, Barbara!"
    log = await gateway.get(f"/api/v1/customers/{customer_id}/notifications", headers=headers)
    [entry] = log.json()["data"]
    assert event["data"]["notification_id"] == entry["id"]
    assert entry["status"] == "sent"
