"""What the use cases need from the outside world (fakes implement these in unit tests)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.contact import Contact
from patron_notifications.domain.templates import MessageTemplate
from patron_shared.db.ports import UnitOfWorkProtocol


class ContactRepository(Protocol):
    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Contact | None: ...
    async def save(self, contact: Contact) -> None: ...
    async def note_order(
        self,
        customer_id: uuid.UUID,
        *,
        order_id: str,
        total: Decimal,
        currency: str,
        placed_at: datetime,
    ) -> None: ...
    async def note_points(self, customer_id: uuid.UUID, *, balance: int, at: datetime) -> None: ...
    async def note_tier(self, customer_id: uuid.UUID, *, tier: str, at: datetime) -> None: ...
    async def note_marketing_consent(
        self, customer_id: uuid.UUID, channel: Channel, *, granted: bool, at: datetime
    ) -> None: ...
    async def list_page(self, *, offset: int, limit: int) -> tuple[list[Contact], int]: ...


class ContactUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def contacts(self) -> ContactRepository: ...


class TemplateRepository(Protocol):
    async def add_version(
        self, template: MessageTemplate, created_by: str | None
    ) -> MessageTemplate: ...
    async def current(self, key: str, channel: Channel) -> MessageTemplate | None: ...
    async def version(self, key: str, channel: Channel, version: int) -> MessageTemplate | None: ...
    async def all_current(self) -> list[MessageTemplate]: ...


class TemplateUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def templates(self) -> TemplateRepository: ...
