"""Across the running stack: customers created at the profile and their orders on Kafka ->
welcome and order confirmation messages in the real SMTP and SMS sinks; a campaign that
reaches only those who opted in, with a one-click unsubscribe link that works and reaches
the customer record; an SMS status callback marking a text delivered."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from patron_notifications.domain.status_callback import twilio_signature
from patron_shared.testing import KafkaProbe

from .journeys import create_customer, emails_to, place_order
from .test_customer_flow import eventually

pytestmark = pytest.mark.e2e

# the stack's notifications service runs on the development defaults
SMS_AUTH_TOKEN = "development-auth-token"


async def texts_to(stack: dict[str, str], number: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=stack["PATRON_SMS_SINK_URL"], timeout=15) as sink:
        response = await sink.get("/messages")
    response.raise_for_status()
    return [m for m in response.json() if m["to"] == number]


async def test_a_new_customer_is_welcomed_and_their_order_confirmed_by_email(
    gateway: httpx.AsyncClient, probe: KafkaProbe, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    email = f"ada-{uuid.uuid4().hex[:8]}@e2e.example"
    customer_id = await create_customer(
        gateway, headers, email=email, first_name="Ada", last_name="Lovelace"
    )

    async def welcome() -> list[dict[str, Any]]:
        return [m for m in await emails_to(stack, email) if "Welcome" in (m["subject"] or "")]

    (welcomed,) = await eventually(welcome)
    assert welcomed["subject"].endswith("Ada!")
    assert "Hi Ada," in welcomed["text"]
    assert "Hi Ada," in welcomed["html"]
    assert welcomed["headers"]["To"] == email
    # transactional: no unsubscribe headers
    assert "List-Unsubscribe" not in welcomed["headers"]

    await place_order(probe, tenant, customer_id, "E2E-N-1001", "25.00")

    async def confirmation() -> list[dict[str, Any]]:
        return [m for m in await emails_to(stack, email) if "E2E-N-1001" in (m["subject"] or "")]

    (confirmed,) = await eventually(confirmation)
    assert "Enamel mug" in confirmed["text"]
    assert "EUR 25.00" in confirmed["text"]

    async def log() -> list[dict[str, Any]] | None:
        response = await gateway.get(
            f"/api/v1/customers/{customer_id}/notifications", headers=headers
        )
        entries: list[dict[str, Any]] = response.json()["data"]
        return (
            entries if len(entries) == 2 and all(e["status"] == "sent" for e in entries) else None
        )

    entries = await eventually(log)
    assert entries is not None, "both messages show as sent in the customer's log"
    assert [e["template"] for e in entries] == ["order_confirmation", "welcome"]
    # a redelivered order event sends nothing twice
    await place_order(probe, tenant, customer_id, "E2E-N-1001", "25.00")
    assert len(await eventually(confirmation, timeout_s=3)) == 1


async def test_a_campaign_reaches_those_who_opted_in_and_its_unsubscribe_link_works(
    gateway: httpx.AsyncClient, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    run = uuid.uuid4().hex[:8]
    opted_in, not_opted_in = f"yes-{run}@e2e.example", f"no-{run}@e2e.example"
    keen = await create_customer(
        gateway, headers, email=opted_in, first_name="Grace", accepts_marketing=True
    )
    shy = await create_customer(gateway, headers, email=not_opted_in, first_name="Alan")
    await eventually(lambda: emails_to(stack, not_opted_in))  # both are known (welcomed)
    await eventually(lambda: emails_to(stack, opted_in))
    sale = {
        "name": "Winter Sale",
        "discount": "30%",
        "code": f"WINTER{run}",
        "ends_at": "2026-12-31T23:59:00Z",
        "url": "https://shop.example.com/sale",
    }
    body = {
        "name": "Winter sale",
        "template": "flash_sale",
        "channel": "email",
        "customer_ids": [keen, shy],
        "send_now": True,
        "variables": {"sale": sale},
    }
    created = await gateway.post("/api/v1/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]

    async def sale_emails(recipient: str) -> list[dict[str, Any]]:
        return [m for m in await emails_to(stack, recipient) if sale["code"] in (m["text"] or "")]

    (offer,) = await eventually(lambda: sale_emails(opted_in))
    assert offer["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = offer["headers"]["List-Unsubscribe"].strip("<>")
    assert link in offer["text"]

    async def counts() -> dict[str, Any] | None:
        response = await gateway.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)
        campaign: dict[str, Any] = response.json()
        return campaign if campaign["counts"]["sent"] == 1 else None

    campaign = await eventually(counts)
    assert campaign is not None
    assert campaign["counts"]["skipped"] == 1
    assert await sale_emails(not_opted_in) == []

    # RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the link, no login
    path = urlsplit(link).path
    async with httpx.AsyncClient(base_url=stack["PATRON_GATEWAY_URL"], timeout=15) as public:
        answered = await public.post(
            path,
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answered.status_code == 200, answered.text

    async def withdrawn_at_profile() -> bool:
        response = await gateway.get(f"/api/v1/customers/{keen}", headers=headers)
        return response.json()["accepts_marketing"] is False

    assert await eventually(withdrawn_at_profile), "the customer record learns the opt-out"
    again = await gateway.post(
        "/api/v1/campaigns", json=body | {"name": "Winter sale, again"}, headers=headers
    )
    assert again.status_code == 201, again.text

    async def second_done() -> dict[str, Any] | None:
        response = await gateway.get(f"/api/v1/campaigns/{again.json()['id']}", headers=headers)
        campaign: dict[str, Any] = response.json()
        return campaign if campaign["counts"]["skipped"] == 2 else None

    assert await eventually(second_done) is not None
    assert len(await sale_emails(opted_in)) == 1, "nothing more after unsubscribing"


async def test_an_order_confirmation_goes_by_sms_and_its_status_callback_marks_it_delivered(
    gateway: httpx.AsyncClient, probe: KafkaProbe, stack: dict[str, str], tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    number = f"+1415555{uuid.uuid4().int % 10_000:04d}"
    customer_id = await create_customer(gateway, headers, phone=number, first_name="Katherine")
    await place_order(probe, tenant, customer_id, "E2E-S-77", "40.00")

    (text,) = await eventually(lambda: texts_to(stack, number))
    assert "Katherine" in text["body"]
    assert "E2E-S-77" in text["body"]
    callback = text["status_callback"]
    assert callback.startswith(stack["PATRON_GATEWAY_URL"])

    form = {"MessageSid": text["sid"], "MessageStatus": "delivered", "To": number}
    signature = twilio_signature(callback, form, SMS_AUTH_TOKEN)
    async with httpx.AsyncClient(timeout=15) as provider:
        answered = await provider.post(
            callback,
            content=urlencode(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
    assert answered.status_code < 300, answered.text

    async def delivered() -> list[dict[str, Any]]:
        response = await gateway.get(
            f"/api/v1/customers/{customer_id}/notifications", headers=headers
        )
        return [e for e in response.json()["data"] if e["status"] == "delivered"]

    (entry,) = await eventually(delivered)
    assert (entry["channel"], entry["template"]) == ("sms", "order_confirmation")
