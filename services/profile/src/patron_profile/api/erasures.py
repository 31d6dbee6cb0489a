"""GDPR erasure over HTTP: the answer to `DELETE /api/v1/customers/{id}?mode=...` (the route
lives with the other customer routes) and `GET /api/v1/customers/{id}/erasure`.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.erasure import Erasure
from patron_profile.service import erasures as use_cases
from patron_shared.auth import Scope
from patron_shared.events.customer import ErasureMode
from patron_shared.http import api_router, unit_of_work

Eraser = Annotated[
    ProfileUnitOfWork, Depends(unit_of_work(ProfileUnitOfWork, Scope.CUSTOMERS_DELETE))
]
"""A unit of work for a caller who may delete and erase customers."""

ModeQuery = Annotated[
    ErasureMode | None,
    Query(
        description="absent: soft delete (204, `CustomerDeleted`). `hard` or `anonymize`: GDPR "
        "erasure in every service (202, `CustomerErased`); `anonymize` keeps order amounts "
        "for accounting, without anything that identifies the customer",
    ),
]


class ErasureAccepted(BaseModel):
    erasure_id: uuid.UUID
    customer_id: uuid.UUID
    mode: ErasureMode
    status_url: str = Field(examples=["/api/v1/customers/6f1c.../erasure"])


class ServiceProgress(BaseModel):
    service: str = Field(examples=["loyalty.points"])
    status: Literal["pending", "done"]
    completed_at: AwareDatetime | None = None


class ErasureStatus(BaseModel):
    erasure_id: uuid.UUID
    customer_id: uuid.UUID
    mode: ErasureMode
    status: Literal["pending", "done"] = Field(
        description="done once every service has acknowledged"
    )
    requested_at: AwareDatetime
    requested_by: str | None = None
    completed_at: AwareDatetime | None = None
    services: list[ServiceProgress]

    @classmethod
    def of(cls, erasure: Erasure) -> "ErasureStatus":
        return cls(
            erasure_id=erasure.erasure_id,
            customer_id=erasure.customer_id,
            mode=erasure.mode,
            status=erasure.status,
            requested_at=erasure.requested_at,
            requested_by=erasure.requested_by,
            completed_at=erasure.completed_at,
            services=[
                ServiceProgress(service=p.service, status=p.status, completed_at=p.completed_at)
                for p in erasure.participants
            ],
        )


ERASURE_ACCEPTED: dict[int | str, dict[str, Any]] = {
    status.HTTP_202_ACCEPTED: {
        "model": ErasureAccepted,
        "description": "Erasure started (with `mode`): the profile's part is done, the other "
        "services follow; `Location` is its status",
    }
}


def status_path(customer_id: uuid.UUID) -> str:
    return f"/api/v1/customers/{customer_id}/erasure"


async def accept_erasure(
    uow: ProfileUnitOfWork, customer_id: uuid.UUID, mode: ErasureMode, *, hash_key: bytes
) -> JSONResponse:
    """Erase the customer; 202 with the erasure's id and its status as `Location`."""
    erasure = await use_cases.erase_customer(
        uow, customer_id, mode, hash_key=hash_key, requested_by=uow.caller.subject
    )
    body = ErasureAccepted(
        erasure_id=erasure.erasure_id,
        customer_id=customer_id,
        mode=erasure.mode,
        status_url=status_path(customer_id),
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": status_path(customer_id)},
    )


def build_erasures_router() -> APIRouter:
    router = api_router(prefix="/api/v1/customers", tags=["customers"])

    @router.get(
        "/{customer_id}/erasure",
        summary="Progress of a customer's latest GDPR erasure, per service",
    )
    async def get_erasure(customer_id: uuid.UUID, uow: Eraser) -> ErasureStatus:
        return ErasureStatus.of(await use_cases.erasure_status(uow, customer_id))

    return router
