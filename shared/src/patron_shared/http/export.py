"""The internal GDPR export endpoint each service serves to the profile service.

`GET /internal/v1/customers/{customer_id}/export` answers one JSON document with what this
service holds on the customer. The `/internal/` prefix is not routed by the API gateway
(deploy/local/nginx, deploy/docker/nginx.conf): only the profile service calls it, directly
on the service's own URL, forwarding its caller's bearer token, which needs the
`customers:export` scope. The public, aggregated export is the profile's
`GET /api/v1/customers/{customer_id}/export`.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar, cast

from fastapi import APIRouter, Depends

from patron_shared.auth import Scope
from patron_shared.db import UnitOfWork
from patron_shared.db.export import EXPORT_ROWS_PER_PART, ExportPart, read_export
from patron_shared.events import utcnow
from patron_shared.http.dependencies import unit_of_work
from patron_shared.http.query import api_router

INTERNAL_EXPORT_PATH = "/internal/v1/customers/{customer_id}/export"
UowT = TypeVar("UowT", bound=UnitOfWork)
DerivedParts = Callable[[UowT, uuid.UUID], Awaitable[Mapping[str, Any]]]
"""What a service infers about a customer at export time rather than stores (scores,
predictions): part name -> JSON value. It opens the unit of work it is given itself."""


def build_export_router(
    service: str,
    uow_class: type[UowT],
    parts: Sequence[ExportPart],
    *,
    derived: DerivedParts[UowT] | None = None,
    rows_per_part: int = EXPORT_ROWS_PER_PART,
) -> APIRouter:
    router = api_router(prefix="", tags=["gdpr"])
    exporter = unit_of_work(uow_class, Scope.CUSTOMERS_EXPORT)

    @router.get(
        INTERNAL_EXPORT_PATH,
        summary=f"Everything the {service} service holds on a customer (GDPR export part)",
        description=(
            "Internal: called by the profile service's `GET /api/v1/customers/{id}/export`, "
            "not routed by the gateway. Needs `customers:export`. Each list part holds at "
            f"most {rows_per_part} rows, newest first; `truncated` names the parts cut. "
            "An unknown customer gives empty parts, not 404 (this service may not know them)."
        ),
    )
    async def export_customer(
        customer_id: uuid.UUID, uow: Annotated[UnitOfWork, Depends(exporter)]
    ) -> dict[str, Any]:
        async with uow:
            document = await read_export(
                uow.session, uow.tenant_id, customer_id, parts, rows_per_part=rows_per_part
            )
        if derived is not None:
            # the dependency made it of `uow_class`; FastAPI's annotation cannot say so
            document.data.update(await derived(cast(UowT, uow), customer_id))
        return {
            "service": service,
            "customer_id": str(customer_id),
            "exported_at": utcnow().isoformat(),
            "rows_per_part": rows_per_part,
            "truncated": document.truncated,
            "data": document.data,
        }

    return router
