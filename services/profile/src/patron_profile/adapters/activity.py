"""What a profile unit of work records about itself when it commits: timeline entries for
notes, consent changes and merges, and, for a request, the audit log of every change.

This is the one place both are written for profile's own changes: `ProfileUnitOfWork.commit`
calls `record_activity` before the transaction commits, so an entry or audit row commits
with the change it describes, whatever use case made it. Notes and metadata raise no
events, so their repositories here remember what they wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from patron_profile.adapters.customer_lookup import SqlCustomerLookup
from patron_profile.adapters.notes import SqlMetadataRepository, SqlNoteRepository
from patron_profile.adapters.timeline import SqlAuditRepository, SqlTimelineRepository
from patron_profile.domain.customer import Customer
from patron_profile.domain.customer_query import Cursor, CustomerFilters, CustomerSort
from patron_profile.domain.metadata import MetadataEntry
from patron_profile.domain.notes import Note
from patron_profile.domain.timeline import (
    AuditAction,
    AuditRecord,
    TimelineEntry,
    audit_change,
    timeline_entry,
)
from patron_shared.auth import Principal
from patron_shared.events import (
    ConsentChanged,
    Contract,
    CustomersMerged,
    CustomersUnmerged,
    Envelope,
)


class TrackedCustomerLookup(SqlCustomerLookup):
    """The customer reads of a request, remembering which customers they returned (whose
    personal data a caller with customers:pii was shown: `api.timeline.audited_reader`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.returned: dict[uuid.UUID, None] = {}

    async def customer(self, customer_id: uuid.UUID) -> Customer | None:
        found = await super().customer(customer_id)
        if found is not None:
            self.returned[found.id] = None
        return found

    async def list_page(
        self,
        filters: CustomerFilters,
        sort: CustomerSort,
        *,
        offset: int,
        limit: int,
        count_limit: int,
    ) -> tuple[list[Customer], int]:
        found, total = await super().list_page(
            filters, sort, offset=offset, limit=limit, count_limit=count_limit
        )
        self.returned.update(dict.fromkeys(customer.id for customer in found))
        return found, total

    async def scan(
        self, filters: CustomerFilters, *, descending: bool, after: Cursor | None, limit: int
    ) -> list[Customer]:
        found = await super().scan(filters, descending=descending, after=after, limit=limit)
        self.returned.update(dict.fromkeys(customer.id for customer in found))
        return found


class TrackedNoteRepository(SqlNoteRepository):
    """The note repository, remembering the notes added and changed in this transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.added: list[Note] = []
        self.changed: list[Note] = []

    async def add(self, note: Note) -> None:
        await super().add(note)
        self.added.append(note)

    async def save(self, note: Note) -> None:
        await super().save(note)
        self.changed.append(note)


class TrackedMetadataRepository(SqlMetadataRepository):
    """The metadata repository, remembering the keys written and deleted, per customer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed_keys: list[tuple[uuid.UUID, str]] = []

    async def upsert(self, entry: MetadataEntry) -> MetadataEntry:
        stored = await super().upsert(entry)
        self.changed_keys.append((entry.customer_id, entry.key))
        return stored

    async def delete(self, customer_id: uuid.UUID, key: str) -> bool:
        deleted = await super().delete(customer_id, key)
        if deleted:
            self.changed_keys.append((customer_id, key))
        return deleted


# Profile's own events the timeline shows (the others come from consumers).
_TIMELINE_EVENTS = (ConsentChanged, CustomersMerged)


async def record_activity(
    *,
    events: Iterable[Contract],
    delivered: Iterable[Envelope],
    bulk: Iterable[tuple[type[Contract], list[Mapping[str, Any]]]],
    notes: TrackedNoteRepository,
    metadata: TrackedMetadataRepository,
    timeline: SqlTimelineRepository,
    audit: SqlAuditRepository,
    caller: Principal | None,
    request_id: str | None,
    now: datetime,
) -> None:
    """Write the timeline entries and (for a caller) the audit records of a transaction.

    `delivered` are the messages the transaction handles: an unmerge (identity-merge's
    CustomersUnmerged) is entered under its message id when the profile applies it."""
    events = list(events)
    # Each commit records what was done since the last one.
    added, changed, keys = list(notes.added), list(notes.changed), list(metadata.changed_keys)
    notes.added.clear()
    notes.changed.clear()
    metadata.changed_keys.clear()
    entries: list[TimelineEntry] = []
    for event in events:
        if isinstance(event, _TIMELINE_EVENTS):
            entry = timeline_entry(uuid.uuid4(), event)
            if entry is not None:
                entries.append(entry)
    entries += [
        entry
        for envelope in delivered
        if envelope.type == CustomersUnmerged.event_type
        and (entry := timeline_entry(envelope.id, CustomersUnmerged.model_validate(envelope.data)))
        is not None
    ]
    entries += [
        TimelineEntry(
            entry_id=note.id,
            customer_id=note.customer_id,
            kind="note_added",
            occurred_at=note.created_at,
            summary={"note_id": str(note.id), "type": note.type, "author": note.author},
        )
        for note in added
    ]
    await timeline.add_many(entries)
    # A deleted note leaves the timeline with it.
    await timeline.remove([note.id for note in changed if note.deleted_at is not None])
    if caller is None:
        return

    changes: list[tuple[uuid.UUID, AuditAction, tuple[str, ...]]] = []
    for event in events:
        fields = event.model_dump(mode="json")
        if "customer_id" in fields:
            action, names = audit_change(event.event_type, fields)
            changes.append((uuid.UUID(fields["customer_id"]), action, names))
    for contract, items in bulk:
        for item in items:
            customer_id = item.get("customer_id")
            if customer_id is not None:
                action, names = audit_change(contract.event_type, dict(item))
                changes.append((uuid.UUID(str(customer_id)), action, names))
    changes += [(note.customer_id, "note", ("notes",)) for note in [*added, *changed]]
    changes += [(customer_id, "metadata", (f"metadata.{key}",)) for customer_id, key in keys]
    await audit.add_many(
        [
            AuditRecord(
                customer_id=customer_id,
                actor=caller.subject,
                action=action,
                fields=names,
                request_id=request_id,
                at=now,
            )
            for customer_id, action, names in _merged(changes)
        ]
    )


def _merged(
    changes: list[tuple[uuid.UUID, AuditAction, tuple[str, ...]]],
) -> list[tuple[uuid.UUID, AuditAction, tuple[str, ...]]]:
    """One record per customer and action, with the union of the fields, in first order."""
    merged: dict[tuple[uuid.UUID, AuditAction], list[str]] = {}
    for customer_id, action, names in changes:
        known = merged.setdefault((customer_id, action), [])
        known.extend(name for name in names if name not in known)
    return [(customer_id, action, tuple(names)) for (customer_id, action), names in merged.items()]
