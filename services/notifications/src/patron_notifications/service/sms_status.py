"""SMS delivery reports: what the provider says became of a message after it was sent.

Each SMS is sent with a `StatusCallback` URL naming its tenant; the provider POSTs the
message's status there as it changes. A report of `delivered` (or `read`) confirms a sent
message (`NotificationDelivered` with status `delivered`); one of `undelivered`, `failed`
or `canceled` fails it after all (`NotificationDelivered` with status `bounced`, the
provider's error kept as `last_error`). Intermediate statuses (`queued`, `sending`,
`sent`...) change nothing, and neither does a report repeated or arriving after the
message's outcome is known: the first final report counts, each change is announced once.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from patron_notifications.domain.delivery import Delivery, DeliveryStatus
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
    async def by_provider_message_id(self, provider_message_id: str) -> Delivery | None: ...
    async def record_report(self, delivery: Delivery, previous: DeliveryStatus) -> bool: ...


class SmsStatusUnitOfWork(EmittingUnitOfWorkProtocol, Protocol):
    @property
    def deliveries(self) -> SmsReportRepository: ...


@dataclass(frozen=True)
class SmsStatusOutcome:
    delivery_id: uuid.UUID
    # the delivery's status once the report is taken into account
    status: DeliveryStatus
    # False: the report changed nothing (intermediate, repeated, or too late)
    changed: bool


class UnknownMessage(NotFound):
    """No SMS of this tenant has this provider id."""


def reported(
    delivery: Delivery, update: SmsStatusUpdate, now: datetime, *, error_message: str | None = None
) -> Delivery | None:
    """The delivery as the report leaves it, or None when the report changes nothing.

    Only a sent message changes: a delivered one stays delivered (the handset confirmed
    it; a later failure report contradicts what is final), a failed one stays failed.
    """
    if delivery.status != "sent" or not update.status.final:
        return None
    after = dataclasses.replace(delivery)
    if update.status.succeeded:
        after.confirmed(now)
        return after
    after.status, after.failed_at, after.next_attempt_at = "failed", now, None
    after.last_error = provider_error(update, error_message)
    return after


def provider_error(update: SmsStatusUpdate, error_message: str | None = None) -> str:
    """`last_error` of a message the provider could not deliver."""
    error = f"SMS {update.status.value} by the provider"
    if update.error_code is not None:
        error += f" (error {update.error_code})"
    if error_message:
        error += f": {error_message}"
    return error[:1000]


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
    """Apply a verified status report to the tenant's SMS it is about; `UnknownMessage`
    (404) when the tenant has none with that id."""
    async with uow:
        delivery = await uow.deliveries.by_provider_message_id(update.message_sid)
        if delivery is None or delivery.channel != "sms":
            raise UnknownMessage(f"no SMS with MessageSid {update.message_sid!r}")
        after = reported(delivery, update, now, error_message=error_message)
        # Recorded over the status it was read with: of two reports at once, one changes it.
        if after is None or not await uow.deliveries.record_report(after, delivery.status):
            return SmsStatusOutcome(delivery.delivery_id, delivery.status, changed=False)
        uow.emit(delivery_event(after))
        await uow.commit()
        return SmsStatusOutcome(after.delivery_id, after.status, changed=True)
