"""SMS delivery reports: which report changes which delivery, what is announced, and that a
repeated or late report changes nothing."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from patron_notifications.domain.delivery import Delivery, DeliveryStatus
from patron_notifications.domain.sms_reports import EarlyReport, provider_error, reported
from patron_notifications.domain.status_callback import SmsStatus, SmsStatusUpdate
from patron_notifications.service.sms_status import (
    UnknownMessage,
    delivery_event,
    record_sms_status,
    status_callback_url,
)
from patron_shared.events import NotificationDelivered
from patron_shared.testing import InMemoryUnitOfWork

from .deliveries import shipping_sms

SENT_AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
NOW = SENT_AT + timedelta(seconds=7)
SID = "SM0123456789abcdef0123456789abcdef"


def sent_sms(status: DeliveryStatus = "sent") -> Delivery:
    delivery = shipping_sms(
        created_at=SENT_AT - timedelta(seconds=1),
        status=status,
        attempts=1,
        provider_message_id=SID,
        sent_at=SENT_AT,
    )
    if status == "delivered":
        delivery.delivered_at = SENT_AT
    return delivery


def report(status: SmsStatus, error_code: int | None = None) -> SmsStatusUpdate:
    return SmsStatusUpdate(message_sid=SID, status=status, error_code=error_code)


# ---------------------------------------------------------------------------- the rules


def test_the_callback_url_is_the_public_url_the_path_and_the_tenant() -> None:
    assert status_callback_url("https://patron.example.com/", "acme") == (
        "https://patron.example.com/api/v1/notifications/sms/status/acme"
    )
    assert status_callback_url("http://127.0.0.1:8080", "demo").endswith("/sms/status/demo")


@pytest.mark.parametrize("status", [SmsStatus.DELIVERED, SmsStatus.READ])
def test_delivered_confirms_a_sent_sms(status: SmsStatus) -> None:
    before = sent_sms()

    after = reported(before, report(status), NOW)

    assert after is not None
    assert (after.status, after.delivered_at, after.failed_at) == ("delivered", NOW, None)
    assert before.status == "sent"  # the delivery read is left as it was


@pytest.mark.parametrize("status", [SmsStatus.UNDELIVERED, SmsStatus.FAILED, SmsStatus.CANCELED])
def test_a_final_failure_fails_a_sent_sms_with_the_providers_error(status: SmsStatus) -> None:
    after = reported(
        sent_sms(), report(status, 30003), NOW, error_message="Unreachable destination handset"
    )

    assert after is not None
    assert (after.status, after.failed_at, after.delivered_at) == ("failed", NOW, None)
    assert after.last_error == (
        f"SMS {status.value} by the provider (error 30003): Unreachable destination handset"
    )


@pytest.mark.parametrize(
    "status",
    [
        SmsStatus.QUEUED,
        SmsStatus.ACCEPTED,
        SmsStatus.SCHEDULED,
        SmsStatus.SENDING,
        SmsStatus.SENT,
    ],
)
def test_an_intermediate_status_changes_nothing(status: SmsStatus) -> None:
    assert reported(sent_sms(), report(status), NOW) is None


@pytest.mark.parametrize(
    ("current", "status"),
    [
        ("delivered", SmsStatus.DELIVERED),  # a repeat
        ("delivered", SmsStatus.UNDELIVERED),  # delivered is final
        ("failed", SmsStatus.FAILED),  # a repeat
        ("failed", SmsStatus.DELIVERED),  # too late: failed is final
        ("sending", SmsStatus.DELIVERED),  # not recorded as sent yet
        ("queued", SmsStatus.DELIVERED),
        ("skipped", SmsStatus.DELIVERED),
    ],
)
def test_only_a_sent_sms_changes(current: DeliveryStatus, status: SmsStatus) -> None:
    assert reported(sent_sms(current), report(status), NOW) is None


def test_the_providers_error_without_code_or_message() -> None:
    assert provider_error(report(SmsStatus.FAILED)) == "SMS failed by the provider"
    assert len(provider_error(report(SmsStatus.FAILED), "x" * 5000)) == 1000


def test_a_confirmation_is_announced_delivered_and_a_failure_bounced() -> None:
    sms = sent_sms()
    delivered = reported(sms, report(SmsStatus.DELIVERED), NOW)
    bounced = reported(sms, report(SmsStatus.UNDELIVERED), NOW)
    assert delivered is not None
    assert bounced is not None

    assert delivery_event(delivered) == NotificationDelivered(
        customer_id=sms.customer_id,
        notification_id=sms.delivery_id,
        channel="sms",
        template="shipping_update",
        category="transactional",
        status="delivered",
        delivered_at=NOW,
    )
    assert (delivery_event(bounced).status, delivery_event(bounced).delivered_at) == (
        "bounced",
        NOW,
    )
    with pytest.raises(ValueError, match="no report"):
        delivery_event(sms)


# ---------------------------------------------------------------------------- the use case


@dataclass
class FakeReports:
    rows: dict[uuid.UUID, Delivery] = field(default_factory=dict)
    early: dict[str, EarlyReport] = field(default_factory=dict)

    async def keep_early_report(self, report: EarlyReport) -> bool:
        if report.update.message_sid in self.early:
            return False
        self.early[report.update.message_sid] = report
        return True

    async def by_provider_message_id(self, provider_message_id: str) -> Delivery | None:
        found = [d for d in self.rows.values() if d.provider_message_id == provider_message_id]
        return copy.deepcopy(found[0]) if found else None

    async def record_report(self, delivery: Delivery, previous: DeliveryStatus) -> bool:
        current = self.rows[delivery.delivery_id]
        if previous not in ("sent", "delivered") or current.status != previous:
            return False
        self.rows[delivery.delivery_id] = copy.deepcopy(delivery)
        return True


class FakeUnitOfWork(InMemoryUnitOfWork):
    repositories = ("deliveries",)

    def __init__(self, *deliveries: Delivery) -> None:
        super().__init__(source="notifications")
        self.deliveries = FakeReports({d.delivery_id: d for d in deliveries})


async def test_a_delivered_report_is_recorded_and_announced_once() -> None:
    sms = sent_sms()
    uow = FakeUnitOfWork(sms)

    first = await record_sms_status(uow, report(SmsStatus.DELIVERED), NOW)
    again = await record_sms_status(uow, report(SmsStatus.DELIVERED), NOW + timedelta(minutes=1))

    assert (first.delivery_id, first.status, first.changed) == (sms.delivery_id, "delivered", True)
    assert (again.status, again.changed) == ("delivered", False)
    assert uow.deliveries.rows[sms.delivery_id].delivered_at == NOW
    assert [(type(e), getattr(e, "status", None)) for e in uow.published] == [
        (NotificationDelivered, "delivered")
    ]
    assert uow.commits == 1


async def test_an_undelivered_report_fails_the_sms_and_announces_a_bounce() -> None:
    sms = sent_sms()
    uow = FakeUnitOfWork(sms)

    outcome = await record_sms_status(
        uow, report(SmsStatus.UNDELIVERED, 30005), NOW, error_message="Unknown handset"
    )
    late = await record_sms_status(uow, report(SmsStatus.DELIVERED), NOW)

    stored = uow.deliveries.rows[sms.delivery_id]
    assert (outcome.status, outcome.changed, late.changed) == ("failed", True, False)
    assert (stored.status, stored.failed_at) == ("failed", NOW)
    assert stored.last_error == "SMS undelivered by the provider (error 30005): Unknown handset"
    assert [getattr(e, "status", None) for e in uow.published] == ["bounced"]


async def test_an_intermediate_report_changes_and_announces_nothing() -> None:
    sms = sent_sms()
    uow = FakeUnitOfWork(sms)

    outcome = await record_sms_status(uow, report(SmsStatus.SENT), NOW)

    assert (outcome.status, outcome.changed) == ("sent", False)
    assert uow.deliveries.rows[sms.delivery_id] == sms
    assert (uow.published, uow.commits) == ([], 0)


async def test_a_report_that_lost_the_race_to_another_changes_nothing() -> None:
    sms = sent_sms()
    uow = FakeUnitOfWork(sms)
    # another report failed it between this one's read and its write
    stale = copy.deepcopy(sms)
    uow.deliveries.rows[sms.delivery_id] = dataclasses.replace(sms, status="failed")

    async def read_stale(_sid: str) -> Delivery | None:
        return copy.deepcopy(stale)

    uow.deliveries.by_provider_message_id = read_stale  # type: ignore[method-assign]

    outcome = await record_sms_status(uow, report(SmsStatus.DELIVERED), NOW)

    assert outcome.changed is False
    assert uow.deliveries.rows[sms.delivery_id].status == "failed"
    assert uow.published == []


async def test_a_final_report_about_an_unknown_sid_is_kept_for_the_worker() -> None:
    uow = FakeUnitOfWork(sent_sms())
    early = SmsStatusUpdate(message_sid="SMnotrecordedyet", status=SmsStatus.UNDELIVERED)

    outcome = await record_sms_status(uow, early, NOW, error_message="Unknown handset")
    repeated = await record_sms_status(
        uow, dataclasses.replace(early, status=SmsStatus.DELIVERED), NOW + timedelta(seconds=1)
    )

    assert (outcome.delivery_id, outcome.status, outcome.changed) == (None, None, False)
    assert outcome.early
    assert repeated.early
    # the first final report counts, as it would for a known sid
    assert uow.deliveries.early == {"SMnotrecordedyet": EarlyReport(early, NOW, "Unknown handset")}
    assert (uow.published, uow.commits) == ([], 1)


async def test_an_intermediate_report_about_an_unknown_sid_is_not_kept() -> None:
    uow = FakeUnitOfWork()

    outcome = await record_sms_status(
        uow, SmsStatusUpdate(message_sid="SMnotrecordedyet", status=SmsStatus.SENT), NOW
    )

    assert outcome.early
    assert (uow.deliveries.early, uow.commits) == ({}, 0)


async def test_a_report_naming_an_emails_id_is_not_found() -> None:
    email = dataclasses.replace(sent_sms(), channel="email", provider_message_id="<x@y>")
    uow = FakeUnitOfWork(email)

    with pytest.raises(UnknownMessage, match="MessageSid"):
        await record_sms_status(
            uow, SmsStatusUpdate(message_sid="<x@y>", status=SmsStatus.DELIVERED), NOW
        )
    assert (uow.published, uow.deliveries.early) == ([], {})
