"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Protocol, Self

from patron_notifications.domain.contact import Contact
from patron_shared.events import Envelope


class ContactRepository(Protocol):
    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Contact | None: ...
    async def save(self, contact: Contact) -> None: ...
    async def list_page(self, *, offset: int, limit: int) -> tuple[list[Contact], int]: ...


class ContactUnitOfWork(Protocol):
    tenant_id: str

    @property
    def contacts(self) -> ContactRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> list[Envelope]: ...
