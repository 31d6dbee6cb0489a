"""Fakes for the merge, unmerge and source-upsert use cases: every repository they touch,
and the values other services own, which their events set on the same customers."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from patron_profile.domain.address import ADDRESS_TYPES, AddressBook
from patron_profile.domain.customer import Customer
from patron_profile.domain.merge import ConsentMove, MergeRecord
from patron_shared.events import Envelope

from .conftest import FakeCustomerRepository, FakeOrderRepository, FakeUnitOfWork
from .test_profile_addresses import FakeAddressRepository, UniqueDefaultViolation
from .test_profile_consents import FakeConsentRepository
from .test_profile_notes import FakeMetadataRepository


class FakeAddressesOfManyCustomers(FakeAddressRepository):
    """Addresses of several customers: each customer's defaults are checked after every
    write, as the partial unique index on (customer, type) does."""

    async def save_book(self, book: AddressBook) -> None:
        for write in book.writes():
            if write.kind == "delete":
                del self.rows[write.address.id]
            else:
                self.rows[write.address.id] = copy.deepcopy(write.address)
            for kind in ADDRESS_TYPES:
                defaults = [
                    a
                    for a in self.rows.values()
                    if a.customer_id == write.address.customer_id
                    and a.type == kind
                    and a.is_default
                ]
                if len(defaults) > 1:
                    raise UniqueDefaultViolation(f"two {kind} defaults after {write.kind}")


@dataclass
class FakeMergeRepository:
    orders: Callable[[], FakeOrderRepository]
    consents: Callable[[], FakeConsentRepository]
    records: dict[uuid.UUID, MergeRecord] = field(default_factory=dict)
    # Note id -> the customer it belongs to (the notes' other fields never move).
    note_owners: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)

    async def add(self, record: MergeRecord) -> None:
        self.records[record.merge_id] = replace(record)

    async def latest(self, primary_id: uuid.UUID, secondary_id: uuid.UUID) -> MergeRecord | None:
        pair = [
            r
            for r in self.records.values()
            if (r.primary_id, r.secondary_id) == (primary_id, secondary_id)
        ]
        return replace(max(pair, key=lambda r: r.merged_at)) if pair else None

    async def mark_unmerged(self, merge_id: uuid.UUID, *, at: datetime, by: str | None) -> None:
        self.records[merge_id] = replace(self.records[merge_id], unmerged_at=at, unmerged_by=by)

    async def move_orders(
        self, from_id: uuid.UUID, to_id: uuid.UUID, order_ids: Sequence[str] | None = None
    ) -> list[str]:
        rows = self.orders().rows
        moved = [
            order_id
            for order_id, order in rows.items()
            if order.customer_id == from_id and (order_ids is None or order_id in order_ids)
        ]
        for order_id in moved:
            rows[order_id] = replace(rows[order_id], customer_id=to_id)
        return sorted(moved)

    async def move_notes(
        self,
        from_id: uuid.UUID,
        to_id: uuid.UUID,
        note_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[uuid.UUID]:
        moved = [
            note_id
            for note_id, owner in self.note_owners.items()
            if owner == from_id and (note_ids is None or note_id in note_ids)
        ]
        for note_id in moved:
            self.note_owners[note_id] = to_id
        return sorted(moved, key=str)

    async def withdraw_consent_copy(
        self, customer_id: uuid.UUID, move: ConsentMove, *, restore: bool
    ) -> None:
        store = self.consents()
        if restore and move.previous is None:
            store.state.pop((customer_id, move.purpose), None)
        store.entries = [e for e in store.entries if e.id != move.entry_id]


@dataclass
class FakeReadModelRepository:
    """The values other services own, on the customer rows, as the SQL updates them."""

    customers: Callable[[], FakeCustomerRepository]

    async def set_fields(self, customer_id: uuid.UUID, **values: Any) -> bool:
        customer = self._following(customer_id)
        for name, value in values.items():
            setattr(customer, name, value)
        return customer is not None

    async def add_segment(self, customer_id: uuid.UUID, segment: str) -> bool:
        customer = self._following(customer_id)
        if customer is not None and segment not in customer.segments:
            customer.segments.append(segment)
        return customer is not None

    async def remove_segment(self, customer_id: uuid.UUID, segment: str) -> bool:
        customer = self._following(customer_id)
        if customer is not None:
            customer.segments = [s for s in customer.segments if s != segment]
        return customer is not None

    def _following(self, customer_id: uuid.UUID) -> Customer | None:
        customer = self.customers().rows.get(customer_id)
        return customer if customer is not None and customer.follows_other_services else None


class MergeFakeUnitOfWork(FakeUnitOfWork):
    repositories = (
        "customers",
        "orders",
        "groups",
        "addresses",
        "consents",
        "metadata",
        "merges",
    )

    def __init__(self) -> None:
        super().__init__()
        self.addresses = FakeAddressesOfManyCustomers()
        self.consents = FakeConsentRepository()
        self.metadata = FakeMetadataRepository()
        self.merges = FakeMergeRepository(lambda: self.orders, lambda: self.consents)
        self.read_model = FakeReadModelRepository(lambda: self.customers)

    async def commit(self) -> list[Envelope]:
        envelopes = await super().commit()
        # The fake stores copies taken before the commit took their events: drop those too.
        for stored in self.customers.rows.values():
            stored.events.clear()
        return envelopes
