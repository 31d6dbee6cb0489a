"""A delivery: one message to one customer on one channel, from queued to sent or failed.

Deliveries are queued in the database and worked off by workers. A transient failure
(the SMTP server or the SMS provider unreachable, a 4xx SMTP reply, HTTP 429/5xx) is tried
again later, each wait longer than the last (exponential backoff with jitter, capped); a
permanent one (unknown recipient, a refused number) or running out of attempts fails the
delivery for good. Each delivery carries an idempotency key made of what caused it (the
trigger event or campaign), the template and the customer: queueing the same key twice
queues one delivery, so a redelivered event never sends twice.

A message for a customer the service has not seen yet (an order placed before the
customer's creation arrived here) is `waiting`, with its request kept (`request`), until
the customer's snapshot comes and it is planned again, or until the wait ends (skipped,
`customer_unknown`). Workers never send a waiting delivery.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from patron_notifications.domain.channels import Channel

Category = Literal["transactional", "marketing"]
DeliveryStatus = Literal["queued", "sending", "sent", "delivered", "failed", "skipped", "waiting"]
FINAL_STATUSES: frozenset[DeliveryStatus] = frozenset({"sent", "delivered", "failed", "skipped"})
# a waiting message not planned again by then is skipped with this reason
CUSTOMER_UNKNOWN = "customer_unknown"
# a waiting message whose customer was deleted meanwhile: nothing would ever plan it
CUSTOMER_DELETED = "customer_deleted"
# a waiting message that, planned again, is one that exists already
DUPLICATE = "duplicate"


def idempotency_key(cause: str, template_key: str, customer_id: uuid.UUID, channel: Channel) -> str:
    """The key that makes one cause send one message per template, customer and channel:
    `cause` is the trigger event's id, a campaign's id or a caller's own key."""
    raw = f"{cause}\x1f{template_key}\x1f{customer_id}\x1f{channel}".encode()
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class RetryPolicy:
    """Waits between attempts: `first` doubled each time up to `longest`, each scaled by a
    random factor in [1 - jitter, 1] so that retries of many deliveries spread out."""

    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.first <= timedelta(0) or self.longest < self.first:
            raise ValueError("waits must be positive and the longest at least the first")
        if self.max_attempts < 1 or not 0 <= self.jitter < 1:
            raise ValueError("at least one attempt, and a jitter in [0, 1)")

    def wait_after(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt (1-based)."""
        doublings = min(max(attempts - 1, 0), 40)  # past 2**40 the cap has long won
        base = min(self.first * (1 << doublings), self.longest)
        scale = 1 - self.jitter * (rng or random).random()
        return base * scale


@dataclass
class Delivery:
    delivery_id: uuid.UUID
    customer_id: uuid.UUID
    channel: Channel
    category: Category
    template_key: str
    idempotency_key: str
    recipient: str
    created_at: datetime
    cause: str  # the trigger event's id, a campaign's id, or a caller's key
    campaign_id: uuid.UUID | None = None
    subject: str | None = None
    text: str = ""
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: DeliveryStatus = "queued"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    provider_message_id: str | None = None
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    delivered_at: datetime | None = None
    # why a message was not sent at all (no consent, frequency cap...)
    skipped_reason: str | None = None
    # a waiting message's request, to plan it again when the customer is known (JSON)
    request: dict[str, Any] | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def due(self, now: datetime) -> bool:
        return self.status == "queued" and (
            self.next_attempt_at is None or self.next_attempt_at <= now
        )

    def start_attempt(self, now: datetime) -> None:
        if not self.due(now):
            raise ValueError(f"delivery {self.delivery_id} is {self.status}, not due")
        self.status = "sending"
        self.attempts += 1

    def succeeded(self, provider_message_id: str | None, now: datetime) -> None:
        self._expect_sending()
        self.status, self.sent_at = "sent", now
        self.provider_message_id, self.next_attempt_at, self.last_error = (
            provider_message_id,
            None,
            None,
        )

    def failed(
        self,
        error: str,
        *,
        transient: bool,
        now: datetime,
        policy: RetryPolicy,
        rng: random.Random | None = None,
    ) -> None:
        """A failed attempt: queued again after a wait when it may pass next time and
        attempts remain; failed for good otherwise."""
        self._expect_sending()
        self.last_error = error[:1000]
        if transient and self.attempts < policy.max_attempts:
            self.status = "queued"
            self.next_attempt_at = now + policy.wait_after(self.attempts, rng)
        else:
            self.status, self.next_attempt_at, self.failed_at = "failed", None, now

    def skip(self, reason: str) -> None:
        """Never sent: the customer did not consent, the cap was reached, no address..."""
        if self.is_final:
            raise ValueError(f"delivery {self.delivery_id} is already {self.status}")
        self.status, self.skipped_reason, self.next_attempt_at = "skipped", reason, None

    def give_up_waiting(self, reason: str) -> None:
        """A waiting message that will not be planned: skipped with `reason`, and the
        request it kept (it may hold order details) forgotten."""
        if self.status != "waiting":
            raise ValueError(f"delivery {self.delivery_id} is {self.status}, not waiting")
        self.skip(reason)
        self.request = None

    def confirmed(self, now: datetime) -> None:
        """The provider says it reached the recipient (an SMS status callback)."""
        if self.status in ("sent", "delivered"):
            self.status, self.delivered_at = "delivered", self.delivered_at or now

    def _expect_sending(self) -> None:
        if self.status != "sending":
            raise ValueError(f"delivery {self.delivery_id} is {self.status}, not sending")
