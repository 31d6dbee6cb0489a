"""In-memory stand-ins for the segmentation repository and unit of work."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

from patron_segmentation.domain.facts import CustomerFacts
from patron_shared.testing import InMemoryUnitOfWork


@dataclass
class FakeFactsRepository:
    rows: dict[uuid.UUID, CustomerFacts] = field(default_factory=dict)
    writes: int = 0

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> CustomerFacts | None:
        return copy.deepcopy(self.rows.get(customer_id))

    async def save(self, facts: CustomerFacts) -> None:
        self.rows[facts.customer_id] = copy.deepcopy(facts)
        self.writes += 1


class FakeSegmentationUnitOfWork(InMemoryUnitOfWork):
    repositories = ("facts",)

    def __init__(self) -> None:
        super().__init__(source="segmentation")
        self.facts = FakeFactsRepository()
