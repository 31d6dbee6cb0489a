"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self

from patron_profile.domain.customer import Customer
from patron_profile.domain.customer_query import Cursor, CustomerFilters, CustomerSort
from patron_shared.events import Contract, Envelope, OrderPlaced


@dataclass(frozen=True)
class PendingOrder:
    order_id: str
    total: Decimal
    currency: str
    placed_at: datetime


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
    async def record_order(
        self, order: OrderPlaced, *, event_id: uuid.UUID, counted: bool = False
    ) -> bool: ...
    async def uncounted_orders(self, customer_id: uuid.UUID) -> Sequence[PendingOrder]: ...
    async def mark_orders_counted(self, order_ids: Sequence[str]) -> None: ...


class CustomerUnitOfWork(Protocol):
    tenant_id: str
    causation_id: str | None

    @property
    def customers(self) -> CustomerRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def emit(self, *events: Contract) -> None: ...
    async def commit(self) -> list[Envelope]: ...
