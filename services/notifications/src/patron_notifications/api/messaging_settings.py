"""`/api/v1/notifications/settings`: the tenant's messaging settings.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.messaging_settings import TRIGGERS, MessagingSettings
from patron_notifications.service import messaging_settings as use_cases
from patron_notifications.service.messaging_settings import QuietHours, TenantSettings
from patron_shared.auth import Scope
from patron_shared.http import api_router, unit_of_work

Reader = Annotated[
    NotificationsUnitOfWork,
    Depends(unit_of_work(NotificationsUnitOfWork, Scope.NOTIFICATIONS_READ)),
]
Writer = Annotated[
    NotificationsUnitOfWork,
    Depends(unit_of_work(NotificationsUnitOfWork, Scope.NOTIFICATIONS_WRITE)),
]
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "a field is invalid (an unknown trigger, a time zone...): named"}
}
SEMANTICS = (
    "Fields the tenant does not set follow the service's defaults (which may change). "
    "`own` lists the fields that are the tenant's own."
)


class QuietHoursBody(BaseModel):
    """When marketing SMS wait (in the customer's time zone, else the default one); a
    window past midnight, such as 21:00-08:00, is one night."""

    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=CLOCK, examples=["21:00"], description="HH:MM, 24-hour")
    end: str = Field(pattern=CLOCK, examples=["08:00"], description="HH:MM, 24-hour")

    def hours(self) -> QuietHours:
        return QuietHours(time.fromisoformat(self.start), time.fromisoformat(self.end))

    @classmethod
    def of(cls, start: time, end: time) -> "QuietHoursBody":
        return cls(start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))


class SettingsIn(BaseModel):
    """Every field may be left out or null (see the operation for what that means)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "shop_name": "Northwind Outfitters",
                    "shop_url": "https://shop.example.com",
                    "triggers": {"win_back": False},
                    "marketing_cap": 2,
                    "marketing_cap_days": 7,
                    "sms_quiet_hours": {"start": "21:00", "end": "08:00"},
                    "default_time_zone": "Europe/Paris",
                }
            ]
        },
    )

    shop_name: str | None = Field(default=None, min_length=1, max_length=200)
    shop_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    triggers: dict[str, bool | None] | None = Field(
        default=None, description=f"trigger name -> on; the triggers: {', '.join(TRIGGERS)}"
    )
    marketing_cap: int | None = Field(
        default=None, ge=0, le=1000, description="marketing messages per customer per window"
    )
    marketing_cap_days: int | None = Field(
        default=None, ge=1, le=365, description="the frequency cap's window, in days"
    )
    sms_quiet_hours: QuietHoursBody | None = None
    default_time_zone: str | None = Field(
        default=None,
        max_length=64,
        examples=["Europe/Paris"],
        description="IANA time zone of customers whose own is not known; the day of the "
        "birthday messages",
    )

    def given(self) -> dict[str, Any]:
        """The fields present in the body (null included), as the use cases take them."""
        values: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            values[name] = value.hours() if isinstance(value, QuietHoursBody) else value
        return values


class SettingsOut(BaseModel):
    shop_name: str
    shop_url: str
    triggers: dict[str, bool] = Field(description="every trigger, on or off")
    marketing_cap: int
    marketing_cap_days: int
    sms_quiet_hours: QuietHoursBody
    default_time_zone: str
    own: list[str] = Field(
        description="the fields the tenant set (`triggers.<name>` per trigger); the others "
        "follow the service's defaults",
        examples=[["shop_name", "triggers.win_back"]],
    )
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, read: TenantSettings) -> "SettingsOut":
        settings, rules = read.effective, read.effective.rules
        return cls(
            shop_name=settings.shop_name,
            shop_url=settings.shop_url,
            triggers={name: settings.trigger_on(name) for name in TRIGGERS},
            marketing_cap=rules.cap,
            marketing_cap_days=rules.cap_window.days,
            sms_quiet_hours=QuietHoursBody.of(rules.quiet_start, rules.quiet_end),
            default_time_zone=rules.default_time_zone,
            own=read.own,
            updated_at=read.updated_at,
            updated_by=read.updated_by,
        )


def build_messaging_settings_router(defaults: MessagingSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/notifications/settings", tags=["notifications"])

    @router.get(
        "",
        summary="The tenant's messaging settings, defaults filled in",
        description=SEMANTICS,
    )
    async def get_settings(uow: Reader) -> SettingsOut:
        return SettingsOut.of(await use_cases.get_settings(uow, defaults))

    @router.put(
        "",
        summary="Replace the tenant's messaging settings",
        description="The body is the tenant's whole own settings: a field left out or null "
        "follows the service's default again, and `triggers` replaces every trigger the "
        "tenant set (a trigger not named is on, unless the default says otherwise). To "
        "change some fields and keep the others, use PATCH. " + SEMANTICS,
        responses=INVALID,
    )
    async def replace_settings(body: SettingsIn, uow: Writer) -> SettingsOut:
        replaced = await use_cases.replace_settings(
            uow, defaults, body.given(), actor=uow.caller.subject
        )
        return SettingsOut.of(replaced)

    @router.patch(
        "",
        summary="Change some of the tenant's messaging settings",
        description="Only the fields in the body change (JSON merge patch, RFC 7396): a "
        "field left out stays as it is, null puts it back on the service's default, and "
        '`triggers` merges name by name (`{"triggers": {"win_back": false}}` switches '
        "`win_back` off and leaves the others; a null trigger follows the default again). "
        + SEMANTICS,
        responses=INVALID,
    )
    async def change_settings(body: SettingsIn, uow: Writer) -> SettingsOut:
        changed = await use_cases.change_settings(
            uow, defaults, body.given(), actor=uow.caller.subject
        )
        return SettingsOut.of(changed)

    return router
