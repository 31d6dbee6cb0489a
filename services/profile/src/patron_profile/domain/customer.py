"""The customer aggregate: its rules, its order statistics, and the events it records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from patron_shared.errors import InvalidInput
from patron_shared.events import (
    Contract,
    CustomerCreated,
    CustomerDeleted,
    CustomerSnapshot,
    CustomerUpdated,
    TagsChanged,
)
from patron_shared.orders import OrderStats

CustomerStatus = Literal["active", "disabled"]
# What a full-snapshot CustomerUpdated names as changed: every field projections keep.
SNAPSHOT_FIELDS = tuple(
    name for name in CustomerSnapshot.model_fields if name not in ("created_at", "updated_at")
)
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
    # A merged customer is a tombstone (deleted_at set) naming the customer it went into.
    merged_into: uuid.UUID | None = None
    events: list[Contract] = field(default_factory=list, repr=False, compare=False)

    @property
    def full_name(self) -> str | None:
        return full_name_of(self.first_name, self.last_name)

    @property
    def follows_other_services(self) -> bool:
        """Whether the values other services own (VIP status, segments, loyalty) still take
        their events: a live customer's do, and so do a merge's tombstone's, hidden as they
        are. An unmerge brings the tombstone back with them, and the events the unmerge
        sets off (points given back, segments entered again) may come before it or after
        (other topics, no order between them): either way the customer ends with the last
        of each. A deleted customer takes none: nothing brings it back."""
        return self.deleted_at is None or self.merged_into is not None

    @classmethod
    def register(
        cls,
        *,
        customer_id: uuid.UUID,
        tenant_id: str,
        now: datetime,
        imported: bool = False,
        **values: Any,
    ) -> Customer:
        """A new customer, announced by `CustomerCreated` (`imported`: brought in by a file
        import, so not greeted as someone who just signed up)."""
        unknown = set(values) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "unknown field")
        customer = cls(
            id=customer_id, tenant_id=tenant_id, created_at=now, updated_at=now, **values
        )
        customer._require_contact()
        customer.events.append(
            CustomerCreated(
                customer_id=customer.id, customer=customer.snapshot(), imported=imported
            )
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
        change = TagChange(self.id, self.snapshot().model_dump(), old_tags)
        self.events.append(CustomerUpdated.model_validate(change.customer_updated()))
        self.events.append(TagsChanged.model_validate(change.tags_changed()))

    def _tags_changed(self, old_tags: list[str]) -> TagsChanged:
        added, removed = tag_difference(old_tags, self.tags)
        return TagsChanged(customer_id=self.id, added=added, removed=removed, tags=list(self.tags))

    def delete(self, *, now: datetime) -> None:
        self.deleted_at = now
        self.updated_at = now
        self.events.append(CustomerDeleted(customer_id=self.id, deleted_at=now))

    def merge_into(self, survivor_id: uuid.UUID, *, now: datetime) -> None:
        """Become the tombstone of a merge: gone from every read, pointing at `survivor_id`.

        Its own data stays on the row, so an unmerge can bring the customer back as it was;
        the values other services own keep following their events meanwhile
        (`follows_other_services`).
        """
        if survivor_id == self.id:
            raise ValueError("a customer cannot be merged into itself")
        self.deleted_at = now
        self.merged_into = survivor_id
        self.updated_at = now

    def restore_from_merge(self, *, now: datetime, email_taken: bool = False) -> None:
        """Live again after an unmerge; announced with every field, so that each projection
        that dropped the customer at the merge takes it back whole.

        `email_taken`: another live customer holds its email now (it signed up with it after
        the merge), so the customer comes back without one rather than not at all.
        """
        if email_taken:
            self.email = None
        self.deleted_at = None
        self.merged_into = None
        self.updated_at = now
        self.events.append(
            CustomerUpdated(
                customer_id=self.id, changed_fields=list(SNAPSHOT_FIELDS), customer=self.snapshot()
            )
        )

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
            gender=self.gender,
            locale=self.locale,
            group_id=self.group_id,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def _require_contact(self) -> None:
        # a source's own id (a POS card, a marketplace account) identifies a customer too
        if not self.email and not self.phone and not self.external_ids:
            raise InvalidInput(
                "email", "a customer needs an email, a phone number or an external id"
            )


def full_name_of(first_name: str | None, last_name: str | None) -> str | None:
    if first_name and last_name:
        return f"{first_name} {last_name}"
    return first_name or last_name or None


def tag_difference(old_tags: list[str], new_tags: list[str]) -> tuple[list[str], list[str]]:
    """The tags added and the tags removed, each in its list's order."""
    old, new = set(old_tags), set(new_tags)
    return [t for t in new_tags if t not in old], [t for t in old_tags if t not in new]


@dataclass(frozen=True, slots=True)
class TagChange:
    """A customer's tags as a tag change stored them, with the tags before it; announced like
    an update, by `CustomerUpdated` then `TagsChanged`.

    Bulk tagging stores thousands of changes in one statement and announces each from the
    stored row, as the contracts' fields (`UnitOfWork.emit_in_bulk`), without loading the
    whole customer or validating values the database just returned.
    """

    customer_id: uuid.UUID
    snapshot: dict[str, Any]  # `CustomerSnapshot`'s fields, as stored after the change
    old_tags: list[str]

    def customer_updated(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "changed_fields": ["tags"],
            "customer": self.snapshot,
        }

    def tags_changed(self) -> dict[str, Any]:
        tags: list[str] = self.snapshot["tags"]
        added, removed = tag_difference(self.old_tags, tags)
        return {"customer_id": self.customer_id, "added": added, "removed": removed, "tags": tags}
