"""The identity unit of work: the shared one plus the customer and identifier repositories."""

from __future__ import annotations

from patron_identity.adapters.identifiers import SqlIdentifierRepository
from patron_identity.adapters.repository import SqlCustomerRepository
from patron_shared.db import UnitOfWork


class IdentityUnitOfWork(UnitOfWork):
    customers: SqlCustomerRepository
    identifiers: SqlIdentifierRepository

    def _open_repositories(self) -> None:
        self.customers = SqlCustomerRepository(self.session, self.tenant_id)
        self.identifiers = SqlIdentifierRepository(self.session, self.tenant_id)
