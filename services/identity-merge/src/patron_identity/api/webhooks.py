"""`/api/v1/identity/webhooks/{connector_id}`: where Shopify, WooCommerce, WhatsApp and
generic senders deliver.

No bearer token: the URL names the connector, and the body's signature (computed with the
connector's secret over the raw bytes) proves the sender. The request is answered as soon
as the delivery is stored, so sources do not time out and retry.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from patron_identity.adapters.connectors import SqlConnectorDirectory
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.domain.connectors import WebhookDelivery
from patron_identity.service import source_profiles as use_cases
from patron_identity.service.source_profiles import IngestOutcome, ProfileResult
from patron_identity.settings import IdentitySettings
from patron_shared.http import ServiceRuntime, api_router
from patron_shared.http.security import NO_BEARER_TOKEN

WEBHOOKS_PATH = "/api/v1/identity/webhooks"


class ProfileResultOut(BaseModel):
    external_id: str = Field(description='"<source>:<id>"', examples=["shopify:706405506930370084"])
    event: Literal["upsert", "delete"]
    customer_id: uuid.UUID | None = Field(
        description="the Patron customer; null for a delete of an id nobody held"
    )
    created: bool = Field(description="a new customer was allocated for this profile")
    matched_by: str | None = Field(
        default=None, description="the identifier that found the customer (external_id, ...)"
    )

    @classmethod
    def of(cls, result: ProfileResult) -> "ProfileResultOut":
        return cls(
            external_id=result.external_id,
            event=result.event,
            customer_id=result.customer_id,
            created=result.created,
            matched_by=result.matched_by,
        )


class WebhookReceiptOut(BaseModel):
    status: Literal["processed", "replayed", "ping"] = Field(
        description="replayed: this delivery was handled before and changed nothing now"
    )
    customers: list[ProfileResultOut]

    @classmethod
    def of(cls, outcome: IngestOutcome) -> "WebhookReceiptOut":
        return cls(
            status=outcome.status, customers=[ProfileResultOut.of(r) for r in outcome.results]
        )


def build_webhooks_router(settings: IdentitySettings) -> APIRouter:
    router = api_router(prefix=WEBHOOKS_PATH, tags=["source connectors"])
    rules = settings.normalization_rules()

    @router.post(
        "/{connector_id}",
        summary="Receive a signed webhook delivery from the connector's source",
        description=(
            "Signed, not authenticated by a bearer token: Shopify `X-Shopify-Hmac-Sha256`, "
            "WooCommerce `X-WC-Webhook-Signature` (its creation ping is answered unsigned), "
            "WhatsApp `X-Hub-Signature-256`, generic `X-Patron-Signature-256`. 401 for a bad "
            "signature, 404 for an unknown connector, 410 for a disabled one, 422 naming "
            "the malformed field; a replayed delivery changes nothing."
        ),
        openapi_extra=NO_BEARER_TOKEN,
    )
    async def receive_webhook(connector_id: uuid.UUID, request: Request) -> WebhookReceiptOut:
        runtime: ServiceRuntime = request.app.state.runtime
        request_id = request.scope.get("state", {}).get("request_id")

        def unit_of_work_for(tenant_id: str) -> IdentityUnitOfWork:
            return runtime.unit_of_work(
                IdentityUnitOfWork, tenant_id=tenant_id, correlation_id=request_id
            )

        delivery = WebhookDelivery(body=await request.body(), headers=dict(request.headers))
        outcome = await use_cases.receive_webhook(
            SqlConnectorDirectory(runtime.session_factory, settings.secret_box),
            unit_of_work_for,
            connector_id,
            delivery,
            rules=rules,
        )
        return WebhookReceiptOut.of(outcome)

    @router.get(
        "/{connector_id}",
        summary="Answer WhatsApp's (Meta's) webhook verification request",
        response_class=PlainTextResponse,
        responses={
            200: {"content": {"text/plain": {}}, "description": "the echoed hub.challenge"},
            403: {"description": "hub.mode is not subscribe or the verify token is wrong"},
        },
        openapi_extra=NO_BEARER_TOKEN,
    )
    async def verify_subscription(
        connector_id: uuid.UUID,
        request: Request,
        mode: Annotated[str | None, Query(alias="hub.mode", max_length=50)] = None,
        verify_token: Annotated[str | None, Query(alias="hub.verify_token", max_length=200)] = None,
        challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=200)] = None,
    ) -> PlainTextResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        answer = await use_cases.answer_verification(
            SqlConnectorDirectory(runtime.session_factory, settings.secret_box),
            connector_id,
            mode=mode,
            token=verify_token,
            challenge=challenge,
        )
        return PlainTextResponse(answer)

    return router
