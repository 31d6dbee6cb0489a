"""The customer aggregate: its rules, its order statistics, and the events it records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from patron_profile.domain.order_stats import OrderStats
from patron_shared.errors import InvalidInput
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerDeleted,
    CustomerSnapshot,
    CustomerUpdated,
    TagsChanged,
)

CustomerStatus = Literal["active", "disabled"]
# Fields a caller may set; everything else is derived or kept from events.
EDITABLE_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "accepts_marketing",
    "tags",
    "notes",
    "external_ids",
    "source",
    "status",
    "date_of_birth",
    "gender",
    "locale",
    "preferences",
    "group_id",
    "last_login_at",
)


@dataclass
class Customer:
    id: uuid.UUID
    tenant_id: str
    created_at: datetime
    updated_at: datetime
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    accepts_marketing: bool = False
    tags: list[str] = field(default_factory=list)
    notes: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    status: CustomerStatus = "active"
    date_of_birth: date | None = None
    gender: str | None = None
    locale: str | None = None
    preferences: dict[str, Any] = field(default_factory=dict)
    group_id: uuid.UUID | None = None
    last_login_at: datetime | None = None
    # Kept from other services' events (segmentation, loyalty); never set by callers.
    is_vip: bool = False
    segments: list[str] = field(default_factory=list)
    loyalty_points: int = 0
    loyalty_tier: str | None = None
    stats: OrderStats = field(default_factory=OrderStats)
    deleted_at: datetime | None = None
    events: list[Contract] = field(default_factory=list, repr=False, compare=False)

    @property
    def full_name(self) -> str | None:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or None

    @classmethod
    def register(
        cls, *, customer_id: uuid.UUID, tenant_id: str, now: datetime, **values: Any
    ) -> Customer:
        unknown = set(values) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "unknown field")
        customer = cls(
            id=customer_id, tenant_id=tenant_id, created_at=now, updated_at=now, **values
        )
        customer._require_contact()
        customer.events.append(
            CustomerCreated(customer_id=customer.id, customer=customer.snapshot())
        )
        return customer

    def update(self, changes: dict[str, Any], *, now: datetime) -> list[str]:
        """Apply `changes`; records CustomerUpdated (and TagsChanged) when anything changed."""
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "field cannot be changed")
        old_tags = list(self.tags)
        changed = [name for name, value in changes.items() if getattr(self, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(self, name, changes[name])
        self._require_contact()
        self.updated_at = now
        self.events.append(
            CustomerUpdated(customer_id=self.id, changed_fields=changed, customer=self.snapshot())
        )
        if "tags" in changed:
            self.events.append(self._tags_changed(old_tags))
        return changed

    def record_tags_replaced(self, old_tags: list[str]) -> None:
        """The tags were changed in bulk (already stored): announce it like an update."""
        self.events.append(
            CustomerUpdated(customer_id=self.id, changed_fields=["tags"], customer=self.snapshot())
        )
        self.events.append(self._tags_changed(old_tags))

    def _tags_changed(self, old_tags: list[str]) -> TagsChanged:
        return TagsChanged(
            customer_id=self.id,
            added=[t for t in self.tags if t not in old_tags],
            removed=[t for t in old_tags if t not in self.tags],
            tags=list(self.tags),
        )

    def delete(self, *, now: datetime) -> None:
        self.deleted_at = now
        self.updated_at = now
        self.events.append(CustomerDeleted(customer_id=self.id, deleted_at=now))

    def snapshot(self) -> CustomerSnapshot:
        return CustomerSnapshot(
            email=self.email,
            phone=self.phone,
            first_name=self.first_name,
            last_name=self.last_name,
            full_name=self.full_name,
            accepts_marketing=self.accepts_marketing,
            tags=list(self.tags),
            external_ids=dict(self.external_ids),
            source=self.source,
            status=self.status,
            date_of_birth=self.date_of_birth,
            locale=self.locale,
            group_id=self.group_id,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def _require_contact(self) -> None:
        if not self.email and not self.phone:
            raise InvalidInput("email", "a customer needs an email or a phone number")
