"""The identity unit of work: the shared one plus the customer repository."""

from __future__ import annotations

from patron_identity.adapters.repository import SqlCustomerRepository
from patron_shared.db import UnitOfWork


class IdentityUnitOfWork(UnitOfWork):
    customers: SqlCustomerRepository

    def _open_repositories(self) -> None:
        self.customers = SqlCustomerRepository(self.session, self.tenant_id)
