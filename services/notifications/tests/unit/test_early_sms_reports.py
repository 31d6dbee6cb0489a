"""SMS reports that come before the worker recorded the message's sid: kept, then applied as
the sid is recorded, so that the message ends the same whichever comes first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from patron_notifications.domain.delivery import Delivery, DeliveryStatus
from patron_notifications.domain.sms_reports import (
    EarlyReport,
    kept_after,
    provider_error,
    reported,
    with_early_report,
    worth_keeping,
)
from patron_notifications.domain.status_callback import SmsStatus, SmsStatusUpdate
from patron_notifications.service.sms_status import delivery_event

from .deliveries import shipping_sms

SENT_AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SID = "SM0123456789abcdef0123456789abcdef"


def sending_sms() -> Delivery:
    """An SMS a worker has claimed and is sending."""
    return shipping_sms(created_at=SENT_AT - timedelta(seconds=1), status="sending", attempts=1)


@dataclass(frozen=True)
class Arrival:
    update: SmsStatusUpdate
    # when it arrives, relative to the worker's sending (a report can beat its recording)
    at: datetime
    error_message: str | None


@dataclass
class Outcome:
    status: DeliveryStatus
    last_error: str | None
    delivered_at: datetime | None
    failed_at: datetime | None
    announced: list[str] = field(default_factory=list)


def run(arrivals: list[Arrival], recorded_before: int) -> Outcome:
    """The service's rules with the worker recording the sid before the arrival numbered
    `recorded_before` (after every one when it is their count): a report about an unknown
    sid is kept, one about a known sid applied."""
    delivery = sending_sms()
    kept: EarlyReport | None = None
    announced: list[str] = []

    def record_sending() -> None:
        nonlocal delivery
        delivery.succeeded(SID, SENT_AT)
        announced.append("sent")
        after = None if kept is None else with_early_report(delivery, kept)
        if after is not None:
            delivery = after
            announced.append(delivery_event(after).status)

    for number, arrival in enumerate(arrivals):
        if number == recorded_before:
            record_sending()
        if delivery.provider_message_id is None:
            kept = kept_after(kept, EarlyReport(arrival.update, arrival.at, arrival.error_message))
            continue
        after = reported(delivery, arrival.update, arrival.at, error_message=arrival.error_message)
        if after is not None:
            delivery = after
            announced.append(delivery_event(after).status)
    if recorded_before >= len(arrivals):
        record_sending()
    return Outcome(
        delivery.status, delivery.last_error, delivery.delivered_at, delivery.failed_at, announced
    )


arrivals = st.lists(
    st.builds(
        Arrival,
        update=st.builds(
            SmsStatusUpdate,
            message_sid=st.just(SID),
            status=st.sampled_from(SmsStatus),
            error_code=st.none() | st.integers(30001, 30010),
        ),
        # from a little before the worker's clock said it sent to a minute after
        at=st.integers(-50, 60_000).map(lambda ms: SENT_AT + timedelta(milliseconds=ms)),
        error_message=st.none() | st.sampled_from(["Unknown handset", "Carrier violation"]),
    ),
    max_size=5,
)


@settings(max_examples=400)
@given(arrivals, st.data())
def test_the_message_ends_the_same_whether_the_reports_come_before_or_after_its_sid(
    reports: list[Arrival], data: st.DataObject
) -> None:
    recorded_before = data.draw(st.integers(0, len(reports)), label="recorded_before")

    before = run(reports, recorded_before)
    after_all = run(reports, 0)

    assert (before.status, before.last_error) == (after_all.status, after_all.last_error)
    assert before.announced == after_all.announced
    # the first final report decides, as it does for a message whose sid is known
    finals = [n for n, r in enumerate(reports) if r.update.status.final]
    if not finals:
        assert (before.status, before.announced) == ("sent", ["sent"])
        return
    first_final = reports[finals[0]]
    # dated when it arrived; one that came before the sid, no earlier than the sending
    at = first_final.at if finals[0] >= recorded_before else max(first_final.at, SENT_AT)
    if first_final.update.status.succeeded:
        assert (before.status, before.announced) == ("delivered", ["sent", "delivered"])
        assert (before.delivered_at, before.failed_at) == (at, None)
    else:
        assert (before.status, before.announced) == ("failed", ["sent", "bounced"])
        assert before.last_error == provider_error(first_final.update, first_final.error_message)
        assert (before.delivered_at, before.failed_at) == (None, at)


def test_only_final_reports_are_worth_keeping() -> None:
    kept = {status for status in SmsStatus if worth_keeping(SmsStatusUpdate(SID, status))}
    assert kept == {
        SmsStatus.DELIVERED,
        SmsStatus.READ,
        SmsStatus.UNDELIVERED,
        SmsStatus.FAILED,
        SmsStatus.CANCELED,
    }


def test_the_first_final_report_is_kept() -> None:
    queued = EarlyReport(SmsStatusUpdate(SID, SmsStatus.QUEUED), SENT_AT)
    failed = EarlyReport(SmsStatusUpdate(SID, SmsStatus.FAILED, 30008), SENT_AT, "Unknown error")
    delivered = EarlyReport(SmsStatusUpdate(SID, SmsStatus.DELIVERED), SENT_AT)

    assert kept_after(None, queued) is None
    assert kept_after(kept_after(None, queued), failed) == failed
    assert kept_after(failed, delivered) == failed


def test_an_early_report_is_dated_no_earlier_than_the_sending() -> None:
    sms = sending_sms()
    sms.succeeded(SID, SENT_AT)
    early = EarlyReport(SmsStatusUpdate(SID, SmsStatus.DELIVERED), SENT_AT - timedelta(seconds=1))
    later = EarlyReport(SmsStatusUpdate(SID, SmsStatus.DELIVERED), SENT_AT + timedelta(seconds=1))

    confirmed = with_early_report(sms, early)
    confirmed_later = with_early_report(sms, later)

    assert confirmed is not None
    assert confirmed_later is not None
    assert (confirmed.status, confirmed.delivered_at) == ("delivered", SENT_AT)
    assert confirmed_later.delivered_at == SENT_AT + timedelta(seconds=1)
    assert sms.status == "sent"  # the message given is left as it was
