"""A contact: how (and whether) a customer can be reached by email or SMS, and what a
message may say about them.

The customer snapshot (name, addresses, birthday, the email marketing flag) comes from
customer events; per-channel consent from consent events; the loyalty balance and tier from
loyalty events; the last order from order events; unsubscribes and the time zone from the
customer's own preferences. Events about one customer may arrive late or twice, so each
change says whether it changed anything and a stale snapshot never rolls a contact back.
Deleted is final; an erased contact keeps no personal data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from patron_notifications.domain.consent import Preferences
from patron_shared.events import CustomerSnapshot
from patron_shared.events.customer import ErasureMode

# The `source_updated_at` of a contact made by an order, consent or loyalty event before
# the customer's own snapshot arrived: any snapshot is newer.
UNKNOWN_SINCE = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LastOrder:
    order_id: str
    total: Decimal
    currency: str
    placed_at: datetime


@dataclass
class Contact:
    customer_id: uuid.UUID
    # The newest `customer.updated_at` (or deletion/erasure time) this contact reflects.
    source_updated_at: datetime
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    date_of_birth: date | None = None
    locale: str | None = None
    accepts_marketing: bool = False  # email marketing opt-in
    deleted_at: datetime | None = None
    # Kept by other events and the preference centre, never by the snapshot:
    email_consent_at: datetime | None = None  # the newest email consent change applied
    sms_marketing: bool = False
    email_unsubscribed: bool = False
    sms_unsubscribed: bool = False
    time_zone: str | None = None
    preferences_updated_at: datetime | None = None  # the last change the customer made
    points: int = 0
    tier: str | None = None
    last_order: LastOrder | None = None
    merged_into: uuid.UUID | None = None

    @property
    def known(self) -> bool:
        """The customer's own snapshot has been seen (not only their orders or points)."""
        return self.source_updated_at > UNKNOWN_SINCE

    @property
    def name(self) -> str | None:
        joined = " ".join(part for part in (self.first_name, self.last_name) if part)
        return self.full_name or joined or None

    def preferences(self) -> Preferences:
        return Preferences(
            email=self.email,
            phone=self.phone,
            email_marketing=self.accepts_marketing,
            sms_marketing=self.sms_marketing,
            email_unsubscribed=self.email_unsubscribed,
            sms_unsubscribed=self.sms_unsubscribed,
            time_zone=self.time_zone,
            gone=self.deleted_at is not None,
        )

    def template_variables(self) -> dict[str, Any]:
        """The `customer` a template sees (see the variable catalogue). A missing first
        name reads "there" ("Hi there,"), never "None"."""
        order = self.last_order
        return {
            "name": self.name or "",
            "first_name": self.first_name or "there",
            "email": self.email or "",
            "points": self.points,
            "tier": self.tier or "",
            "last_order": None
            if order is None
            else {
                "order_id": order.order_id,
                "total": str(order.total),
                "currency": order.currency,
                "placed_at": order.placed_at.isoformat().replace("+00:00", "Z"),
            },
        }

    @classmethod
    def from_snapshot(cls, customer_id: uuid.UUID, customer: CustomerSnapshot) -> Contact:
        contact = cls(customer_id=customer_id, source_updated_at=customer.updated_at)
        contact._take(customer)
        return contact

    @classmethod
    def tombstone(cls, customer_id: uuid.UUID, at: datetime) -> Contact:
        """A customer deleted before its creation was seen: a late snapshot stays ignored."""
        return cls(customer_id=customer_id, source_updated_at=at, deleted_at=at)

    @classmethod
    def erased(cls, customer_id: uuid.UUID, *, at: datetime, mode: ErasureMode) -> Contact:
        """A customer erased before its creation was seen: a late snapshot stays ignored."""
        return cls(
            customer_id=customer_id,
            source_updated_at=at,
            deleted_at=at if mode == "hard" else None,
        )

    def apply(self, customer: CustomerSnapshot) -> bool:
        """Take a newer snapshot; False when it is stale or the customer is gone."""
        if self.deleted_at is not None or customer.updated_at <= self.source_updated_at:
            return False
        self._take(customer)
        self.source_updated_at = customer.updated_at
        return True

    def delete(self, *, at: datetime) -> bool:
        if self.deleted_at is not None:
            return False
        self.deleted_at = at
        self.source_updated_at = max(self.source_updated_at, at)
        return True

    def erase(self, *, at: datetime, mode: ErasureMode) -> bool:
        """Forget the personal fields; `hard` erasure also removes the contact."""
        before = replace(self)
        self.email = self.phone = self.first_name = self.last_name = self.full_name = None
        self.date_of_birth = None
        self.time_zone = None
        self.source_updated_at = max(self.source_updated_at, at)
        if mode == "hard" and self.deleted_at is None:
            self.deleted_at = at
        return self != before

    def _take(self, customer: CustomerSnapshot) -> None:
        self.email = customer.email
        self.phone = customer.phone
        self.first_name = customer.first_name
        self.last_name = customer.last_name
        self.full_name = customer.full_name
        self.date_of_birth = customer.date_of_birth
        self.locale = customer.locale
        # A consent event newer than the snapshot says more about email marketing.
        if self.email_consent_at is None or customer.updated_at >= self.email_consent_at:
            self.accepts_marketing = customer.accepts_marketing
