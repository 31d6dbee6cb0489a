"""Queueing messages: the one way a trigger, a command or a campaign asks for a message.

For each request: the customer (followed to the survivor of a merge), the template in use
for its key and channel, the consent and frequency rules, then a delivery in the queue,
rendered and ready for the workers, or recorded as skipped with the reason (no consent,
no address, the frequency cap...) so that counts and the customer's log say why nothing
went. A request repeats nothing: its idempotency key (cause, template, customer, channel)
queues one delivery however often it comes.

A customer not known yet (no contact, or only one made by their orders or points before
their own snapshot arrived) gets a `waiting` delivery holding its request: when the
snapshot comes, `plan_waiting_messages` plans it again, in place, under the same rules; one
that waits longer than the service allows is skipped (`customer_unknown`), and one whose
customer is deleted meanwhile at once (`customer_deleted`, `skip_waiting_messages`).

Runs inside the caller's transaction (an event's handler, a campaign's batch): what is
queued commits with what caused it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.consent import decide
from patron_notifications.domain.contact import Contact
from patron_notifications.domain.delivery import (
    CUSTOMER_UNKNOWN,
    DUPLICATE,
    Category,
    Delivery,
    idempotency_key,
)
from patron_notifications.domain.messaging_settings import MessagingSettings
from patron_notifications.domain.template_defaults import builtin_template
from patron_notifications.domain.templates import MessageTemplate, TemplateRenderError, render
from patron_notifications.domain.unsubscribe import UnsubscribeTarget
from patron_shared.db.ports import UnitOfWorkProtocol
from patron_shared.events import utcnow

MAX_MERGE_HOPS = 5  # a survivor merged again: followed this far


@dataclass(frozen=True)
class MessageRequest:
    customer_id: uuid.UUID
    template_key: str
    channel: Channel
    # the trigger event's id, a campaign's id, or a caller's idempotency key
    cause: str
    # the trigger's own variables (`order`, `points`, ...), beside the common ones
    extras: Mapping[str, Any] = field(default_factory=dict)
    # None: the template's own category
    category: Category | None = None
    campaign_id: uuid.UUID | None = None
    # not sent before this moment (a paced campaign's slot); quiet hours may say later
    not_before: datetime | None = None
    # the channel was chosen by the trigger (SMS for a customer with only a phone): chosen
    # again when a message waiting for the customer is planned
    sms_if_phone_only: bool = False

    def stored(self) -> dict[str, Any]:
        """What a waiting delivery keeps to plan the message again (JSON)."""
        return {
            "customer_id": str(self.customer_id),
            "extras": dict(self.extras),
            "category": self.category,
            "not_before": None if self.not_before is None else self.not_before.isoformat(),
            "sms_if_phone_only": self.sms_if_phone_only,
        }

    @classmethod
    def of_waiting(cls, delivery: Delivery) -> MessageRequest:
        """The request a waiting delivery was made from."""
        stored = delivery.request or {}
        not_before = stored.get("not_before")
        category = stored.get("category")
        return cls(
            customer_id=delivery.customer_id,
            template_key=delivery.template_key,
            channel=delivery.channel,
            cause=delivery.cause,
            extras=dict(stored.get("extras") or {}),
            category=category if category in ("transactional", "marketing") else None,
            campaign_id=delivery.campaign_id,
            not_before=None if not not_before else datetime.fromisoformat(not_before),
            sms_if_phone_only=bool(stored.get("sms_if_phone_only")),
        )


class ContactReader(Protocol):
    async def get_many(self, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contact]: ...


class TemplateReader(Protocol):
    async def current(self, key: str, channel: Channel) -> MessageTemplate | None: ...


class DeliveryQueue(Protocol):
    async def queue(self, queued: Sequence[Delivery]) -> set[uuid.UUID]: ...
    async def waiting_for(self, customer_ids: Sequence[uuid.UUID]) -> list[Delivery]: ...
    async def replan(self, planned: Sequence[Delivery]) -> int: ...
    async def marketing_times(
        self, customer_ids: Sequence[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, list[datetime]]: ...


class SettingsReader(Protocol):
    async def get(self, defaults: MessagingSettings) -> MessagingSettings: ...


class MessagingUnitOfWork(UnitOfWorkProtocol, Protocol):
    tenant_id: str

    @property
    def contacts(self) -> ContactReader: ...
    @property
    def templates(self) -> TemplateReader: ...
    @property
    def deliveries(self) -> DeliveryQueue: ...
    @property
    def messaging_settings(self) -> SettingsReader: ...


UnsubscribeLinks = Callable[[UnsubscribeTarget], str]
"""The public one-click unsubscribe URL of a (tenant, customer, channel)."""

ChannelChoice = Callable[[Sequence["MessageRequest"]], Awaitable[list[Channel]]]
"""The channel of each request whose trigger chooses it, in order (see `Triggers`)."""


@dataclass(frozen=True)
class QueuedMessages:
    deliveries: list[Delivery]
    # the ids of those queued now; the others were queued before (the same request again)
    new: set[uuid.UUID]

    def count(self, status: str) -> int:
        return sum(1 for d in self.deliveries if d.delivery_id in self.new and d.status == status)


async def queue_messages(
    uow: MessagingUnitOfWork,
    requests: Sequence[MessageRequest],
    *,
    now: datetime,
    defaults: MessagingSettings,
    unsubscribe_links: UnsubscribeLinks,
) -> QueuedMessages:
    if not requests:
        return QueuedMessages([], set())
    settings = await uow.messaging_settings.get(defaults)
    recipients = await _recipients(uow, [r.customer_id for r in requests])
    templates = await _templates(uow, {(r.template_key, r.channel) for r in requests})
    window_start = now - settings.rules.cap_window
    recent = await uow.deliveries.marketing_times(
        [contact.customer_id for contact in recipients.values()], window_start
    )
    planned = []
    keys: set[str] = set()
    for request in requests:
        contact = recipients.get(request.customer_id)
        delivery = _plan(
            request,
            contact,
            templates.get((request.template_key, request.channel)),
            now=now,
            settings=settings,
            recent=recent,
            links=unsubscribe_links,
            tenant=uow.tenant_id,
        )
        if delivery.idempotency_key in keys:
            continue  # a merged customer and its survivor asked for in one batch: one message
        keys.add(delivery.idempotency_key)
        if delivery.status == "queued" and delivery.category == "marketing":
            # the next request of this batch for the same customer counts this one
            recent.setdefault(delivery.customer_id, []).append(now)
        planned.append(delivery)
    new = await uow.deliveries.queue(planned)
    return QueuedMessages(planned, new)


def _plan(
    request: MessageRequest,
    contact: Contact | None,
    template: MessageTemplate | None,
    *,
    now: datetime,
    settings: MessagingSettings,
    recent: Mapping[uuid.UUID, list[datetime]],
    links: UnsubscribeLinks,
    tenant: str,
) -> Delivery:
    customer_id = contact.customer_id if contact is not None else request.customer_id
    category = request.category or (template.category if template else "marketing")
    delivery = Delivery(
        delivery_id=uuid.uuid4(),
        customer_id=customer_id,
        channel=request.channel,
        category=category,
        template_key=request.template_key,
        # the customer who receives it: a request for a merged customer and one for its
        # survivor are the same message
        idempotency_key=idempotency_key(
            request.cause, request.template_key, customer_id, request.channel
        ),
        recipient="",
        created_at=now,
        cause=request.cause[:200],
        campaign_id=request.campaign_id,
    )
    if contact is None or not contact.known:
        # nothing known of this customer yet (its snapshot is on its way): planned again
        # when it comes
        delivery.status, delivery.request = "waiting", request.stored()
        return delivery
    if template is None:
        delivery.skip("no_template")
        return delivery
    preferences = contact.preferences()
    decision = decide(
        preferences,
        request.channel,
        category,
        now,
        recent_marketing=recent.get(customer_id, ()),
        rules=settings.rules,
    )
    if not decision.send:
        delivery.skip(decision.skip_reason or "not_allowed")
        return delivery
    delivery.recipient = preferences.address(request.channel) or ""
    unsubscribe = links(UnsubscribeTarget(tenant, customer_id, request.channel))
    # the trigger's extras first: a caller's variables never replace the customer, the
    # shop or the unsubscribe link
    variables = {
        **request.extras,
        "customer": contact.template_variables(),
        "shop": settings.shop,
        "unsubscribe_url": unsubscribe,
    }
    try:
        rendered = render(template, variables)
    except TemplateRenderError as error:
        delivery.status, delivery.failed_at = "failed", now
        delivery.last_error = str(error)[:1000]
        return delivery
    delivery.subject, delivery.text, delivery.html = rendered.subject, rendered.text, rendered.html
    if request.channel == "email" and category == "marketing":
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs here
        delivery.headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    delivery.next_attempt_at = _later(decision.not_before, request.not_before)
    return delivery


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None or second is None:
        return first or second
    return max(first, second)


async def plan_waiting_messages(
    uow: MessagingUnitOfWork,
    customer_ids: Sequence[uuid.UUID],
    *,
    now: datetime,
    defaults: MessagingSettings,
    unsubscribe_links: UnsubscribeLinks,
    wait_limit: timedelta,
    channels: ChannelChoice | None = None,
) -> list[Delivery]:
    """The customers' waiting deliveries planned again now that they may be known, each
    updated in place (queued, skipped or failed, under the same rules as when queued; its
    id, cause, campaign and creation time stay; its idempotency key becomes that of the
    channel and customer it now goes to, so the same request again queues nothing; one whose
    message exists already under that key is skipped, `duplicate`). `channels` chooses again
    for requests whose trigger chose the channel (`sms_if_phone_only`), one per request.
    One still unknown keeps waiting; one that waited longer than `wait_limit` is skipped
    (`customer_unknown`). Runs in the caller's unit of work; returns those it changed."""
    waiting = await uow.deliveries.waiting_for(customer_ids)
    if not waiting:
        return []
    requests = [MessageRequest.of_waiting(delivery) for delivery in waiting]
    if channels is not None:
        chosen = iter(await channels([r for r in requests if r.sms_if_phone_only]))
        requests = [
            replace(r, channel=next(chosen)) if r.sms_if_phone_only else r for r in requests
        ]
    settings = await uow.messaging_settings.get(defaults)
    recipients = await _recipients(uow, [r.customer_id for r in requests])
    templates = await _templates(uow, {(r.template_key, r.channel) for r in requests})
    recent = await uow.deliveries.marketing_times(
        [contact.customer_id for contact in recipients.values()], now - settings.rules.cap_window
    )
    changed: list[Delivery] = []
    keys: set[str] = set()
    for delivery, request in zip(waiting, requests, strict=True):
        if now - delivery.created_at > wait_limit:
            delivery.give_up_waiting(CUSTOMER_UNKNOWN)
            changed.append(delivery)
            continue
        planned = _plan(
            request,
            recipients.get(request.customer_id),
            templates.get((request.template_key, request.channel)),
            now=now,
            settings=settings,
            recent=recent,
            links=unsubscribe_links,
            tenant=uow.tenant_id,
        )
        if planned.status == "waiting":
            continue  # still not known (merged into a customer not seen yet)
        if planned.idempotency_key in keys:
            # a merged customer's and its survivor's, for the same cause: one message
            delivery.give_up_waiting(DUPLICATE)
            changed.append(delivery)
            continue
        keys.add(planned.idempotency_key)
        if planned.status == "queued" and planned.category == "marketing":
            recent.setdefault(planned.customer_id, []).append(now)
        # the key of the message it now is (the channel chosen, the survivor of a merge):
        # the same request again, the customer known, finds it and queues nothing
        changed.append(
            replace(
                planned,
                delivery_id=delivery.delivery_id,
                cause=delivery.cause,
                campaign_id=delivery.campaign_id,
                created_at=delivery.created_at,
                request=None,
            )
        )
    await uow.deliveries.replan(changed)
    return changed


class WaitingMessages(Protocol):
    async def waiting_for(self, customer_ids: Sequence[uuid.UUID]) -> list[Delivery]: ...
    async def replan(self, planned: Sequence[Delivery]) -> int: ...


async def skip_waiting_messages(
    deliveries: WaitingMessages, customer_ids: Sequence[uuid.UUID], reason: str
) -> list[Delivery]:
    """The customers' waiting deliveries skipped at once with `reason`, their request
    forgotten, as the expiry does (`customer_unknown`) but without waiting for it: the
    customer is gone and no snapshot will plan them. Runs in the caller's unit of work;
    returns those it skipped."""
    waiting = await deliveries.waiting_for(customer_ids)
    for delivery in waiting:
        delivery.give_up_waiting(reason)
    await deliveries.replan(waiting)
    return waiting


async def expire_waiting_messages(
    expire: Callable[[datetime, str], Awaitable[int]],
    *,
    now: datetime,
    wait_limit: timedelta,
) -> int:
    """Every tenant's messages that waited for their customer longer than `wait_limit`
    skipped (`customer_unknown`), their request forgotten; how many. `expire(before,
    reason)` is the cross-tenant statement (adapters.deliveries.expire_waiting_deliveries)."""
    return await expire(now - wait_limit, CUSTOMER_UNKNOWN)


async def _recipients(
    uow: MessagingUnitOfWork, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    """Each customer's contact, or the contact of the customer they were merged into."""
    found = await uow.contacts.get_many(customer_ids)
    resolved = dict(found)
    for _ in range(MAX_MERGE_HOPS):
        merged = {cid: c.merged_into for cid, c in resolved.items() if c.merged_into is not None}
        if not merged:
            break
        survivors = await uow.contacts.get_many(list(set(merged.values())))
        for customer_id, survivor_id in merged.items():
            survivor = survivors.get(survivor_id)
            if survivor is None:
                del resolved[customer_id]  # merged into a customer not seen yet
            else:
                resolved[customer_id] = survivor
    return resolved


async def _templates(
    uow: MessagingUnitOfWork, wanted: set[tuple[str, Channel]]
) -> dict[tuple[str, Channel], MessageTemplate]:
    found: dict[tuple[str, Channel], MessageTemplate] = {}
    for key, channel in wanted:
        template = await uow.templates.current(key, channel) or builtin_template(key, channel)
        if template is not None:
            found[(key, channel)] = template
    return found


@dataclass(frozen=True)
class Messenger:
    """`queue_messages` with the service's defaults and links bound: what triggers,
    commands and campaigns are given."""

    defaults: MessagingSettings
    unsubscribe_links: UnsubscribeLinks
    now: Callable[[], datetime] = utcnow
    # how long a message waits for a customer not known yet
    wait_limit: timedelta = timedelta(hours=24)

    async def queue(
        self, uow: MessagingUnitOfWork, requests: Sequence[MessageRequest]
    ) -> QueuedMessages:
        return await queue_messages(
            uow,
            requests,
            now=self.now(),
            defaults=self.defaults,
            unsubscribe_links=self.unsubscribe_links,
        )

    async def plan_waiting(
        self,
        uow: MessagingUnitOfWork,
        customer_ids: Sequence[uuid.UUID],
        channels: ChannelChoice | None = None,
    ) -> list[Delivery]:
        return await plan_waiting_messages(
            uow,
            customer_ids,
            now=self.now(),
            defaults=self.defaults,
            unsubscribe_links=self.unsubscribe_links,
            wait_limit=self.wait_limit,
            channels=channels,
        )
