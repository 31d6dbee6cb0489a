"""`/api/v1/campaigns`: translate HTTP to the campaign use cases and back.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from patron_notifications.adapters.campaigns import CampaignsUnitOfWork
from patron_notifications.domain.campaign import (
    MAX_CUSTOMER_IDS,
    MAX_NAME_LENGTH,
    MAX_THROTTLE_PER_SECOND,
    SEGMENT_KEY_PATTERN,
    CampaignCounts,
    CampaignStatus,
)
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.delivery import Category
from patron_notifications.domain.templates import KEY_PATTERN
from patron_notifications.service import campaigns as use_cases
from patron_notifications.service.campaigns import CampaignPreview, CampaignView, NewCampaign
from patron_notifications.service.messages import Messenger
from patron_shared.auth import Scope, mask_email, mask_phone
from patron_shared.http import (
    CursorMeta,
    CursorPage,
    api_router,
    decode_moment_cursor,
    encode_moment_cursor,
    unit_of_work,
)

Reader = Annotated[
    CampaignsUnitOfWork, Depends(unit_of_work(CampaignsUnitOfWork, Scope.NOTIFICATIONS_READ))
]
Writer = Annotated[
    CampaignsUnitOfWork, Depends(unit_of_work(CampaignsUnitOfWork, Scope.NOTIFICATIONS_WRITE))
]
DEFAULT_PER_PAGE, MAX_PER_PAGE = 20, 100
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such campaign"}}


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    template: str = Field(
        pattern=KEY_PATTERN,
        description="the key of a template for the channel: the tenant's or a built-in",
        examples=["flash_sale"],
    )
    channel: Channel
    segment_id: str | None = Field(
        default=None,
        pattern=SEGMENT_KEY_PATTERN,
        description='a built-in segment ("vip", "at_risk") or a custom segment\'s id; '
        "its members when each chunk is queued",
    )
    customer_ids: list[uuid.UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=2 * MAX_CUSTOMER_IDS,
        description=f"at most {MAX_CUSTOMER_IDS} distinct customers (repeats count once)",
    )
    send_now: bool | None = Field(default=None, description="true: start at once")
    scheduled_at: AwareDatetime | None = Field(
        default=None, description="when to start: a time to come, with its time zone"
    )
    throttle_per_second: float | None = Field(
        default=None,
        gt=0,
        le=MAX_THROTTLE_PER_SECOND,
        description="at most this many messages a second (their send times spread out)",
    )
    variables: dict[str, Any] = Field(
        default_factory=dict,
        description="the template's extras for every recipient (`sale` for flash_sale); "
        "see GET /api/v1/templates/variables?key=",
    )

    def request(self) -> NewCampaign:
        return NewCampaign(
            name=self.name,
            template=self.template,
            channel=self.channel,
            segment_id=self.segment_id,
            customer_ids=self.customer_ids,
            send_now=self.send_now,
            scheduled_at=self.scheduled_at,
            throttle_per_second=self.throttle_per_second,
            variables=self.variables,
        )


class CountsOut(BaseModel):
    audience: int = Field(description="customers it is for (exact once all are queued)")
    targeted: int = Field(description="customers the runner has queued for so far")
    waiting: int = Field(
        description="messages waiting for a customer this service has not seen yet; "
        "queued once the customer's profile arrives, skipped (customer_unknown) after "
        "PATRON_WAITING_FOR_CUSTOMER_HOURS, or (customer_deleted) when the customer is deleted"
    )
    queued: int
    sending: int
    sent: int
    delivered: int
    failed: int
    skipped: int
    skipped_by_reason: dict[str, int] = Field(
        description="no_marketing_consent, no_address, frequency_cap, unsubscribed, "
        "campaign_cancelled, ..."
    )

    @classmethod
    def of(cls, counts: CampaignCounts) -> "CountsOut":
        return cls(
            audience=counts.audience,
            targeted=counts.targeted,
            waiting=counts.waiting,
            queued=counts.queued,
            sending=counts.sending,
            sent=counts.sent,
            delivered=counts.delivered,
            failed=counts.failed,
            skipped=counts.skipped,
            skipped_by_reason=dict(counts.skipped_by_reason),
        )


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    template: str
    channel: Channel
    category: Category
    segment_id: str | None
    status: CampaignStatus = Field(
        description="scheduled, sending (being queued), sent (all queued), completed "
        "(nothing left to send) or cancelled"
    )
    scheduled_at: datetime
    throttle_per_second: float | None
    variables: dict[str, Any]
    counts: CountsOut
    created_at: datetime
    created_by: str | None
    started_at: datetime | None
    sent_at: datetime | None = Field(description="when the last customer was queued")
    cancelled_at: datetime | None
    cancelled_by: str | None

    @classmethod
    def of(cls, view: CampaignView) -> "CampaignOut":
        campaign = view.campaign
        return cls(
            id=campaign.campaign_id,
            name=campaign.name,
            template=campaign.template_key,
            channel=campaign.channel,
            category=campaign.category,
            segment_id=campaign.audience.segment_key,
            status=view.status,
            scheduled_at=campaign.scheduled_at,
            throttle_per_second=campaign.throttle_per_second,
            variables=campaign.variables,
            counts=CountsOut.of(view.counts),
            created_at=campaign.created_at,
            created_by=campaign.created_by,
            started_at=campaign.started_at,
            sent_at=campaign.sent_at,
            cancelled_at=campaign.cancelled_at,
            cancelled_by=campaign.cancelled_by,
        )


class CampaignPreviewOut(BaseModel):
    customer_id: uuid.UUID | None = Field(description="null: rendered with sample data")
    recipient: str | None = Field(description="masked without the customers:pii scope")
    skipped_reason: str | None = Field(
        description="why this customer would get nothing (no_marketing_consent, ...); "
        "null if they would get it"
    )
    subject: str | None
    text: str
    html: str | None

    @classmethod
    def of(cls, preview: CampaignPreview, *, can_read_pii: bool) -> "CampaignPreviewOut":
        recipient = preview.recipient
        if recipient is not None and not can_read_pii:
            recipient = mask_email(recipient) if "@" in recipient else mask_phone(recipient)
        return cls(
            customer_id=preview.customer_id,
            recipient=recipient,
            skipped_reason=preview.skipped_reason,
            subject=preview.rendered.subject,
            text=preview.rendered.text,
            html=preview.rendered.html,
        )


def build_campaigns_router(messenger: Messenger, wake: asyncio.Event | None = None) -> APIRouter:
    """`wake` starts this process's campaign runner at once (a campaign to send now)."""
    router = api_router(prefix="/api/v1/campaigns", tags=["campaigns"])

    @router.post(
        "",
        status_code=201,
        summary="Create a campaign: a template to a segment or a list of customers, "
        "now or at a set time",
        responses={
            200: {"description": "the campaign an earlier request with this Idempotency-Key made"},
            409: {"description": "the Idempotency-Key was used for a different request"},
            422: {"description": "invalid campaign (the problem names the field)"},
        },
    )
    async def create_campaign(
        body: CampaignIn,
        uow: Writer,
        response: Response,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=200,
                description="repeat a request safely: the same key returns the same campaign",
            ),
        ] = None,
    ) -> CampaignOut:
        view, created = await use_cases.create_campaign(
            uow, body.request(), actor=uow.caller.subject, idempotency_key=idempotency_key
        )
        if not created:
            response.status_code = 200
        elif body.send_now and wake is not None:
            wake.set()
        return CampaignOut.of(view)

    @router.get("", summary="The tenant's campaigns, newest first, with their live counts")
    async def list_campaigns(
        uow: Reader,
        cursor: Annotated[
            str | None, Query(max_length=500, description="`meta.next_cursor` of the previous page")
        ] = None,
        per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
    ) -> CursorPage[CampaignOut]:
        found, more = await use_cases.list_campaigns(
            uow, after=decode_moment_cursor(cursor), limit=per_page
        )
        last = found[-1].campaign if found and more else None
        return CursorPage[CampaignOut](
            data=[CampaignOut.of(view) for view in found],
            meta=CursorMeta(
                per_page=per_page,
                next_cursor=encode_moment_cursor(last.created_at, last.campaign_id)
                if last
                else None,
            ),
        )

    @router.get("/{campaign_id}", summary="A campaign and its live counts", responses=NOT_FOUND)
    async def get_campaign(campaign_id: uuid.UUID, uow: Reader) -> CampaignOut:
        return CampaignOut.of(await use_cases.get_campaign(uow, campaign_id))

    @router.get(
        "/{campaign_id}/preview",
        summary="The campaign's message as one customer of its audience would get it "
        "(the first by default), or with sample data; nothing is sent",
        responses=NOT_FOUND | {422: {"description": "the customer is not in the audience"}},
    )
    async def preview_campaign(
        campaign_id: uuid.UUID,
        uow: Reader,
        customer_id: Annotated[
            uuid.UUID | None, Query(description="a customer of the audience")
        ] = None,
        sample: Annotated[bool, Query(description="render with a sample customer instead")] = False,
    ) -> CampaignPreviewOut:
        preview = await use_cases.preview_campaign(
            uow, campaign_id, messenger, customer_id=customer_id, sample=sample
        )
        return CampaignPreviewOut.of(preview, can_read_pii=uow.caller.can_read_pii)

    @router.post(
        "/{campaign_id}/cancel",
        summary="Cancel: nothing more is queued, and what waits to be sent is skipped",
        responses=NOT_FOUND | {409: {"description": "already cancelled, or completed"}},
    )
    async def cancel_campaign(campaign_id: uuid.UUID, uow: Writer) -> CampaignOut:
        view = await use_cases.cancel_campaign(uow, campaign_id, actor=uow.caller.subject)
        return CampaignOut.of(view)

    return router
