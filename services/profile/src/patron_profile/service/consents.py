"""Consent use cases, and the link between `accepts_marketing` and the email consent.

Recording a consent locks the customer's row first, so one customer's consents change one
at a time and each entry is decided against a stable current state. Every entry lands in the
history; it becomes the current state only when it takes precedence (see `domain.consent`).
A flip of `email_marketing` also updates the customer's `accepts_marketing` through the
aggregate, so `CustomerUpdated` goes out as for any other change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron_profile.domain.consent import (
    MARKETING_PURPOSE,
    PROFILE_API_SOURCE,
    Consent,
    ConsentDecision,
    ConsentEntry,
    apply_entry,
    is_granted,
    parse_purpose,
)
from patron_profile.domain.customer import Customer
from patron_profile.service.ports import ConsentUnitOfWork
from patron_profile.service.tombstones import missing_customer
from patron_shared.events import RecordConsent, utcnow
from patron_shared.logging import get_logger

Clock = Callable[[], datetime]
log = get_logger("patron.profile.consents")


@dataclass(frozen=True)
class ConsentRequest:
    """A caller's opt-in or opt-out, before validation."""

    purpose: str
    granted: bool
    source: str
    occurred_at: datetime | None = None
    ip_address: str | None = None
    user_agent: str | None = None


async def list_consents(
    uow: ConsentUnitOfWork, customer_id: uuid.UUID
) -> tuple[Customer, list[Consent]]:
    """The customer and the current state of every purpose recorded for them."""
    async with uow:
        customer = await _customer(uow, customer_id)
        return customer, await uow.consents.list_current(customer_id)


async def consent_history(
    uow: ConsentUnitOfWork,
    customer_id: uuid.UUID,
    *,
    purpose: str | None = None,
    offset: int,
    limit: int,
) -> tuple[list[ConsentEntry], int]:
    """Every recorded entry, newest first (a purpose's first entry is its current state)."""
    wanted = parse_purpose(purpose) if purpose is not None else None
    async with uow:
        await _customer(uow, customer_id)
        return await uow.consents.history_page(
            customer_id, purpose=wanted, offset=offset, limit=limit
        )


async def record_consent(
    uow: ConsentUnitOfWork,
    customer_id: uuid.UUID,
    request: ConsentRequest,
    *,
    recorded_by: str | None,
    entry_id: uuid.UUID | None = None,
    clock: Clock = utcnow,
) -> ConsentDecision:
    now = clock()
    entry = ConsentEntry.new(
        customer_id=customer_id,
        purpose=request.purpose,
        granted=request.granted,
        source=request.source,
        now=now,
        occurred_at=request.occurred_at,
        recorded_by=recorded_by,
        ip_address=request.ip_address,
        user_agent=request.user_agent,
        entry_id=entry_id,
    )
    async with uow:
        customer = await _customer(uow, customer_id, for_update=True)
        decision = await _record(uow, customer, entry, now=now)
        await uow.commit()
    return decision


async def record_requested_consent(
    uow: ConsentUnitOfWork, command: RecordConsent, *, clock: Clock = utcnow
) -> ConsentDecision | None:
    """A consent another service collected (an unsubscribe link, a preference centre),
    recorded as the consent API records one: history, current state, `ConsentChanged` on a
    flip, `accepts_marketing` kept in step. A merged customer's consent goes to its
    survivor. None (logged, not an error) when there is no live customer to record it on.

    A repeated command changes nothing: the inbox drops a redelivery, and the same choice
    again is one more history entry that flips nothing and announces nothing.
    """
    now = clock()
    async with uow:
        target = await uow.customers.survivor_of(command.customer_id) or command.customer_id
        customer = await uow.customers.get(target, for_update=True)
        if customer is None:
            log.info("consent ignored: no live customer", purpose=command.purpose)
            await uow.commit()  # done with the message all the same
            return None
        entry = ConsentEntry.new(
            customer_id=customer.id,
            purpose=command.purpose,
            granted=command.granted,
            source=command.source,
            now=now,
            # the sender's clock may be ahead of ours; the choice is not from the future
            occurred_at=min(command.occurred_at, now),
            # the message it came in, to trace the entry back to it
            recorded_by=f"message:{uow.causation_id}" if uow.causation_id else None,
        )
        decision = await _record(uow, customer, entry, now=now)
        await uow.commit()
    return decision


async def _record(
    uow: ConsentUnitOfWork, customer: Customer, entry: ConsentEntry, *, now: datetime
) -> ConsentDecision:
    """Record `entry` on the locked `customer`; `accepts_marketing` follows the email
    marketing consent."""
    current = await uow.consents.current(customer.id, entry.purpose)
    decision = await record_entry(uow, customer, entry, current)
    if entry.purpose == MARKETING_PURPOSE:
        granted = decision.current.granted
        if customer.update({"accepts_marketing": granted}, now=now):
            await uow.customers.save(customer)
    return decision


async def follow_accepts_marketing(
    uow: ConsentUnitOfWork,
    customer: Customer,
    fields: dict[str, Any],
    *,
    now: datetime,
    source: str = PROFILE_API_SOURCE,
) -> dict[str, Any]:
    """Record a caller's `accepts_marketing` as an `email_marketing` consent.

    For the customer use cases, inside their transaction, with the customer's row locked
    (or just inserted). When `fields` sets `accepts_marketing` to something other than the
    current email consent, an entry is recorded; either way the returned fields carry the
    current grant, so the customer keeps following the consent.
    """
    wanted = fields.get("accepts_marketing")
    if wanted is None:
        return fields
    current = await uow.consents.current(customer.id, MARKETING_PURPOSE)
    if wanted != is_granted(current):
        entry = ConsentEntry.new(
            customer_id=customer.id,
            purpose=MARKETING_PURPOSE,
            granted=bool(wanted),
            source=source,
            now=now,
        )
        current = (await record_entry(uow, customer, entry, current)).current
    return fields | {"accepts_marketing": is_granted(current)}


async def record_entry(
    uow: ConsentUnitOfWork, customer: Customer, entry: ConsentEntry, current: Consent | None
) -> ConsentDecision:
    """History, current state and event of one entry (the customer is locked).

    The event goes out with the customer's own, in order: a new customer's CustomerCreated
    comes before its first ConsentChanged.
    """
    decision = apply_entry(current, entry)
    await uow.consents.append(entry)
    if decision.applied:
        await uow.consents.put_current(decision.current)
    event = decision.event()
    if event is not None:
        customer.events.append(event)
    return decision


async def _customer(
    uow: ConsentUnitOfWork, customer_id: uuid.UUID, *, for_update: bool = False
) -> Customer:
    # Not `service.customers.existing_customer`: that module calls into this one.
    customer = await uow.customers.get(customer_id, for_update=for_update)
    if customer is None:
        raise await missing_customer(uow.customers, customer_id, writing=for_update)
    return customer
