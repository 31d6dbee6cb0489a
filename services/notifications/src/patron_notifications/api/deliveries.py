"""`/api/v1/customers/{id}/notifications`: a customer's delivery log.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.delivery import Delivery
from patron_notifications.service.delivery_log import delivery_log
from patron_notifications.service.lifecycle import refuse_merged_customer
from patron_shared.auth import Principal, Scope, mask_email, mask_phone
from patron_shared.http import (
    CursorMeta,
    CursorPage,
    api_router,
    decode_moment_cursor,
    encode_moment_cursor,
    unit_of_work,
)

Reader = Annotated[
    NotificationsUnitOfWork,
    Depends(unit_of_work(NotificationsUnitOfWork, Scope.NOTIFICATIONS_READ)),
]
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 200


class DeliveryOut(BaseModel):
    id: uuid.UUID
    channel: str
    category: str
    template: str
    status: str = Field(
        description="waiting (for the customer's profile to arrive: planned then, skipped "
        "`customer_unknown` if it never does, `customer_deleted` if the customer is deleted "
        "first), queued, sending, sent, delivered, failed or skipped (`skipped_reason` says "
        "why)"
    )
    recipient: str | None
    subject: str | None
    attempts: int
    last_error: str | None
    skipped_reason: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery, viewer: Principal) -> "DeliveryOut":
        """The delivery as `viewer` may see it: the address masked without `customers:pii`."""
        mask = mask_email if delivery.channel == "email" else mask_phone
        return cls(
            id=delivery.delivery_id,
            channel=delivery.channel,
            category=delivery.category,
            template=delivery.template_key,
            status=delivery.status,
            recipient=delivery.recipient if viewer.can_read_pii else mask(delivery.recipient),
            subject=delivery.subject,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            skipped_reason=delivery.skipped_reason,
            created_at=delivery.created_at,
            sent_at=delivery.sent_at,
            delivered_at=delivery.delivered_at,
            failed_at=delivery.failed_at,
        )


def build_deliveries_router() -> APIRouter:
    router = api_router(prefix="/api/v1/customers", tags=["notifications"])

    @router.get(
        "/{customer_id}/notifications",
        summary="A customer's notifications, newest first: sent, failed, skipped and why",
        description="A customer merged into another answers 404 with `merged_into`: its "
        "notifications moved to that customer's log (an unmerge gives them back).",
    )
    async def get_delivery_log(
        customer_id: uuid.UUID,
        uow: Reader,
        cursor: Annotated[
            str | None, Query(max_length=500, description="`meta.next_cursor` of the previous page")
        ] = None,
        per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
    ) -> CursorPage[DeliveryOut]:
        # a merged customer's log moved to its survivor's: 404 naming `merged_into`
        await refuse_merged_customer(uow, customer_id)
        found, more = await delivery_log(
            uow, customer_id, after=decode_moment_cursor(cursor), limit=per_page
        )
        last = found[-1] if found and more else None
        return CursorPage[DeliveryOut](
            data=[DeliveryOut.of(delivery, uow.caller) for delivery in found],
            meta=CursorMeta(
                per_page=per_page,
                next_cursor=encode_moment_cursor(last.created_at, last.delivery_id)
                if last
                else None,
            ),
        )

    return router
