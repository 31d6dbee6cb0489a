"""A contact: how (and whether) a customer can be reached by email or SMS.

Templates, preferences and delivery will use these. Events about one customer may arrive
late or twice, so each change says whether it changed anything and a stale snapshot never
rolls a contact back. Deleted is final; an erased contact keeps no personal data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from patron_shared.events import CustomerSnapshot
from patron_shared.events.customer import ErasureMode


@dataclass
class Contact:
    customer_id: uuid.UUID
    # The newest `customer.updated_at` (or deletion/erasure time) this contact reflects.
    source_updated_at: datetime
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    locale: str | None = None
    accepts_marketing: bool = False  # email marketing opt-in
    deleted_at: datetime | None = None

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
        self.email = self.phone = self.first_name = None
        self.source_updated_at = max(self.source_updated_at, at)
        if mode == "hard" and self.deleted_at is None:
            self.deleted_at = at
        return self != before

    def _take(self, customer: CustomerSnapshot) -> None:
        self.email = customer.email
        self.phone = customer.phone
        self.first_name = customer.first_name
        self.locale = customer.locale
        self.accepts_marketing = customer.accepts_marketing
