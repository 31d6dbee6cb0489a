"""Triggers: the messages events cause, and the messages other services ask for.

| event                          | message (template key) | extras   |
|--------------------------------|------------------------|----------|
| CustomerCreated                | `welcome`              | -        |
| OrderPlaced                    | `order_confirmation`   | `order`  |
| SegmentEntered (`at_risk`)     | `win_back`             | -        |
| PointsAdjusted                 | `points_adjusted`      | `points` |
| TierChanged (`upgrade`)        | `tier_upgrade`         | `tier`   |

Each use case takes a run of one tenant's deliveries (a batch of one when the consumer
handles messages one at a time): it records what each event says about the customer first,
so the message renders with the contact as it now is (the balance after the adjustment),
then queues the messages, and commits both with the inbox claim. The cause of each message
is its event's envelope id (a redelivered event is dropped by the inbox, and were it not,
the delivery's idempotency key (cause, template, customer, channel) would queue nothing
new), except where the business says once: one welcome per customer, one confirmation per
order, however many times a source announces them.

A trigger the tenant switched off (`MessagingSettings.trigger_on`) queues nothing; nor does
an event older than the service's `trigger_max_age` (a topic replayed from its start, or
back-filled orders, must not mail every customer again). What the event says about the
customer is recorded all the same.

A message goes by email; to a customer with a phone number and no email address it goes by
SMS when the tenant or the built-ins have an SMS template for its key. Otherwise it is
queued by email all the same and recorded as skipped (`no_address`), so the customer's log
says why nothing went. A customer whose snapshot has not arrived yet (an order placed
before the customer's creation reached this service) is not judged yet: the message waits
(`waiting`), and the customer's CustomerCreated or CustomerUpdated plans it again, the
channel chosen by the same rule, in the same transaction that records the snapshot.

`SendNotification` commands are switched off and on as the trigger `send_notification`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from prometheus_client import Counter

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.contact import Contact
from patron_notifications.domain.delivery import Category, Delivery, idempotency_key
from patron_notifications.domain.messaging_settings import Trigger
from patron_notifications.domain.template_catalogue import COMMON, catalogue_for
from patron_notifications.domain.template_defaults import builtin_template
from patron_notifications.domain.templates import check_key, check_variables
from patron_notifications.service.contacts import (
    apply_snapshot,
    note_last_order,
    note_points_change,
    note_tier_change,
    tier_name,
)
from patron_notifications.service.messages import (
    MAX_MERGE_HOPS,
    ContactReader,
    MessageRequest,
    MessagingUnitOfWork,
    Messenger,
    QueuedMessages,
)
from patron_notifications.service.ports import ContactRepository
from patron_shared.errors import InvalidInput, PermanentFailure
from patron_shared.events import (
    CustomerCreated,
    CustomerUpdated,
    OrderPlaced,
    PointsAdjusted,
    SegmentEntered,
    SendNotification,
    TierChanged,
)
from patron_shared.events.delivery import Delivery as Delivered
from patron_shared.logging import get_logger

log = get_logger("patron.notifications.triggers")

TRIGGERED = Counter(
    "patron_notifications_triggered_total",
    "Messages triggers, commands and the birthday job asked for, by trigger and what became "
    "of them (queued, skipped, failed, duplicate; off: the tenant switched the trigger off; "
    "stale: the event was too old; error: the birthday job failed for a tenant; waiting: "
    "for a customer not known yet, and under trigger `waiting` what became of those once "
    "the customer came)",
    ["trigger", "outcome"],
)

AT_RISK_SEGMENT = "at_risk"
SEND_NOTIFICATION: Trigger = "send_notification"
# What a command cannot set: the service fills these in (an unsubscribe link of the
# caller's choosing, or another customer's name, must never reach a message).
RESERVED_VARIABLES = frozenset(COMMON)


class TriggerContacts(ContactRepository, ContactReader, Protocol):
    """Contacts as triggers use them: recorded from the event, then read for the message."""


class TriggerUnitOfWork(MessagingUnitOfWork, Protocol):
    @property
    def contacts(self) -> TriggerContacts: ...


WELCOME_CAUSE = "welcome"  # with the customer in the key: one welcome per customer


def order_cause(order_id: str) -> str:
    """One confirmation per order, even when a source announces the order twice."""
    return f"order:{order_id}"


@dataclass(frozen=True)
class Wanted:
    """One message a trigger asks for: to whom, because of what, with which extras."""

    customer_id: uuid.UUID
    cause: str
    # when what caused it happened (too long ago: no message)
    at: datetime
    extras: Mapping[str, Any] = field(default_factory=dict)


# --- the rules, free of I/O ------------------------------------------------------------


def preferred_channel(contact: Contact | None, *, sms_template: bool) -> Channel:
    """Email, unless the customer has only a phone and the key has an SMS template. One
    without any address gets email (skipped, `no_address`); an unknown customer gets email
    for now (the message waits, and the channel is chosen again when they come)."""
    if contact is None or contact.email or not contact.phone or not sms_template:
        return "email"
    return "sms"


def stricter(first: Category, second: Category) -> Category:
    """Marketing if either says so: a command cannot send a marketing template as
    transactional (it would reach customers who never agreed to marketing)."""
    return "marketing" if "marketing" in (first, second) else "transactional"


def fresh(at: datetime, now: datetime, max_age: timedelta | None) -> bool:
    return max_age is None or now - at <= max_age


def money(amount: Decimal) -> str:
    """A decimal string as the shop sent it ("125.00"), never in exponent notation."""
    return format(amount, "f")


def order_extras(event: OrderPlaced) -> dict[str, Any]:
    """The `order` a confirmation shows (see the variable catalogue). Amounts are decimal
    strings; a subtotal the order did not give is the sum of its lines; what is not known
    yet (shipping total, carrier, tracking) is an empty string, never "None"."""
    subtotal = event.subtotal
    if subtotal is None and event.items:
        subtotal = sum((item.unit_price * item.quantity for item in event.items), Decimal(0))
    order = {
        "order_id": event.order_id,
        "order_number": event.order_number or f"#{event.order_id}",
        "total": money(event.total),
        "subtotal": "" if subtotal is None else money(subtotal),
        "shipping_total": "" if event.shipping_total is None else money(event.shipping_total),
        "currency": event.currency,
        "placed_at": event.placed_at.isoformat().replace("+00:00", "Z"),
        "lines": [
            {
                "sku": item.sku or "",
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": money(item.unit_price),
            }
            for item in event.items
        ],
        "status": "placed",
        "carrier": "",
        "tracking_number": "",
        "tracking_url": "",
    }
    return {"order": order}


def points_extras(event: PointsAdjusted) -> dict[str, Any]:
    return {"points": {"delta": event.points, "balance": event.balance, "reason": event.reason}}


def tier_extras(event: TierChanged) -> dict[str, Any]:
    return {"tier": {"name": tier_name(event), "benefits": list(event.benefits)}}


def command_variables(command: SendNotification) -> dict[str, Any]:
    """The command's variables, refused (naming `variables.<path>`) when the template's
    catalogue has no such variable, or when they are the service's own."""
    for name in command.variables:
        if name in RESERVED_VARIABLES:
            raise InvalidInput(f"variables.{name}", "set by the service, not by the command")
    check_variables(command.variables, catalogue_for(command.template), field="variables")
    return dict(command.variables)


# --- the use cases (the consumers' batch handlers) -------------------------------------


@dataclass(frozen=True)
class Triggers:
    """The trigger use cases, bound to the service's messenger; each one is a consumer's
    batch handler, `(uow, deliveries)`."""

    messenger: Messenger
    # events older than this cause no message (None: any age)
    max_age: timedelta | None = timedelta(hours=72)

    async def customers_created(
        self, uow: TriggerUnitOfWork, deliveries: Sequence[Delivered[CustomerCreated]]
    ) -> None:
        """Record each new customer's contact, plan the messages that waited for them,
        then welcome them (a disabled account or an imported customer: no)."""
        async with uow:
            for delivered in deliveries:
                await apply_snapshot(uow, delivered.event)
            await self.release_waiting(uow, [d.event.customer_id for d in deliveries])
            # An imported customer base is not new to the shop: nobody is welcomed for it.
            wanted = [
                Wanted(d.event.customer_id, WELCOME_CAUSE, d.event.customer.created_at)
                for d in deliveries
                if d.event.customer.status == "active" and not d.event.imported
            ]
            await self._queue(uow, "welcome", wanted)
            await uow.commit()

    async def customer_updated(self, uow: TriggerUnitOfWork, event: CustomerUpdated) -> None:
        """Record the customer's newer snapshot; plan the messages that waited for them
        (a customer whose creation this service never saw is known from now on)."""
        async with uow:
            await apply_snapshot(uow, event)
            await self.release_waiting(uow, [event.customer_id])
            await uow.commit()

    async def release_waiting(
        self, uow: TriggerUnitOfWork, customer_ids: Sequence[uuid.UUID]
    ) -> list[Delivery]:
        """The customers' waiting messages planned again now that their snapshot is
        recorded (inside the caller's unit of work); the channel of a trigger's message
        chosen as the trigger chooses it (`channels_for`)."""

        async def choose(requests: Sequence[MessageRequest]) -> list[Channel]:
            chosen: dict[tuple[str, uuid.UUID], Channel] = {}
            for key in {r.template_key for r in requests}:
                ids = [r.customer_id for r in requests if r.template_key == key]
                for customer_id, channel in (await channels_for(uow, key, ids)).items():
                    chosen[(key, customer_id)] = channel
            return [chosen[(r.template_key, r.customer_id)] for r in requests]

        released = await self.messenger.plan_waiting(uow, customer_ids, choose)
        for delivery in released:
            TRIGGERED.labels("waiting", delivery.status).inc()
        return released

    async def orders_placed(
        self, uow: TriggerUnitOfWork, deliveries: Sequence[Delivered[OrderPlaced]]
    ) -> None:
        """Record each order as the customer's last, then confirm it."""
        async with uow:
            for delivered in deliveries:
                await note_last_order(uow, delivered.event)
            wanted = [
                Wanted(
                    d.event.customer_id,
                    order_cause(d.event.order_id),
                    d.event.placed_at,
                    order_extras(d.event),
                )
                for d in deliveries
            ]
            await self._queue(uow, "order_confirmation", wanted)
            await uow.commit()

    async def segments_entered(
        self, uow: TriggerUnitOfWork, deliveries: Sequence[Delivered[SegmentEntered]]
    ) -> None:
        """A customer who entered the `at_risk` segment gets `win_back` (other segments:
        nothing)."""
        wanted = [
            Wanted(d.event.customer_id, str(d.envelope.id), d.event.at)
            for d in deliveries
            if d.event.segment_key == AT_RISK_SEGMENT
        ]
        async with uow:
            await self._queue(uow, "win_back", wanted)
            await uow.commit()

    async def points_adjusted(
        self, uow: TriggerUnitOfWork, deliveries: Sequence[Delivered[PointsAdjusted]]
    ) -> None:
        """Record each new balance, then tell the customer (`customer.points` is the
        balance after the adjustment)."""
        async with uow:
            for delivered in deliveries:
                await note_points_change(uow, delivered.event)
            wanted = [
                Wanted(
                    d.event.customer_id,
                    str(d.envelope.id),
                    d.event.adjusted_at,
                    points_extras(d.event),
                )
                for d in deliveries
            ]
            await self._queue(uow, "points_adjusted", wanted)
            await uow.commit()

    async def tiers_changed(
        self, uow: TriggerUnitOfWork, deliveries: Sequence[Delivered[TierChanged]]
    ) -> None:
        """Record each tier change; congratulate upgrades (a downgrade sends nothing)."""
        async with uow:
            for delivered in deliveries:
                await note_tier_change(uow, delivered.event)
            wanted = [
                Wanted(
                    d.event.customer_id,
                    str(d.envelope.id),
                    d.event.changed_at,
                    tier_extras(d.event),
                )
                for d in deliveries
                if d.event.direction == "upgrade"
            ]
            await self._queue(uow, "tier_upgrade", wanted)
            await uow.commit()

    async def _queue(
        self, uow: TriggerUnitOfWork, trigger: Trigger, wanted: Sequence[Wanted]
    ) -> QueuedMessages | None:
        if not wanted:
            return None
        settings = await uow.messaging_settings.get(self.messenger.defaults)
        if not settings.trigger_on(trigger):
            TRIGGERED.labels(trigger, "off").inc(len(wanted))
            return None
        now = self.messenger.now()
        current = [w for w in wanted if fresh(w.at, now, self.max_age)]
        if len(current) < len(wanted):
            TRIGGERED.labels(trigger, "stale").inc(len(wanted) - len(current))
            log.info(
                "events too old to message about",
                trigger=trigger,
                stale=len(wanted) - len(current),
            )
        if not current:
            return None
        channels = await channels_for(uow, trigger, [w.customer_id for w in current])
        queued = await self.messenger.queue(
            uow,
            [
                MessageRequest(
                    customer_id=w.customer_id,
                    template_key=trigger,
                    channel=channels[w.customer_id],
                    cause=w.cause,
                    extras=w.extras,
                    sms_if_phone_only=True,
                )
                for w in current
            ],
        )
        count_outcomes(trigger, queued)
        return queued

    async def send_requested(
        self, uow: TriggerUnitOfWork, deliveries: Sequence[Delivered[SendNotification]]
    ) -> None:
        """`SendNotification` commands: the named template on the named channel, with the
        stricter of the command's and the template's category, the command's `variables`
        as the template's extras, and its `idempotency_key` (else the command's id) as the
        cause.

        A command whose variables the template's catalogue refuses is recorded as a failed
        delivery naming the variable (`last_error`), in the customer's delivery log, and
        logged; the same command again changes nothing. A template key that is not a key
        at all cannot even be recorded: the command goes to the dead-letter topic. A tenant
        that switched `send_notification` off gets nothing queued: the commands are taken
        (claimed in the inbox) and dropped.
        """
        for delivered in deliveries:
            try:
                check_key(delivered.event.template)
            except InvalidInput as error:
                raise PermanentFailure(
                    f"SendNotification template {delivered.event.template!r}: {error.message}"
                ) from None
        requests: list[MessageRequest] = []
        refused: list[Delivery] = []
        async with uow:
            settings = await uow.messaging_settings.get(self.messenger.defaults)
            if not settings.trigger_on(SEND_NOTIFICATION):
                TRIGGERED.labels("command", "off").inc(len(deliveries))
                await uow.commit()
                return
            for delivered in deliveries:
                command = delivered.event
                cause = command.idempotency_key or str(delivered.envelope.id)
                try:
                    variables = command_variables(command)
                except InvalidInput as error:
                    log.warning(
                        "notification command refused",
                        command_id=str(delivered.envelope.id),
                        customer_id=str(command.customer_id),
                        template=command.template,
                        requested_by=command.requested_by,
                        error=str(error),
                    )
                    refused.append(self._refused(command, cause, str(error)))
                    continue
                template_category = await _template_category(uow, command)
                requests.append(
                    MessageRequest(
                        customer_id=command.customer_id,
                        template_key=command.template,
                        channel=command.channel,
                        cause=cause,
                        extras=variables,
                        category=stricter(command.category, template_category),
                    )
                )
            if refused:
                new = await uow.deliveries.queue(refused)
                TRIGGERED.labels("command", "failed").inc(len(new))
            if requests:
                count_outcomes("command", await self.messenger.queue(uow, requests))
            await uow.commit()

    def _refused(self, command: SendNotification, cause: str, error: str) -> Delivery:
        now = self.messenger.now()
        return Delivery(
            delivery_id=uuid.uuid4(),
            customer_id=command.customer_id,
            channel=command.channel,
            category=command.category,
            template_key=command.template,
            idempotency_key=idempotency_key(
                cause, command.template, command.customer_id, command.channel
            ),
            recipient="",
            created_at=now,
            cause=cause[:200],
            status="failed",
            failed_at=now,
            last_error=f"invalid command: {error}"[:1000],
        )


async def _template_category(uow: TriggerUnitOfWork, command: SendNotification) -> Category:
    """The category of the template in use; a key without one counts as marketing (the
    messenger then skips it, `no_template`)."""
    template = await uow.templates.current(command.template, command.channel) or builtin_template(
        command.template, command.channel
    )
    return "marketing" if template is None else template.category


async def channels_for(
    uow: TriggerUnitOfWork, key: str, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Channel]:
    """The channel of each customer's message under `key` (see `preferred_channel`),
    judged on the contact that receives it (the survivor of a merge)."""
    contacts = await reachable_contacts(uow.contacts, customer_ids)
    sms_template: bool | None = None
    channels: dict[uuid.UUID, Channel] = {}
    for customer_id in customer_ids:
        contact = contacts.get(customer_id)
        if sms_template is None and contact is not None and contact.phone and not contact.email:
            sms_template = (
                builtin_template(key, "sms") or await uow.templates.current(key, "sms")
            ) is not None
        channels[customer_id] = preferred_channel(contact, sms_template=bool(sms_template))
    return channels


async def reachable_contacts(
    contacts: ContactReader, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    """Each customer's contact, or that of the customer it was merged into (the one the
    message goes to)."""
    resolved = dict(await contacts.get_many(list(set(customer_ids))))
    for _ in range(MAX_MERGE_HOPS):
        merged = {cid: c.merged_into for cid, c in resolved.items() if c.merged_into is not None}
        if not merged:
            break
        survivors = await contacts.get_many(list(set(merged.values())))
        for customer_id, survivor_id in merged.items():
            survivor = survivors.get(survivor_id)
            if survivor is None:
                del resolved[customer_id]
            else:
                resolved[customer_id] = survivor
    return resolved


def count_outcomes(trigger: str, queued: QueuedMessages) -> None:
    for status in ("queued", "skipped", "failed", "waiting"):
        count = queued.count(status)
        if count:
            TRIGGERED.labels(trigger, status).inc(count)
    duplicates = len(queued.deliveries) - len(queued.new)
    if duplicates:
        TRIGGERED.labels(trigger, "duplicate").inc(duplicates)
