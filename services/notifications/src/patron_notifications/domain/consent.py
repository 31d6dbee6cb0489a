"""Whether a message may go to a customer now: consent, frequency cap, quiet hours.

- Transactional messages (order confirmation, points notice...) go to whoever has an
  address on the channel, unless the customer unsubscribed from that channel altogether.
- Marketing needs the customer's opt-in on that channel, and at most `cap` marketing
  messages go to one customer in any `cap_window`.
- Marketing SMS wait out quiet hours in the customer's time zone (a text at 3 a.m. is
  worse than none): the decision then says when to send instead of skipping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.delivery import Category

SkipReason = Literal[
    "no_address", "unsubscribed", "no_marketing_consent", "frequency_cap", "customer_gone"
]


@dataclass(frozen=True)
class Preferences:
    """What a customer agreed to, as the notifications service knows it."""

    email: str | None = None
    phone: str | None = None
    email_marketing: bool = False
    sms_marketing: bool = False
    # unsubscribed from every message on the channel (the one-click link does this for
    # marketing only; the preference centre can do it for both)
    email_unsubscribed: bool = False
    sms_unsubscribed: bool = False
    time_zone: str | None = None
    gone: bool = False  # deleted or erased

    def address(self, channel: Channel) -> str | None:
        return self.email if channel == "email" else self.phone


@dataclass(frozen=True)
class SendingRules:
    cap: int = 3
    cap_window: timedelta = timedelta(days=7)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    default_time_zone: str = "UTC"


@dataclass(frozen=True)
class Decision:
    send: bool
    skip_reason: SkipReason | None = None
    # set when it may be sent, but not before this moment (quiet hours)
    not_before: datetime | None = None


def decide(  # noqa: PLR0911 - one answer per rule, in order
    preferences: Preferences,
    channel: Channel,
    category: Category,
    now: datetime,
    *,
    recent_marketing: Sequence[datetime] = (),
    rules: SendingRules = SendingRules(),
) -> Decision:
    """May this message go now? `recent_marketing` are the times of the marketing
    messages already sent (or queued) to the customer."""
    if preferences.gone:
        return Decision(False, "customer_gone")
    if not preferences.address(channel):
        return Decision(False, "no_address")
    unsubscribed = (
        preferences.email_unsubscribed if channel == "email" else preferences.sms_unsubscribed
    )
    if unsubscribed:
        return Decision(False, "unsubscribed")
    if category == "transactional":
        return Decision(True)
    opted_in = preferences.email_marketing if channel == "email" else preferences.sms_marketing
    if not opted_in:
        return Decision(False, "no_marketing_consent")
    window_start = now - rules.cap_window
    if sum(1 for sent in recent_marketing if sent > window_start) >= rules.cap:
        return Decision(False, "frequency_cap")
    if channel == "sms":
        zone = _zone(preferences.time_zone, rules.default_time_zone)
        resume = quiet_hours_end(now, zone, rules.quiet_start, rules.quiet_end)
        if resume is not None:
            return Decision(True, not_before=resume)
    return Decision(True)


def quiet_hours_end(now: datetime, zone: tzinfo, start: time, end: time) -> datetime | None:
    """When the quiet hours `now` falls in end (in UTC, as `now` is); None outside them.
    A window that spans midnight (21:00-08:00) is handled as one night."""
    local = now.astimezone(zone)
    clock = local.time()
    spans_midnight = start > end
    inside = (clock >= start or clock < end) if spans_midnight else start <= clock < end
    if not inside:
        return None
    day = local.date()
    if spans_midnight and clock >= start:
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)


def _zone(name: str | None, default: str) -> tzinfo:
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")
