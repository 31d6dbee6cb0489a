"""`/api/v1/unsubscribe/{token}`: the unsubscribe link of every marketing message.

The link is public: its signed token (tenant, customer, channel) is the credential, so no
bearer token is asked for. 422 for a token that is not one of ours at all, 403 for one
whose signature does not match.

- `POST` unsubscribes: RFC 8058 one-click, where the mail client's own "Unsubscribe"
  button posts `List-Unsubscribe=One-Click` (`application/x-www-form-urlencoded`; an empty
  body or another encoding is accepted too, since the token alone authorises it). The
  customer leaves marketing on the token's channel at once, and the profile is told
  (`RecordConsent`). Answers 200 every time (idempotent): JSON, or an HTML page for a
  browser (the confirm button of the `GET` page posts here).
- `GET` changes nothing: mail scanners and link previewers fetch every URL in a message,
  and must not unsubscribe anyone. It answers a small HTML page saying what the link is
  for, with a button that confirms (a `POST` to the same URL) and a link to the preference
  centre (`/api/v1/preferences/{token}`).

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import html
import uuid
from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.api.preferences import html_page
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.unsubscribe import (
    UNSUBSCRIBE_PATH,
    UnsubscribeTarget,
    read_unsubscribe_token,
)
from patron_notifications.service import preferences as use_cases
from patron_notifications.settings import NotificationsSettings
from patron_shared.auth import mask_email, mask_phone
from patron_shared.errors import InvalidInput
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime, api_router, prefers
from patron_shared.http.security import NO_BEARER_TOKEN

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
ONE_CLICK = "One-Click"
# relative to the page's URL (/api/v1/unsubscribe/{token}), which works behind a prefix too
PREFERENCES_PATH = "../preferences"
Token = Annotated[
    str,
    Path(min_length=1, max_length=512, description="the signed token of the unsubscribe link"),
]
_WHAT = {"email": "marketing emails", "sms": "marketing text messages (SMS)"}


class UnsubscribedOut(BaseModel):
    customer_id: uuid.UUID = Field(description="the customer unsubscribed (a merge's survivor)")
    channel: Channel
    unsubscribed_from: Literal["marketing"] = "marketing"
    changed: bool = Field(description="false: the customer was not opted in (a repeated click)")


def build_unsubscribe_router(settings: NotificationsSettings) -> APIRouter:
    router = api_router(prefix=UNSUBSCRIBE_PATH, tags=["preferences"])
    secret = settings.unsubscribe_secret.get_secret_value().encode()
    defaults = settings.messaging_defaults()

    @router.post(
        "/{token}",
        summary="Unsubscribe from marketing on the link's channel (RFC 8058 one-click)",
        description=(
            "No bearer token: the link's signed token. Body `List-Unsubscribe=One-Click` "
            f"(`{FORM_CONTENT_TYPE}`), or empty. Idempotent: 200 every time, JSON (or an HTML "
            "page when the Accept header prefers text/html). 422 for a malformed token or a "
            "`List-Unsubscribe` field other than `One-Click`, 403 for a forged token."
        ),
        openapi_extra=NO_BEARER_TOKEN,
        response_model=UnsubscribedOut,
        responses={200: {"content": {"text/html": {}}}},
    )
    async def unsubscribe_one_click(token: Token, request: Request) -> Response:
        target = read_unsubscribe_token(secret, token)
        await _check_one_click_form(request)
        done = await use_cases.unsubscribe(_unit_of_work(request, target), target, now=utcnow())
        if prefers(request, "text/html"):
            return html_page(
                "You are unsubscribed",
                f"<p>You will no longer receive {_WHAT[done.channel]} from us.</p>"
                + _preferences_link(token, "Manage all your preferences"),
            )
        out = UnsubscribedOut(
            customer_id=done.customer_id, channel=done.channel, changed=done.changed
        )
        return JSONResponse(out.model_dump(mode="json"))

    @router.get(
        "/{token}",
        summary="The unsubscribe page: confirm before anything changes",
        description=(
            "No bearer token. Changes nothing (mail scanners fetch links): an HTML page "
            "naming the shop, the channel and the masked address, with a button that POSTs "
            "to this URL and a link to the preference centre. 422/403 for a bad token."
        ),
        openapi_extra=NO_BEARER_TOKEN,
        response_class=HTMLResponse,
    )
    async def unsubscribe_page(token: Token, request: Request) -> HTMLResponse:
        target = read_unsubscribe_token(secret, token)
        view = await use_cases.describe_link(
            _unit_of_work(request, target), target, defaults=defaults
        )
        shop = html.escape(view.shop_name)
        what = _WHAT[view.channel]
        address = _masked_address(view)
        recipient = f" for <strong>{html.escape(address)}</strong>" if address else ""
        status = "" if view.opted_in else "<p>You are not subscribed to them at the moment.</p>"
        return html_page(
            f"Unsubscribe from {shop}",
            f"<p>Stop {what} from <strong>{shop}</strong>{recipient}?</p>{status}"
            '<form method="post">'
            f'<input type="hidden" name="List-Unsubscribe" value="{ONE_CLICK}">'
            '<button type="submit">Unsubscribe</button></form>'
            "<p>Order and account messages keep coming.</p>"
            + _preferences_link(token, "Choose what you receive instead"),
        )

    return router


async def _check_one_click_form(request: Request) -> None:
    """RFC 8058's body, when it is a form: `List-Unsubscribe`, if sent, says One-Click."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        return
    try:
        text = (await request.body()).decode("utf-8")
        fields = dict(parse_qsl(text, keep_blank_values=True))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput("body", f"not {FORM_CONTENT_TYPE} data") from error
    sent = fields.get("List-Unsubscribe")
    if sent is not None and sent != ONE_CLICK:
        raise InvalidInput("List-Unsubscribe", f"must be {ONE_CLICK}")


def _masked_address(view: use_cases.LinkView) -> str | None:
    if view.contact is None:
        return None
    if view.channel == "email":
        return mask_email(view.contact.email)
    return mask_phone(view.contact.phone)


def _preferences_link(token: str, label: str) -> str:
    href = html.escape(f"{PREFERENCES_PATH}/{token}", quote=True)
    return f'<p><a href="{href}">{html.escape(label)}</a></p>'


def _unit_of_work(request: Request, target: UnsubscribeTarget) -> NotificationsUnitOfWork:
    """A unit of work for the tenant the signed token names."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.unit_of_work(
        NotificationsUnitOfWork,
        tenant_id=target.tenant_id,
        correlation_id=request.scope.get("state", {}).get("request_id"),
    )
