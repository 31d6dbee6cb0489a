"""An in-memory template repository, and a unit of work that has it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.templates import MessageTemplate

from .fakes import FakeNotificationsUnitOfWork


@dataclass
class FakeTemplateRepository:
    rows: list[MessageTemplate] = field(default_factory=list)

    async def add_version(
        self, template: MessageTemplate, created_by: str | None
    ) -> MessageTemplate:
        versions = [t.version for t in self._of(template.key, template.channel)]
        stored = replace(
            template,
            version=max(versions, default=0) + 1,
            created_at=datetime.now(UTC),
            created_by=created_by,
        )
        self.rows.append(stored)
        return stored

    async def current(self, key: str, channel: Channel) -> MessageTemplate | None:
        return max(self._of(key, channel), key=lambda t: t.version, default=None)

    async def version(self, key: str, channel: Channel, version: int) -> MessageTemplate | None:
        return next((t for t in self._of(key, channel) if t.version == version), None)

    async def all_current(self) -> list[MessageTemplate]:
        newest: dict[tuple[str, str], MessageTemplate] = {}
        for template in self.rows:
            identity = (template.key, template.channel)
            if identity not in newest or newest[identity].version < template.version:
                newest[identity] = template
        return copy.copy([newest[identity] for identity in sorted(newest)])

    def _of(self, key: str, channel: Channel) -> list[MessageTemplate]:
        return [t for t in self.rows if (t.key, t.channel) == (key, channel)]


class FakeTemplatesUnitOfWork(FakeNotificationsUnitOfWork):
    repositories = (*FakeNotificationsUnitOfWork.repositories, "templates")

    def __init__(self) -> None:
        super().__init__()
        self.templates = FakeTemplateRepository()
