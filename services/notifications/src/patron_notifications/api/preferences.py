"""The preference centre: what a customer agreed to receive, by email and by SMS.

Two doors onto the same preferences:

- `/api/v1/customers/{customer_id}/preferences`, for the merchant's back office (bearer
  token; `notifications:read` to read, `notifications:write` to change).
- `/api/v1/preferences/{token}`, for the customer themself, reached from a message's
  unsubscribe link: the link's signed token is the credential (no bearer token). It names
  one customer and one channel; the customer may manage both channels with it.

A browser gets the customer's door as an HTML page (when its Accept header prefers
`text/html`) with a form that posts back to the same URL (`POST`, form-urlencoded; an
unchecked box is a `false`, as forms send them).

`PUT` takes the fields it changes: a field left out (or `null`, except `time_zone`, where
`null` means the tenant's default) keeps its value, so a body read with `GET` can be sent
back as it is. Writes are idempotent: the same body again changes nothing. A change of
`email_marketing`/`sms_marketing` also goes to the customer record of truth (the profile)
as a `RecordConsent` command.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import html
import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.config import JsonDict

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.contact import Contact
from patron_notifications.domain.unsubscribe import UnsubscribeTarget, read_unsubscribe_token
from patron_notifications.service import preferences as use_cases
from patron_notifications.settings import NotificationsSettings
from patron_shared.auth import Scope, mask_email, mask_phone
from patron_shared.errors import InvalidInput
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime, api_router, prefers, unit_of_work
from patron_shared.http.security import NO_BEARER_TOKEN

Reader = Annotated[
    NotificationsUnitOfWork,
    Depends(unit_of_work(NotificationsUnitOfWork, Scope.NOTIFICATIONS_READ)),
]
Writer = Annotated[
    NotificationsUnitOfWork,
    Depends(unit_of_work(NotificationsUnitOfWork, Scope.NOTIFICATIONS_WRITE)),
]
Token = Annotated[
    str,
    Path(
        min_length=1,
        max_length=512,
        description="the signed token of the customer's unsubscribe link",
    ),
]
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# A page reached by a link in an email: never cached, never indexed, the token never sent
# on as a Referer; only its own inline style and forms posting back to this service.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
_FLAGS = ("email_marketing", "sms_marketing", "email_unsubscribed", "sms_unsubscribed")
_EXAMPLE: JsonDict = {
    "customer_id": "3d6f4c2e-8a1b-4f7e-9c3d-5e2a1b0c9d8f",
    "email": "j***@example.com",
    "phone": "********0123",
    "email_marketing": True,
    "sms_marketing": False,
    "email_unsubscribed": False,
    "sms_unsubscribed": False,
    "time_zone": "Europe/Paris",
    "updated_at": "2026-11-20T10:15:00Z",
}


class PreferencesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    customer_id: uuid.UUID = Field(
        description="the customer the preferences are kept for (a merge's survivor)"
    )
    email: str | None = Field(description="masked unless the caller holds customers:pii")
    phone: str | None = Field(description="masked unless the caller holds customers:pii")
    email_marketing: bool = Field(description="opted in to marketing emails")
    sms_marketing: bool = Field(description="opted in to marketing SMS")
    email_unsubscribed: bool = Field(
        description="no email at all, order and account messages included"
    )
    sms_unsubscribed: bool = Field(description="no SMS at all, order and account messages included")
    time_zone: str | None = Field(
        description="IANA name for quiet hours; null: the shop's default time zone"
    )
    updated_at: datetime | None = Field(
        description="when the customer's preferences last changed here; null: never"
    )

    @classmethod
    def of(cls, contact: Contact, *, pii: bool) -> "PreferencesOut":
        preferences = contact.preferences()
        return cls(
            customer_id=contact.customer_id,
            email=contact.email if pii else mask_email(contact.email),
            phone=contact.phone if pii else mask_phone(contact.phone),
            email_marketing=preferences.email_marketing,
            sms_marketing=preferences.sms_marketing,
            email_unsubscribed=preferences.email_unsubscribed,
            sms_unsubscribed=preferences.sms_unsubscribed,
            time_zone=preferences.time_zone,
            updated_at=contact.preferences_updated_at,
        )


class PreferencesIn(BaseModel):
    """The preferences to change; fields left out keep their value."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email_marketing": False, "time_zone": "America/New_York"}]
        },
    )

    email_marketing: StrictBool | None = None
    sms_marketing: StrictBool | None = None
    email_unsubscribed: StrictBool | None = Field(
        default=None, description="true: no email at all, transactional ones included"
    )
    sms_unsubscribed: StrictBool | None = Field(
        default=None, description="true: no SMS at all, transactional ones included"
    )
    time_zone: str | None = Field(
        default=None,
        max_length=use_cases.MAX_TIME_ZONE,
        description="an IANA time zone name (Europe/Paris); null: the shop's default",
    )

    def changes(self) -> use_cases.PreferenceChanges:
        return use_cases.PreferenceChanges(
            email_marketing=self.email_marketing,
            sms_marketing=self.sms_marketing,
            email_unsubscribed=self.email_unsubscribed,
            sms_unsubscribed=self.sms_unsubscribed,
            time_zone=self.time_zone,
            time_zone_given="time_zone" in self.model_fields_set,
        )


def build_preferences_router(settings: NotificationsSettings) -> APIRouter:
    router = api_router(tags=["preferences"])
    secret = settings.unsubscribe_secret.get_secret_value().encode()
    defaults = settings.messaging_defaults()

    @router.get(
        "/api/v1/customers/{customer_id}/preferences",
        summary="A customer's messaging preferences",
        description="404 when the service knows no such customer (or it was deleted).",
    )
    async def get_customer_preferences(customer_id: uuid.UUID, uow: Reader) -> PreferencesOut:
        contact = await use_cases.get_preferences(uow, customer_id)
        return PreferencesOut.of(contact, pii=uow.caller.can_read_pii)

    @router.put(
        "/api/v1/customers/{customer_id}/preferences",
        summary="Change a customer's messaging preferences",
        description=(
            "Fields left out keep their value. A change of `email_marketing` or "
            "`sms_marketing` applies at once and is sent to the profile (`RecordConsent`, "
            "source `back_office`). 422 naming the field (an unknown time zone, a non-boolean "
            "flag, an unknown field); 404 for an unknown customer."
        ),
    )
    async def put_customer_preferences(
        customer_id: uuid.UUID, body: PreferencesIn, uow: Writer
    ) -> PreferencesOut:
        contact = await use_cases.update_preferences(
            uow, customer_id, body.changes(), source=use_cases.BACK_OFFICE, now=utcnow()
        )
        return PreferencesOut.of(contact, pii=uow.caller.can_read_pii)

    @router.get(
        "/api/v1/preferences/{token}",
        summary="The customer's own preferences (from an unsubscribe link)",
        description=(
            "No bearer token: the link's signed token. Addresses are always masked. JSON, "
            "or the preference page (a form posting back here) when the Accept header "
            "prefers text/html. 422 for a malformed token, 403 for a forged one, 404 when "
            "the customer is gone."
        ),
        openapi_extra=NO_BEARER_TOKEN,
        response_model=PreferencesOut,
        responses={200: {"content": {"text/html": {}}}},
    )
    async def get_own_preferences(token: Token, request: Request) -> Response:
        target = read_unsubscribe_token(secret, token)
        contact, shop = await use_cases.preference_page(
            _unit_of_work(request, target), target.customer_id, defaults=defaults
        )
        if prefers(request, "text/html"):
            return _preferences_page(contact, shop)
        return JSONResponse(PreferencesOut.of(contact, pii=False).model_dump(mode="json"))

    @router.post(
        "/api/v1/preferences/{token}",
        summary="Save the preference page's form",
        description=(
            "No bearer token. The HTML form of the preference page "
            f"(`{FORM_CONTENT_TYPE}`): `email_marketing`, `sms_marketing`, "
            "`email_unsubscribed`, `sms_unsubscribed` (a box sent is true, one left out "
            "false) and `time_zone` (blank: the shop's default). Answers the page again, "
            "saying it was saved, or 422 with the page naming what is wrong. 403/422 for a "
            "bad token, 404 when the customer is gone."
        ),
        openapi_extra=NO_BEARER_TOKEN,
        response_class=HTMLResponse,
    )
    async def post_own_preferences(token: Token, request: Request) -> HTMLResponse:
        target = read_unsubscribe_token(secret, token)
        changes = _form_changes(await _form(request))
        try:
            await use_cases.update_preferences(
                _unit_of_work(request, target),
                target.customer_id,
                changes,
                source=use_cases.PREFERENCE_CENTRE,
                now=utcnow(),
            )
        except InvalidInput as error:
            contact, shop = await use_cases.preference_page(
                _unit_of_work(request, target), target.customer_id, defaults=defaults
            )
            return _preferences_page(contact, shop, error=error, status_code=422)
        contact, shop = await use_cases.preference_page(
            _unit_of_work(request, target), target.customer_id, defaults=defaults
        )
        return _preferences_page(contact, shop, saved=True)

    @router.put(
        "/api/v1/preferences/{token}",
        summary="Change the customer's own preferences (from an unsubscribe link)",
        description=(
            "As the back-office `PUT`, for the customer the token names (either channel); "
            "marketing changes reach the profile with source `preference_centre`. 422 for a "
            "malformed token or body, 403 for a forged token, 404 when the customer is gone."
        ),
        openapi_extra=NO_BEARER_TOKEN,
    )
    async def put_own_preferences(
        token: Token, body: PreferencesIn, request: Request
    ) -> PreferencesOut:
        target = read_unsubscribe_token(secret, token)
        contact = await use_cases.update_preferences(
            _unit_of_work(request, target),
            target.customer_id,
            body.changes(),
            source=use_cases.PREFERENCE_CENTRE,
            now=utcnow(),
        )
        return PreferencesOut.of(contact, pii=False)

    return router


def _unit_of_work(request: Request, target: UnsubscribeTarget) -> NotificationsUnitOfWork:
    """A unit of work for the tenant the signed token names."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.unit_of_work(
        NotificationsUnitOfWork,
        tenant_id=target.tenant_id,
        correlation_id=request.scope.get("state", {}).get("request_id"),
    )


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise InvalidInput("content-type", f"expected {FORM_CONTENT_TYPE}", location="header")
    try:
        text = (await request.body()).decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput("body", f"not {FORM_CONTENT_TYPE} data") from error


def _form_changes(form: dict[str, str]) -> use_cases.PreferenceChanges:
    """The whole form: a checkbox left unchecked is not sent, and means false."""
    return use_cases.PreferenceChanges(
        email_marketing="email_marketing" in form,
        sms_marketing="sms_marketing" in form,
        email_unsubscribed="email_unsubscribed" in form,
        sms_unsubscribed="sms_unsubscribed" in form,
        time_zone=form.get("time_zone", "").strip() or None,
        time_zone_given=True,
    )


def html_page(title: str, body: str, *, status_code: int = 200) -> HTMLResponse:
    """A minimal page for customers; `title` and `body` are escaped HTML already."""
    return HTMLResponse(
        "<!doctype html>"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{title}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;"
        "padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1.25rem}"
        "fieldset{margin:0 0 1rem;border:1px solid #ccc}label{display:block;margin:.25rem 0}"
        ".error{color:#a00}.saved{color:#060}</style>"
        f"</head><body><h1>{title}</h1>{body}</body></html>",
        status_code=status_code,
        headers=PAGE_HEADERS,
    )


def _preferences_page(
    contact: Contact,
    shop_name: str,
    *,
    saved: bool = False,
    error: InvalidInput | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    shown = PreferencesOut.of(contact, pii=False)
    checked = {flag: " checked" if getattr(shown, flag) else "" for flag in _FLAGS}
    email = html.escape(shown.email or "no email address on file")
    phone = html.escape(shown.phone or "no phone number on file")
    zone = html.escape(shown.time_zone or "", quote=True)
    notice = ""
    if saved:
        notice = '<p class="saved" role="status">Your preferences are saved.</p>'
    if error is not None:
        problem = html.escape(f"{error.message} ({error.field})")
        notice = f'<p class="error" role="alert">{problem}</p>'
    zones = "".join(f'<option value="{name}">' for name in sorted(use_cases.time_zones()))
    body = (
        f'{notice}<form method="post">'
        f"<fieldset><legend>Email: {email}</legend>"
        '<label><input type="checkbox" name="email_marketing" value="on"'
        f"{checked['email_marketing']}> News and offers by email</label>"
        '<label><input type="checkbox" name="email_unsubscribed" value="on"'
        f"{checked['email_unsubscribed']}> No email at all, not even order updates</label>"
        "</fieldset>"
        f"<fieldset><legend>Text messages: {phone}</legend>"
        '<label><input type="checkbox" name="sms_marketing" value="on"'
        f"{checked['sms_marketing']}> News and offers by text message</label>"
        '<label><input type="checkbox" name="sms_unsubscribed" value="on"'
        f"{checked['sms_unsubscribed']}> No text messages at all, not even order updates"
        "</label></fieldset>"
        "<label>Your time zone, so texts never arrive at night (e.g. Europe/Paris): "
        f'<input name="time_zone" value="{zone}" list="zones" maxlength="64"></label>'
        f'<datalist id="zones">{zones}</datalist>'
        '<p><button type="submit">Save</button></p></form>'
    )
    title = f"Your messages from {html.escape(shop_name)}"
    return html_page(title, body, status_code=status_code)
