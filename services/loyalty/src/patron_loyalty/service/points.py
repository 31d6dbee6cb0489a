"""Points use cases: earning on orders, manual adjustments, the card, the history and the
program. Each is one transaction.

Every change of a customer's points locks its account row first (accounts in customer-id
order when a batch touches several), so concurrent events of one customer serialize and
never interleave; the ledger's entries, lots, balance and tier are written together with
the events that announce them (outbox).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from patron_loyalty.domain.account import CardRead, LoyaltyAccount
from patron_loyalty.domain.earning import OrderPoints
from patron_loyalty.domain.ledger import Entry, InsufficientPoints, PointsAccount
from patron_loyalty.domain.program import Program, ProgramError, rolling_window_start
from patron_loyalty.service.ports import HistoryPage, PointsUnitOfWork
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.events import (
    Delivery,
    Envelope,
    PointsAdjusted,
    PointsEarned,
    PointsReversed,
    TierChanged,
    utcnow,
)
from patron_shared.orders import OrderEvent, OrderState, apply_order_event


async def program_of(uow: PointsUnitOfWork) -> Program:
    """The tenant's program: its own, or the defaults from the service's settings."""
    return await uow.points.program() or uow.default_program


async def save_program(uow: PointsUnitOfWork, program: Program, actor: str) -> Program:
    async with uow:
        await uow.points.save_program(program, actor)
        await uow.commit()
    return program


def build_program(**fields: object) -> Program:
    """A program from API input; a program that cannot work is a 422 naming the field."""
    try:
        return Program(**fields)  # type: ignore[arg-type]
    except ProgramError as error:
        raise InvalidInput(error.field, str(error)) from error


async def refuse_if_merged(uow: PointsUnitOfWork, customer_id: uuid.UUID) -> None:
    """Inside an open unit of work: a customer merged away takes no new points operation;
    the 409 names where its points went."""
    survivor = (await uow.points.survivors_of({customer_id})).get(customer_id)
    if survivor is not None:
        raise Conflict(
            f"customer {customer_id} was merged into {survivor}: use that customer",
            field="customer_id",
            merged_into=str(survivor),
        )


# ---------------------------------------------------------------------------- orders


async def record_order_events(
    uow: PointsUnitOfWork, deliveries: Sequence[Delivery[OrderEvent]]
) -> None:
    """Fold order events into their orders and post what each order is now worth, for a
    whole batch in a fixed number of statements: the accounts locked (in customer-id
    order), their orders, open lots and qualifying points read, the events applied in
    arrival order in memory, and everything written back at once.

    A tier is reviewed after each event, as if the events had come one at a time: an order
    placed after the one that upgraded a customer earns at the new tier's rate."""
    async with uow:
        program = await program_of(uow)
        now = utcnow()
        # an event still naming a merged-away customer counts for its survivor
        survivors = await uow.points.survivors_of({d.event.customer_id for d in deliveries})
        by_customer: dict[uuid.UUID, list[Delivery[OrderEvent]]] = {}
        for delivery in deliveries:
            owner = survivors.get(delivery.event.customer_id, delivery.event.customer_id)
            by_customer.setdefault(owner, []).append(delivery)
        owners = sorted(by_customer)
        accounts = await uow.points.lock_accounts(owners, program.entry_tier, now)
        orders = await uow.points.orders({d.event.order_id for d in deliveries})
        ledgers = await uow.points.ledgers(owners)
        since = rolling_window_start(now) if program.tier_basis == "rolling_12m" else None
        qualifying = await uow.points.qualifying_points_of(owners, since)
        changed: dict[str, OrderPoints] = {}
        for owner in owners:
            account, ledger = accounts[owner], ledgers[owner]
            for delivery in by_customer[owner]:
                event = delivery.event
                order = orders.get(event.order_id) or OrderPoints(
                    event.order_id, owner, OrderState(event.order_id, owner)
                )
                before = (order.reversed, order.unrecovered)
                order.state = apply_order_event(
                    order.state, event, event_id=delivery.envelope.id, owner=owner
                )
                rate = program.tier(account.standing.tier).earn_rate
                posted = order.settle(ledger, program, rate, now)
                orders[event.order_id] = changed[event.order_id] = order
                _announce_order_points(uow, order, posted, before, ledger, now, delivery.envelope)
                qualifying[owner] += sum(entry.points for entry in posted)  # all from orders
                _review_tier(uow, program, account, qualifying[owner], now, delivery.envelope)
            account.balance = ledger.balance
        await uow.points.save_ledgers([ledgers[owner] for owner in owners])
        await uow.points.save_orders(list(changed.values()))
        await uow.points.save_accounts([accounts[owner] for owner in owners])
        await uow.commit()


def _announce_order_points(  # noqa: PLR0917 - one order's postings, as made
    uow: PointsUnitOfWork,
    order: OrderPoints,
    posted: list[Entry],
    before: tuple[int, int],
    ledger: PointsAccount,
    now: datetime,
    cause: Envelope,
) -> None:
    for entry in posted:
        if entry.kind == "earn":
            lot_id = entry.moves[0].lot_id
            expires = next((lot.expires_at for lot in ledger.lots if lot.lot_id == lot_id), None)
            uow.emit(
                PointsEarned(
                    customer_id=order.customer_id,
                    points=entry.points,
                    balance=entry.balance_after,
                    order_id=order.order_id,
                    reason=entry.reason,
                    earned_at=now,
                    expires_at=expires,
                ),
                caused_by=cause,
            )
    taken = order.reversed - before[0]
    unrecovered = order.unrecovered - before[1]
    if taken or unrecovered:
        uow.emit(
            PointsReversed(
                customer_id=order.customer_id,
                points=taken,
                unrecovered=unrecovered,
                balance=ledger.balance,
                order_id=order.order_id,
                reason="order cancelled" if order.state.cancelled_at else "order refunded",
                reversed_at=now,
            ),
            caused_by=cause,
        )


async def settle_account(  # noqa: PLR0917
    uow: PointsUnitOfWork,
    program: Program,
    account: LoyaltyAccount,
    ledger: PointsAccount,
    now: datetime,
    cause: Envelope | None,
) -> None:
    """The account's balance from its ledger, and its tier reviewed (after the ledger's
    entries are written: they are the qualifying points)."""
    account.balance = ledger.balance
    since = rolling_window_start(now) if program.tier_basis == "rolling_12m" else None
    qualifying = await uow.points.qualifying_points(account.customer_id, since)
    _review_tier(uow, program, account, qualifying, now, cause)
    await uow.points.save_account(account)


def _review_tier(  # noqa: PLR0917
    uow: PointsUnitOfWork,
    program: Program,
    account: LoyaltyAccount,
    qualifying: int,
    now: datetime,
    cause: Envelope | None,
) -> None:
    """The account's tier for its qualifying points, announced when it changes."""
    change = account.standing.review(program, qualifying, now)
    if change is None:
        return
    previous, new = change
    upward = program.rank(new.key) > program.rank(previous.key)
    uow.emit(
        TierChanged(
            customer_id=account.customer_id,
            previous_tier=previous.key,
            tier=new.key,
            tier_name=new.name,
            direction="upgrade" if upward else "downgrade",
            changed_at=now,
            benefits=list(new.benefits),
        ),
        caused_by=cause,
    )


# ---------------------------------------------------------------------------- operators


@dataclass(frozen=True)
class Adjusted:
    entry: Entry
    account: LoyaltyAccount


async def adjust_points(
    uow: PointsUnitOfWork, customer_id: uuid.UUID, points: int, reason: str, actor: str
) -> Adjusted:
    """Add (positive) or deduct (negative) points by hand; a deduction larger than the
    balance is a 409. Added points are a lot that expires as earned points do."""
    if points == 0:
        raise InvalidInput("points", "must add or remove at least one point")
    async with uow:
        await refuse_if_merged(uow, customer_id)
        program = await program_of(uow)
        now = utcnow()
        account = await uow.points.lock_account(customer_id, program.entry_tier, now)
        ledger = await uow.points.ledger(customer_id)
        if points > 0:
            entry = ledger.earn(
                points,
                at=now,
                expires_at=program.expires_at(now),
                reason=reason,
                kind="adjust",
                source_type="admin",
                actor=actor,
            )
        else:
            ledger.held = await uow.points.held_points(customer_id, now)
            try:
                entry = ledger.take(
                    -points, kind="adjust", at=now, reason=reason, source_type="admin", actor=actor
                )
            except InsufficientPoints as short:
                raise Conflict(
                    f"cannot deduct {short.wanted} points: {short.available} are available",
                    field="points",
                    balance=ledger.balance,
                    available=short.available,
                ) from short
        await uow.points.save_ledger(ledger)
        await settle_account(uow, program, account, ledger, now, None)
        uow.emit(
            PointsAdjusted(
                customer_id=customer_id,
                points=points,
                balance=account.balance,
                reason=reason,
                actor=actor,
                adjusted_at=now,
            )
        )
        await uow.commit()
    return Adjusted(entry, account)


# ---------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class Card:
    account: LoyaltyAccount
    member_since: datetime | None
    tier_name: str
    benefits: tuple[str, ...]
    cash_value_currency: str
    cash_value: Decimal
    points_expiring_30d: int
    points_held: int


async def fidelity_card(uow: PointsUnitOfWork, customer_id: uuid.UUID) -> Card:
    """The card: one point read for a customer with an account; an enrolled member without
    one has it opened (and its card number issued) on this first read."""
    now = utcnow()
    read = await uow.cards.card(customer_id, now, now + timedelta(days=30))
    if read is None:
        async with uow:
            member = await uow.members.get(customer_id)
            if member is None or not member.is_enrolled:
                raise NotFound(f"no loyalty member {customer_id}")
            program = await program_of(uow)
            account = await uow.points.lock_account(customer_id, program.entry_tier, now)
            await uow.commit()
        read = CardRead(account, member.member_since, 0, 0, program)
    program = read.program or uow.default_program
    account = read.account
    tier = program.tier(account.standing.tier)
    return Card(
        account=account,
        member_since=read.member_since or account.created_at,
        tier_name=tier.name,
        benefits=tier.benefits,
        cash_value_currency=program.currency,
        cash_value=program.cash_value(account.balance),
        points_expiring_30d=read.points_expiring,
        points_held=read.points_held,
    )


async def points_history(
    uow: PointsUnitOfWork,
    customer_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> HistoryPage:
    async with uow:
        if await uow.points.account(customer_id) is None:
            raise NotFound(f"no points account for customer {customer_id}")
        return await uow.points.history(customer_id, after=after, limit=limit)
