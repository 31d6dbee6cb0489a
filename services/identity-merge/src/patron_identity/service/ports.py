"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from types import TracebackType
from typing import Protocol, Self

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.resolution import Identifier
from patron_shared.events import Contract, Envelope


class CustomerRepository(Protocol):
    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> IdentityCustomer | None: ...
    async def save(self, customer: IdentityCustomer) -> None: ...


class IdentifierRepository(Protocol):
    async def owners(self, wanted: Iterable[Identifier]) -> dict[Identifier, uuid.UUID]: ...
    async def claim(
        self, identifier: Identifier, customer_id: uuid.UUID, *, source: str
    ) -> uuid.UUID: ...
    async def of_customer(self, customer_id: uuid.UUID) -> list[Identifier]: ...


class CustomerUnitOfWork(Protocol):
    tenant_id: str

    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def identifiers(self) -> IdentifierRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def emit(self, *events: Contract) -> None: ...
    async def commit(self) -> list[Envelope]: ...
