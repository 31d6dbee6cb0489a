"""Merging one customer into another, and undoing it: what moves, and what comes back.

A merge folds the secondary into the primary: the primary keeps every value it has and
gains what it lacks (fields, tags, external ids, metadata keys), and the secondary's
addresses (but those the primary has already: kept once), notes, orders and winning
consents move to it. The secondary stays behind as a tombstone. The `MergeRecord` says
exactly what moved, so that an unmerge gives back that and nothing else: a filled field
only while the survivor still holds the value the merge put there, a tag or external id
only if it came from the secondary alone. Consent and metadata copies name the merge as
their author (`merge_author`), so an unmerge finds those still as the merge wrote them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from patron_profile.domain.consent import Consent, ConsentPurpose
from patron_profile.domain.contact import MAX_TAGS
from patron_profile.domain.customer import Customer
from patron_profile.domain.metadata import MetadataEntry

# Fields a primary takes from its secondary when it has no value of its own.
FILLABLE_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "locale",
    "group_id",
)


@dataclass(frozen=True)
class MovedAddress:
    address_id: uuid.UUID
    was_default: bool  # on the secondary, so an unmerge restores its defaults as they were


@dataclass(frozen=True)
class ConsentMove:
    """A purpose whose newest decision was the secondary's: the merge wrote a copy of it
    (`entry_id`) into the primary's history over the primary's own state (`previous`)."""

    purpose: ConsentPurpose
    entry_id: uuid.UUID
    previous: Consent | None


@dataclass
class MergeRecord:
    merge_id: uuid.UUID
    primary_id: uuid.UUID
    secondary_id: uuid.UUID
    merged_at: datetime
    merged_by: str | None = None
    rule: str | None = None
    score: float | None = None
    suggestion_id: uuid.UUID | None = None
    filled_fields: dict[str, Any] = field(default_factory=dict)
    added_tags: list[str] = field(default_factory=list)
    added_external_ids: dict[str, str] = field(default_factory=dict)
    moved_addresses: list[MovedAddress] = field(default_factory=list)
    moved_note_ids: list[uuid.UUID] = field(default_factory=list)
    moved_order_ids: list[str] = field(default_factory=list)
    consent_changes: list[ConsentMove] = field(default_factory=list)
    unmerged_at: datetime | None = None
    unmerged_by: str | None = None


@dataclass(frozen=True)
class FieldTransfer:
    """What the primary gains from the secondary's own fields."""

    changes: dict[str, Any]  # for `Customer.update` on the primary
    filled: dict[str, Any]
    added_tags: list[str]
    added_external_ids: dict[str, str]


def absorb_fields(primary: Customer, secondary: Customer) -> FieldTransfer:
    """The primary keeps what it has; it takes the secondary's values where it has none,
    the secondary's tags it lacks (up to the per-customer limit) and external ids of
    sources it has none for."""
    filled = {
        name: getattr(secondary, name)
        for name in FILLABLE_FIELDS
        if _lacks(getattr(primary, name)) and not _lacks(getattr(secondary, name))
    }
    room = max(0, MAX_TAGS - len(primary.tags))
    added_tags = [t for t in secondary.tags if t not in primary.tags][:room]
    added_ids = {
        source: value
        for source, value in secondary.external_ids.items()
        if source not in primary.external_ids
    }
    changes = dict(filled)
    if added_tags:
        changes["tags"] = [*primary.tags, *added_tags]
    if added_ids:
        changes["external_ids"] = {**primary.external_ids, **added_ids}
    return FieldTransfer(changes, filled, added_tags, added_ids)


def give_back_fields(survivor: Customer, record: MergeRecord) -> dict[str, Any]:
    """The survivor's changes that undo `record`'s field transfer, leaving alone whatever
    was changed since (a filled field edited by hand stays)."""
    changes: dict[str, Any] = {
        name: None
        for name, value in record.filled_fields.items()
        if getattr(survivor, name) == value
    }
    added_tags = set(record.added_tags)
    if added_tags.intersection(survivor.tags):
        changes["tags"] = [t for t in survivor.tags if t not in added_tags]
    kept_ids = {
        source: value
        for source, value in survivor.external_ids.items()
        if record.added_external_ids.get(source) != value
    }
    if kept_ids != survivor.external_ids:
        changes["external_ids"] = kept_ids
    return changes


def merge_author(merge_id: uuid.UUID) -> str:
    """Who wrote the consent and metadata entries a merge copies to the primary."""
    return f"merge:{merge_id}"


def metadata_to_copy(
    primary_id: uuid.UUID,
    primary: Sequence[MetadataEntry],
    secondary: Sequence[MetadataEntry],
    *,
    merge_id: uuid.UUID,
    now: datetime,
) -> list[MetadataEntry]:
    """The primary's copies of the secondary's entries under keys it has none of (where
    both have a key, the primary's value stays), written by the merge."""
    taken = {entry.key for entry in primary}
    return [
        replace(entry, customer_id=primary_id, updated_by=merge_author(merge_id), updated_at=now)
        for entry in secondary
        if entry.key not in taken
    ]


def fill_missing(customer: Customer, values: dict[str, Any]) -> dict[str, Any]:
    """The changes that add `values` (normalized, as a source sent them) to what the
    customer already has, overwriting nothing: a field only where the customer has none,
    tags as a union, an external id only for a source the customer has none for."""
    changes = {
        name: value
        for name, value in values.items()
        if name in FILLABLE_FIELDS and not _lacks(value) and _lacks(getattr(customer, name))
    }
    new_tags = [t for t in values.get("tags", []) if t not in customer.tags]
    if new_tags:
        changes["tags"] = [*customer.tags, *new_tags][: max(MAX_TAGS, len(customer.tags))]
    new_ids = {
        source: value
        for source, value in values.get("external_ids", {}).items()
        if source not in customer.external_ids
    }
    if new_ids:
        changes["external_ids"] = {**customer.external_ids, **new_ids}
    return changes


def _lacks(value: Any) -> bool:
    return value is None or value == ""
