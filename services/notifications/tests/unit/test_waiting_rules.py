"""Messages waiting for their customer, in memory: whatever order the order events and the
customer's snapshot come in (and however often), each order ends with exactly one
confirmation, queued when the customer can be reached, waiting while they are unknown."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.contact import UNKNOWN_SINCE, Contact
from patron_notifications.domain.delivery import Delivery
from patron_notifications.domain.messaging_settings import MessagingSettings
from patron_notifications.domain.templates import MessageTemplate
from patron_notifications.domain.unsubscribe import UnsubscribeTarget
from patron_notifications.service.messages import MessageRequest, Messenger
from patron_notifications.service.triggers import order_extras, preferred_channel
from patron_shared.events import OrderItem, OrderPlaced

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CUSTOMER = uuid.UUID("00000000-0000-0000-0000-000000000042")


@dataclass
class Contacts:
    rows: dict[uuid.UUID, Contact] = field(default_factory=dict)

    async def get_many(self, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        return {c: copy.deepcopy(self.rows[c]) for c in customer_ids if c in self.rows}


class Templates:
    async def current(self, key: str, channel: Channel) -> MessageTemplate | None:
        return None  # the built-ins


@dataclass
class Deliveries:
    rows: dict[str, Delivery] = field(default_factory=dict)

    async def queue(self, queued: Sequence[Delivery]) -> set[uuid.UUID]:
        new = set()
        for delivery in queued:
            if delivery.idempotency_key not in self.rows:
                self.rows[delivery.idempotency_key] = copy.deepcopy(delivery)
                new.add(delivery.delivery_id)
        return new

    async def waiting_for(self, customer_ids: Sequence[uuid.UUID]) -> list[Delivery]:
        return [
            copy.deepcopy(d)
            for d in self.rows.values()
            if d.customer_id in customer_ids and d.status == "waiting"
        ]

    async def replan(self, planned: Sequence[Delivery]) -> int:
        """As the table does: in place by id; a key another message holds is a duplicate."""
        changed = 0
        for delivery in planned:
            [old] = [k for k, d in self.rows.items() if d.delivery_id == delivery.delivery_id]
            if self.rows[old].status != "waiting":
                continue
            holder = self.rows.get(delivery.idempotency_key)
            if holder is not None and holder.delivery_id != delivery.delivery_id:
                self.rows[old].status, self.rows[old].skipped_reason = "skipped", "duplicate"
            else:
                del self.rows[old]
                self.rows[delivery.idempotency_key] = copy.deepcopy(delivery)
            changed += 1
        return changed

    async def marketing_times(
        self, customer_ids: Sequence[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, list[datetime]]:
        return {}


class Settings:
    async def get(self, defaults: MessagingSettings) -> MessagingSettings:
        return defaults


@dataclass
class World:
    tenant_id: str = "t"
    contacts: Contacts = field(default_factory=Contacts)
    templates: Templates = field(default_factory=Templates)
    deliveries: Deliveries = field(default_factory=Deliveries)
    messaging_settings: Settings = field(default_factory=Settings)

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def __aenter__(self) -> World:
        return self

    async def __aexit__(self, *_: object) -> None: ...


def links(target: UnsubscribeTarget) -> str:
    return f"https://shop.example/u/{target.customer_id}"


MESSENGER = Messenger(MessagingSettings(), links, now=lambda: NOW)


def order(number: int) -> OrderPlaced:
    return OrderPlaced(
        order_id=str(number),
        customer_id=CUSTOMER,
        currency="EUR",
        total=Decimal("10.00"),
        items=[OrderItem(name="Mug", quantity=1, unit_price=Decimal("10.00"))],
        placed_at=NOW,
    )


async def choose(world: World, requests: Sequence[MessageRequest]) -> list[Channel]:
    """As the trigger chooses: SMS for a known customer with only a phone."""
    found = await world.contacts.get_many([r.customer_id for r in requests])
    return [preferred_channel(found.get(r.customer_id), sms_template=True) for r in requests]


async def on_order(world: World, number: int) -> None:
    """What the order trigger does: a placeholder contact, then the confirmation."""
    world.contacts.rows.setdefault(CUSTOMER, Contact(CUSTOMER, source_updated_at=UNKNOWN_SINCE))
    known = world.contacts.rows[CUSTOMER]
    channel = preferred_channel(known if known.known else None, sms_template=True)
    await MESSENGER.queue(
        world,
        [
            MessageRequest(
                CUSTOMER,
                "order_confirmation",
                channel,
                cause=f"order-{number}",
                extras=order_extras(order(number)),
                sms_if_phone_only=True,
            )
        ],
    )


async def on_snapshot(world: World, email: str | None, phone: str | None, at: datetime) -> None:
    contact = world.contacts.rows.get(CUSTOMER) or Contact(CUSTOMER, UNKNOWN_SINCE)
    if at > contact.source_updated_at:
        contact.email, contact.phone, contact.source_updated_at = email, phone, at
    world.contacts.rows[CUSTOMER] = contact

    async def chooser(requests: Sequence[MessageRequest]) -> list[Channel]:
        return await choose(world, requests)

    await MESSENGER.plan_waiting(world, [CUSTOMER], chooser)


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(0, 3)),
        st.tuples(st.just("snapshot"), st.integers(0, 2)),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(events=EVENTS, email=st.booleans(), phone=st.booleans())
def test_any_interleaving_ends_with_one_confirmation_per_order_queued_iff_reachable(
    events: list[tuple[str, int]], email: bool, phone: bool
) -> None:
    world = World()
    address = "bea@example.com" if email else None
    number = "+14155550123" if phone else None

    async def run() -> None:
        for kind, value in events:
            if kind == "order":
                await on_order(world, value)
            else:
                await on_snapshot(world, address, number, NOW + timedelta(seconds=value))

    asyncio.run(run())

    orders = {value for kind, value in events if kind == "order"}
    seen = any(kind == "snapshot" for kind, _ in events)
    rows = list(world.deliveries.rows.values())
    assert sorted(d.cause for d in rows) == sorted(f"order-{n}" for n in orders)
    for delivery in rows:
        if not seen:
            assert (delivery.status, delivery.request is not None) == ("waiting", True)
        elif address or number:
            assert delivery.status == "queued"
            assert delivery.channel == ("email" if address else "sms")
            assert delivery.recipient == (address or number)
            assert delivery.request is None
        else:
            assert (delivery.status, delivery.skipped_reason) == ("skipped", "no_address")


def test_a_waiting_request_round_trips_through_its_stored_form() -> None:
    request = MessageRequest(
        CUSTOMER,
        "order_confirmation",
        "email",
        cause="c",
        extras=order_extras(order(7)),
        category="transactional",
        not_before=NOW,
        sms_if_phone_only=True,
    )
    delivery = Delivery(
        delivery_id=uuid.uuid4(),
        customer_id=CUSTOMER,
        channel="email",
        category="transactional",
        template_key="order_confirmation",
        idempotency_key="k",
        recipient="",
        created_at=NOW,
        cause="c",
        status="waiting",
        request=request.stored(),
    )

    assert MessageRequest.of_waiting(delivery) == request
    assert not delivery.is_final
