"""A tenant's messaging settings: who the shop is, which triggers send, and the limits on
marketing (a frequency cap; quiet hours for SMS in the customer's time zone).

A tenant that never saved any runs on the service's defaults (`PATRON_SHOP_*`,
`PATRON_MARKETING_CAP*`, `PATRON_SMS_QUIET_HOURS`, `PATRON_DEFAULT_TIME_ZONE`,
`PATRON_TRIGGERS_OFF`); each saved field overrides its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from patron_notifications.domain.consent import SendingRules
from patron_shared.errors import InvalidInput

# `send_notification`: the `SendNotification` commands other services send
Trigger = Literal[
    "welcome",
    "order_confirmation",
    "win_back",
    "points_adjusted",
    "tier_upgrade",
    "birthday",
    "send_notification",
]
TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)


@dataclass(frozen=True)
class MessagingSettings:
    shop_name: str = "Patron Shop"
    shop_url: str = "http://127.0.0.1:8080"
    triggers: Mapping[Trigger, bool] = field(default_factory=dict)
    rules: SendingRules = field(default_factory=SendingRules)

    def __post_init__(self) -> None:
        unknown = set(self.triggers) - set(TRIGGERS)
        if unknown:
            raise InvalidInput("triggers", f"unknown trigger(s): {', '.join(sorted(unknown))}")
        check_time_zone(self.rules.default_time_zone, field="default_time_zone")
        if self.rules.cap < 0:
            raise InvalidInput("marketing_cap", "must be 0 or more")
        if self.rules.cap_window <= timedelta(0):
            raise InvalidInput("marketing_cap_days", "must be at least 1")

    def trigger_on(self, trigger: Trigger) -> bool:
        """Triggers are on unless switched off."""
        return self.triggers.get(trigger, True)

    @property
    def shop(self) -> dict[str, str]:
        """The `shop` a template sees."""
        return {"name": self.shop_name, "url": self.shop_url}


def check_time_zone(name: str, *, field: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            field, f"{name!r} is not an IANA time zone (e.g. Europe/Paris)"
        ) from None


def parse_quiet_hours(value: str, *, field: str = "sms_quiet_hours") -> tuple[time, time]:
    """`HH:MM-HH:MM` (a window past midnight, such as 21:00-08:00, is one night)."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise InvalidInput(field, "must be HH:MM-HH:MM, e.g. 21:00-08:00") from None
    if start == end:
        raise InvalidInput(field, "an empty window: start and end are the same")
    return start, end
