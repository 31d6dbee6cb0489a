"""The SMTP and SMS adapters against the local stack's real sinks (and small SMTP stubs for
what the sink cannot do: refuse a recipient, drop a connection, demand TLS and a login)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr

from patron_notifications.adapters.channels import smtp_config
from patron_notifications.adapters.sms import TwilioConfig, TwilioSmsSender
from patron_notifications.adapters.smtp import SmtpConfig, SmtpEmailSender, SmtpSecurity
from patron_notifications.domain.channels import (
    OutgoingEmail,
    OutgoingSms,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from patron_notifications.settings import NotificationsSettings
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


# --- SMTP stub behind TLS, with authentication ------------------------------------------

STUB_LOGIN, STUB_PASSWORD = "patron", "s3cret-pass"


@dataclass(frozen=True)
class TlsFiles:
    """A private certificate authority and a server certificate it signed for 127.0.0.1."""

    ca: Path
    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    folder = tmp_path_factory.mktemp("smtp-tls")
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Patron Tests CA"))
        .issuer_name(_name("Patron Tests CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@dataclass
class SecureStubSeen:
    connections: int = 0
    # per message: its recipients, whether it came over TLS, and the login it came under
    delivered: list[tuple[list[str], bool, str | None]] = field(default_factory=list)


class SecureStubHandler:
    def __init__(self, seen: SecureStubSeen) -> None:
        self.seen = seen

    async def handle_DATA(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        login = _text(session.auth_data.login) if session.authenticated else None
        assert server.transport is not None
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        self.seen.delivered.append((list(envelope.rcpt_tos), over_tls, login))
        return "250 Message accepted"


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def check_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    known = (_text(auth_data.login), _text(auth_data.password)) == (STUB_LOGIN, STUB_PASSWORD)
    # handled=False: a refused login is answered by the server itself, with its 535
    return AuthResult(success=known, handled=False, auth_data=auth_data)


@pytest.fixture
async def secure_stub(
    tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[SmtpSecurity], Awaitable[tuple[SecureStubSeen, int]]]]:
    """Starts SMTP servers that demand a login over TLS: STARTTLS on a plain port, or TLS
    from the first byte. The client trusts the tests' authority as an operator trusts a
    private one: through `SSL_CERT_FILE`."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca))
    servers: list[asyncio.Server] = []

    async def start(security: SmtpSecurity) -> tuple[SecureStubSeen, int]:
        seen = SecureStubSeen()
        handler = SecureStubHandler(seen)
        context = tls_files.server_context()

        def connection() -> SMTP:
            seen.connections += 1
            with warnings.catch_warnings():  # its warning about AUTH without STARTTLS
                warnings.simplefilter("ignore", UserWarning)
                return secure_server()

        def secure_server() -> SMTP:
            return SMTP(
                handler,
                hostname="secure-stub",
                tls_context=context if security == "starttls" else None,
                require_starttls=security == "starttls",
                authenticator=check_login,
                auth_required=True,
                # the server sees TLS only when it did the STARTTLS itself: an implicit TLS
                # connection is encrypted from its first byte all the same
                auth_require_tls=security == "starttls",
            )

        server = await asyncio.get_running_loop().create_server(
            connection, "127.0.0.1", 0, ssl=context if security == "tls" else None
        )
        servers.append(server)
        return seen, server.sockets[0].getsockname()[1]

    yield start
    for server in servers:
        server.close()


def secure_sender(port: int, security: SmtpSecurity, *, password: str) -> SmtpEmailSender:
    """The sender the service builds from its PATRON_SMTP_* settings."""
    settings = NotificationsSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=security,
        smtp_username=STUB_LOGIN,
        smtp_password=SecretStr(password),
        smtp_pool_size=1,
        smtp_timeout_seconds=10,
    )
    return SmtpEmailSender(smtp_config(settings))


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_a_server_demanding_a_login_over_tls_gets_both_on_one_reused_connection(
    secure_stub: Callable[[SmtpSecurity], Awaitable[tuple[SecureStubSeen, int]]],
    security: SmtpSecurity,
) -> None:
    seen, port = await secure_stub(security)
    sender = secure_sender(port, security, password=STUB_PASSWORD)
    for recipient in ("one@patron-tests.example", "two@patron-tests.example"):
        await sender.send(OutgoingEmail(to=recipient, subject="s", text="t"))
    await sender.close()

    assert seen.delivered == [
        (["one@patron-tests.example"], True, STUB_LOGIN),
        (["two@patron-tests.example"], True, STUB_LOGIN),
    ]
    assert (sender.connections_opened, seen.connections) == (1, 1)


async def test_a_wrong_password_is_a_permanent_error_and_sends_nothing(
    secure_stub: Callable[[SmtpSecurity], Awaitable[tuple[SecureStubSeen, int]]],
) -> None:
    seen, port = await secure_stub("starttls")
    sender = secure_sender(port, "starttls", password="not-the-password")
    with pytest.raises(PermanentDeliveryError) as refused:
        await sender.send(OutgoingEmail(to=unique_address(), subject="s", text="t"))
    await sender.close()

    assert refused.value.code == 535
    assert seen.delivered == []


async def test_without_starttls_a_server_that_demands_it_gets_no_message(
    secure_stub: Callable[[SmtpSecurity], Awaitable[tuple[SecureStubSeen, int]]],
) -> None:
    seen, port = await secure_stub("starttls")
    sender = SmtpEmailSender(
        SmtpConfig(host="127.0.0.1", port=port, sender=SENDER, pool_size=1, timeout_seconds=10)
    )
    with pytest.raises(PermanentDeliveryError) as refused:
        await sender.send(OutgoingEmail(to=unique_address(), subject="s", text="t"))
    await sender.close()

    assert refused.value.code == 530  # "Must issue a STARTTLS command first"
    assert seen.delivered == []


async def test_a_certificate_from_an_authority_not_trusted_is_refused(
    secure_stub: Callable[[SmtpSecurity], Awaitable[tuple[SecureStubSeen, int]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen, port = await secure_stub("tls")
    monkeypatch.delenv("SSL_CERT_FILE")  # only the system's authorities
    sender = secure_sender(port, "tls", password=STUB_PASSWORD)
    with pytest.raises(TransientDeliveryError) as refused:
        await sender.send(OutgoingEmail(to=unique_address(), subject="s", text="t"))
    await sender.close()

    assert "CERTIFICATE_VERIFY_FAILED" in refused.value.detail
    assert (sender.connections_opened, seen.delivered) == (0, [])


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
