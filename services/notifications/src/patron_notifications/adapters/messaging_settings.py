"""A tenant's messaging settings: one row, its empty columns falling back to the defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_notifications.adapters.tables import messaging_settings
from patron_notifications.domain.messaging_settings import MessagingSettings


class SqlMessagingSettingsRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get(self, defaults: MessagingSettings) -> MessagingSettings:
        row = (
            await self._session.execute(
                select(messaging_settings).where(messaging_settings.c.tenant_id == self._tenant_id)
            )
        ).first()
        if row is None:
            return defaults
        rules = defaults.rules
        rules = replace(
            rules,
            cap=rules.cap if row.marketing_cap is None else row.marketing_cap,
            cap_window=rules.cap_window
            if row.marketing_cap_days is None
            else timedelta(days=row.marketing_cap_days),
            quiet_start=row.quiet_hours_start or rules.quiet_start,
            quiet_end=row.quiet_hours_end or rules.quiet_end,
            default_time_zone=row.default_time_zone or rules.default_time_zone,
        )
        return MessagingSettings(
            shop_name=row.shop_name or defaults.shop_name,
            shop_url=row.shop_url or defaults.shop_url,
            triggers={**defaults.triggers, **(row.triggers or {})},
            rules=rules,
        )

    async def own_values(self, *, lock: bool = False) -> dict[str, Any] | None:
        """The tenant's row as stored: each column the tenant set, None where the default
        applies (`triggers` holds only the triggers the tenant named); None without a row.
        `lock`: until the transaction ends, another change of the tenant's settings waits
        (a change read from these values is not lost to a concurrent one)."""
        if lock:
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
                {"lock": f"messaging_settings\x1f{self._tenant_id}"},
            )
        row = (
            await self._session.execute(
                select(messaging_settings).where(messaging_settings.c.tenant_id == self._tenant_id)
            )
        ).first()
        return None if row is None else dict(row._mapping)

    async def save_own_values(self, values: Mapping[str, Any], actor: str | None) -> None:
        """Store exactly these columns (None: back to the default), leaving the others."""
        written = {**values, "updated_by": actor}
        insert = pg_insert(messaging_settings).values(tenant_id=self._tenant_id, **written)
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id"], set_=written | {"updated_at": func.now()}
            )
        )

    async def save(self, settings: MessagingSettings, actor: str | None) -> None:
        values = {
            "shop_name": settings.shop_name,
            "shop_url": settings.shop_url,
            "triggers": dict(settings.triggers),
            "marketing_cap": settings.rules.cap,
            "marketing_cap_days": settings.rules.cap_window.days,
            "quiet_hours_start": settings.rules.quiet_start,
            "quiet_hours_end": settings.rules.quiet_end,
            "default_time_zone": settings.rules.default_time_zone,
            "updated_by": actor,
        }
        insert = pg_insert(messaging_settings).values(tenant_id=self._tenant_id, **values)
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id"], set_=values | {"updated_at": func.now()}
            )
        )
