"""Delivery channels: what an email or SMS to send is, and how a failed send is classified.

The delivery engine retries a `TransientDeliveryError` later and records a
`PermanentDeliveryError` as failed. Adapters (SMTP, SMS API) implement `EmailSender` and
`SmsSender`; nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from typing import ClassVar, Literal, Protocol

Channel = Literal["email", "sms"]

# Headers the adapter writes itself; an extra header must not replace them.
RESERVED_EMAIL_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field name: printable ASCII but ':'
# E.164: what SMS APIs accept as a destination.
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None = None
    # None: the sender's configured address.
    sender: str | None = None
    # e.g. List-Unsubscribe, List-Unsubscribe-Post; never the reserved ones above.
    headers: Mapping[str, str] = field(default_factory=dict)
    # None: one is generated; given: keeps a retried send recognisable as the same message.
    message_id: str | None = None


@dataclass(frozen=True)
class OutgoingSms:
    to: str
    body: str
    # None: the sender's configured number (or alphanumeric sender id).
    sender: str | None = None
    status_callback_url: str | None = None


@dataclass(frozen=True)
class SendResult:
    # SMTP: the Message-ID header; SMS: the provider's message sid.
    provider_message_id: str


class DeliveryError(Exception):
    """A send that did not happen; `transient` says whether trying again later may work."""

    transient: ClassVar[bool]

    def __init__(self, detail: str, *, channel: Channel, code: int | str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.channel = channel
        # SMTP reply code, HTTP status or provider error code, when there is one.
        self.code = code


class TransientDeliveryError(DeliveryError):
    """Connection refused/reset, timeout, SMTP 4xx, HTTP 429/5xx: retry later."""

    transient = True


class PermanentDeliveryError(DeliveryError):
    """SMTP 5xx, HTTP 4xx other than 408/429, a bad address: retrying changes nothing."""

    transient = False


class InvalidRecipient(PermanentDeliveryError):
    pass


class InvalidMessage(PermanentDeliveryError):
    pass


def smtp_error(code: int, detail: str) -> DeliveryError:
    """The error an SMTP reply code means: 5xx permanent, anything else transient."""
    if 500 <= code < 600:
        return PermanentDeliveryError(detail, channel="email", code=code)
    return TransientDeliveryError(detail, channel="email", code=code)


def http_error(
    status: int, detail: str, *, channel: Channel, code: int | str | None = None
) -> DeliveryError:
    """The error an HTTP status means: 408, 429 and 5xx transient, other 4xx permanent."""
    if status in (408, 429) or status >= 500:
        return TransientDeliveryError(
            detail, channel=channel, code=code if code is not None else status
        )
    return PermanentDeliveryError(
        detail, channel=channel, code=code if code is not None else status
    )


def check_email_address(address: str) -> None:
    """Refuse what no mail server can deliver to (one address, local@domain, no spaces)."""
    _, parsed = parseaddr(address)
    local, at, domain = parsed.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or any(c.isspace() for c in parsed):
        raise InvalidRecipient(f"not an email address: {address!r}", channel="email")
    try:
        Address(addr_spec=parsed)
    except (ValueError, IndexError) as error:
        raise InvalidRecipient(f"not an email address: {address!r}", channel="email") from error


def check_phone_number(number: str) -> None:
    if not _E164.fullmatch(number):
        raise InvalidRecipient(
            f"not an E.164 phone number (+ and 7 to 15 digits): {number!r}", channel="sms"
        )


def check_email(message: OutgoingEmail) -> None:
    check_email_address(message.to)
    if message.sender is not None:
        check_email_address(message.sender)
    for name, value in message.headers.items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in RESERVED_EMAIL_HEADERS:
            raise InvalidMessage(f"header not allowed: {name!r}", channel="email")
        if "\r" in value or "\n" in value:  # header injection
            raise InvalidMessage(f"header {name!r} contains a line break", channel="email")
    for name, value in (("subject", message.subject), ("message_id", message.message_id or "")):
        if "\r" in value or "\n" in value:
            raise InvalidMessage(f"{name} contains a line break", channel="email")


def check_sms(message: OutgoingSms) -> None:
    check_phone_number(message.to)
    if not message.body:
        raise InvalidMessage("empty SMS body", channel="sms")


class EmailSender(Protocol):
    async def send(self, message: OutgoingEmail) -> SendResult: ...
    async def close(self) -> None: ...


class SmsSender(Protocol):
    async def send(self, message: OutgoingSms) -> SendResult: ...
    async def close(self) -> None: ...
