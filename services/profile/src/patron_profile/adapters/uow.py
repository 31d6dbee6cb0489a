"""The profile unit of work: the shared one plus the profile's repositories."""

from __future__ import annotations

from patron_profile.adapters.addresses import SqlAddressRepository
from patron_profile.adapters.consents import SqlConsentRepository
from patron_profile.adapters.customer_lookup import SqlCustomerLookup
from patron_profile.adapters.groups import SqlGroupRepository
from patron_profile.adapters.merges import SqlMergeRepository
from patron_profile.adapters.notes import SqlMetadataRepository, SqlNoteRepository
from patron_profile.adapters.orders import SqlOrderRepository
from patron_profile.adapters.read_model import SqlReadModelRepository
from patron_profile.adapters.repository import SqlCustomerRepository
from patron_profile.adapters.tags import SqlTagRepository
from patron_shared.db import UnitOfWork
from patron_shared.events import Contract


class ProfileUnitOfWork(UnitOfWork):
    customers: SqlCustomerRepository
    orders: SqlOrderRepository
    tags: SqlTagRepository
    read_model: SqlReadModelRepository
    addresses: SqlAddressRepository
    consents: SqlConsentRepository
    notes: SqlNoteRepository
    metadata: SqlMetadataRepository
    groups: SqlGroupRepository
    merges: SqlMergeRepository

    @property
    def lookup(self) -> SqlCustomerLookup:
        if self.point_reads is None:
            raise RuntimeError("this unit of work has no point reads (only requests do)")
        return SqlCustomerLookup(self.point_reads)

    def _open_repositories(self) -> None:
        self.customers = SqlCustomerRepository(self.session, self.tenant_id)
        self.orders = SqlOrderRepository(self.session, self.tenant_id)
        self.tags = SqlTagRepository(self.session, self.tenant_id)
        self.read_model = SqlReadModelRepository(self.session, self.tenant_id)
        self.addresses = SqlAddressRepository(self.session, self.tenant_id)
        self.consents = SqlConsentRepository(self.session, self.tenant_id)
        self.notes = SqlNoteRepository(self.session, self.tenant_id)
        self.metadata = SqlMetadataRepository(self.session, self.tenant_id)
        self.groups = SqlGroupRepository(self.session, self.tenant_id)
        self.merges = SqlMergeRepository(self.session, self.tenant_id)

    def collect_new_events(self) -> list[Contract]:
        events: list[Contract] = []
        for customer in self.customers.seen.values():
            events.extend(customer.events)
            customer.events.clear()
        return events
