"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Literal, Protocol, Self

from patron_profile.domain.address import Address, AddressBook
from patron_profile.domain.customer import Customer
from patron_profile.domain.customer_query import Cursor, CustomerFilters, CustomerSort
from patron_profile.domain.order_stats import OrderRecord, OrderState, OrderStats
from patron_shared.events import Contract, Envelope


class CustomerRepository(Protocol):
    async def add(self, customer: Customer) -> None: ...
    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None: ...
    async def save(self, customer: Customer) -> None: ...
    async def list_page(
        self, filters: CustomerFilters, sort: CustomerSort, *, offset: int, limit: int
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


class CustomerUnitOfWork(Protocol):
    tenant_id: str
    causation_id: str | None

    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def orders(self) -> OrderRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def emit(self, *events: Contract) -> None: ...
    async def commit(self) -> list[Envelope]: ...


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
    ) -> list[tuple[Customer, list[str]]]: ...
    async def existing_ids(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]: ...
    async def counts(self, *, offset: int, limit: int) -> tuple[list[tuple[str, int]], int]: ...


class TaggingUnitOfWork(CustomerUnitOfWork, Protocol):
    @property
    def tags(self) -> TagRepository: ...


class ReadModelRepository(Protocol):
    async def set_fields(self, customer_id: uuid.UUID, **values: Any) -> bool: ...
    async def add_segment(self, customer_id: uuid.UUID, segment: str) -> bool: ...
    async def remove_segment(self, customer_id: uuid.UUID, segment: str) -> bool: ...


class ReadModelUnitOfWork(Protocol):
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> list[Envelope]: ...

    @property
    def read_model(self) -> ReadModelRepository: ...
