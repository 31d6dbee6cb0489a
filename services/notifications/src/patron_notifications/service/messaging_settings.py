"""A tenant's messaging settings: reading them, replacing them, changing some of them.

What a tenant sets is its own; every field it did not set follows the service's default
(`PATRON_SHOP_*`, `PATRON_MARKETING_CAP*`, ...), today's and tomorrow's. Reads show the
effective settings (defaults filled in) and which fields are the tenant's own.

- `replace_settings` (PUT): the given fields become the tenant's own settings; any field
  left out (or null) follows the default again.
- `change_settings` (PATCH): only the given fields change; null puts a field back on its
  default; `triggers` are merged name by name (a null name: back to its default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Protocol

from patron_notifications.domain.messaging_settings import (
    TRIGGERS,
    MessagingSettings,
    check_time_zone,
)
from patron_shared.db.ports import UnitOfWorkProtocol
from patron_shared.errors import InvalidInput

# The settings' fields, as the API names them.
FIELDS = (
    "shop_name",
    "shop_url",
    "triggers",
    "marketing_cap",
    "marketing_cap_days",
    "sms_quiet_hours",
    "default_time_zone",
)
# The columns of each field (the quiet hours are two).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "shop_name": ("shop_name",),
    "shop_url": ("shop_url",),
    "triggers": ("triggers",),
    "marketing_cap": ("marketing_cap",),
    "marketing_cap_days": ("marketing_cap_days",),
    "sms_quiet_hours": ("quiet_hours_start", "quiet_hours_end"),
    "default_time_zone": ("default_time_zone",),
}


class SettingsRepository(Protocol):
    async def get(self, defaults: MessagingSettings) -> MessagingSettings: ...
    async def own_values(self, *, lock: bool = False) -> dict[str, Any] | None: ...
    async def save_own_values(self, values: Mapping[str, Any], actor: str | None) -> None: ...


class SettingsUnitOfWork(UnitOfWorkProtocol, Protocol):
    @property
    def messaging_settings(self) -> SettingsRepository: ...


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time


@dataclass(frozen=True)
class TenantSettings:
    effective: MessagingSettings
    # the fields the tenant set ("shop_name", "triggers.welcome", "sms_quiet_hours"...)
    own: list[str]
    updated_at: datetime | None = None
    updated_by: str | None = None


async def get_settings(uow: SettingsUnitOfWork, defaults: MessagingSettings) -> TenantSettings:
    async with uow:
        return await _read(uow, defaults)


async def replace_settings(
    uow: SettingsUnitOfWork,
    defaults: MessagingSettings,
    given: Mapping[str, Any],
    *,
    actor: str | None,
) -> TenantSettings:
    """`given` (field -> value, None for the default) becomes the tenant's own settings."""
    columns = _columns(dict.fromkeys(FIELDS) | dict(given))
    async with uow:
        await uow.messaging_settings.own_values(lock=True)
        return await _save(uow, defaults, columns, actor)


async def change_settings(
    uow: SettingsUnitOfWork,
    defaults: MessagingSettings,
    given: Mapping[str, Any],
    *,
    actor: str | None,
) -> TenantSettings:
    """Only the fields in `given` change (None: back to the default); triggers merge."""
    async with uow:
        stored = await uow.messaging_settings.own_values(lock=True) or {}
        changes = dict(given)
        if isinstance(changes.get("triggers"), Mapping):
            changes["triggers"] = {**(stored.get("triggers") or {}), **changes["triggers"]}
        return await _save(uow, defaults, _columns(changes), actor)


async def _save(
    uow: SettingsUnitOfWork,
    defaults: MessagingSettings,
    columns: dict[str, Any],
    actor: str | None,
) -> TenantSettings:
    await uow.messaging_settings.save_own_values(columns, actor)
    read = await _read(uow, defaults)  # the combination is checked here, before committing
    await uow.commit()
    return read


async def _read(uow: SettingsUnitOfWork, defaults: MessagingSettings) -> TenantSettings:
    effective = await uow.messaging_settings.get(defaults)
    stored = await uow.messaging_settings.own_values()
    if stored is None:
        return TenantSettings(effective, [])
    own = [
        name
        for name in FIELDS
        if name != "triggers" and any(stored.get(c) is not None for c in _COLUMNS[name])
    ]
    own += [f"triggers.{name}" for name in sorted(stored.get("triggers") or {})]
    return TenantSettings(
        effective, sorted(own), stored.get("updated_at"), stored.get("updated_by")
    )


def _columns(given: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of the given fields, each checked (an error names the field)."""
    columns: dict[str, Any] = {}
    for name, value in given.items():
        if name not in _COLUMNS:
            raise InvalidInput(name, "not a messaging setting")
        if name == "triggers":
            columns["triggers"] = _triggers(value or {})
        elif name == "sms_quiet_hours":
            hours = _quiet_hours(value)
            columns["quiet_hours_start"] = None if hours is None else hours.start
            columns["quiet_hours_end"] = None if hours is None else hours.end
        else:
            if name == "default_time_zone" and value is not None:
                check_time_zone(value, field=name)
            columns[name] = value
    return columns


def _triggers(given: Mapping[str, bool | None]) -> dict[str, bool]:
    for name in given:
        if name not in TRIGGERS:
            raise InvalidInput(
                f"triggers.{name}", f"unknown trigger; the triggers are {', '.join(TRIGGERS)}"
            )
    # a null name follows the default again
    return {name: on for name, on in sorted(given.items()) if on is not None}


def _quiet_hours(value: QuietHours | None) -> QuietHours | None:
    if value is not None and value.start == value.end:
        raise InvalidInput("sms_quiet_hours", "an empty window: start and end are the same")
    return value
