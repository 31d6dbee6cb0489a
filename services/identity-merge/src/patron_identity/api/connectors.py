"""`/api/v1/identity/connectors`: register a tenant's sources and their webhook secrets.

Tenant administration: callers need the `identity:admin` scope (the `admin` role has it). Secrets
(and WhatsApp verify tokens) are answered once, when they are set; afterwards only a hint.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.api.webhooks import WEBHOOKS_PATH
from patron_identity.domain.connectors import (
    SECRET_MAX_LENGTH,
    SECRET_MIN_LENGTH,
    Connector,
    ConnectorCursor,
    ConnectorSource,
)
from patron_identity.service import connectors as use_cases
from patron_identity.service.connectors import ConnectorRegistration, IssuedCredentials
from patron_identity.settings import IdentitySettings
from patron_shared.auth import Scope
from patron_shared.http import CursorMeta, CursorPage, api_router, unit_of_work

Secret = Annotated[str, Field(min_length=SECRET_MIN_LENGTH, max_length=SECRET_MAX_LENGTH)]
VerifyToken = Annotated[str, Field(min_length=8, max_length=200, pattern=r"^\S+$")]
Admin = Annotated[
    IdentityUnitOfWork, Depends(unit_of_work(IdentityUnitOfWork, Scope.IDENTITY_ADMIN))
]


class ConnectorIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"source": "shopify", "account": "my-shop.myshopify.com", "name": "Main store"},
                {"source": "whatsapp", "account": "106540352242922"},
            ]
        },
    )

    source: ConnectorSource
    account: str = Field(
        min_length=1,
        max_length=300,
        description="Shopify: the shop's myshopify.com domain; WooCommerce: the site's URL; "
        "WhatsApp: the phone number id; generic: the source's name (used in external ids)",
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    secret: Secret | None = Field(
        default=None,
        description="the webhook signing secret (Shopify app secret, WooCommerce webhook "
        "secret, Meta app secret); generated when omitted",
    )
    verify_token: VerifyToken | None = Field(
        default=None, description="WhatsApp only: the verify token; generated when omitted"
    )


class RotateSecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: Secret | None = Field(default=None, description="generated when omitted")
    verify_token: VerifyToken | None = Field(
        default=None, description="WhatsApp only: a new verify token (unchanged when omitted)"
    )


class ConnectorOut(BaseModel):
    id: uuid.UUID
    source: ConnectorSource
    account: str
    name: str | None
    status: Literal["active", "disabled"]
    webhook_url: str = Field(description="where the source delivers (POST; WhatsApp also GET)")
    secret_hint: str = Field(description="the secret's last characters", examples=["…x9Qk"])
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, connector: Connector, webhook_base: str) -> "ConnectorOut":
        return cls(
            id=connector.id,
            source=connector.source,
            account=connector.account,
            name=connector.name,
            status=connector.status,
            webhook_url=f"{webhook_base}{WEBHOOKS_PATH}/{connector.id}",
            secret_hint=connector.secret_hint,
            created_at=connector.created_at,
            updated_at=connector.updated_at,
            disabled_at=connector.disabled_at,
        )


class ConnectorCredentialsOut(ConnectorOut):
    secret: str = Field(description="shown this once: configure it at the source")
    verify_token: str | None = Field(
        default=None, description="WhatsApp: shown this once, when it is set"
    )

    @classmethod
    def issued(cls, issued: IssuedCredentials, webhook_base: str) -> "ConnectorCredentialsOut":
        shown = ConnectorOut.of(issued.connector, webhook_base).model_dump()
        return cls(**shown, secret=issued.secret, verify_token=issued.verify_token)


def build_connectors_router(settings: IdentitySettings) -> APIRouter:
    router = api_router(prefix="/api/v1/identity/connectors", tags=["source connectors"])

    def webhook_base(request: Request) -> str:
        """The public origin sources reach: configured, else what the caller reached (the
        gateway forwards its own host and scheme)."""
        if settings.webhook_base_url:
            return settings.webhook_base_url.rstrip("/")
        host = request.headers.get("x-forwarded-host") or request.headers.get("host")
        scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
        return f"{scheme}://{host}" if host else str(request.base_url).rstrip("/")

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary="Register a source connector; its secret is answered this once",
    )
    async def register_connector(
        body: ConnectorIn, uow: Admin, request: Request, response: Response
    ) -> ConnectorCredentialsOut:
        issued = await use_cases.register_connector(
            uow,
            ConnectorRegistration(
                source=body.source,
                account=body.account,
                name=body.name,
                secret=body.secret,
                verify_token=body.verify_token,
            ),
            actor=uow.caller.subject,
        )
        response.headers["Location"] = f"/api/v1/identity/connectors/{issued.connector.id}"
        return ConnectorCredentialsOut.issued(issued, webhook_base(request))

    @router.get("", summary="List the tenant's connectors (secrets never shown)")
    async def list_connectors(
        *,
        uow: Admin,
        request: Request,
        source: ConnectorSource | None = None,
        connector_status: Annotated[
            Literal["active", "all"],
            Query(alias="status", description="active only (default) or all"),
        ] = "active",
        cursor: Annotated[
            str | None, Query(max_length=500, description="`meta.next_cursor` of the last page")
        ] = None,
        per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> CursorPage[ConnectorOut]:
        found, next_cursor = await use_cases.list_connectors(
            uow,
            source=source,
            active_only=connector_status == "active",
            after=ConnectorCursor.decode(cursor) if cursor else None,
            limit=per_page,
        )
        base = webhook_base(request)
        return CursorPage[ConnectorOut](
            data=[ConnectorOut.of(c, base) for c in found],
            meta=CursorMeta(
                per_page=per_page, next_cursor=next_cursor.encode() if next_cursor else None
            ),
        )

    @router.get("/{connector_id}", summary="Get one connector (its secret's hint only)")
    async def get_connector(connector_id: uuid.UUID, uow: Admin, request: Request) -> ConnectorOut:
        connector = await use_cases.get_connector(uow, connector_id)
        return ConnectorOut.of(connector, webhook_base(request))

    @router.delete(
        "/{connector_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Disable a connector: its webhook answers 410 from now on",
    )
    async def disable_connector(connector_id: uuid.UUID, uow: Admin) -> Response:
        await use_cases.disable_connector(uow, connector_id, actor=uow.caller.subject)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/{connector_id}/rotate-secret",
        summary="Set a new webhook secret (given or generated); answered this once",
    )
    async def rotate_secret(
        connector_id: uuid.UUID,
        uow: Admin,
        request: Request,
        body: RotateSecretIn | None = None,
    ) -> ConnectorCredentialsOut:
        wanted = body or RotateSecretIn()
        issued = await use_cases.rotate_secret(
            uow,
            connector_id,
            actor=uow.caller.subject,
            secret=wanted.secret,
            verify_token=wanted.verify_token,
        )
        return ConnectorCredentialsOut.issued(issued, webhook_base(request))

    return router
