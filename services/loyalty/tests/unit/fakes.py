"""In-memory stand-ins for the loyalty repository and unit of work."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

from patron_loyalty.domain.member import LoyaltyMember
from patron_shared.testing import InMemoryUnitOfWork


@dataclass
class FakeMemberRepository:
    rows: dict[uuid.UUID, LoyaltyMember] = field(default_factory=dict)
    writes: int = 0

    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> LoyaltyMember | None:
        return copy.deepcopy(self.rows.get(customer_id))

    async def save(self, member: LoyaltyMember) -> None:
        self.rows[member.customer_id] = copy.deepcopy(member)
        self.writes += 1


class FakeLoyaltyUnitOfWork(InMemoryUnitOfWork):
    repositories = ("members",)

    def __init__(self) -> None:
        super().__init__(source="loyalty")
        self.members = FakeMemberRepository()
