"""An SMS report that comes before the sending worker recorded the message's sid, on a real
database: answered 202 and kept, then applied (and announced) in the transaction that
records the sid, so that the message ends as it would have with the report after; the two
racing each other lose nothing either way; reports never claimed are purged after a day."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from patron_notifications.adapters.deliveries import purge_early_sms_reports
from patron_notifications.adapters.delivery_tables import deliveries, early_sms_reports
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.channels import (
    OutgoingEmail,
    OutgoingSms,
    SendResult,
)
from patron_notifications.domain.delivery import Delivery
from patron_notifications.domain.sms_reports import EarlyReport
from patron_notifications.domain.status_callback import (
    SmsStatus,
    SmsStatusUpdate,
    twilio_signature,
)
from patron_notifications.service.sending import send_due_deliveries
from patron_notifications.service.sms_status import purge_unclaimed_early_reports
from patron_notifications.settings import NotificationsSettings
from patron_shared.http import ServiceRuntime
from patron_shared.testing import unique_tenant

from ..unit.deliveries import shipping_sms, stored  # noqa: TID252 - one SMS to build on

pytestmark = pytest.mark.integration
PATH = "/api/v1/notifications/sms/status"


class ProviderAccepting:
    """An SMS provider that accepts every message under the sid it is told to give."""

    def __init__(self, sid: str) -> None:
        self.sid = sid

    async def send(self, message: OutgoingSms) -> SendResult:
        return SendResult(provider_message_id=self.sid)

    async def close(self) -> None:
        return None


class NoEmail:
    async def send(self, message: OutgoingEmail) -> SendResult:
        raise AssertionError("no email in these tests")

    async def close(self) -> None:
        return None


async def sms_being_sent(runtime: ServiceRuntime, tenant: str) -> Delivery:
    """An SMS of `tenant` a worker has claimed (attempt 1) and is sending, as the claim
    leaves it; leased for centuries, so that no other worker takes it."""
    far = datetime(2600, 1, 1, tzinfo=UTC) + timedelta(days=random.randint(0, 10_000))
    sms = shipping_sms(cause="order-7", next_attempt_at=far)
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        await uow.deliveries.queue([sms])
        await uow.session.execute(
            update(deliveries)
            .where(deliveries.c.delivery_id == sms.delivery_id)
            .values(status="sending", attempts=1, next_attempt_at=None, lease_until=far)
        )
        await uow.commit()
    sms.status, sms.attempts, sms.next_attempt_at = "sending", 1, None
    return sms


async def record_sending(
    runtime: ServiceRuntime, tenant: str, sms: Delivery, sid: str, *, at: datetime
) -> None:
    """The worker's round for this one SMS: the provider takes it as `sid`, the outcome is
    recorded (and announced)."""

    async def claim(_now: datetime, _limit: int, _lease: timedelta) -> list[tuple[str, Delivery]]:
        return [(tenant, sms)]

    round_ = await send_due_deliveries(
        claim,
        lambda of: runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=of),
        NoEmail(),
        ProviderAccepting(sid),
        lambda: at,
    )
    assert round_.sent == 1


def report(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": "ACdevelopment", "MessageStatus": status, **extra}


async def post(
    client: httpx.AsyncClient, settings: NotificationsSettings, tenant: str, form: dict[str, str]
) -> httpx.Response:
    url = f"{settings.public_base_url.rstrip('/')}{PATH}/{tenant}"
    signature = twilio_signature(url, form, settings.sms_auth_token.get_secret_value())
    return await client.post(
        f"{PATH}/{tenant}", data=form, headers={"X-Twilio-Signature": signature}
    )


async def announced(runtime: ServiceRuntime, tenant: str) -> list[tuple[str, Any]]:
    """The tenant's events in the outbox, oldest first: (type, status or None)."""
    outbox = runtime.messaging.outbox
    async with runtime.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(outbox.c.payload).where(outbox.c.tenant_id == tenant).order_by(outbox.c.seq)
            )
        ).all()
    return [(row.payload["type"], row.payload["data"].get("status")) for row in rows]


async def kept(runtime: ServiceRuntime, tenant: str) -> list[str]:
    """The sids of the tenant's kept early reports."""
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        return list(await uow.session.scalars(select(early_sms_reports.c.message_sid)))


def sid() -> str:
    return "SM" + uuid.uuid4().hex


@dataclass(frozen=True)
class Case:
    status: str
    error: dict[str, str]
    ends: str
    announcement: str
    report_first: bool


CASES = [
    Case(status, error, ends, announcement, report_first)
    for status, error, ends, announcement in (
        ("delivered", {}, "delivered", "delivered"),
        (
            "undelivered",
            {"ErrorCode": "30005", "ErrorMessage": "Unknown handset"},
            "failed",
            "bounced",
        ),
    )
    for report_first in (True, False)
]


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=[f"{c.status}-{'report' if c.report_first else 'sid'}-first" for c in CASES],
)
async def test_the_sms_ends_the_same_whichever_comes_first(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    service_settings: NotificationsSettings,
    tenant: str,
    case: Case,
) -> None:
    status, error, ends, announcement = case.status, case.error, case.ends, case.announcement
    sms = await sms_being_sent(runtime, tenant)
    given = sid()
    sent_at = datetime.now(UTC)

    if case.report_first:
        answered = await post(client, service_settings, tenant, report(given, status, **error))
        assert answered.status_code == 202, answered.text
        assert answered.json() == {"notification_id": None, "status": None, "changed": False}
        assert await kept(runtime, tenant) == [given]
        assert (await stored(runtime, tenant, sms)).status == "sending"
        await record_sending(runtime, tenant, sms, given, at=sent_at)
    else:
        await record_sending(runtime, tenant, sms, given, at=sent_at)
        answered = await post(client, service_settings, tenant, report(given, status, **error))
        assert answered.status_code == 200, answered.text
        assert answered.json()["changed"] is True

    after = await stored(runtime, tenant, sms)
    assert (after.status, after.provider_message_id, after.sent_at) == (ends, given, sent_at)
    if ends == "failed":
        assert after.last_error == "SMS undelivered by the provider (error 30005): Unknown handset"
        assert after.failed_at is not None
        assert after.failed_at >= sent_at
    else:
        assert after.delivered_at is not None
        assert after.delivered_at >= sent_at
    assert await announced(runtime, tenant) == [
        ("NotificationSent", None),
        ("NotificationDelivered", announcement),
    ]
    assert await kept(runtime, tenant) == []  # claimed as the sid was recorded


async def test_the_first_final_early_report_counts_and_intermediate_ones_are_not_kept(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    service_settings: NotificationsSettings,
    tenant: str,
) -> None:
    sms = await sms_being_sent(runtime, tenant)
    given = sid()

    answers = [
        await post(client, service_settings, tenant, report(given, status))
        for status in ("queued", "sent", "delivered", "failed")
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 202]
    await record_sending(runtime, tenant, sms, given, at=datetime.now(UTC))

    assert (await stored(runtime, tenant, sms)).status == "delivered"
    assert [status for _, status in await announced(runtime, tenant)] == [None, "delivered"]


async def test_a_report_read_while_the_sid_is_being_recorded_waits_and_applies(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    service_settings: NotificationsSettings,
    tenant: str,
) -> None:
    """The worker has written the sid and claimed the early reports (none) but not yet
    committed: a report then must not be kept where nobody will claim it."""
    sms = await sms_being_sent(runtime, tenant)
    given = sid()
    sms.succeeded(given, datetime.now(UTC))
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as worker:
        assert await worker.deliveries.record_outcomes([sms]) == {sms.delivery_id}
        assert await worker.deliveries.claim_early_reports([given]) == {}
        racing = asyncio.create_task(
            post(client, service_settings, tenant, report(given, "delivered"))
        )
        await asyncio.sleep(0.5)
        assert not racing.done()  # held until the worker's transaction ends
        await worker.commit()
    answered = await racing

    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "delivered"
    assert (await stored(runtime, tenant, sms)).status == "delivered"
    assert await kept(runtime, tenant) == []


async def test_a_report_being_kept_while_the_worker_records_the_sid_is_claimed(
    runtime: ServiceRuntime, tenant: str
) -> None:
    """A report has found no message and is being kept, not yet committed: the worker
    recording the sid then must wait for it and apply it."""
    sms = await sms_being_sent(runtime, tenant)
    given = sid()
    received = datetime.now(UTC)
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as callback:
        assert await callback.deliveries.by_provider_message_id(given) is None
        assert await callback.deliveries.keep_early_report(
            EarlyReport(SmsStatusUpdate(given, SmsStatus.DELIVERED), received)
        )
        recording = asyncio.create_task(record_sending(runtime, tenant, sms, given, at=received))
        await asyncio.sleep(0.5)
        assert not recording.done()  # held until the report is kept
        await callback.commit()
    await recording

    after = await stored(runtime, tenant, sms)
    assert (after.status, after.delivered_at) == ("delivered", received)
    assert await kept(runtime, tenant) == []


async def test_early_reports_are_the_tenants_own(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    service_settings: NotificationsSettings,
    tenant: str,
) -> None:
    other = unique_tenant("notifications")
    sms = await sms_being_sent(runtime, tenant)
    given = sid()

    # kept for another tenant (its URL, its signature): not this tenant's message
    answered = await post(client, service_settings, other, report(given, "failed"))
    await record_sending(runtime, tenant, sms, given, at=datetime.now(UTC))

    assert answered.status_code == 202, answered.text
    assert (await stored(runtime, tenant, sms)).status == "sent"
    assert (await kept(runtime, tenant), await kept(runtime, other)) == ([], [given])


async def test_reports_nobody_claimed_are_purged_after_a_day(
    runtime: ServiceRuntime, tenant: str
) -> None:
    now = datetime.now(UTC)
    old, recent = sid(), sid()
    other = unique_tenant("notifications")
    for of, given, at in (
        (tenant, old, now - timedelta(days=1, minutes=1)),
        (other, sid(), now - timedelta(days=2)),
        (tenant, recent, now - timedelta(hours=23)),
    ):
        async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=of) as uow:
            report_ = EarlyReport(SmsStatusUpdate(given, SmsStatus.FAILED), at)
            assert await uow.deliveries.keep_early_report(report_)
            await uow.commit()

    purged = await purge_unclaimed_early_reports(
        lambda before: purge_early_sms_reports(runtime.engine, before), now=now
    )

    assert purged >= 2  # every tenant's, other tests' too
    assert await kept(runtime, tenant) == [recent]
    assert await kept(runtime, other) == []


async def test_the_application_role_sees_no_early_report_without_a_tenant(
    runtime: ServiceRuntime, tenant: str
) -> None:
    async with runtime.unit_of_work(NotificationsUnitOfWork, tenant_id=tenant) as uow:
        report_ = EarlyReport(SmsStatusUpdate(sid(), SmsStatus.FAILED), datetime.now(UTC))
        assert await uow.deliveries.keep_early_report(report_)
        await uow.commit()

    async with runtime.engine.connect() as connection:
        seen = await connection.scalar(select(func.count()).select_from(early_sms_reports))

    assert seen == 0
