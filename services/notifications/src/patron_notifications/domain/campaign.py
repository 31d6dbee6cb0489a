"""Campaigns: one message to a whole segment or a list of customers, now or at a set time,
at a set pace, with live counts, until it is all queued or cancelled.

A campaign is `scheduled` until its time, `sending` while the runner queues its audience
(a chunk of customers per transaction, in customer-id order, the last id queued kept as
its cursor), `sent` once every customer is queued and `completed` once nothing of it is
waiting to go any more. Cancelling stops the queueing and skips what is still waiting;
a completed or cancelled campaign cannot be cancelled.

Rules about who gets it (consent, frequency cap, quiet hours) are the Messenger's: a
customer it leaves out has a skipped delivery saying why, so the counts always add up to
the audience.

Pure rules only: no I/O.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.delivery import Category
from patron_shared.errors import Conflict, InvalidInput

StoredStatus = Literal["scheduled", "sending", "sent", "cancelled"]
CampaignStatus = Literal["scheduled", "sending", "sent", "completed", "cancelled"]
# (delivery status, skipped reason or None) -> how many of a campaign's deliveries
StatusCounts = Mapping[tuple[str, str | None], int]

MAX_CUSTOMER_IDS = 10_000
MAX_THROTTLE_PER_SECOND = 10_000.0
MAX_NAME_LENGTH = 200
SEGMENT_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
CANCELLED_REASON = "campaign_cancelled"
# how far ahead a schedule may be
MAX_SCHEDULE_AHEAD = timedelta(days=366)

_SEGMENT_KEY = re.compile(SEGMENT_KEY_PATTERN)


def campaign_cause(campaign_id: uuid.UUID) -> str:
    """The cause of a campaign's deliveries: with the template, the customer and the
    channel, the idempotency key that queues one message per customer however often the
    runner comes by."""
    return f"campaign:{campaign_id}"


@dataclass(frozen=True)
class Audience:
    """A segment's current members, or a list of customers (deduplicated, in order)."""

    segment_key: str | None = None
    customer_ids: tuple[uuid.UUID, ...] = ()

    @classmethod
    def of(cls, *, segment_id: str | None, customer_ids: Sequence[uuid.UUID] | None) -> Audience:
        if segment_id is not None and customer_ids is not None:
            raise InvalidInput("segment_id", "give a segment_id or customer_ids, not both")
        if segment_id is not None:
            if not _SEGMENT_KEY.match(segment_id):
                raise InvalidInput(
                    "segment_id", "a built-in segment's key (vip) or a custom segment's id"
                )
            return cls(segment_key=segment_id)
        if customer_ids is None:
            raise InvalidInput("segment_id", "give a segment_id or customer_ids")
        distinct = tuple(dict.fromkeys(customer_ids))
        if not distinct:
            raise InvalidInput("customer_ids", "give at least one customer")
        if len(distinct) > MAX_CUSTOMER_IDS:
            raise InvalidInput(
                "customer_ids",
                f"at most {MAX_CUSTOMER_IDS} distinct customers; use a segment for more",
            )
        return cls(customer_ids=distinct)

    @property
    def is_segment(self) -> bool:
        return self.segment_key is not None


def schedule_time(send_now: bool | None, scheduled_at: datetime | None, now: datetime) -> datetime:
    """When a new campaign starts: now (`send_now: true`) or at `scheduled_at`, a
    timezone-aware time to come."""
    if send_now and scheduled_at is not None:
        raise InvalidInput("scheduled_at", "give send_now: true or a scheduled_at, not both")
    if send_now:
        return now
    if scheduled_at is None:
        if send_now is False:
            raise InvalidInput("send_now", "false needs a scheduled_at")
        raise InvalidInput("send_now", "give send_now: true or a scheduled_at")
    if scheduled_at.tzinfo is None or scheduled_at.utcoffset() is None:
        raise InvalidInput("scheduled_at", "must carry a time zone (e.g. Z or +02:00)")
    if scheduled_at <= now:
        raise InvalidInput("scheduled_at", "must be in the future; use send_now for now")
    if scheduled_at > now + MAX_SCHEDULE_AHEAD:
        raise InvalidInput("scheduled_at", "at most a year ahead")
    return scheduled_at


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("name", "must not be blank")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput("name", f"at most {MAX_NAME_LENGTH} characters")
    return cleaned


def check_throttle(per_second: float | None) -> float | None:
    if per_second is None:
        return None
    if not 0 < per_second <= MAX_THROTTLE_PER_SECOND:
        raise InvalidInput(
            "throttle_per_second", f"more than 0 and at most {MAX_THROTTLE_PER_SECOND:g}"
        )
    return per_second


def spaced_due_time(start: datetime, index: int, per_second: float | None) -> datetime | None:
    """When the `index`-th message (0-based) of a campaign paced at `per_second` may go:
    `start + index / per_second`; None (at once) without a pace."""
    if per_second is None:
        return None
    return start + timedelta(seconds=index / per_second)


@dataclass
class Campaign:
    campaign_id: uuid.UUID
    name: str
    template_key: str
    channel: Channel
    category: Category
    audience: Audience
    audience_size: int
    scheduled_at: datetime
    created_at: datetime
    variables: dict[str, Any] = field(default_factory=dict)
    throttle_per_second: float | None = None
    status: StoredStatus = "scheduled"
    started_at: datetime | None = None
    sent_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    # the last customer id queued: the next chunk starts after it
    cursor: uuid.UUID | None = None
    # customers of the audience handed to the Messenger so far
    targeted: int = 0
    created_by: str | None = None

    @property
    def running(self) -> bool:
        return self.status in ("scheduled", "sending")

    def due(self, now: datetime) -> bool:
        return self.running and self.scheduled_at <= now

    def start(self, now: datetime) -> None:
        if self.status == "scheduled":
            self.status, self.started_at = "sending", now

    def due_time(self, index: int) -> datetime | None:
        """When the `index`-th customer of the audience (0-based) may be sent to."""
        start = self.started_at or self.scheduled_at
        return spaced_due_time(start, index, self.throttle_per_second)

    def advance(self, queued: Sequence[uuid.UUID], *, chunk_size: int, now: datetime) -> None:
        """`queued` (in id order) went to the Messenger; fewer than a chunk means the
        audience is exhausted: the campaign is sent (its audience now exactly known)."""
        if self.status != "sending":
            raise ValueError(f"campaign {self.campaign_id} is {self.status}, not sending")
        if queued:
            self.cursor = queued[-1]
            self.targeted += len(queued)
        if len(queued) < chunk_size:
            self.status, self.sent_at = "sent", now
            self.audience_size = self.targeted

    def cancel(self, *, now: datetime, by: str | None, waiting: int) -> None:
        """Stop queueing; `waiting` is how many of its messages are not sent yet."""
        if self.status == "cancelled":
            raise Conflict(f"campaign {self.campaign_id} is already cancelled")
        if self.status == "sent" and waiting == 0:
            raise Conflict(f"campaign {self.campaign_id} is completed: nothing left to cancel")
        self.status, self.cancelled_at, self.cancelled_by = "cancelled", now, by

    def shown_status(self, counts: CampaignCounts) -> CampaignStatus:
        """`completed` for a sent campaign of which nothing waits any more."""
        if self.status == "sent" and not counts.unsent:
            return "completed"
        return self.status


@dataclass(frozen=True)
class CampaignCounts:
    """A campaign's deliveries by status, each in one bucket: waiting (for a customer not
    known yet) + queued + sending + sent + delivered + failed + skipped is every delivery
    it made; `audience` is the customers it
    is for (counted when created, exact once all are queued), `targeted` those queued for
    so far."""

    audience: int
    targeted: int
    waiting: int = 0
    queued: int = 0
    sending: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_by_reason: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, campaign: Campaign, by_status: StatusCounts) -> CampaignCounts:
        totals: dict[str, int] = {}
        reasons: dict[str, int] = {}
        for (status, reason), count in by_status.items():
            totals[status] = totals.get(status, 0) + count
            if status == "skipped":
                name = reason or "unknown"
                reasons[name] = reasons.get(name, 0) + count
        return cls(
            audience=campaign.audience_size,
            targeted=campaign.targeted,
            waiting=totals.get("waiting", 0),
            queued=totals.get("queued", 0),
            sending=totals.get("sending", 0),
            sent=totals.get("sent", 0),
            delivered=totals.get("delivered", 0),
            failed=totals.get("failed", 0),
            skipped=totals.get("skipped", 0),
            skipped_by_reason=dict(sorted(reasons.items())),
        )

    @property
    def unsent(self) -> int:
        """Messages not sent yet (waiting for the customer, queued, or being sent now)."""
        return self.waiting + self.queued + self.sending


@dataclass(frozen=True)
class SegmentChange:
    """A customer entering (member) or leaving a segment at `at`."""

    segment_key: str
    customer_id: uuid.UUID
    member: bool
    at: datetime

    def rank(self) -> tuple[datetime, bool]:
        """Newest first; at the same moment, leaving wins (never message someone on a tie)."""
        return (self.at, not self.member)


def latest_changes(changes: Iterable[SegmentChange]) -> list[SegmentChange]:
    """The change that stands for each (segment, customer): the same whatever the order
    the changes came in (the storage applies the same rule against what it holds)."""
    latest: dict[tuple[str, uuid.UUID], SegmentChange] = {}
    for change in changes:
        key = (change.segment_key, change.customer_id)
        held = latest.get(key)
        if held is None or change.rank() > held.rank():
            latest[key] = change
    return sorted(latest.values(), key=lambda c: (c.segment_key, c.customer_id))
