"""The delivery worker beside the running service sends what is queued, on its own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.app import create_app
from patron_notifications.domain.delivery import Delivery, idempotency_key
from patron_notifications.settings import NotificationsSettings
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration


async def test_a_queued_message_is_sent_by_the_worker_of_a_running_service(
    sink_settings: NotificationsSettings, stack: dict[str, str], tenant: str
) -> None:
    app = create_app(sink_settings)
    runtime: ServiceRuntime = app.state.runtime
    customer = uuid.uuid4()
    recipient = f"worker-{uuid.uuid4().hex[:10]}@patron-tests.example"
    delivery = Delivery(
        delivery_id=uuid.uuid4(),
        customer_id=customer,
        channel="email",
        category="transactional",
        template_key="welcome",
        idempotency_key=idempotency_key("worker-test", "welcome", customer, "email"),
        recipient=recipient,
        created_at=datetime.now(UTC),
        cause="worker-test",
        subject="Welcome",
        text="Hello from the worker",
    )
    async with app.router.lifespan_context(app):
        async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
            await uow.deliveries.queue([delivery])
            await uow.commit()
        status = "queued"
        for _ in range(100):
            async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
                stored = await uow.deliveries.get(delivery.delivery_id)
            assert stored is not None
            status = stored.status
            if status == "sent":
                break
            await asyncio.sleep(0.1)
    assert status == "sent"
    async with httpx.AsyncClient(timeout=10) as client:
        captured = (await client.get(f"{stack['PATRON_SMTP_SINK_URL']}/messages")).json()
    mine = [m for m in captured if recipient in m["recipients"]]
    assert [m["text"].strip() for m in mine] == ["Hello from the worker"]
