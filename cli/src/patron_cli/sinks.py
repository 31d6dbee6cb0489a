"""Development sinks: an SMTP server and a Twilio-compatible SMS API that keep what they get.

`GET /messages` on each HTTP port lists what was captured (newest last), each message with
the same fields whichever the channel: `recipients`, `subject`, `headers`, `text`, `html`
and `received_at` (an SMS has no subject or HTML: null; it also keeps Twilio's `to`, `from`,
`body`, `sid` and `status_callback`); `DELETE /messages` clears it. Messages live in
memory: this is for seeing what Patron sends, not for delivery. For many messages (a
benchmark's tens of thousands), the mail port also answers `GET /messages/count` (how many,
the first and last received times) and `GET /messages/index?offset=&limit=` (Message-ID,
recipients and received time of each, in pages), without the bodies.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import uuid
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class CapturingHandler:
    """Keeps each message as received; it is parsed the first time it is listed (parsing is
    most of a sink's work, and a benchmark sends tens of thousands it only counts)."""

    def __init__(self, store: list[dict[str, Any]]) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        raw = envelope.original_content or envelope.content or b""
        self.store.append(
            {
                "id": uuid.uuid4().hex,
                "mail_from": envelope.mail_from,
                "recipients": list(envelope.rcpt_tos),
                "received_at": datetime.now(UTC).isoformat(),
                "raw": raw if isinstance(raw, bytes) else raw.encode(),
            }
        )
        return "250 Message accepted"


def parsed(captured: dict[str, Any]) -> dict[str, Any]:
    """A captured message with its subject, headers and bodies (parsed once, then kept)."""
    raw = captured.pop("raw", None)
    if raw is None:
        return captured
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text_body = html_body = None
    for part in message.walk() if message.is_multipart() else [message]:
        content_type = part.get_content_type()
        if content_type == "text/plain" and text_body is None:
            text_body = part.get_content()
        elif content_type == "text/html" and html_body is None:
            html_body = part.get_content()
    received_at = captured.pop("received_at")
    captured |= {
        "subject": message.get("Subject"),
        "headers": {k: str(v) for k, v in message.items()},
        "text": text_body,
        "html": html_body,
        "received_at": received_at,
    }
    return captured


def message_id_of(captured: dict[str, Any]) -> str | None:
    """The Message-ID header, from the raw headers when the message is not parsed yet."""
    if "raw" not in captured:
        message_id: str | None = captured["headers"].get("Message-ID")
        return message_id
    header = _HEADERS.parsebytes(captured["raw"]).get("Message-ID")
    return None if header is None else str(header).strip()


_HEADERS = BytesHeaderParser(policy=email.policy.compat32)


def mail_api(store: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI(title="Patron development mail sink")

    @app.get("/messages")
    async def list_messages() -> list[dict[str, Any]]:
        return [parsed(message) for message in store]

    @app.get("/messages/count")
    async def count_messages() -> JSONResponse:
        return JSONResponse(
            {
                "count": len(store),
                "first_received_at": store[0]["received_at"] if store else None,
                "last_received_at": store[-1]["received_at"] if store else None,
            }
        )

    @app.get("/messages/index")
    async def index_messages(offset: int = 0, limit: int = 10_000) -> JSONResponse:
        # JSONResponse: no response-model pass over thousands of rows
        page = store[max(offset, 0) : max(offset, 0) + max(min(limit, 100_000), 0)]
        return JSONResponse(
            [
                {
                    "message_id": message_id_of(message),
                    "recipients": message["recipients"],
                    "received_at": message["received_at"],
                }
                for message in page
            ]
        )

    @app.delete("/messages", status_code=204)
    async def clear_messages() -> None:
        store.clear()

    return app


def sms_api(store: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI(title="Patron development SMS sink (Twilio-compatible)")

    @app.post(
        "/2010-04-01/Accounts/{account_sid}/Messages.json", status_code=201, response_model=None
    )
    async def send_sms(account_sid: str, request: Request) -> dict[str, Any] | JSONResponse:
        # Parsed by hand: FastAPI's Form() needs python-multipart, which is not installed.
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        for field, code in (("To", 21604), ("Body", 21602)):
            if not form.get(field):
                return JSONResponse(
                    {"code": code, "message": f"A '{field}' is required.", "status": 400},
                    status_code=400,
                )
        message = {
            "sid": "SM" + uuid.uuid4().hex,
            "account_sid": account_sid,
            "to": form["To"],
            "from": form.get("From"),
            "body": form["Body"],
            "status": "queued",
            "status_callback": form.get("StatusCallback"),
            # the fields every captured message has, mail or SMS
            "recipients": [form["To"]],
            "subject": None,
            "text": form["Body"],
            "html": None,
            "headers": {k: v for k, v in request.headers.items() if k != "authorization"},
            "received_at": datetime.now(UTC).isoformat(),
        }
        store.append(message)
        return message

    @app.get("/messages")
    async def list_messages() -> list[dict[str, Any]]:
        return store

    @app.delete("/messages", status_code=204)
    async def clear_messages() -> None:
        store.clear()

    return app


async def serve(smtp_port: int, mail_http_port: int, sms_port: int) -> None:
    mails: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    handler = CapturingHandler(mails)
    smtp_server = await loop.create_server(
        lambda: SMTP(handler, hostname="patron-sink"), host="127.0.0.1", port=smtp_port
    )
    servers = [
        uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        for app, port in ((mail_api(mails), mail_http_port), (sms_api(texts), sms_port))
    ]
    try:
        await asyncio.gather(*(server.serve() for server in servers))
    finally:
        smtp_server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--mail-http-port", type=int, default=8025)
    parser.add_argument("--sms-port", type=int, default=8026)
    args = parser.parse_args()
    asyncio.run(serve(args.smtp_port, args.mail_http_port, args.sms_port))


if __name__ == "__main__":
    main()
