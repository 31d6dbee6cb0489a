"""A tenant's messaging settings before it saves any: the service's environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from patron_notifications.settings import (
    DEV_SMS_AUTH_TOKEN,
    DEV_UNSUBSCRIBE_SECRET,
    NotificationsSettings,
)


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
        NotificationsSettings(
            env="production", jwt_secret="a-real-secret", sms_auth_token="a-real-token"
        )
    assert (
        NotificationsSettings(
            env="production",
            jwt_secret="a-real-secret",
            unsubscribe_secret="another-real-one",
            sms_auth_token="a-real-token",
        ).env
        == "production"
    )


def test_production_refuses_the_development_sms_auth_token() -> None:
    # anyone knowing the development token could sign status callbacks and fail messages
    with pytest.raises(ValidationError, match="PATRON_SMS_AUTH_TOKEN") as refused:
        NotificationsSettings(
            env="production", jwt_secret="a-real-secret", unsubscribe_secret="a-real-one"
        )
    assert "PATRON_UNSUBSCRIBE_SECRET" not in str(refused.value)


def test_production_names_every_development_secret_left() -> None:
    with pytest.raises(ValidationError) as refused:
        NotificationsSettings(env="production", jwt_secret="a-real-secret")
    assert "PATRON_UNSUBSCRIBE_SECRET and PATRON_SMS_AUTH_TOKEN must be set" in str(refused.value)


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_secrets_serve_outside_production(env: str) -> None:
    settings = NotificationsSettings(env=env)
    assert settings.sms_auth_token.get_secret_value() == DEV_SMS_AUTH_TOKEN
    assert settings.unsubscribe_secret.get_secret_value() == DEV_UNSUBSCRIBE_SECRET
