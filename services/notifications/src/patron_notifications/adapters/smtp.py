"""Email over SMTP (aiosmtplib) through a small pool of open connections.

Opening a connection (TCP, EHLO, STARTTLS, AUTH) costs several round trips, so a sender
keeps up to `pool_size` clients connected and each send borrows one. A borrowed client whose
connection has dropped is replaced; a send that fails because the server went away in the
meantime is tried once more on a fresh connection before it counts as transient.

The message's bytes are written directly when its headers are plain ASCII (the usual case):
the `email` package's header objects cost more CPU than the rest of a send together. Anything
else (an encoded word in a header, an address it would have to quote) goes through
`EmailMessage`.
"""

from __future__ import annotations

import asyncio
import binascii
import email.policy
import re
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Literal

import aiosmtplib

from patron_notifications.domain.channels import (
    DeliveryError,
    InvalidMessage,
    OutgoingEmail,
    SendResult,
    TransientDeliveryError,
    check_email,
    check_email_address,
    smtp_error,
)

SmtpSecurity = Literal["none", "starttls", "tls"]
# 7bit: non-ASCII bodies are quoted-printable/base64, so servers without 8BITMIME take them.
_MESSAGE_POLICY = email.policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    security: SmtpSecurity = "none"
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 30.0
    pool_size: int = 4


def build_email_message(
    message: OutgoingEmail, *, default_sender: str, now: datetime | None = None
) -> EmailMessage:
    """An RFC 5322 message: text only, or multipart/alternative (text, then HTML)."""
    check_email(message)
    sender = message.sender or default_sender
    built = EmailMessage(policy=_MESSAGE_POLICY)
    built["From"] = sender
    built["To"] = message.to
    built["Subject"] = message.subject
    built["Date"] = format_datetime(now or datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message_id = message.message_id or make_msgid(domain=domain)
    built["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
    for name, value in message.headers.items():
        built[name] = value
    built.set_content(message.text, charset="utf-8")
    if message.html is not None:
        built.add_alternative(message.html, subtype="html", charset="utf-8")
    return built


def render_email_message(
    message: OutgoingEmail, *, default_sender: str, now: datetime | None = None
) -> tuple[bytes | EmailMessage, str]:
    """What to send, and its Message-ID: the bytes of what `build_email_message` makes (CRLF
    line ends, 7-bit) when every header is plain ASCII; otherwise its `EmailMessage` (which
    aiosmtplib sends with SMTPUTF8 when an address needs it)."""
    check_email(message)
    sender = message.sender or default_sender
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message_id = message.message_id or make_msgid(domain=domain)
    message_id = message_id if message_id.startswith("<") else f"<{message_id}>"
    headers = [
        ("From", sender),
        ("To", message.to),
        ("Subject", message.subject),
        ("Date", format_datetime(now or datetime.now(UTC))),
        ("Message-ID", message_id),
        *message.headers.items(),
    ]
    plain = all(_plain_header(value) for _, value in headers) and all(
        formataddr(parseaddr(address)) == address for address in (sender, message.to)
    )
    if not plain:
        built = build_email_message(
            replace(message, sender=sender, message_id=message_id),
            default_sender=default_sender,
            now=now,
        )
        return built, message_id
    lines = [_fold(f"{name}: {value}") for name, value in headers]
    lines.append("MIME-Version: 1.0")
    text = _text_part("plain", message.text)
    if message.html is None:
        lines.extend(text)
    else:
        html = _text_part("html", message.html)
        boundary = f"=_{uuid.uuid4().hex}"
        lines += [f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
        lines += [f"--{boundary}", *text, f"--{boundary}", *html, f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii"), message_id


# printable ASCII and tabs, not blank; a header line longer than 998 is refused (RFC 5322)
_PLAIN_HEADER = re.compile(r"[\t\x20-\x7e]*[\x21-\x7e][\t\x20-\x7e]*")
_SEVEN_BIT = re.compile(r"[\t\n\x20-\x7e]*")
_FOLD_AT = 78


def _plain_header(value: str) -> bool:
    return len(value) <= 900 and _PLAIN_HEADER.fullmatch(value) is not None


def _fold(line: str) -> str:
    """A header line folded before spaces to keep lines within 78 characters where it can."""
    if len(line) <= _FOLD_AT:
        return line
    # each piece a space-led word (runs of spaces kept with the word after them); the first
    # fold comes after the first word of the value, never right after the name's colon
    name, *words = re.split(r"(?<! )(?= )", line)
    folded: list[str] = []
    current = name + (words.pop(0) if words else "")
    for word in words:
        if len(current) + len(word) > _FOLD_AT and word.strip():
            folded.append(current)
            current = word
        else:
            current += word
    folded.append(current)
    return "\r\n".join(folded)


def _text_part(subtype: str, body: str) -> list[str]:
    """Headers and body of a text part: 7bit when ASCII in short lines, quoted-printable
    (of its UTF-8) otherwise; ends with a line break, as `set_content` makes it."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    if _SEVEN_BIT.fullmatch(body) and all(len(line) <= _FOLD_AT for line in body.split("\n")):
        encoding, encoded = "7bit", body
    else:
        encoding = "quoted-printable"
        encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii")
    return [
        f'Content-Type: text/{subtype}; charset="utf-8"',
        f"Content-Transfer-Encoding: {encoding}",
        "",
        encoded.replace("\n", "\r\n"),  # the line break that ends it, then the boundary's
    ]


class SmtpEmailSender:
    def __init__(self, config: SmtpConfig) -> None:
        try:
            check_email_address(config.sender)
        except DeliveryError as error:
            raise ValueError(f"PATRON_SMTP_FROM: {error.detail}") from error
        self.config = config
        # How many connections this sender opened (reuse shows as few opened for many sends).
        self.connections_opened = 0
        # None: a slot without a client yet; clients connect on first use.
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(config.pool_size):
            self._idle.put_nowait(None)
        self._closed = False

    async def send(self, message: OutgoingEmail) -> SendResult:
        built, message_id = render_email_message(message, default_sender=self.config.sender)
        sender = parseaddr(message.sender or self.config.sender)[1]
        recipient = parseaddr(message.to)[1]
        if self._closed:
            raise RuntimeError("SMTP sender is closed")
        lease = _Lease(await self._idle.get())
        try:
            await self._send_with_one_reconnect(lease, built, sender, recipient)
        except asyncio.CancelledError:
            await lease.drop()  # cancelled mid-conversation: the connection's state is unknown
            raise
        finally:
            await self._give_back(lease.client)
        return SendResult(provider_message_id=message_id)

    async def _give_back(self, client: aiosmtplib.SMTP | None) -> None:
        if client is not None and (self._closed or not client.is_connected):
            await _quit(client)
            client = None
        self._idle.put_nowait(client)

    async def _send_with_one_reconnect(
        self, lease: _Lease, built: bytes | EmailMessage, sender: str, recipient: str
    ) -> None:
        reused = lease.client is not None and lease.client.is_connected
        if not reused:
            await lease.replace(self._connect)
        try:
            await self._deliver(lease.connected, built, sender, recipient)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as error:
            if not reused:
                await lease.drop()
                raise _transient(error) from error
            # The server closed an idle connection since its last use: once more, fresh.
            await lease.replace(self._connect)
            try:
                await self._deliver(lease.connected, built, sender, recipient)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as retry_error:
                await lease.drop()
                raise _transient(retry_error) from retry_error

    async def _connect(self) -> aiosmtplib.SMTP:
        config = self.config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            timeout=config.timeout_seconds,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPResponseException as error:
            client.close()
            raise smtp_error(error.code, f"SMTP connect: {error.message}") from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            client.close()
            raise _transient(error) from error
        self.connections_opened += 1
        return client

    async def _deliver(
        self, client: aiosmtplib.SMTP, built: bytes | EmailMessage, sender: str, recipient: str
    ) -> None:
        try:
            if isinstance(built, bytes):
                await client.sendmail(sender, [recipient], built)
            else:
                await client.send_message(built, sender=sender, recipients=[recipient])
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = error.recipients[0]
            await _reset(client)
            raise smtp_error(refused.code, f"recipient refused: {refused.message}") from error
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
            raise  # the caller decides whether to reconnect
        except aiosmtplib.SMTPResponseException as error:
            await _reset(client)
            raise smtp_error(error.code, f"SMTP: {error.message}") from error
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as error:
            client.close()  # a late reply would be read as the answer to the next command
            raise _transient(error) from error
        except aiosmtplib.SMTPNotSupported as error:
            raise InvalidMessage(f"SMTP: {error}", channel="email") from error
        except aiosmtplib.SMTPException as error:
            client.close()
            raise _transient(error) from error

    async def close(self) -> None:
        self._closed = True
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client is not None:
                await _quit(client)


class _Lease:
    """The pool slot a send holds: whichever client it ends up with goes back to the pool."""

    def __init__(self, client: aiosmtplib.SMTP | None) -> None:
        self.client = client

    @property
    def connected(self) -> aiosmtplib.SMTP:
        assert self.client is not None  # set by replace() before use
        return self.client

    async def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    async def replace(self, connect: Callable[[], Awaitable[aiosmtplib.SMTP]]) -> None:
        await self.drop()
        self.client = await connect()


def _transient(error: BaseException) -> DeliveryError:
    return TransientDeliveryError(
        f"SMTP server unreachable: {type(error).__name__}: {error}", channel="email"
    )


async def _reset(client: aiosmtplib.SMTP) -> None:
    """End the refused transaction so the connection can carry the next message."""
    if not client.is_connected:
        return
    try:
        await client.rset()
    except aiosmtplib.SMTPException:
        client.close()


async def _quit(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        with suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            await client.quit()
    client.close()
