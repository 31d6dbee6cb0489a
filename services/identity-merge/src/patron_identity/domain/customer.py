"""What identity knows of a profile customer: its identifiers and names.

The identity graph (matching, duplicates, merges) will grow from these records. Events about
one customer may arrive late or twice, so each change says whether it changed anything and
a stale snapshot never rolls a record back. Deleted is final; erased keeps no personal data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime

from patron_identity.domain.identifiers import CustomerIdentifiers
from patron_shared.events import CustomerSnapshot
from patron_shared.events.customer import ErasureMode


@dataclass
class IdentityCustomer:
    customer_id: uuid.UUID
    # The newest `customer.updated_at` (or deletion/erasure time) this record reflects.
    source_updated_at: datetime
    email: str | None = None
    phone: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict)
    first_name: str | None = None
    last_name: str | None = None
    deleted_at: datetime | None = None

    @classmethod
    def from_snapshot(cls, customer_id: uuid.UUID, customer: CustomerSnapshot) -> IdentityCustomer:
        record = cls(customer_id=customer_id, source_updated_at=customer.updated_at)
        record._take(customer)
        return record

    @classmethod
    def tombstone(cls, customer_id: uuid.UUID, at: datetime) -> IdentityCustomer:
        """A customer deleted before its creation was seen: a late snapshot stays ignored."""
        return cls(customer_id=customer_id, source_updated_at=at, deleted_at=at)

    @classmethod
    def erased(cls, customer_id: uuid.UUID, *, at: datetime, mode: ErasureMode) -> IdentityCustomer:
        """A customer erased before its creation was seen: a late snapshot stays ignored."""
        return cls(
            customer_id=customer_id, source_updated_at=at, deleted_at=at if mode == "hard" else None
        )

    @property
    def identifiers(self) -> CustomerIdentifiers:
        return CustomerIdentifiers.of(
            email=self.email, phone=self.phone, external_ids=self.external_ids
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
        """Forget every personal field; `hard` erasure also removes the customer."""
        before = replace(self, external_ids=dict(self.external_ids))
        self.email = self.phone = self.first_name = self.last_name = None
        self.external_ids = {}
        self.source_updated_at = max(self.source_updated_at, at)
        if mode == "hard" and self.deleted_at is None:
            self.deleted_at = at
        return self != before

    def _take(self, customer: CustomerSnapshot) -> None:
        self.email = CustomerIdentifiers.from_snapshot(customer).email
        self.phone = customer.phone
        self.external_ids = dict(customer.external_ids)
        self.first_name = customer.first_name
        self.last_name = customer.last_name
