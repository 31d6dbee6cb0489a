"""The notifications unit of work: the shared one plus the contact repository."""

from __future__ import annotations

from patron_notifications.adapters.repository import SqlContactRepository
from patron_shared.db import UnitOfWork


class NotificationsUnitOfWork(UnitOfWork):
    contacts: SqlContactRepository

    def _open_repositories(self) -> None:
        self.contacts = SqlContactRepository(self.session, self.tenant_id)
