"""The delivery channels a notifications process uses, built from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from patron_notifications.adapters.sms import TwilioConfig, TwilioSmsSender
from patron_notifications.adapters.smtp import SmtpConfig, SmtpEmailSender
from patron_notifications.domain.channels import EmailSender, SmsSender
from patron_notifications.settings import NotificationsSettings


@dataclass(frozen=True)
class Channels:
    email: EmailSender
    sms: SmsSender

    async def close(self) -> None:
        await self.email.close()
        await self.sms.close()


def smtp_config(settings: NotificationsSettings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout_seconds=settings.smtp_timeout_seconds,
        pool_size=settings.smtp_pool_size,
    )


def twilio_config(settings: NotificationsSettings) -> TwilioConfig:
    return TwilioConfig(
        base_url=settings.sms_api_url,
        account_sid=settings.sms_account_sid,
        auth_token=settings.sms_auth_token.get_secret_value(),
        sender=settings.sms_from,
        timeout_seconds=settings.sms_timeout_seconds,
    )


def build_channels(settings: NotificationsSettings) -> Channels:
    """Both senders; nothing connects until the first send. Close them at shutdown."""
    return Channels(
        email=SmtpEmailSender(smtp_config(settings)),
        sms=TwilioSmsSender(twilio_config(settings)),
    )
