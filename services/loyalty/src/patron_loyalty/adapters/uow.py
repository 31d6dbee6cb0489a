"""The loyalty unit of work: the shared one plus the membership repository."""

from __future__ import annotations

from patron_loyalty.adapters.repository import SqlMemberRepository
from patron_shared.db import UnitOfWork


class LoyaltyUnitOfWork(UnitOfWork):
    members: SqlMemberRepository

    def _open_repositories(self) -> None:
        self.members = SqlMemberRepository(self.session, self.tenant_id)
