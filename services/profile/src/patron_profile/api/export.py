"""`GET /api/v1/customers/{id}/export`: the customer's GDPR export, every service's part.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request

from patron_profile.adapters.export import HttpExportParts, SqlProfileExport
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.gdpr_export import export_customer
from patron_profile.settings import ProfileSettings
from patron_shared.auth import Scope
from patron_shared.db.export import EXPORT_ROWS_PER_PART
from patron_shared.http import api_router, unit_of_work

Exporter = Annotated[
    ProfileUnitOfWork, Depends(unit_of_work(ProfileUnitOfWork, Scope.CUSTOMERS_EXPORT))
]


def build_export_router(
    settings: ProfileSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> APIRouter:
    router = api_router(prefix="/api/v1/customers", tags=["gdpr"])
    remote = HttpExportParts(
        {
            "identity": settings.identity_url,
            "segmentation": settings.segmentation_url,
            "loyalty": settings.loyalty_url,
            "notifications": settings.notifications_url,
        },
        timeout=settings.export_timeout_seconds,
        transport=transport,
    )

    @router.get(
        "/{customer_id}/export",
        summary="GDPR export: everything every service holds on a customer, as one document",
        description=(
            "Needs `customers:export`. `services` holds each service's part (profile, "
            "identity, segmentation, loyalty, notifications), each a set of named lists. "
            "A service that does not answer within `PATRON_EXPORT_TIMEOUT_SECONDS` (or "
            "answers an error) has a null part and an entry in `missing` with the reason; "
            f"each list holds at most {EXPORT_ROWS_PER_PART} rows, newest first, and "
            "`truncated` names the lists that were cut. `complete` is true when nothing is "
            "missing or cut. 404 for a customer the profile has never known. Each export "
            "is an `export` entry in the customer's audit log."
        ),
    )
    async def export(customer_id: uuid.UUID, uow: Exporter, request: Request) -> dict[str, Any]:
        return await export_customer(
            SqlProfileExport(uow),
            remote,
            customer_id,
            tenant_id=uow.tenant_id,
            authorization=request.headers.get("authorization", ""),
        )

    return router
