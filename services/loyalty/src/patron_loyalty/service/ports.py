"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from typing import Protocol

from patron_loyalty.domain.member import LoyaltyMember
from patron_shared.db.ports import UnitOfWorkProtocol


class MemberRepository(Protocol):
    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> LoyaltyMember | None: ...
    async def save(self, member: LoyaltyMember) -> None: ...


class MemberUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def members(self) -> MemberRepository: ...
