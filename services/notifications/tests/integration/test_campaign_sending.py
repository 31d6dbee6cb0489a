"""A campaign end to end in a running service: created through the API to send now, its
audience queued by the campaign runner, sent by the delivery worker to the local stack's
real SMTP sink, and the counts following it to the end."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from patron_notifications.adapters.campaigns import CampaignsUnitOfWork
from patron_notifications.adapters.tables import contacts
from patron_notifications.app import create_app
from patron_notifications.settings import NotificationsSettings
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

pytestmark = pytest.mark.integration


async def test_a_small_campaign_reaches_exactly_its_opted_in_customers_with_one_click_unsubscribe(
    sink_settings: NotificationsSettings, stack: dict[str, str], tenant: str
) -> None:
    settings = sink_settings.model_copy(update={"campaign_runner_interval_seconds": 0.2})
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    run = uuid.uuid4().hex[:10]
    customers = {uuid.uuid4(): f"campaign-{run}-{n}@patron-tests.example" for n in range(6)}
    unwilling = next(iter(customers))
    async with runtime.unit_of_work(CampaignsUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            insert(contacts),
            [
                {
                    "tenant_id": tenant,
                    "customer_id": customer_id,
                    "email": email,
                    "first_name": f"Guest{n}",
                    "accepts_marketing": customer_id != unwilling,
                    "source_updated_at": datetime(2026, 1, 1, tzinfo=UTC),
                }
                for n, (customer_id, email) in enumerate(customers.items())
            ],
        )
        await uow.commit()
    admin = bearer_headers(tenant, "admin")
    sale = {
        "name": "Flash",
        "discount": "20%",
        "code": f"CODE{run}",
        "ends_at": "2026-12-31T23:59:00Z",
        "url": "https://shop.example.com/sale",
    }

    body: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as api:
            created = await api.post(
                "/api/v1/campaigns",
                json={
                    "name": f"Flash {run}",
                    "template": "flash_sale",
                    "channel": "email",
                    "customer_ids": [str(c) for c in customers],
                    "send_now": True,
                    "variables": {"sale": sale},
                },
                headers=admin,
            )
            assert created.status_code == 201, created.text
            url = f"/api/v1/campaigns/{created.json()['id']}"
            for _ in range(300):
                body = (await api.get(url, headers=admin)).json()
                if body["status"] == "completed":
                    break
                await asyncio.sleep(0.1)

    assert body["status"] == "completed", body
    assert body["counts"] | {"skipped_by_reason": None} == {
        "audience": 6,
        "targeted": 6,
        "waiting": 0,
        "queued": 0,
        "sending": 0,
        "sent": 5,
        "delivered": 0,
        "failed": 0,
        "skipped": 1,
        "skipped_by_reason": None,
    }
    assert body["counts"]["skipped_by_reason"] == {"no_marketing_consent": 1}
    async with httpx.AsyncClient(timeout=10) as client:
        captured = (await client.get(f"{stack['PATRON_SMTP_SINK_URL']}/messages")).json()
    ours = [m for m in captured if any(r.startswith(f"campaign-{run}-") for r in m["recipients"])]
    expected = sorted(email for cid, email in customers.items() if cid != unwilling)
    assert sorted(r for m in ours for r in m["recipients"]) == expected
    first_names = {email: f"Guest{n}" for n, email in enumerate(customers.values())}
    links = set()
    for message in ours:
        assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = message["headers"]["List-Unsubscribe"].strip("<>")
        assert "/api/v1/unsubscribe" in link
        assert link in message["text"]
        links.add(link)
        assert f"CODE{run}" in message["text"]
        # personalised: each customer's own name in both bodies
        [recipient] = message["recipients"]
        assert message["text"].startswith(f"Hi {first_names[recipient]},")
        assert f"<p>Hi {first_names[recipient]},</p>" in message["html"]
    assert len(links) == len(ours), "each customer's own unsubscribe link"
