"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from typing import Protocol

from patron_segmentation.domain.facts import CustomerFacts
from patron_shared.db.ports import UnitOfWorkProtocol


class FactsRepository(Protocol):
    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> CustomerFacts | None: ...
    async def save(self, facts: CustomerFacts) -> None: ...


class FactsUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def facts(self) -> FactsRepository: ...
