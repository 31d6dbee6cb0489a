"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Protocol, Self

from patron_loyalty.domain.member import LoyaltyMember
from patron_shared.events import Envelope


class MemberRepository(Protocol):
    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> LoyaltyMember | None: ...
    async def save(self, member: LoyaltyMember) -> None: ...


class MemberUnitOfWork(Protocol):
    tenant_id: str

    @property
    def members(self) -> MemberRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> list[Envelope]: ...
