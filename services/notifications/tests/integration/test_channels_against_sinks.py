"""The SMTP and SMS adapters against the local stack's real sinks (and small SMTP stubs for
what the sink cannot do: refuse a recipient, drop a connection)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from patron_notifications.adapters.sms import TwilioConfig, TwilioSmsSender
from patron_notifications.adapters.smtp import SmtpConfig, SmtpEmailSender
from patron_notifications.domain.channels import (
    OutgoingEmail,
    OutgoingSms,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from patron_shared.testing import read_stack_env

pytestmark = pytest.mark.integration

SINK_VARIABLES = (
    "PATRON_SMTP_HOST",
    "PATRON_SMTP_PORT",
    "PATRON_SMTP_SINK_URL",
    "PATRON_SMS_SINK_URL",
)
SENDER = "Patron Tests <tests@patron.example>"


@dataclass(frozen=True)
class Sinks:
    smtp_host: str
    smtp_port: int
    mail_url: str
    sms_url: str


@pytest.fixture(scope="module")
def sinks() -> Sinks:
    # the environment first, then what `patron stack up` wrote (as the other fixtures do)
    found = read_stack_env() | {k: v for k, v in os.environ.items() if k in SINK_VARIABLES}
    missing = [name for name in SINK_VARIABLES if not found.get(name)]
    if missing:
        reason = (
            f"local sinks not configured ({', '.join(missing)} unset): run `uv run patron stack up`"
        )
        if os.environ.get("CI"):  # CI starts the whole stack: a missing sink is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    return Sinks(
        smtp_host=found["PATRON_SMTP_HOST"],
        smtp_port=int(found["PATRON_SMTP_PORT"]),
        mail_url=found["PATRON_SMTP_SINK_URL"].rstrip("/"),
        sms_url=found["PATRON_SMS_SINK_URL"].rstrip("/"),
    )


def unique_address() -> str:
    return f"channels-{uuid.uuid4().hex}@patron-tests.example"


def unique_phone() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


async def captured(url: str, *, key: str, value: str) -> list[dict[str, Any]]:
    """The sink's messages whose `key` holds `value` (other tests share the sink)."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/messages")
    response.raise_for_status()
    found = []
    for message in response.json():
        held = message.get(key)
        if held == value or (isinstance(held, list) and value in held):
            found.append(message)
    return found


def smtp_sender(host: str, port: int, *, pool_size: int = 2) -> SmtpEmailSender:
    return SmtpEmailSender(
        SmtpConfig(host=host, port=port, sender=SENDER, pool_size=pool_size, timeout_seconds=10)
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- SMTP stub for what the sink cannot do -------------------------------------------------


@dataclass
class StubBehaviour:
    # Recipients answered with this reply at RCPT TO.
    refuse: dict[str, str] = field(default_factory=dict)
    # Close the connection, without a reply, on the second MAIL FROM of a connection.
    drop_second_mail: bool = False
    connections: int = 0
    delivered: list[tuple[str, list[str]]] = field(default_factory=list)


class StubHandler:
    def __init__(self, behaviour: StubBehaviour) -> None:
        self.behaviour = behaviour
        self.mails_per_session: dict[int, int] = {}

    async def handle_MAIL(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        seen = self.mails_per_session.get(id(session), 0)
        self.mails_per_session[id(session)] = seen + 1
        if self.behaviour.drop_second_mail and seen >= 1:
            assert server.transport is not None
            server.transport.close()  # a server that timed the idle connection out
            return "421 closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.behaviour.refuse:
            return self.behaviour.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.behaviour.delivered.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted"


@pytest.fixture
async def smtp_stub() -> AsyncIterator[tuple[StubBehaviour, int]]:
    behaviour = StubBehaviour()
    handler = StubHandler(behaviour)

    def connection() -> SMTP:
        behaviour.connections += 1
        return SMTP(handler, hostname="stub")

    server = await asyncio.get_running_loop().create_server(connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield behaviour, port
    server.close()


# --- email through the real sink -----------------------------------------------------------


async def test_an_html_email_with_one_click_unsubscribe_arrives_with_both_bodies_and_headers(
    sinks: Sinks,
) -> None:
    recipient = unique_address()
    sender = smtp_sender(sinks.smtp_host, sinks.smtp_port)
    result = await sender.send(
        OutgoingEmail(
            to=recipient,
            subject="Soldes d'hiver — jusqu'à -30 % ✓",
            text="Plain body: winter sale",
            html="<h1>HTML body: winter sale</h1>",
            headers={
                "List-Unsubscribe": "<https://patron.example/u/t0k3n>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
    )
    await sender.close()

    (message,) = await captured(sinks.mail_url, key="recipients", value=recipient)
    assert message["recipients"] == [recipient]
    assert message["mail_from"] == "tests@patron.example"
    assert message["subject"] == "Soldes d'hiver — jusqu'à -30 % ✓"
    assert message["text"].strip() == "Plain body: winter sale"
    assert message["html"].strip() == "<h1>HTML body: winter sale</h1>"
    headers = message["headers"]
    assert headers["List-Unsubscribe"] == "<https://patron.example/u/t0k3n>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"] == result.provider_message_id
    assert headers["Content-Type"].startswith("multipart/alternative")
    assert "Date" in headers


async def test_fifty_concurrent_emails_through_a_pool_of_three_arrive_once_on_three_connections(
    sinks: Sinks,
) -> None:
    run = uuid.uuid4().hex
    recipients = [f"pool-{run}-{index}@patron-tests.example" for index in range(50)]
    sender = smtp_sender(sinks.smtp_host, sinks.smtp_port, pool_size=3)
    results = await asyncio.gather(
        *(
            sender.send(OutgoingEmail(to=to, subject=f"pool {index}", text=f"body {index}"))
            for index, to in enumerate(recipients)
        )
    )
    opened = sender.connections_opened
    await sender.close()

    assert len({result.provider_message_id for result in results}) == 50
    async with httpx.AsyncClient(timeout=10) as client:
        everything = (await client.get(f"{sinks.mail_url}/messages")).json()
    ours = [m for m in everything if any(r.startswith(f"pool-{run}-") for r in m["recipients"])]
    received = sorted(r for message in ours for r in message["recipients"])
    assert received == sorted(recipients)  # each exactly once
    assert 1 <= opened <= 3


async def test_a_connection_closed_between_sends_is_reopened(sinks: Sinks) -> None:
    sender = smtp_sender(sinks.smtp_host, sinks.smtp_port, pool_size=1)
    first, second = unique_address(), unique_address()
    await sender.send(OutgoingEmail(to=first, subject="before", text="1"))
    pooled = sender._idle.get_nowait()
    assert pooled is not None
    assert isinstance(pooled.transport, asyncio.Transport)
    pooled.transport.abort()  # the connection is gone, as after a network drop
    await asyncio.sleep(0.05)
    sender._idle.put_nowait(pooled)

    await sender.send(OutgoingEmail(to=second, subject="after", text="2"))
    await sender.close()

    assert len(await captured(sinks.mail_url, key="recipients", value=first)) == 1
    assert len(await captured(sinks.mail_url, key="recipients", value=second)) == 1
    assert sender.connections_opened == 2


# --- SMTP failures ---------------------------------------------------------------------------


async def test_a_connection_the_server_dropped_is_retried_once_on_a_fresh_one(
    smtp_stub: tuple[StubBehaviour, int],
) -> None:
    behaviour, port = smtp_stub
    behaviour.drop_second_mail = True
    sender = smtp_sender("127.0.0.1", port, pool_size=1)
    await sender.send(OutgoingEmail(to="first@patron-tests.example", subject="1", text="1"))
    # The pooled connection still looks open; the server drops it at the next MAIL FROM.
    await sender.send(OutgoingEmail(to="second@patron-tests.example", subject="2", text="2"))
    await sender.close()

    assert [rcpts for _, rcpts in behaviour.delivered] == [
        ["first@patron-tests.example"],
        ["second@patron-tests.example"],
    ]
    assert sender.connections_opened == 2
    assert behaviour.connections == 2


async def test_a_refused_recipient_is_permanent_and_the_connection_carries_on(
    smtp_stub: tuple[StubBehaviour, int],
) -> None:
    behaviour, port = smtp_stub
    behaviour.refuse["gone@patron-tests.example"] = "550 5.1.1 No such user"
    behaviour.refuse["full@patron-tests.example"] = "452 4.2.2 Mailbox full, try later"
    sender = smtp_sender("127.0.0.1", port, pool_size=1)

    with pytest.raises(PermanentDeliveryError) as refused:
        await sender.send(OutgoingEmail(to="gone@patron-tests.example", subject="s", text="t"))
    with pytest.raises(TransientDeliveryError) as deferred:
        await sender.send(OutgoingEmail(to="full@patron-tests.example", subject="s", text="t"))
    await sender.send(OutgoingEmail(to="ok@patron-tests.example", subject="s", text="t"))
    await sender.close()

    assert refused.value.code == 550
    assert "No such user" in refused.value.detail
    assert deferred.value.code == 452
    assert [rcpts for _, rcpts in behaviour.delivered] == [["ok@patron-tests.example"]]
    assert sender.connections_opened == 1


async def test_an_smtp_server_that_is_down_is_a_transient_error() -> None:
    sender = smtp_sender("127.0.0.1", free_port())
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.send(OutgoingEmail(to=unique_address(), subject="s", text="t"))
    await sender.close()
    assert caught.value.channel == "email"
    assert sender.connections_opened == 0


# --- SMS through the real sink ---------------------------------------------------------------


async def test_an_sms_through_the_twilio_adapter_reaches_the_sink(sinks: Sinks) -> None:
    recipient = unique_phone()
    sender = TwilioSmsSender(
        TwilioConfig(
            base_url=sinks.sms_url,
            account_sid="ACtests",
            auth_token="tests-token",
            sender="+15005550006",
        )
    )
    result = await sender.send(
        OutgoingSms(
            to=recipient,
            body="Your code is 123456 — ✓",
            status_callback_url="https://patron.example/api/v1/notifications/sms/status",
        )
    )
    await sender.close()

    (message,) = await captured(sinks.sms_url, key="to", value=recipient)
    assert message["sid"] == result.provider_message_id
    assert message["body"] == "Your code is 123456 — ✓"
    assert message["from"] == "+15005550006"
    assert message["account_sid"] == "ACtests"
    assert message["status_callback"] == "https://patron.example/api/v1/notifications/sms/status"


async def test_an_sms_api_that_is_down_is_a_transient_error() -> None:
    sender = TwilioSmsSender(
        TwilioConfig(
            base_url=f"http://127.0.0.1:{free_port()}",
            account_sid="AC1",
            auth_token="t",
            sender="+15005550006",
        )
    )
    with pytest.raises(TransientDeliveryError):
        await sender.send(OutgoingSms(to=unique_phone(), body="x"))
    await sender.close()
