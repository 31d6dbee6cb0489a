"""Campaign use cases: create, read with live counts, list, preview, cancel; queue one
chunk of a campaign's audience (what the runner repeats); and the segment membership
projection the audiences are read from.

Each is one transaction. A campaign is checked whole before anything is stored: the
audience, the schedule, the pace, and its template, which must exist for the channel and
render with the campaign's variables, so a mistake is a 422 now rather than a hundred
thousand failed deliveries later.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from patron_notifications.domain import templates as template_rules
from patron_notifications.domain.campaign import (
    Audience,
    Campaign,
    CampaignCounts,
    CampaignStatus,
    SegmentChange,
    StatusCounts,
    campaign_cause,
    check_name,
    check_throttle,
    latest_changes,
    schedule_time,
)
from patron_notifications.domain.channels import Channel
from patron_notifications.domain.consent import decide
from patron_notifications.domain.contact import Contact
from patron_notifications.domain.template_catalogue import COMMON, catalogue_for, sample_variables
from patron_notifications.domain.template_defaults import builtin_template
from patron_notifications.domain.templates import MessageTemplate, Rendered, TemplateRenderError
from patron_notifications.domain.unsubscribe import UnsubscribeTarget
from patron_notifications.service.messages import (
    MAX_MERGE_HOPS,
    MessageRequest,
    MessagingUnitOfWork,
    Messenger,
)
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.events import SegmentEntered, SegmentExited, utcnow
from patron_shared.events.delivery import Delivery as EventDelivery

SegmentEvent = SegmentEntered | SegmentExited


class CampaignRepository(Protocol):
    async def add(
        self,
        campaign: Campaign,
        *,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
    ) -> bool: ...
    async def by_idempotency_key(self, key: str) -> tuple[Campaign, str | None] | None: ...
    async def get(self, campaign_id: uuid.UUID, *, for_update: bool = False) -> Campaign | None: ...
    async def lock_due(self, campaign_id: uuid.UUID, now: datetime) -> Campaign | None: ...
    async def page(
        self, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> tuple[list[Campaign], bool]: ...
    async def save_state(self, campaign: Campaign) -> None: ...
    async def audience_page(
        self, campaign: Campaign, *, after: uuid.UUID | None, limit: int
    ) -> list[uuid.UUID]: ...
    async def in_audience(self, campaign: Campaign, customer_id: uuid.UUID) -> bool: ...
    async def first_of_audience(self, campaign: Campaign) -> uuid.UUID | None: ...
    async def delivery_counts(
        self, campaign_ids: Sequence[uuid.UUID]
    ) -> Mapping[uuid.UUID, StatusCounts]: ...
    async def skip_waiting(self, campaign_id: uuid.UUID) -> int: ...
    async def member_count(self, segment_key: str) -> int: ...
    async def record_changes(self, changes: Sequence[SegmentChange]) -> None: ...


class CampaignUnitOfWork(MessagingUnitOfWork, Protocol):
    @property
    def campaigns(self) -> CampaignRepository: ...


@dataclass(frozen=True)
class CampaignView:
    """A campaign with its live counts and the status they make."""

    campaign: Campaign
    counts: CampaignCounts

    @property
    def status(self) -> CampaignStatus:
        return self.campaign.shown_status(self.counts)


@dataclass(frozen=True)
class NewCampaign:
    name: str
    template: str
    channel: Channel
    segment_id: str | None = None
    customer_ids: Sequence[uuid.UUID] | None = None
    send_now: bool | None = None
    scheduled_at: datetime | None = None
    throttle_per_second: float | None = None
    variables: Mapping[str, Any] | None = None

    def fingerprint(self) -> str:
        """Tells a repeated request (same Idempotency-Key) from a different one."""
        raw = json.dumps(
            {
                "name": self.name,
                "template": self.template,
                "channel": self.channel,
                "segment_id": self.segment_id,
                "customer_ids": None
                if self.customer_ids is None
                else [str(i) for i in self.customer_ids],
                "send_now": self.send_now,
                "scheduled_at": None
                if self.scheduled_at is None
                else self.scheduled_at.isoformat(),
                "throttle_per_second": self.throttle_per_second,
                "variables": self.variables,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(raw.encode()).hexdigest()


async def create_campaign(
    uow: CampaignUnitOfWork,
    request: NewCampaign,
    *,
    actor: str | None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[CampaignView, bool]:
    """Store a campaign (checked whole first); with an `idempotency_key` already used by
    the same request, the campaign it made (and False: nothing new)."""
    now = now or utcnow()
    name = check_name(request.name)
    audience = Audience.of(segment_id=request.segment_id, customer_ids=request.customer_ids)
    starts = schedule_time(request.send_now, request.scheduled_at, now)
    throttle = check_throttle(request.throttle_per_second)
    variables = dict(request.variables or {})
    fingerprint = request.fingerprint()
    async with uow:
        if idempotency_key is not None:
            earlier = await _earlier(uow, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier, False
        template = await _template(uow, request.template, request.channel)
        _check_variables(template.key, variables)
        _check_renders(template, variables)
        size = (
            await uow.campaigns.member_count(audience.segment_key)
            if audience.segment_key is not None
            else len(audience.customer_ids)
        )
        campaign = Campaign(
            campaign_id=uuid.uuid4(),
            name=name,
            template_key=template.key,
            channel=request.channel,
            category=template.category,
            audience=audience,
            audience_size=size,
            scheduled_at=starts,
            created_at=now,
            variables=variables,
            throttle_per_second=throttle,
            created_by=actor,
        )
        stored = await uow.campaigns.add(
            campaign, idempotency_key=idempotency_key, request_hash=fingerprint
        )
        if not stored:  # the same key, by a request that committed meanwhile
            assert idempotency_key is not None
            earlier = await _earlier(uow, idempotency_key, fingerprint)
            if earlier is None:
                raise Conflict("Idempotency-Key: a request with this key is in progress")
            return earlier, False
        await uow.commit()
    return CampaignView(campaign, CampaignCounts.of(campaign, {})), True


async def get_campaign(uow: CampaignUnitOfWork, campaign_id: uuid.UUID) -> CampaignView:
    async with uow:
        campaign = await _existing(uow, campaign_id)
        counts = await uow.campaigns.delivery_counts([campaign_id])
    return CampaignView(campaign, CampaignCounts.of(campaign, counts[campaign_id]))


async def list_campaigns(
    uow: CampaignUnitOfWork, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> tuple[list[CampaignView], bool]:
    """The tenant's campaigns newest first, with their counts (one statement for all)."""
    async with uow:
        found, more = await uow.campaigns.page(after=after, limit=limit)
        counts = await uow.campaigns.delivery_counts([c.campaign_id for c in found])
    views = [CampaignView(c, CampaignCounts.of(c, counts[c.campaign_id])) for c in found]
    return views, more


async def cancel_campaign(
    uow: CampaignUnitOfWork,
    campaign_id: uuid.UUID,
    *,
    actor: str | None,
    now: datetime | None = None,
) -> CampaignView:
    """Stop the campaign: nothing more is queued for it, and what it queued that is not
    being sent yet is skipped as `campaign_cancelled`. Waits for a chunk being queued
    right now to commit (its deliveries are skipped too); 409 once it is finished."""
    now = now or utcnow()
    async with uow:
        campaign = await _existing(uow, campaign_id, for_update=True)
        before = CampaignCounts.of(
            campaign, (await uow.campaigns.delivery_counts([campaign_id]))[campaign_id]
        )
        campaign.cancel(now=now, by=actor, waiting=before.unsent)
        await uow.campaigns.skip_waiting(campaign_id)
        await uow.campaigns.save_state(campaign)
        counts = await uow.campaigns.delivery_counts([campaign_id])
        await uow.commit()
    return CampaignView(campaign, CampaignCounts.of(campaign, counts[campaign_id]))


@dataclass(frozen=True)
class CampaignPreview:
    rendered: Rendered
    # None: sample data (the campaign's variables over a sample customer)
    customer_id: uuid.UUID | None = None
    recipient: str | None = None
    # why this customer would get nothing (no consent, no address...), None if they would
    skipped_reason: str | None = None


async def preview_campaign(
    uow: CampaignUnitOfWork,
    campaign_id: uuid.UUID,
    messenger: Messenger,
    *,
    customer_id: uuid.UUID | None = None,
    sample: bool = False,
) -> CampaignPreview:
    """The campaign's message as one customer of its audience would get it (the first
    one, by default), or with sample data; nothing is queued. Says whether the customer
    would be skipped, and why."""
    async with uow:
        campaign = await _existing(uow, campaign_id)
        template = await _template(uow, campaign.template_key, campaign.channel)
        if sample:
            return CampaignPreview(_render(template, _sample_values(template.key, campaign)))
        if customer_id is None:
            customer_id = await uow.campaigns.first_of_audience(campaign)
            if customer_id is None:
                return CampaignPreview(_render(template, _sample_values(template.key, campaign)))
        elif not await uow.campaigns.in_audience(campaign, customer_id):
            raise InvalidInput("customer_id", "not in this campaign's audience", location="query")
        contact = await _contact(uow, customer_id)
        if contact is None:
            return CampaignPreview(
                _render(template, _sample_values(template.key, campaign)),
                customer_id=customer_id,
                skipped_reason="no_address",
            )
        settings = await uow.messaging_settings.get(messenger.defaults)
        now = messenger.now()
        recent = await uow.deliveries.marketing_times(
            [contact.customer_id], now - settings.rules.cap_window
        )
        decision = decide(
            contact.preferences(),
            campaign.channel,
            campaign.category,
            now,
            recent_marketing=recent.get(contact.customer_id, ()),
            rules=settings.rules,
        )
        target = UnsubscribeTarget(uow.tenant_id, contact.customer_id, campaign.channel)
        values = {
            "customer": contact.template_variables(),
            "shop": settings.shop,
            "unsubscribe_url": messenger.unsubscribe_links(target),
            **campaign.variables,
        }
    return CampaignPreview(
        _render(template, values),
        customer_id=contact.customer_id,
        recipient=contact.preferences().address(campaign.channel),
        skipped_reason=None if decision.send else decision.skip_reason,
    )


ChunkState = Literal["more", "finished", "not_due"]


@dataclass(frozen=True)
class ChunkOutcome:
    state: ChunkState
    customers: int = 0
    queued: int = 0


async def queue_campaign_chunk(
    uow: CampaignUnitOfWork,
    campaign_id: uuid.UUID,
    messenger: Messenger,
    *,
    now: datetime,
    chunk_size: int,
) -> ChunkOutcome:
    """Queue the next `chunk_size` customers of a due campaign (after its cursor, in id
    order) and move the cursor past them, in one transaction holding the campaign's row:
    a runner elsewhere skips it meanwhile (`not_due`, as for one not due, cancelled or
    finished), and a crash loses the chunk and its cursor move together, so the next run
    takes it again. Each customer's message keeps its place in the campaign's pace."""
    async with uow:
        campaign = await uow.campaigns.lock_due(campaign_id, now)
        if campaign is None:
            return ChunkOutcome("not_due")
        campaign.start(now)
        customers = await uow.campaigns.audience_page(
            campaign, after=campaign.cursor, limit=chunk_size
        )
        cause = campaign_cause(campaign.campaign_id)
        # a campaign created as marketing stays marketing, whatever its template became
        category: Literal["marketing"] | None = (
            "marketing" if campaign.category == "marketing" else None
        )
        requests = [
            MessageRequest(
                customer_id=customer_id,
                template_key=campaign.template_key,
                channel=campaign.channel,
                cause=cause,
                extras=campaign.variables,
                category=category,
                campaign_id=campaign.campaign_id,
                not_before=campaign.due_time(campaign.targeted + index),
            )
            for index, customer_id in enumerate(customers)
        ]
        queued = await messenger.queue(uow, requests)
        campaign.advance(customers, chunk_size=chunk_size, now=now)
        await uow.campaigns.save_state(campaign)
        await uow.commit()
    state: ChunkState = "more" if campaign.status == "sending" else "finished"
    return ChunkOutcome(state, customers=len(customers), queued=queued.count("queued"))


async def record_segment_changes(
    uow: CampaignUnitOfWork, deliveries: Sequence[EventDelivery[SegmentEvent]]
) -> None:
    """SegmentEntered / SegmentExited, a batch in one statement: per (segment, customer)
    the newest `at` wins, here and against what is stored, so late or repeated events
    never undo a newer change."""
    changes = latest_changes(
        SegmentChange(
            segment_key=d.event.segment_key,
            customer_id=d.event.customer_id,
            member=isinstance(d.event, SegmentEntered),
            at=d.event.at,
        )
        for d in deliveries
    )
    async with uow:
        await uow.campaigns.record_changes(changes)
        await uow.commit()


def _check_variables(key: str, variables: Mapping[str, Any]) -> None:
    for name in variables:
        if name in COMMON:
            raise InvalidInput(f"variables.{name}", "set for each customer, not by a campaign")
    template_rules.check_variables(variables, catalogue_for(key), field="variables")


def _check_renders(template: MessageTemplate, variables: Mapping[str, Any]) -> None:
    """The template renders for a customer with the campaign's variables (the extras its
    key reads, such as `sale`, must all be given)."""
    common = {
        name: value for name, value in sample_variables(template.key).items() if name in COMMON
    }
    try:
        template_rules.render(template, {**common, **variables})
    except TemplateRenderError as error:
        raise InvalidInput(
            "variables", f"the {template.key!r} template cannot render with them: {error.detail}"
        ) from None


def _sample_values(key: str, campaign: Campaign) -> dict[str, Any]:
    values = sample_variables(key)
    return {
        **{name: value for name, value in values.items() if name in COMMON},
        **campaign.variables,
    }


def _render(template: MessageTemplate, values: Mapping[str, Any]) -> Rendered:
    return template_rules.render(template, values)


async def _template(uow: CampaignUnitOfWork, key: str, channel: Channel) -> MessageTemplate:
    found = await uow.templates.current(key, channel) or builtin_template(key, channel)
    if found is None:
        raise InvalidInput("template", f"no {channel} template {key!r}: save one first")
    return found


async def _contact(uow: CampaignUnitOfWork, customer_id: uuid.UUID) -> Contact | None:
    """The customer's contact, or that of the customer they were merged into."""
    contact = (await uow.contacts.get_many([customer_id])).get(customer_id)
    for _ in range(MAX_MERGE_HOPS):
        if contact is None or contact.merged_into is None:
            break
        survivor = contact.merged_into
        contact = (await uow.contacts.get_many([survivor])).get(survivor)
    return contact


async def _existing(
    uow: CampaignUnitOfWork, campaign_id: uuid.UUID, *, for_update: bool = False
) -> Campaign:
    campaign = await uow.campaigns.get(campaign_id, for_update=for_update)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


async def _earlier(
    uow: CampaignUnitOfWork, idempotency_key: str, fingerprint: str
) -> CampaignView | None:
    found = await uow.campaigns.by_idempotency_key(idempotency_key)
    if found is None:
        return None
    campaign, request_hash = found
    if request_hash != fingerprint:
        raise Conflict(
            "Idempotency-Key: this key was used for a different campaign request",
            campaign_id=str(campaign.campaign_id),
        )
    counts = await uow.campaigns.delivery_counts([campaign.campaign_id])
    return CampaignView(campaign, CampaignCounts.of(campaign, counts[campaign.campaign_id]))
