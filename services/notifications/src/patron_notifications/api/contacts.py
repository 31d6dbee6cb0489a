"""`/api/v1/notifications/contacts`: translate HTTP to use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.api.schemas import ContactOut
from patron_notifications.service import contacts as use_cases
from patron_notifications.settings import NotificationsSettings
from patron_shared.auth import Principal, Scope
from patron_shared.http import Page, PageParams, api_router, page_params, require, unit_of_work

Reader = Annotated[
    NotificationsUnitOfWork,
    Depends(unit_of_work(NotificationsUnitOfWork, Scope.NOTIFICATIONS_READ)),
]
Viewer = Annotated[Principal, Depends(require(Scope.NOTIFICATIONS_READ))]


def build_contacts_router(settings: NotificationsSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/notifications/contacts", tags=["notifications"])
    paging = page_params(settings.contacts_per_page, settings.contacts_max_per_page)

    @router.get("", summary="List contacts, newest first")
    async def list_contacts(
        uow: Reader, viewer: Viewer, page: Annotated[PageParams, Depends(paging)]
    ) -> Page[ContactOut]:
        found, total = await use_cases.list_contacts(uow, offset=page.offset, limit=page.per_page)
        return Page[ContactOut].build([ContactOut.of(c, viewer) for c in found], page, total)

    @router.get("/{customer_id}", summary="Get a customer's contact")
    async def get_contact(customer_id: uuid.UUID, uow: Reader, viewer: Viewer) -> ContactOut:
        return ContactOut.of(await use_cases.get_contact(uow, customer_id), viewer)

    return router
