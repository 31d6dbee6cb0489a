"""In-memory stand-ins for the identity repository and unit of work."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

from patron_identity.domain.customer import IdentityCustomer
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


class FakeIdentityUnitOfWork(InMemoryUnitOfWork):
    repositories = ("customers",)

    def __init__(self) -> None:
        super().__init__(source="identity")
        self.customers = FakeCustomerRepository()
