"""The profile unit of work: the shared one plus the profile's repositories."""

from __future__ import annotations

import uuid

from patron_profile.adapters.activity import (
    TrackedCustomerLookup,
    TrackedMetadataRepository,
    TrackedNoteRepository,
    record_activity,
)
from patron_profile.adapters.addresses import SqlAddressRepository
from patron_profile.adapters.consents import SqlConsentRepository
from patron_profile.adapters.dead_letter_scrubs import SqlDeadLetterScrubRepository
from patron_profile.adapters.erasures import SqlErasureRepository
from patron_profile.adapters.groups import SqlGroupRepository
from patron_profile.adapters.merges import SqlMergeRepository
from patron_profile.adapters.orders import SqlOrderRepository
from patron_profile.adapters.read_model import SqlReadModelRepository
from patron_profile.adapters.repository import SqlCustomerRepository
from patron_profile.adapters.tags import SqlTagRepository
from patron_profile.adapters.timeline import SqlAuditRepository, SqlTimelineRepository
from patron_shared.db import UnitOfWork
from patron_shared.events import Contract, Envelope, utcnow


class ProfileUnitOfWork(UnitOfWork):
    customers: SqlCustomerRepository
    orders: SqlOrderRepository
    tags: SqlTagRepository
    read_model: SqlReadModelRepository
    addresses: SqlAddressRepository
    consents: SqlConsentRepository
    notes: TrackedNoteRepository
    metadata: TrackedMetadataRepository
    groups: SqlGroupRepository
    merges: SqlMergeRepository
    erasures: SqlErasureRepository
    dead_letter_scrubs: SqlDeadLetterScrubRepository
    timeline: SqlTimelineRepository
    audit: SqlAuditRepository

    # The request's customer reads, made once: they remember whom they returned.
    _tracked_lookup: TrackedCustomerLookup | None = None

    @property
    def lookup(self) -> TrackedCustomerLookup:
        if self.point_reads is None:
            raise RuntimeError("this unit of work has no point reads (only requests do)")
        if self._tracked_lookup is None:
            self._tracked_lookup = TrackedCustomerLookup(self.point_reads)
        return self._tracked_lookup

    @property
    def customers_read(self) -> list[uuid.UUID]:
        """The customers this unit of work's customer reads returned, in order."""
        return [] if self._tracked_lookup is None else list(self._tracked_lookup.returned)

    def _open_repositories(self) -> None:
        self.customers = SqlCustomerRepository(self.session, self.tenant_id)
        self.orders = SqlOrderRepository(self.session, self.tenant_id)
        self.tags = SqlTagRepository(self.session, self.tenant_id)
        self.read_model = SqlReadModelRepository(self.session, self.tenant_id)
        self.addresses = SqlAddressRepository(self.session, self.tenant_id)
        self.consents = SqlConsentRepository(self.session, self.tenant_id)
        self.notes = TrackedNoteRepository(self.session, self.tenant_id)
        self.metadata = TrackedMetadataRepository(self.session, self.tenant_id)
        self.groups = SqlGroupRepository(self.session, self.tenant_id)
        self.merges = SqlMergeRepository(self.session, self.tenant_id)
        self.erasures = SqlErasureRepository(self.session, self.tenant_id)
        self.dead_letter_scrubs = SqlDeadLetterScrubRepository(self.session, self.tenant_id)
        self.timeline = SqlTimelineRepository(self.session, self.tenant_id)
        self.audit = SqlAuditRepository(self.session, self.tenant_id)

    async def commit(self) -> list[Envelope]:
        """Commit, with the timeline entries and (for a request) the audit records of what
        this transaction changed (`adapters.activity`)."""
        await record_activity(
            events=[
                *(event for event, _ in self._pending),
                *(event for customer in self.customers.seen.values() for event in customer.events),
            ],
            delivered=[claim.message for claim in self.inbox_claims],
            bulk=self._pending_in_bulk,
            notes=self.notes,
            metadata=self.metadata,
            timeline=self.timeline,
            audit=self.audit,
            caller=self._caller,
            request_id=self.correlation_id,
            now=utcnow(),
        )
        return await super().commit()

    def collect_new_events(self) -> list[Contract]:
        events: list[Contract] = []
        for customer in self.customers.seen.values():
            events.extend(customer.events)
            customer.events.clear()
        return events
