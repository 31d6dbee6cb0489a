"""Message template persistence: append-only versions per (tenant, key, channel)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from patron_notifications.adapters.tables import message_templates
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.templates import MessageTemplate

_t = message_templates.c


class SqlTemplateRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add_version(
        self, template: MessageTemplate, created_by: str | None
    ) -> MessageTemplate:
        """Store `template` as the next version of its key and channel; returns it stored."""
        # Two saves of one key at once would both read the same highest version: take a
        # transaction lock on the (tenant, key, channel) first, so they queue instead.
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
            {"lock": "\x1f".join(("templates", self._tenant_id, template.key, template.channel))},
        )
        latest = await self._session.scalar(
            select(func.max(_t.version)).where(*self._of(template.key, template.channel))
        )
        row = (
            await self._session.execute(
                message_templates.insert()
                .values(
                    tenant_id=self._tenant_id,
                    key=template.key,
                    channel=template.channel,
                    version=(latest or 0) + 1,
                    category=template.category,
                    subject=template.subject,
                    text_body=template.text,
                    html_body=template.html,
                    created_by=created_by,
                )
                .returning(message_templates)
            )
        ).one()
        return _to_template(row)

    async def current(self, key: str, channel: Channel) -> MessageTemplate | None:
        row = (
            await self._session.execute(
                select(message_templates)
                .where(*self._of(key, channel))
                .order_by(_t.version.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else _to_template(row)

    async def version(self, key: str, channel: Channel, version: int) -> MessageTemplate | None:
        row = (
            await self._session.execute(
                select(message_templates).where(*self._of(key, channel), _t.version == version)
            )
        ).first()
        return None if row is None else _to_template(row)

    async def all_current(self) -> list[MessageTemplate]:
        """The version in use of each of the tenant's templates, by key then channel."""
        rows = await self._session.execute(
            select(message_templates)
            .ext(distinct_on(_t.key, _t.channel))
            .where(_t.tenant_id == self._tenant_id)
            .order_by(_t.key, _t.channel, _t.version.desc())
        )
        return [_to_template(row) for row in rows]

    def _of(self, key: str, channel: Channel) -> tuple[Any, ...]:
        return (_t.tenant_id == self._tenant_id, _t.key == key, _t.channel == channel)


def _to_template(row: Row[Any]) -> MessageTemplate:
    return MessageTemplate(
        key=row.key,
        channel=row.channel,
        category=row.category,
        subject=row.subject,
        text=row.text_body,
        html=row.html_body,
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
    )
