"""Integration fixtures: the local stack's mail and SMS sinks, and settings that send there."""

from __future__ import annotations

import pytest

from patron_notifications.settings import NotificationsSettings
from patron_shared.testing import read_stack_env


@pytest.fixture
def stack() -> dict[str, str]:
    """The running local stack's settings; its sinks must be up (a test that sends fails
    rather than skips without them)."""
    env = read_stack_env()
    if "PATRON_SMTP_SINK_URL" not in env or "PATRON_SMS_SINK_URL" not in env:
        pytest.fail("the local stack's sinks are not running: `uv run patron stack up`")
    return env


@pytest.fixture
def sink_settings(
    service_settings: NotificationsSettings, stack: dict[str, str]
) -> NotificationsSettings:
    """The service's test settings sending to the stack's sinks, its worker looking often,
    and no background job but the worker (a test turns on what it needs)."""
    return service_settings.model_copy(
        update={
            "smtp_host": stack["PATRON_SMTP_HOST"],
            "smtp_port": int(stack["PATRON_SMTP_PORT"]),
            "sms_api_url": stack["PATRON_SMS_SINK_URL"],
            "delivery_idle_seconds": 0.2,
            "birthday_job_interval_seconds": 0,
            "campaign_runner_interval_seconds": 0,
            "waiting_expiry_interval_seconds": 0,
        }
    )
