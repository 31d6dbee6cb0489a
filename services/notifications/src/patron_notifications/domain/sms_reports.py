"""What an SMS delivery report does to the message it is about.

A report of `delivered` (or `read`) confirms a sent message; one of `undelivered`, `failed`
or `canceled` fails it after all, with the provider's error. Intermediate statuses change
nothing, and neither does a report repeated or arriving after the message's outcome is
known: the first final report counts.

The provider may report within milliseconds of accepting a message, before the sending
worker has recorded the sid it was given. Such an early report is kept (the first final one
for a sid: an intermediate one would change nothing) and applied when the worker records
that sid, so that the message ends the same whichever arrives first. One not claimed within
`EARLY_REPORT_RETENTION` is about no message of ours and is forgotten.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from patron_notifications.domain.delivery import Delivery
from patron_notifications.domain.status_callback import SmsStatusUpdate

# A worker records a sid within its lease at the latest; a day is far beyond that.
EARLY_REPORT_RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class EarlyReport:
    """A final report about a sid no message of the tenant had yet."""

    update: SmsStatusUpdate
    received_at: datetime
    error_message: str | None = None


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


def worth_keeping(update: SmsStatusUpdate) -> bool:
    """Whether a report about a sid not known yet is kept: only a final one would change the
    message once it is known."""
    return update.status.final


def kept_after(kept: EarlyReport | None, report: EarlyReport) -> EarlyReport | None:
    """What is kept for a sid once `report` arrived too: the first final report, as when
    the message is known (the store keeps the first it is given)."""
    if kept is not None:
        return kept
    return report if worth_keeping(report.update) else None


def with_early_report(sent: Delivery, early: EarlyReport) -> Delivery | None:
    """The message the worker has just recorded as sent, as the report that came before
    its sid was known leaves it (None: it changes nothing). Its time is no earlier than the
    sending's: the two clocks are milliseconds apart and the report cannot precede it."""
    at = early.received_at if sent.sent_at is None else max(early.received_at, sent.sent_at)
    return reported(sent, early.update, at, error_message=early.error_message)
