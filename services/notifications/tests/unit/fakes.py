"""In-memory stand-ins for the notifications repository and unit of work."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

from patron_notifications.domain.contact import Contact
from patron_shared.testing import InMemoryUnitOfWork


@dataclass
class FakeContactRepository:
    rows: dict[uuid.UUID, Contact] = field(default_factory=dict)
    writes: int = 0

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Contact | None:
        return copy.deepcopy(self.rows.get(customer_id))

    async def save(self, contact: Contact) -> None:
        self.rows[contact.customer_id] = copy.deepcopy(contact)
        self.writes += 1

    async def list_page(self, *, offset: int, limit: int) -> tuple[list[Contact], int]:
        live = [c for c in reversed(self.rows.values()) if c.deleted_at is None]
        return copy.deepcopy(live[offset : offset + limit]), len(live)


class FakeNotificationsUnitOfWork(InMemoryUnitOfWork):
    repositories = ("contacts",)

    def __init__(self) -> None:
        super().__init__(source="notifications")
        self.contacts = FakeContactRepository()
