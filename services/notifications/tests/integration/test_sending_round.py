"""A sending round on the real database and the local stack's real SMTP sink (due messages
claimed, sent, recorded, announced; a permanent failure failed at once; a transient one
tried again after its backoff), and the delivery log through the API."""

from __future__ import annotations

import random
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from patron_notifications.adapters.channels import build_channels
from patron_notifications.adapters.deliveries import claim_due_deliveries
from patron_notifications.adapters.smtp import SmtpConfig, SmtpEmailSender
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.channels import EmailSender, OutgoingEmail, SendResult
from patron_notifications.domain.delivery import Delivery, RetryPolicy, idempotency_key
from patron_notifications.service.sending import message_id_of, send_due_deliveries
from patron_notifications.settings import NotificationsSettings
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, read_stack_env

pytestmark = pytest.mark.integration


def message(channel: str, recipient: str, at: datetime) -> Delivery:
    customer = uuid.uuid4()
    return Delivery(
        delivery_id=uuid.uuid4(),
        customer_id=customer,
        channel=channel,  # type: ignore[arg-type]
        category="transactional",
        template_key="order_confirmation",
        idempotency_key=idempotency_key("order-1", "order_confirmation", customer, "email"),
        recipient=recipient,
        created_at=at,
        cause="order-1",
        subject="Your order",
        text="Thank you for your order.",
        html="<p>Thank you for your order.</p>",
    )


async def test_a_round_sends_due_messages_records_them_and_announces_them(
    runtime: ServiceRuntime, tenant: str
) -> None:
    stack = read_stack_env()
    if "PATRON_SMTP_SINK_URL" not in stack:
        pytest.fail("the local stack's sinks are not running: `uv run patron stack up`")
    # a moment of this test's own: what other tests left queued is older and goes first
    now = datetime(2400, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 10_000))
    run = uuid.uuid4().hex[:10]
    emails = [message("email", f"round-{run}-{n}@patron-tests.example", now) for n in range(12)]
    bad_sms = message("sms", "not-a-number", now)
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        assert len(await uow.deliveries.queue([*emails, bad_sms])) == 13
        await uow.commit()

    settings = NotificationsSettings(
        smtp_host=stack["PATRON_SMTP_HOST"], smtp_port=int(stack["PATRON_SMTP_PORT"])
    )
    channels = build_channels(settings)
    try:
        round_ = await send_due_deliveries(
            lambda at, limit, lease: claim_due_deliveries(runtime.engine, at, limit, lease),
            lambda of: runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=of),
            channels.email,
            channels.sms,
            lambda: now,
            limit=10_000,
        )
    finally:
        await channels.close()
    assert round_.claimed >= 13

    async with httpx.AsyncClient(timeout=10) as client:
        captured = (await client.get(f"{stack['PATRON_SMTP_SINK_URL']}/messages")).json()
    ours = [m for m in captured if any(r.startswith(f"round-{run}-") for r in m["recipients"])]
    assert sorted(r for m in ours for r in m["recipients"]) == sorted(e.recipient for e in emails)
    assert {m["headers"]["Message-ID"] for m in ours} == {
        message_id_of(e.delivery_id) for e in emails
    }

    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        stored = {
            d.delivery_id: d
            for d in [await uow.deliveries.get(e.delivery_id) for e in [*emails, bad_sms]]
            if d
        }
    assert {stored[e.delivery_id].status for e in emails} == {"sent"}
    assert stored[bad_sms.delivery_id].status == "failed"
    assert stored[bad_sms.delivery_id].attempts == 1

    outbox = runtime.messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = (
            await connection.execute(select(outbox.c.payload).where(outbox.c.tenant_id == tenant))
        ).all()
    events: list[dict[str, Any]] = [row.payload for row in rows]
    sent = [e for e in events if e["type"] == "NotificationSent"]
    failed = [e for e in events if e["type"] == "NotificationFailed"]
    assert sorted(e["data"]["notification_id"] for e in sent) == sorted(
        str(e.delivery_id) for e in emails
    )
    assert [(e["data"]["notification_id"], e["data"]["permanent"]) for e in failed] == [
        (str(bad_sms.delivery_id), True)
    ]


class FirstAttemptToADeadServer:
    """The sink's sender, except that the first attempt of each message to `unlucky` goes
    to an SMTP server that is down (a real refused connection: a transient error)."""

    def __init__(self, sink: EmailSender, unlucky: str) -> None:
        self.sink = sink
        self.unlucky = unlucky
        self.dead = SmtpEmailSender(
            SmtpConfig(host="127.0.0.1", port=free_port(), sender="tests@patron.example")
        )

    async def send(self, message: OutgoingEmail) -> SendResult:
        if message.to == self.unlucky:
            self.unlucky = ""
            return await self.dead.send(message)
        return await self.sink.send(message)

    async def close(self) -> None:
        await self.dead.close()
        await self.sink.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_a_transient_failure_is_retried_after_its_backoff_and_then_sent_once(
    runtime: ServiceRuntime, tenant: str
) -> None:
    stack = read_stack_env()
    if "PATRON_SMTP_SINK_URL" not in stack:
        pytest.fail("the local stack's sinks are not running: `uv run patron stack up`")
    now = datetime(2430, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 10_000))
    run = uuid.uuid4().hex[:10]
    unlucky = message("email", f"retry-{run}@patron-tests.example", now)
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await uow.deliveries.queue([unlucky])
        await uow.commit()
    settings = NotificationsSettings(
        smtp_host=stack["PATRON_SMTP_HOST"], smtp_port=int(stack["PATRON_SMTP_PORT"])
    )
    channels = build_channels(settings)
    email = FirstAttemptToADeadServer(channels.email, unlucky.recipient)
    policy = RetryPolicy()

    async def round_at(at: datetime) -> None:
        await send_due_deliveries(
            lambda due, limit, lease: claim_due_deliveries(runtime.engine, due, limit, lease),
            lambda of: runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=of),
            email,
            channels.sms,
            lambda: at,
            limit=10_000,
            policy=policy,
        )

    async def stored() -> Delivery:
        async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
            found = await uow.deliveries.get(unlucky.delivery_id)
        assert found is not None
        return found

    async def received() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=10) as client:
            captured = (await client.get(f"{stack['PATRON_SMTP_SINK_URL']}/messages")).json()
        return [m for m in captured if unlucky.recipient in m["recipients"]]

    try:
        await round_at(now)
        after_failure = await stored()
        # the first wait: `first`, scaled down by at most the jitter
        earliest = now + policy.first * (1 - policy.jitter)
        assert after_failure.next_attempt_at is not None
        assert earliest <= after_failure.next_attempt_at <= now + policy.first
        assert (after_failure.status, after_failure.attempts) == ("queued", 1)
        assert "SMTP server unreachable" in (after_failure.last_error or "")

        await round_at(earliest - timedelta(seconds=1))  # not due yet: left alone
        assert (await stored()).attempts == 1
        await round_at(after_failure.next_attempt_at)
    finally:
        await email.close()

    sent = await stored()
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)
    [arrived] = await received()
    assert arrived["headers"]["Message-ID"] == message_id_of(unlucky.delivery_id)
    outbox = runtime.messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = (
            await connection.execute(select(outbox.c.payload).where(outbox.c.tenant_id == tenant))
        ).all()
    announced = [(row.payload["type"], row.payload["data"]["notification_id"]) for row in rows]
    assert announced == [("NotificationSent", str(unlucky.delivery_id))], "a retry is no failure"


async def test_the_delivery_log_pages_a_customers_messages_newest_first_and_masks_the_address(
    runtime: ServiceRuntime, tenant: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer = uuid.uuid4()
    # not due for centuries: no worker sends them while this looks at them
    start = datetime(2500, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 10_000))
    sent = []
    for n in range(5):
        item = message("email", f"log-{n}@patron-tests.example", start + timedelta(minutes=n))
        sent.append(Delivery(**{**item.__dict__, "customer_id": customer}))
    sent[1].skip("no_marketing_consent")
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await uow.deliveries.queue(sent)
        await uow.commit()

    url = f"/api/v1/customers/{customer}/notifications"
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"per_page": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(url, params=params, headers=admin)).json()
        seen += page["data"]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    assert [s["id"] for s in seen] == [str(d.delivery_id) for d in reversed(sent)]
    assert [s["status"] for s in seen] == ["queued", "queued", "queued", "skipped", "queued"]
    assert seen[3]["skipped_reason"] == "no_marketing_consent"
    assert seen[0]["recipient"] == "log-4@patron-tests.example"  # admin holds customers:pii

    reader = bearer_headers(tenant, scopes=["notifications:read"])
    masked = (await client.get(url, headers=reader)).json()["data"][0]["recipient"]
    assert masked != "log-4@patron-tests.example"
    assert "@" in masked
    assert (await client.get(url, params={"cursor": "x"}, headers=admin)).status_code == 422
