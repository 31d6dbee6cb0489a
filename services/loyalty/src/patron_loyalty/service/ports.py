"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from patron_loyalty.domain.account import LoyaltyAccount
from patron_loyalty.domain.credit import (
    AccountKey,
    AnsweredRequest,
    CreditAccount,
    CreditEntry,
    RequestKeyType,
)
from patron_loyalty.domain.earning import OrderPoints
from patron_loyalty.domain.ledger import Entry, PointsAccount
from patron_loyalty.domain.member import LoyaltyMember
from patron_loyalty.domain.program import Program, Tier
from patron_shared.db.ports import EmittingUnitOfWorkProtocol, UnitOfWorkProtocol


class MemberRepository(Protocol):
    async def get(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> LoyaltyMember | None: ...
    async def save(self, member: LoyaltyMember) -> None: ...


class MemberUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def members(self) -> MemberRepository: ...


@dataclass(frozen=True)
class HistoryPage:
    entries: list[Entry]
    has_more: bool


class PointsRepository(Protocol):
    async def program(self) -> Program | None: ...
    async def save_program(self, program: Program, actor: str) -> None: ...
    async def account(self, customer_id: uuid.UUID) -> LoyaltyAccount | None: ...
    async def lock_account(
        self, customer_id: uuid.UUID, entry_tier: Tier, now: datetime
    ) -> LoyaltyAccount: ...
    async def save_account(self, account: LoyaltyAccount) -> None: ...
    async def ledger(self, customer_id: uuid.UUID) -> PointsAccount: ...
    async def save_ledger(self, account: PointsAccount) -> None: ...
    async def qualifying_points(self, customer_id: uuid.UUID, since: datetime | None) -> int: ...
    async def expiring_by(self, customer_id: uuid.UUID, moment: datetime) -> int: ...
    async def history(
        self, customer_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> HistoryPage: ...
    async def orders(self, order_ids: set[str]) -> dict[str, OrderPoints]: ...
    async def save_order(self, order: OrderPoints) -> None: ...


class PointsUnitOfWork(MemberUnitOfWork, EmittingUnitOfWorkProtocol, Protocol):
    @property
    def default_program(self) -> Program: ...

    @property
    def points(self) -> PointsRepository: ...


class CreditRepository(Protocol):
    async def lock_accounts(
        self, keys: Collection[AccountKey]
    ) -> dict[AccountKey, CreditAccount]: ...
    async def account_keys(self, customer_ids: Collection[uuid.UUID]) -> set[AccountKey]: ...
    async def holders_of_lots_from(self, origin_customer_id: uuid.UUID) -> set[AccountKey]: ...
    async def accounts_with_due_lots(
        self, now: datetime, customer_id: uuid.UUID | None = None
    ) -> set[AccountKey]: ...
    async def balances(self, customer_id: uuid.UUID) -> dict[str, Decimal]: ...
    async def save(self, account: CreditAccount) -> None: ...
    async def entry(self, entry_id: uuid.UUID) -> CreditEntry | None: ...
    async def entries_page(
        self, customer_id: uuid.UUID, *, currency: str | None, offset: int, limit: int
    ) -> tuple[list[CreditEntry], int]: ...
    async def erase_personal_data(self, customer_id: uuid.UUID) -> int: ...
    async def answered(
        self, keys: Sequence[tuple[RequestKeyType, str]]
    ) -> list[AnsweredRequest]: ...
    async def remember(self, requests: Sequence[AnsweredRequest]) -> bool: ...


class CreditUnitOfWork(EmittingUnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def credit(self) -> CreditRepository: ...
