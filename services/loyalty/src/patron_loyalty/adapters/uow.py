"""The loyalty unit of work: the shared one plus members, points and credit."""

from __future__ import annotations

from patron_loyalty.adapters.cards import SqlCardLookup
from patron_loyalty.adapters.credit import SqlCreditRepository
from patron_loyalty.adapters.points import SqlPointsRepository
from patron_loyalty.adapters.repository import SqlMemberRepository
from patron_loyalty.domain.program import Program
from patron_loyalty.settings import LoyaltySettings
from patron_shared.db import UnitOfWork


class LoyaltyUnitOfWork(UnitOfWork):
    members: SqlMemberRepository
    points: SqlPointsRepository
    credit: SqlCreditRepository

    @property
    def default_program(self) -> Program:
        """The program of a tenant that has not set its own, from the service's settings."""
        if isinstance(self.settings, LoyaltySettings):
            return self.settings.default_program()
        return LoyaltySettings().default_program()

    @property
    def cards(self) -> SqlCardLookup:
        """Card reads outside the transaction (requests' units of work have point reads)."""
        if self.point_reads is None:
            raise RuntimeError("this unit of work has no point reads (only requests do)")
        return SqlCardLookup(self.point_reads)

    def _open_repositories(self) -> None:
        self.members = SqlMemberRepository(self.session, self.tenant_id)
        self.points = SqlPointsRepository(self.session, self.tenant_id)
        self.credit = SqlCreditRepository(self.session, self.tenant_id)
