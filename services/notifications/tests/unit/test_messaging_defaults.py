"""A tenant's messaging settings before it saves any: the service's environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from patron_notifications.settings import NotificationsSettings


def test_messaging_defaults_come_from_the_environment() -> None:
    settings = NotificationsSettings(
        shop_name="Northwind",
        marketing_cap=5,
        marketing_cap_days=10,
        sms_quiet_hours="22:30-07:15",
        default_time_zone="Europe/Berlin",
        triggers_off="birthday, win_back",
    )
    defaults = settings.messaging_defaults()
    assert defaults.shop == {"name": "Northwind", "url": settings.shop_url}
    assert (defaults.rules.cap, defaults.rules.cap_window.days) == (5, 10)
    assert (defaults.rules.quiet_start.isoformat(), defaults.rules.quiet_end.isoformat()) == (
        "22:30:00",
        "07:15:00",
    )
    assert defaults.rules.default_time_zone == "Europe/Berlin"
    assert [t for t in ("welcome", "birthday", "win_back") if defaults.trigger_on(t)] == ["welcome"]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("sms_quiet_hours", "9pm-8am", "sms_quiet_hours"),
        ("sms_quiet_hours", "08:00-08:00", "sms_quiet_hours"),
        ("default_time_zone", "Mars/Olympus", "default_time_zone"),
        ("triggers_off", "welcome,newsletter", "triggers"),
    ],
)
def test_a_bad_default_stops_the_service_naming_it(field: str, value: str, named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        NotificationsSettings.model_validate({field: value})


def test_production_refuses_the_development_unsubscribe_secret() -> None:
    with pytest.raises(ValidationError, match="PATRON_UNSUBSCRIBE_SECRET"):
        NotificationsSettings(env="production", jwt_secret="a-real-secret-of-production")
    assert (
        NotificationsSettings(
            env="production", jwt_secret="a-real-secret", unsubscribe_secret="another-real-one"
        ).env
        == "production"
    )
