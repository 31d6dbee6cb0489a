"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from patron_profile.domain.address import Address, AddressBook
from patron_profile.domain.consent import Consent, ConsentEntry
from patron_profile.domain.customer import Customer, TagChange
from patron_profile.domain.customer_query import Cursor, CustomerFilters, CustomerSort
from patron_profile.domain.group import Assignment, CustomerGroup, GroupLock
from patron_profile.domain.merge import ConsentMove, MergeRecord
from patron_profile.domain.metadata import MetadataEntry
from patron_profile.domain.notes import Note, NoteType
from patron_shared.db.ports import EmittingUnitOfWorkProtocol, UnitOfWorkProtocol
from patron_shared.events import Contract
from patron_shared.orders import OrderRecord, OrderState, OrderStats


class CustomerRepository(Protocol):
    async def add(self, customer: Customer) -> None: ...
    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False, include_removed: bool = False
    ) -> Customer | None: ...
    async def save(self, customer: Customer) -> None: ...
    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID | None:
        """The end of a merged customer's chain of merges; None if it was never merged."""
        ...

    async def email_owner(self, email: str) -> uuid.UUID | None: ...


class CustomerLookup(Protocol):
    """Customers read outside any transaction, each read one statement: one by id, a
    filtered page, a keyset scan."""

    async def customer(self, customer_id: uuid.UUID) -> Customer | None: ...
    async def survivor_of(self, customer_id: uuid.UUID) -> uuid.UUID | None: ...
    async def list_page(
        self,
        filters: CustomerFilters,
        sort: CustomerSort,
        *,
        offset: int,
        limit: int,
        count_limit: int,
    ) -> tuple[list[Customer], int]: ...
    async def scan(
        self, filters: CustomerFilters, *, descending: bool, after: Cursor | None, limit: int
    ) -> list[Customer]: ...


class OrderRepository(Protocol):
    async def lock(self, order_id: str, *, customer_id: uuid.UUID) -> OrderState:
        """The order, locked for this transaction; a new pending order when unknown."""
        ...

    async def save(self, order: OrderState) -> None: ...
    async def stats_for(self, customer_id: uuid.UUID) -> OrderStats: ...
    async def list_for_customer(
        self, customer_id: uuid.UUID, *, offset: int, limit: int
    ) -> tuple[list[OrderRecord], int]: ...


class CustomerUnitOfWork(EmittingUnitOfWorkProtocol, Protocol):
    tenant_id: str
    causation_id: str | None

    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def groups(self) -> GroupRepository: ...


class AddressRepository(Protocol):
    async def list_for_customer(self, customer_id: uuid.UUID) -> list[Address]: ...
    async def list_page(
        self, customer_id: uuid.UUID, *, offset: int, limit: int
    ) -> tuple[list[Address], int]: ...
    async def get_book(self, customer_id: uuid.UUID) -> AddressBook: ...
    async def save_book(self, book: AddressBook) -> None: ...


class AddressUnitOfWork(CustomerUnitOfWork, Protocol):
    @property
    def addresses(self) -> AddressRepository: ...


class TagRepository(Protocol):
    async def change_tags(
        self, ids: Sequence[uuid.UUID], tags: Sequence[str], mode: Literal["add", "remove"]
    ) -> tuple[set[uuid.UUID], list[TagChange]]:
        """The live customers found among `ids`, and the changes stored for those whose
        tags changed."""
        ...

    async def counts(self, *, offset: int, limit: int) -> tuple[list[tuple[str, int]], int]: ...


class TaggingUnitOfWork(CustomerUnitOfWork, Protocol):
    @property
    def tags(self) -> TagRepository: ...
    def emit_in_bulk(
        self, contract: type[Contract], events: Iterable[Mapping[str, Any]]
    ) -> None: ...


class ReadModelRepository(Protocol):
    async def set_fields(self, customer_id: uuid.UUID, **values: Any) -> bool: ...
    async def add_segment(self, customer_id: uuid.UUID, segment: str) -> bool: ...
    async def remove_segment(self, customer_id: uuid.UUID, segment: str) -> bool: ...


class ReadModelUnitOfWork(UnitOfWorkProtocol, Protocol):
    @property
    def read_model(self) -> ReadModelRepository: ...


class NoteRepository(Protocol):
    async def add(self, note: Note) -> None: ...
    async def get(
        self, customer_id: uuid.UUID, note_id: uuid.UUID, *, for_update: bool = False
    ) -> Note | None: ...
    async def save(self, note: Note) -> None: ...
    async def list_page(
        self, customer_id: uuid.UUID, *, type: NoteType | None, offset: int, limit: int
    ) -> tuple[list[Note], int]: ...


class NoteUnitOfWork(CustomerUnitOfWork, Protocol):
    @property
    def notes(self) -> NoteRepository: ...


class MetadataRepository(Protocol):
    async def list_for_customer(
        self, customer_id: uuid.UUID, *, module_source: str | None = None
    ) -> list[MetadataEntry]: ...
    async def list_page(
        self, customer_id: uuid.UUID, *, module_source: str | None, offset: int, limit: int
    ) -> tuple[list[MetadataEntry], int]: ...
    async def upsert(self, entry: MetadataEntry) -> MetadataEntry: ...
    async def delete(self, customer_id: uuid.UUID, key: str) -> bool: ...


class MetadataUnitOfWork(CustomerUnitOfWork, Protocol):
    @property
    def metadata(self) -> MetadataRepository: ...


class ConsentRepository(Protocol):
    async def current(self, customer_id: uuid.UUID, purpose: str) -> Consent | None: ...
    async def list_current(self, customer_id: uuid.UUID) -> list[Consent]: ...
    async def append(self, entry: ConsentEntry) -> None: ...
    async def put_current(self, consent: Consent) -> None: ...
    async def history_page(
        self, customer_id: uuid.UUID, *, purpose: str | None, offset: int, limit: int
    ) -> tuple[list[ConsentEntry], int]: ...


class ConsentUnitOfWork(CustomerUnitOfWork, Protocol):
    @property
    def consents(self) -> ConsentRepository: ...


class GroupRepository(Protocol):
    async def ensure_defaults(self, groups: Sequence[CustomerGroup]) -> None: ...
    async def list_page(
        self, *, offset: int, limit: int
    ) -> tuple[list[tuple[CustomerGroup, int]], int]: ...
    async def get(
        self, group_id: uuid.UUID, *, lock: GroupLock | None = None
    ) -> CustomerGroup | None: ...
    async def member_count(self, group_id: uuid.UUID) -> int: ...
    async def add(self, group: CustomerGroup) -> None: ...
    async def save(self, group: CustomerGroup) -> None: ...
    async def delete(self, group_id: uuid.UUID) -> None: ...
    async def auto_groups(self, *, lock: bool) -> list[CustomerGroup]: ...
    async def assignment_of(self, customer_id: uuid.UUID) -> Assignment | None: ...
    async def record_assignments(self, changes: dict[uuid.UUID, Assignment | None]) -> None: ...
    async def lock_customers(self, ids: Sequence[uuid.UUID]) -> list[Customer]: ...
    async def lock_members(self, group_id: uuid.UUID) -> list[Customer]: ...
    async def lock_rule_candidates(
        self, *, after: Customer | None, limit: int, unassigned: bool
    ) -> list[tuple[Customer, Assignment | None]]: ...


class MergeRepository(Protocol):
    async def add(self, record: MergeRecord) -> None: ...
    async def latest(
        self, primary_id: uuid.UUID, secondary_id: uuid.UUID
    ) -> MergeRecord | None: ...
    async def mark_unmerged(self, merge_id: uuid.UUID, *, at: datetime, by: str | None) -> None: ...
    async def move_orders(
        self, from_id: uuid.UUID, to_id: uuid.UUID, order_ids: Sequence[str] | None = None
    ) -> list[str]: ...
    async def move_notes(
        self,
        from_id: uuid.UUID,
        to_id: uuid.UUID,
        note_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[uuid.UUID]: ...
    async def withdraw_consent_copy(
        self, customer_id: uuid.UUID, move: ConsentMove, *, restore: bool
    ) -> None: ...


class MergeUnitOfWork(AddressUnitOfWork, ConsentUnitOfWork, MetadataUnitOfWork, Protocol):
    """What merges, unmerges and source upserts touch: customers and everything they own."""

    @property
    def merges(self) -> MergeRepository: ...


class CustomerLookupUnitOfWork(Protocol):
    @property
    def lookup(self) -> CustomerLookup:
        """Customer reads of one statement each, outside the transaction."""
        ...


class CustomerViewUnitOfWork(
    AddressUnitOfWork, MetadataUnitOfWork, CustomerLookupUnitOfWork, Protocol
):
    """What the detail view reads: the customer, its addresses, orders and metadata."""
