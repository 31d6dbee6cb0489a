"""What the local stack tells the notifications service about where to send: the sinks it
starts, on whichever ports they were given (no process is started)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from patron_cli.config import SERVICES, StackConfig
from patron_cli.stack import SINKS, application_processes, service_env, write_env_file

NOTIFICATIONS = next(service for service in SERVICES if service.name == "notifications")


def _sink_ports(config: StackConfig) -> dict[str, int]:
    """The ports the stack starts the sinks on, read off the sinks' command line."""
    (sinks,) = [p for p in application_processes(config) if p.name == SINKS]
    options = sinks.command[sinks.command.index("patron_cli.sinks") + 1 :]
    return {
        name.removeprefix("--"): int(value)
        for name, value in zip(options[::2], options[1::2], strict=True)
    }


def test_notifications_sends_to_the_sinks_on_the_ports_they_are_started_on() -> None:
    config = replace(StackConfig(), smtp_port=2525, mail_http_port=9025, sms_port=9026)
    ports = _sink_ports(config)

    env = service_env(config, NOTIFICATIONS)

    assert ports == {"smtp-port": 2525, "mail-http-port": 9025, "sms-port": 9026}
    assert (env["PATRON_SMTP_HOST"], env["PATRON_SMTP_PORT"]) == ("127.0.0.1", "2525")
    assert env["PATRON_SMTP_SECURITY"] == "none"
    assert env["PATRON_SMS_API_URL"] == "http://127.0.0.1:9026"


def test_notifications_builds_callbacks_and_links_on_the_stacks_gateway() -> None:
    config = replace(StackConfig(), gateway_port=18080)

    env = service_env(config, NOTIFICATIONS)

    assert env["PATRON_PUBLIC_BASE_URL"] == "http://127.0.0.1:18080"


def test_the_sink_settings_override_what_the_shell_had(monkeypatch: pytest.MonkeyPatch) -> None:
    # a shell set up for a real SMTP server must not send the local stack's mail there
    monkeypatch.setenv("PATRON_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("PATRON_SMTP_PORT", "587")
    monkeypatch.setenv("PATRON_SMTP_SECURITY", "starttls")
    monkeypatch.setenv("PATRON_SMS_API_URL", "https://api.twilio.com")
    config = replace(StackConfig(), smtp_port=2525, sms_port=9026)

    env = service_env(config, NOTIFICATIONS)

    assert (env["PATRON_SMTP_HOST"], env["PATRON_SMTP_PORT"]) == ("127.0.0.1", "2525")
    assert env["PATRON_SMTP_SECURITY"] == "none"
    assert env["PATRON_SMS_API_URL"] == "http://127.0.0.1:9026"


def test_the_env_file_names_the_same_sinks_the_service_uses(tmp_path: Path) -> None:
    config = replace(
        StackConfig(), stack_dir=tmp_path, smtp_port=2525, mail_http_port=9025, sms_port=9026
    )

    write_env_file(config, infra_only=False)

    written = dict(line.split("=", 1) for line in config.env_file.read_text().splitlines() if line)
    service = service_env(config, NOTIFICATIONS)
    for name in ("PATRON_SMTP_HOST", "PATRON_SMTP_PORT", "PATRON_SMS_API_URL"):
        assert written[name] == service[name]
    assert written["PATRON_SMTP_SINK_URL"] == "http://127.0.0.1:9025"
    assert written["PATRON_SMS_SINK_URL"] == "http://127.0.0.1:9026"
