"""Working off the delivery queue: claim due messages (any tenant), send them, record what
each attempt came to and announce it.

A round claims up to `limit` messages (a lease each), sends them `concurrency` at a time
outside any transaction, then records every outcome of a tenant in one transaction with
its `NotificationSent` / `NotificationFailed` events, and applies any final report the SMS
provider sent about a recorded sid before it was recorded (with its
`NotificationDelivered`: the same as had it come after). A worker that dies mid-round leaves
its leases to lapse: the messages are claimed again, as another attempt. A message the
provider accepted just before such a death can go twice; the email keeps its Message-ID
(the delivery's id) so that receiving systems can tell.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from patron_notifications.domain.channels import (
    DeliveryError,
    EmailSender,
    OutgoingEmail,
    OutgoingSms,
    SendResult,
    SmsSender,
)
from patron_notifications.domain.delivery import Delivery, DeliveryStatus, RetryPolicy
from patron_notifications.domain.sms_reports import EarlyReport, with_early_report
from patron_notifications.service.sms_status import delivery_event
from patron_shared.db.ports import EmittingUnitOfWorkProtocol
from patron_shared.events import Contract, NotificationFailed, NotificationSent


class OutcomeRecorder(Protocol):
    async def record_outcomes(self, outcomes: Sequence[Delivery]) -> set[uuid.UUID]: ...
    async def claim_early_reports(self, sids: Sequence[str]) -> dict[str, EarlyReport]: ...
    async def record_report(self, delivery: Delivery, previous: DeliveryStatus) -> bool: ...


class SendingUnitOfWork(EmittingUnitOfWorkProtocol, Protocol):
    @property
    def deliveries(self) -> OutcomeRecorder: ...


DEFAULT_RETRIES = RetryPolicy()
Claim = Callable[[datetime, int, timedelta], Awaitable[list[tuple[str, Delivery]]]]
# Where the SMS provider reports a tenant's messages' delivery (None: no reports asked for).
StatusCallbackUrl = Callable[[str], str | None]


@dataclass(frozen=True)
class SendingRound:
    claimed: int
    sent: int
    retrying: int
    failed: int


async def send_due_deliveries(
    claim: Claim,
    new_uow: Callable[[str], SendingUnitOfWork],
    email: EmailSender,
    sms: SmsSender,
    now: Callable[[], datetime],
    *,
    limit: int = 200,
    lease: timedelta = timedelta(minutes=5),
    concurrency: int = 20,
    policy: RetryPolicy = DEFAULT_RETRIES,
    rng: random.Random | None = None,
    status_callback_url: StatusCallbackUrl | None = None,
) -> SendingRound:
    claimed = await claim(now(), limit, lease)
    gate = asyncio.Semaphore(concurrency)

    async def attempt(tenant: str, delivery: Delivery) -> None:
        async with gate:
            callback = status_callback_url(tenant) if status_callback_url is not None else None
            try:
                result = await _send(delivery, email, sms, callback)
            except DeliveryError as error:
                delivery.failed(
                    error.detail, transient=error.transient, now=now(), policy=policy, rng=rng
                )
            else:
                delivery.succeeded(result.provider_message_id, now())

    await asyncio.gather(*(attempt(tenant, delivery) for tenant, delivery in claimed))
    by_tenant: dict[str, list[Delivery]] = {}
    for tenant, delivery in claimed:
        by_tenant.setdefault(tenant, []).append(delivery)
    for tenant, outcomes in by_tenant.items():
        await _record(new_uow(tenant), outcomes)
    statuses = [delivery.status for _, delivery in claimed]
    return SendingRound(
        claimed=len(claimed),
        sent=statuses.count("sent"),
        retrying=statuses.count("queued"),
        failed=statuses.count("failed"),
    )


async def _send(
    delivery: Delivery, email: EmailSender, sms: SmsSender, status_callback_url: str | None
) -> SendResult:
    if delivery.channel == "email":
        return await email.send(
            OutgoingEmail(
                to=delivery.recipient,
                subject=delivery.subject or "",
                text=delivery.text,
                html=delivery.html,
                headers=delivery.headers,
                message_id=message_id_of(delivery.delivery_id),
            )
        )
    return await sms.send(
        OutgoingSms(
            to=delivery.recipient, body=delivery.text, status_callback_url=status_callback_url
        )
    )


def message_id_of(delivery_id: uuid.UUID) -> str:
    """The Message-ID of every attempt of one delivery: the same message, recognisably."""
    return f"<{delivery_id}@patron.notifications>"


async def _record(uow: SendingUnitOfWork, outcomes: Sequence[Delivery]) -> None:
    async with uow:
        events: list[Contract] = []
        recorded = await uow.deliveries.record_outcomes(outcomes)
        early = await uow.deliveries.claim_early_reports(
            [
                d.provider_message_id
                for d in outcomes
                if d.delivery_id in recorded
                and d.channel == "sms"
                and d.status == "sent"
                and d.provider_message_id
            ]
        )
        for delivery in outcomes:
            if delivery.delivery_id not in recorded:
                continue  # its lease lapsed: another worker has it now
            if delivery.status == "sent" and delivery.sent_at is not None:
                events.append(NotificationSent(**_about(delivery), sent_at=delivery.sent_at))
                sid = delivery.provider_message_id if delivery.channel == "sms" else None
                report = early.get(sid) if sid else None
                after = None if report is None else with_early_report(delivery, report)
                if after is not None and await uow.deliveries.record_report(after, "sent"):
                    events.append(delivery_event(after))
            elif delivery.status == "failed" and delivery.failed_at is not None:
                events.append(
                    NotificationFailed(
                        **_about(delivery),
                        error=delivery.last_error or "failed",
                        permanent=True,
                        failed_at=delivery.failed_at,
                    )
                )
        if events:
            uow.emit(*events)
        await uow.commit()


def _about(delivery: Delivery) -> dict[str, object]:
    return {
        "customer_id": delivery.customer_id,
        "notification_id": delivery.delivery_id,
        "channel": delivery.channel,
        "template": delivery.template_key,
        "category": delivery.category,
    }
