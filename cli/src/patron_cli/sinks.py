"""Development sinks: an SMTP server and a Twilio-compatible SMS API that keep what they get.

`GET /messages` on each HTTP port lists what was captured (newest last); `DELETE /messages`
clears it. Messages live in memory: this is for seeing what Patron sends, not for delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class CapturingHandler:
    def __init__(self, store: list[dict[str, Any]]) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        text_body = html_body = None
        for part in message.walk() if message.is_multipart() else [message]:
            content_type = part.get_content_type()
            if content_type == "text/plain" and text_body is None:
                text_body = part.get_content()
            elif content_type == "text/html" and html_body is None:
                html_body = part.get_content()
        self.store.append(
            {
                "id": uuid.uuid4().hex,
                "mail_from": envelope.mail_from,
                "recipients": list(envelope.rcpt_tos),
                "subject": message.get("Subject"),
                "headers": {k: str(v) for k, v in message.items()},
                "text": text_body,
                "html": html_body,
                "received_at": datetime.now(UTC).isoformat(),
            }
        )
        return "250 Message accepted"


def mail_api(store: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI(title="Patron development mail sink")

    @app.get("/messages")
    async def list_messages() -> list[dict[str, Any]]:
        return store

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
