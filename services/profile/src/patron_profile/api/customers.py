"""`/api/v1/customers`: translate HTTP to use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.api.schemas import CustomerCreate, CustomerOut, CustomerPatch
from patron_profile.service import customers as use_cases
from patron_profile.service.customers import ContactRules
from patron_profile.settings import ProfileSettings
from patron_shared.auth import Principal, Scope
from patron_shared.http import Page, PageParams, page_params, require, unit_of_work

Reader = Annotated[
    ProfileUnitOfWork, Depends(unit_of_work(ProfileUnitOfWork, Scope.CUSTOMERS_READ))
]
Writer = Annotated[
    ProfileUnitOfWork, Depends(unit_of_work(ProfileUnitOfWork, Scope.CUSTOMERS_WRITE))
]
Viewer = Annotated[Principal, Depends(require(Scope.CUSTOMERS_READ))]


def build_customers_router(settings: ProfileSettings) -> APIRouter:
    router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
    rules = ContactRules(phone_default_region=settings.phone_default_region)
    paging = page_params(settings.customers_per_page, settings.customers_max_per_page)

    @router.post("", status_code=status.HTTP_201_CREATED, summary="Create a customer")
    async def create_customer(
        body: CustomerCreate, uow: Writer, viewer: Viewer, response: Response
    ) -> CustomerOut:
        customer = await use_cases.create_customer(uow, body.model_dump(), rules=rules)
        response.headers["Location"] = f"/api/v1/customers/{customer.id}"
        return CustomerOut.of(customer, viewer)

    @router.get("", summary="List customers, newest first")
    async def list_customers(
        uow: Reader,
        viewer: Viewer,
        page: Annotated[PageParams, Depends(paging)],
        email: Annotated[str | None, Query(max_length=320, description="exact email")] = None,
    ) -> Page[CustomerOut]:
        found, total = await use_cases.list_customers(
            uow, offset=page.offset, limit=page.per_page, email=email
        )
        return Page[CustomerOut].build([CustomerOut.of(c, viewer) for c in found], page, total)

    @router.get("/{customer_id}", summary="Get one customer")
    async def get_customer(customer_id: uuid.UUID, uow: Reader, viewer: Viewer) -> CustomerOut:
        return CustomerOut.of(await use_cases.get_customer(uow, customer_id), viewer)

    @router.patch("/{customer_id}", summary="Change some fields of a customer")
    async def update_customer(
        customer_id: uuid.UUID, body: CustomerPatch, uow: Writer, viewer: Viewer
    ) -> CustomerOut:
        changes = body.model_dump(exclude_unset=True)
        customer = await use_cases.update_customer(uow, customer_id, changes, rules=rules)
        return CustomerOut.of(customer, viewer)

    @router.delete(
        "/{customer_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Delete a customer",
        dependencies=[Depends(require(Scope.CUSTOMERS_DELETE))],
    )
    async def delete_customer(customer_id: uuid.UUID, uow: Writer) -> Response:
        await use_cases.delete_customer(uow, customer_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
