"""SMS delivery reports: what the provider says became of a message after it was sent.

Each SMS is sent with a `StatusCallback` URL naming its tenant; the provider POSTs the
message's status there as it changes. A report of `delivered` (or `read`) confirms a sent
message (`NotificationDelivered` with status `delivered`); one of `undelivered`, `failed`
or `canceled` fails it after all (`NotificationDelivered` with status `bounced`, the
provider's error kept as `last_error`). Intermediate statuses (`queued`, `sending`,
`sent`...) change nothing, and neither does a report repeated or arriving after the
message's outcome is known: the first final report counts, each change is announced once.

A report about a sid the tenant has no SMS with yet came before the sending worker recorded
it: a final one is kept, and the worker applies it as it records the sid
(`domain.sms_reports`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from patron_notifications.domain.delivery import Delivery, DeliveryStatus
from patron_notifications.domain.sms_reports import (
    EARLY_REPORT_RETENTION,
    EarlyReport,
    reported,
    worth_keeping,
)
from patron_notifications.domain.status_callback import SmsStatusUpdate
from patron_shared.db.ports import EmittingUnitOfWorkProtocol
from patron_shared.errors import NotFound
from patron_shared.events import NotificationDelivered

# Where providers deliver a tenant's reports: `{PATRON_PUBLIC_BASE_URL}{path}/{tenant_id}`.
SMS_STATUS_PATH = "/api/v1/notifications/sms/status"


def status_callback_url(public_base_url: str, tenant_id: str) -> str:
    """The `StatusCallback` URL the provider is given for a tenant's messages (and over
    which it signs each report)."""
    return f"{public_base_url.rstrip('/')}{SMS_STATUS_PATH}/{tenant_id}"


class SmsReportRepository(Protocol):
    async def by_provider_message_id(self, provider_message_id: str) -> Delivery | None:
        """The tenant's message with this sid, read after the sending worker's recording of
        it, if under way, has committed (and before it starts, until this transaction
        ends): a report is either applied here or kept for that worker, never neither."""
        ...

    async def record_report(self, delivery: Delivery, previous: DeliveryStatus) -> bool: ...
    async def keep_early_report(self, report: EarlyReport) -> bool: ...


class SmsStatusUnitOfWork(EmittingUnitOfWorkProtocol, Protocol):
    @property
    def deliveries(self) -> SmsReportRepository: ...


@dataclass(frozen=True)
class SmsStatusOutcome:
    # None: no SMS of the tenant has the sid yet (the report came before the worker
    # recorded it; a final one is kept for it)
    delivery_id: uuid.UUID | None
    # the delivery's status once the report is taken into account
    status: DeliveryStatus | None
    # False: the report changed nothing (intermediate, repeated, too late, or too early)
    changed: bool

    @property
    def early(self) -> bool:
        return self.delivery_id is None


class UnknownMessage(NotFound):
    """The provider id is that of one of the tenant's emails, not of an SMS."""


def delivery_event(delivery: Delivery) -> NotificationDelivered:
    """The announcement of a delivered (`delivered`) or undeliverable (`bounced`) message."""
    if delivery.status == "delivered" and delivery.delivered_at is not None:
        status, at = "delivered", delivery.delivered_at
    elif delivery.status == "failed" and delivery.failed_at is not None:
        status, at = "bounced", delivery.failed_at
    else:
        raise ValueError(f"delivery {delivery.delivery_id} is {delivery.status}: no report")
    return NotificationDelivered(
        customer_id=delivery.customer_id,
        notification_id=delivery.delivery_id,
        channel=delivery.channel,
        template=delivery.template_key,
        category=delivery.category,
        status=status,
        delivered_at=at,
    )


async def record_sms_status(
    uow: SmsStatusUnitOfWork,
    update: SmsStatusUpdate,
    now: datetime,
    *,
    error_message: str | None = None,
) -> SmsStatusOutcome:
    """Apply a verified status report to the tenant's SMS it is about; one about a sid the
    tenant has no message with yet is kept when final (`early`); `UnknownMessage` (404) when
    the sid is an email's."""
    async with uow:
        delivery = await uow.deliveries.by_provider_message_id(update.message_sid)
        if delivery is None:
            # The provider can report before the worker recorded the sid it was given.
            if worth_keeping(update) and await uow.deliveries.keep_early_report(
                EarlyReport(update, now, error_message)
            ):
                await uow.commit()
            return SmsStatusOutcome(None, None, changed=False)
        if delivery.channel != "sms":
            raise UnknownMessage(f"MessageSid {update.message_sid!r} is not an SMS")
        after = reported(delivery, update, now, error_message=error_message)
        # Recorded over the status it was read with: of two reports at once, one changes it.
        if after is None or not await uow.deliveries.record_report(after, delivery.status):
            return SmsStatusOutcome(delivery.delivery_id, delivery.status, changed=False)
        uow.emit(delivery_event(after))
        await uow.commit()
        return SmsStatusOutcome(after.delivery_id, after.status, changed=True)


async def purge_unclaimed_early_reports(
    purge: Callable[[datetime], Awaitable[int]], *, now: datetime
) -> int:
    """Every tenant's early reports that no recorded sid claimed within
    `EARLY_REPORT_RETENTION` forgotten (about no message of ours: another system's, or one
    whose sending was never recorded); how many. `purge(before)` is the cross-tenant
    statement (adapters.deliveries.purge_early_sms_reports)."""
    return await purge(now - EARLY_REPORT_RETENTION)
