"""Notifications service settings (environment variables; see the README)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from patron_notifications.domain.consent import SendingRules
from patron_notifications.domain.messaging_settings import MessagingSettings, parse_quiet_hours
from patron_notifications.domain.unsubscribe import UnsubscribeTarget, unsubscribe_url
from patron_shared.errors import InvalidInput
from patron_shared.settings import ServiceSettings

DEV_UNSUBSCRIBE_SECRET = "patron-development-unsubscribe-secret"  # noqa: S105 - refused in production
DEV_SMS_AUTH_TOKEN = "development-auth-token"  # noqa: S105 - refused in production


class NotificationsSettings(ServiceSettings):
    contacts_per_page: int = Field(default=20, ge=1)
    contacts_max_per_page: int = Field(default=100, ge=1, le=1000)

    # Where customers and providers reach this service from outside (the gateway's public
    # URL): unsubscribe links and SMS status callbacks are built on it.
    public_base_url: str = Field(
        default="http://127.0.0.1:8080", pattern=r"^https?://[^\s/]+(/[^\s]*)?$"
    )
    # Signs unsubscribe links: a link cannot be forged for another customer or channel.
    unsubscribe_secret: SecretStr = SecretStr(DEV_UNSUBSCRIBE_SECRET)

    # Delivery channels. The defaults reach the local stack's development sinks.
    # PATRON_SMTP_*: `none` (plain), `starttls` (upgrade after connecting) or `tls` (implicit).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Patron <notifications@patron.localhost>"
    # Connected SMTP clients kept open and shared by concurrent sends.
    smtp_pool_size: int = Field(default=10, ge=1, le=100)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # PATRON_SMS_*: a Twilio-compatible REST API (the local sink accepts any credentials).
    sms_api_url: str = "http://127.0.0.1:8026"
    sms_account_sid: str = "ACdevelopment"
    # Also checks the signature of status callbacks: a known token would let anyone forge them.
    sms_auth_token: SecretStr = SecretStr(DEV_SMS_AUTH_TOKEN)
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

    # The campaign runner beside the service: every `campaign_runner_interval_seconds` (0: no
    # runner in this process) it queues the due campaigns' audiences, `campaign_chunk_size`
    # customers per transaction.
    campaign_runner_interval_seconds: float = Field(default=1.0, ge=0, le=3600)
    campaign_chunk_size: int = Field(default=1000, ge=1, le=10_000)

    # What a tenant that saved no messaging settings runs on (PATRON_SHOP_*, ...).
    shop_name: str = Field(default="Patron Shop", min_length=1, max_length=200)
    shop_url: str = Field(default="http://127.0.0.1:8080", pattern=r"^https?://\S+$")
    # at most this many marketing messages to one customer in `marketing_cap_days` days
    marketing_cap: int = Field(default=3, ge=0, le=1000)
    marketing_cap_days: int = Field(default=7, ge=1, le=365)
    # marketing SMS wait for the end of this window in the customer's time zone
    sms_quiet_hours: str = "21:00-08:00"
    default_time_zone: str = "UTC"
    # triggers switched off for tenants that did not say otherwise (comma-separated)
    triggers_off: str = ""
    # an event older than this causes no trigger message (a topic replayed from its start,
    # back-filled orders); 0: any age
    trigger_max_age_hours: int = Field(default=72, ge=0, le=24 * 365)
    # the birthday job looks for today's birthdays every this many seconds (0: off)
    birthday_job_interval_seconds: float = Field(default=3600, ge=0, le=86_400)
    # a message for a customer not known yet waits this long for their snapshot, then is
    # skipped (`customer_unknown`); the expiry looks every this many seconds (0: off)
    waiting_for_customer_hours: int = Field(default=24, ge=1, le=24 * 30)
    waiting_expiry_interval_seconds: float = Field(default=300, ge=0, le=86_400)

    def messaging_defaults(self) -> MessagingSettings:
        start, end = parse_quiet_hours(self.sms_quiet_hours)
        off = {name.strip() for name in self.triggers_off.split(",") if name.strip()}
        return MessagingSettings(
            shop_name=self.shop_name,
            shop_url=self.shop_url,
            triggers=dict.fromkeys(off, False),  # type: ignore[arg-type] # checked by the class
            rules=SendingRules(
                cap=self.marketing_cap,
                cap_window=timedelta(days=self.marketing_cap_days),
                quiet_start=start,
                quiet_end=end,
                default_time_zone=self.default_time_zone,
            ),
        )

    def wait_for_customer(self) -> timedelta:
        """How long a message waits for a customer not known yet."""
        return timedelta(hours=self.waiting_for_customer_hours)

    def trigger_max_age(self) -> timedelta | None:
        """How old an event may be and still cause a trigger message (None: any age)."""
        return timedelta(hours=self.trigger_max_age_hours) if self.trigger_max_age_hours else None

    def unsubscribe_url(self, target: UnsubscribeTarget) -> str:
        secret = self.unsubscribe_secret.get_secret_value().encode()
        return unsubscribe_url(self.public_base_url, secret, target)

    @model_validator(mode="after")
    def _check_messaging_defaults(self) -> NotificationsSettings:
        try:
            self.messaging_defaults()
        except InvalidInput as error:
            raise ValueError(str(error)) from None
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> NotificationsSettings:
        if self.env != "production":
            return self
        # the development values are public: links and callbacks signed with them are forgeable
        unset = [
            variable
            for variable, secret, development in (
                ("PATRON_UNSUBSCRIBE_SECRET", self.unsubscribe_secret, DEV_UNSUBSCRIBE_SECRET),
                ("PATRON_SMS_AUTH_TOKEN", self.sms_auth_token, DEV_SMS_AUTH_TOKEN),
            )
            if secret.get_secret_value() == development
        ]
        if unset:
            raise ValueError(f"{' and '.join(unset)} must be set in production")
        return self
