"""`/api/v1/notifications/sms/status/{tenant_id}`: where the SMS provider (Twilio or a
compatible API) reports what became of each message (its `StatusCallback`).

No bearer token: the provider signs each report (`X-Twilio-Signature`, with the SMS auth
token, over the URL it was given and the form it posts). That URL is
`PATRON_PUBLIC_BASE_URL` + this path, so the signature is checked over exactly that, not
over whatever host or scheme the request reached this process with behind the gateway.

Answers: 200 with what the report did (`changed: false` for an intermediate, repeated or
late report); 202 when the tenant has no SMS with that `MessageSid` yet: the provider may
report within milliseconds of accepting a message, before the sending worker recorded its
sid, so a final report is kept and applied when the worker does (a 4xx would have the
provider drop it, and the message would stay `sent` for good); 403 for a bad or missing
signature; 422 naming a malformed field; 404 when the `MessageSid` is an email's.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from http import HTTPStatus
from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.status_callback import parse_status_callback
from patron_notifications.service.sms_status import (
    SMS_STATUS_PATH,
    SmsStatusOutcome,
    record_sms_status,
)
from patron_notifications.settings import NotificationsSettings
from patron_shared.errors import InvalidInput
from patron_shared.events import utcnow
from patron_shared.events.envelope import TENANT_ID_PATTERN
from patron_shared.http import ServiceRuntime, api_router
from patron_shared.http.security import NO_BEARER_TOKEN

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
TenantInPath = Annotated[
    str, Path(pattern=TENANT_ID_PATTERN, description="the tenant named in the callback URL")
]


class SmsStatusReceiptOut(BaseModel):
    notification_id: str | None = Field(
        description="the delivery the report is about; null (202): no SMS has this sid yet"
    )
    status: Literal["queued", "sending", "sent", "delivered", "failed", "skipped"] | None = Field(
        description="the delivery's status once the report is taken into account"
    )
    changed: bool = Field(
        description=(
            "false: an intermediate, repeated or late report that changed nothing, or an "
            "early one (kept when final, applied once the sid is recorded)"
        )
    )

    @classmethod
    def of(cls, outcome: SmsStatusOutcome) -> "SmsStatusReceiptOut":
        return cls(
            notification_id=None if outcome.delivery_id is None else str(outcome.delivery_id),
            status=outcome.status,
            changed=outcome.changed,
        )


def build_sms_status_router(settings: NotificationsSettings) -> APIRouter:
    router = api_router(prefix=SMS_STATUS_PATH, tags=["notifications"])
    public_base_url = settings.public_base_url.rstrip("/")
    auth_token = settings.sms_auth_token.get_secret_value()

    @router.post(
        "/{tenant_id}",
        summary="Receive an SMS delivery report (the provider's signed StatusCallback)",
        description=(
            "Signed, not authenticated by a bearer token: `X-Twilio-Signature` over "
            "`PATRON_PUBLIC_BASE_URL` + this path and the posted form "
            f"(`{FORM_CONTENT_TYPE}`: `MessageSid`, `MessageStatus`, optional `ErrorCode`, "
            "`ErrorMessage`). `delivered` confirms the message (`NotificationDelivered` "
            "`delivered`), `undelivered`/`failed` fail it (`NotificationDelivered` `bounced`), "
            "other statuses and repeats change nothing. 202 when the tenant has no SMS with "
            "that `MessageSid` yet (the report came before the sending worker recorded the "
            "sid: a final one is kept for a day and applied when it is), 403 for a bad "
            "signature, 422 naming the malformed field, 404 when the `MessageSid` is an email's."
        ),
        responses={202: {"model": SmsStatusReceiptOut, "description": "kept for later"}},
        openapi_extra=NO_BEARER_TOKEN,
    )
    async def receive_sms_status(
        tenant_id: TenantInPath, request: Request, response: Response
    ) -> SmsStatusReceiptOut:
        runtime: ServiceRuntime = request.app.state.runtime
        form = await _form(request)
        url = public_base_url + request.url.path
        query = request.scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")
        update = parse_status_callback(
            url, form, request.headers.get("x-twilio-signature"), auth_token
        )
        error_message = dict(form).get("ErrorMessage") or None
        uow = runtime.unit_of_work(
            NotificationsUnitOfWork,
            tenant_id=tenant_id,
            correlation_id=request.scope.get("state", {}).get("request_id"),
        )
        outcome = await record_sms_status(uow, update, utcnow(), error_message=error_message)
        if outcome.early:
            response.status_code = HTTPStatus.ACCEPTED
        return SmsStatusReceiptOut.of(outcome)

    return router


async def _form(request: Request) -> list[tuple[str, str]]:
    """The posted form's fields, every one as sent (blank ones too: they are signed)."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise InvalidInput("content-type", f"expected {FORM_CONTENT_TYPE}", location="header")
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput("body", "not UTF-8 form data") from error
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError as error:
        raise InvalidInput("body", f"not {FORM_CONTENT_TYPE} data") from error
