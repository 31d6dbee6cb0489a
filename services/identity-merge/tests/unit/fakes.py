"""In-memory stand-ins for the identity repository and unit of work."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.resolution import Identifier
from patron_shared.testing import InMemoryUnitOfWork


@dataclass
class FakeCustomerRepository:
    rows: dict[uuid.UUID, IdentityCustomer] = field(default_factory=dict)
    writes: int = 0

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> IdentityCustomer | None:
        return copy.deepcopy(self.rows.get(customer_id))

    async def save(self, customer: IdentityCustomer) -> None:
        self.rows[customer.customer_id] = copy.deepcopy(customer)
        self.writes += 1


@dataclass
class FakeIdentifierRepository:
    owned: dict[Identifier, uuid.UUID] = field(default_factory=dict)

    async def owners(self, wanted: Iterable[Identifier]) -> dict[Identifier, uuid.UUID]:
        return {i: self.owned[i] for i in wanted if i in self.owned}

    async def claim(
        self, identifier: Identifier, customer_id: uuid.UUID, *, source: str
    ) -> uuid.UUID:
        return self.owned.setdefault(identifier, customer_id)

    async def of_customer(self, customer_id: uuid.UUID) -> list[Identifier]:
        return sorted(i for i, owner in self.owned.items() if owner == customer_id)


class FakeIdentityUnitOfWork(InMemoryUnitOfWork):
    repositories = ("customers", "identifiers")

    def __init__(self) -> None:
        super().__init__(source="identity")
        self.customers = FakeCustomerRepository()
        self.identifiers = FakeIdentifierRepository()
