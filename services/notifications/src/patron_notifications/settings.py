"""Notifications service settings (environment variables; see the README)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from patron_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    contacts_per_page: int = Field(default=20, ge=1)
    contacts_max_per_page: int = Field(default=100, ge=1, le=1000)

    # Delivery channels. The defaults reach the local stack's development sinks.
    # PATRON_SMTP_*: `none` (plain), `starttls` (upgrade after connecting) or `tls` (implicit).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Patron <notifications@patron.localhost>"
    # Connected SMTP clients kept open and shared by concurrent sends.
    smtp_pool_size: int = Field(default=4, ge=1, le=100)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # PATRON_SMS_*: a Twilio-compatible REST API (the local sink accepts any credentials).
    sms_api_url: str = "http://127.0.0.1:8026"
    sms_account_sid: str = "ACdevelopment"
    sms_auth_token: SecretStr = SecretStr("development-auth-token")
    sms_from: str = "+15005550006"
    sms_timeout_seconds: float = Field(default=15.0, gt=0, le=600)

    # The delivery worker beside the service: each round claims up to `delivery_batch`
    # due messages (a lease of `delivery_lease_seconds` each) and sends them
    # `delivery_concurrency` at a time; with nothing due it looks again after
    # `delivery_idle_seconds` (0: no worker in this process).
    delivery_batch: int = Field(default=200, ge=1, le=10_000)
    delivery_concurrency: int = Field(default=20, ge=1, le=500)
    delivery_lease_seconds: int = Field(default=300, ge=10, le=86_400)
    delivery_idle_seconds: float = Field(default=0.5, ge=0, le=60)
