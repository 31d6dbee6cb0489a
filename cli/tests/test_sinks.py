"""The development sinks, run in this process: what an SMTP client and a Twilio client
hand them comes back from `GET /messages` with the fields both sinks share."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import pytest
from aiosmtpd.smtp import SMTP

from patron_cli.sinks import CapturingHandler, mail_api, sms_api

SHARED_FIELDS = {"recipients", "subject", "headers", "text", "html", "received_at"}


@pytest.fixture
async def mail_sink() -> AsyncIterator[tuple[int, httpx.AsyncClient]]:
    """The mail sink's SMTP port (on a free port) and a client of its HTTP API."""
    store: list[dict[str, Any]] = []
    handler = CapturingHandler(store)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="sink-tests"), "127.0.0.1", 0
    )
    transport = httpx.ASGITransport(app=mail_api(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://mail-sink") as api:
        yield server.sockets[0].getsockname()[1], api
    server.close()


async def test_the_mail_sink_lists_what_it_received_with_both_bodies_and_the_headers(
    mail_sink: tuple[int, httpx.AsyncClient],
) -> None:
    port, api = mail_sink
    before = datetime.now(UTC)
    message = EmailMessage()
    message["From"] = "shop@patron.example"
    message["To"] = "ada@patron-tests.example"
    message["Subject"] = "Welcome, Ada"
    message["List-Unsubscribe"] = "<https://patron.example/u/t0k3n>"
    message.set_content("Hi Ada,\n")
    message.add_alternative("<p>Hi Ada,</p>\n", subtype="html")
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port)

    [captured] = (await api.get("/messages")).json()

    assert set(captured) >= SHARED_FIELDS
    assert captured["recipients"] == ["ada@patron-tests.example"]
    assert captured["subject"] == "Welcome, Ada"
    assert captured["headers"]["List-Unsubscribe"] == "<https://patron.example/u/t0k3n>"
    # SMTP carries line ends as CRLF
    assert (captured["text"], captured["html"]) == ("Hi Ada,\r\n", "<p>Hi Ada,</p>\r\n")
    received = datetime.fromisoformat(captured["received_at"])
    assert before <= received <= datetime.now(UTC) + timedelta(seconds=1)
    assert (await api.get("/messages/count")).json()["count"] == 1
    assert (await api.delete("/messages")).status_code == 204
    assert (await api.get("/messages")).json() == []


async def test_the_sms_sink_answers_as_twilio_and_lists_the_text_with_the_shared_fields() -> None:
    store: list[dict[str, Any]] = []
    transport = httpx.ASGITransport(app=sms_api(store))
    credentials = base64.b64encode(b"ACtests:secret").decode()
    async with httpx.AsyncClient(transport=transport, base_url="http://sms-sink") as api:
        sent = await api.post(
            "/2010-04-01/Accounts/ACtests/Messages.json",
            data={"To": "+14155550123", "From": "+15005550006", "Body": "Order NW-7 confirmed"},
            headers={"Authorization": f"Basic {credentials}"},
        )
        missing = await api.post(
            "/2010-04-01/Accounts/ACtests/Messages.json", data={"To": "+14155550123"}
        )
        listed = (await api.get("/messages")).json()

    assert sent.status_code == 201, sent.text
    assert sent.json()["sid"].startswith("SM")
    assert (missing.status_code, missing.json()["code"]) == (400, 21602)  # no Body
    [captured] = listed
    assert set(captured) >= SHARED_FIELDS
    assert captured["recipients"] == ["+14155550123"]
    assert (captured["subject"], captured["html"]) == (None, None)
    assert captured["text"] == captured["body"] == "Order NW-7 confirmed"
    assert (captured["to"], captured["from"]) == ("+14155550123", "+15005550006")
    assert "authorization" not in captured["headers"], "credentials are not kept"
    assert datetime.fromisoformat(captured["received_at"]).tzinfo is not None
