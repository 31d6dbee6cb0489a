"""Redemption use cases: quote, redeem, and hold / confirm / cancel for checkouts.

Redeeming and holding lock the customer's account first, as every points change does, so
two checkouts of one customer can never spend the same points. A request repeated with the
same `Idempotency-Key` answers what the first one did and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from patron_loyalty.domain.account import LoyaltyAccount
from patron_loyalty.domain.ledger import InsufficientPoints, PointsAccount
from patron_loyalty.domain.program import Program
from patron_loyalty.domain.redemption import Redemption, new_discount_code
from patron_loyalty.service.points import program_of, refuse_if_merged, settle_account
from patron_loyalty.service.ports import PointsUnitOfWork
from patron_shared.errors import Conflict, InvalidInput, NotFound
from patron_shared.events import PointsRedeemed, utcnow

DEFAULT_HOLD = timedelta(minutes=15)
MAX_HOLD = timedelta(days=7)


@dataclass(frozen=True)
class Quote:
    points: int
    discount: Decimal
    currency: str
    balance: int
    available: int

    @property
    def redeemable(self) -> bool:
        return 0 < self.points <= self.available and self.discount > 0


@dataclass(frozen=True)
class RedemptionResult:
    redemption: Redemption
    balance: int
    available: int


def _discount(program: Program, points: int) -> Decimal:
    discount = program.cash_value(points)
    if discount <= 0:
        raise InvalidInput(
            "points",
            f"worth less than 0.01 {program.currency}: at least "
            f"{-(-program.points_per_currency_unit // 100)} points",
        )
    return discount


async def quote_redemption(uow: PointsUnitOfWork, customer_id: uuid.UUID, points: int) -> Quote:
    """What `points` are worth now, and whether the customer has them available."""
    if points <= 0:
        raise InvalidInput("points", "must be a positive number of points")
    async with uow:
        program = await program_of(uow)
        account = await uow.points.account(customer_id)
        balance = account.balance if account is not None else 0
        held = await uow.points.held_points(customer_id, utcnow()) if account else 0
    return Quote(points, program.cash_value(points), program.currency, balance, balance - held)


async def redeem_points(
    uow: PointsUnitOfWork,
    customer_id: uuid.UUID,
    points: int,
    *,
    order_id: str | None = None,
    idempotency_key: str | None = None,
) -> RedemptionResult:
    """Take `points` now for a one-time discount code (409 when fewer are available)."""
    return await _open(uow, customer_id, points, order_id, idempotency_key, hold_for=None)


async def hold_points(
    uow: PointsUnitOfWork,
    customer_id: uuid.UUID,
    points: int,
    *,
    order_id: str | None = None,
    idempotency_key: str | None = None,
    hold_for: timedelta = DEFAULT_HOLD,
) -> RedemptionResult:
    """Reserve `points` for a checkout until confirmed, cancelled or `hold_for` passes."""
    if not timedelta(seconds=1) <= hold_for <= MAX_HOLD:
        raise InvalidInput("hold_seconds", "must be between 1 second and 7 days")
    return await _open(uow, customer_id, points, order_id, idempotency_key, hold_for=hold_for)


async def _open(  # noqa: PLR0917
    uow: PointsUnitOfWork,
    customer_id: uuid.UUID,
    points: int,
    order_id: str | None,
    idempotency_key: str | None,
    hold_for: timedelta | None,
) -> RedemptionResult:
    if points <= 0:
        raise InvalidInput("points", "must be a positive number of points")
    async with uow:
        await refuse_if_merged(uow, customer_id)
        program = await program_of(uow)
        now = utcnow()
        discount = _discount(program, points)
        account = await uow.points.lock_account(customer_id, program.entry_tier, now)
        ledger = await _ledger_with_holds(uow, customer_id, now)
        if idempotency_key is not None:
            earlier = await uow.points.redemption_by_key(customer_id, idempotency_key)
            if earlier is not None:
                return _same_request(earlier, points, account.balance, ledger)
        redemption = Redemption(
            redemption_id=uuid.uuid4(),
            customer_id=customer_id,
            points=points,
            discount=discount,
            currency=program.currency,
            status="held",
            created_at=now,
            order_id=order_id,
            idempotency_key=idempotency_key,
            hold_expires_at=now + hold_for if hold_for is not None else None,
        )
        if hold_for is None:
            _take(uow, ledger, redemption, now)
        elif points > ledger.available:
            raise _not_enough(points, ledger.available)
        else:
            ledger.held += points
        await uow.points.save_ledger(ledger)
        await uow.points.save_redemption(redemption)
        await settle_account(uow, program, account, ledger, now, None)
        await uow.commit()
    return RedemptionResult(redemption, account.balance, ledger.available)


async def confirm_hold(
    uow: PointsUnitOfWork, customer_id: uuid.UUID, redemption_id: uuid.UUID
) -> RedemptionResult:
    """Take a hold's points and give its code; confirming twice answers the same."""
    async with uow:
        program, now, account, redemption = await _locked(uow, customer_id, redemption_id)
        ledger = await _ledger_with_holds(uow, customer_id, now)
        if redemption.status == "redeemed":
            return RedemptionResult(redemption, account.balance, ledger.available)
        if redemption.status == "cancelled" or redemption.lapsed(now):
            state = "cancelled" if redemption.status == "cancelled" else "expired"
            raise Conflict(f"hold {redemption_id} is {state}", field="redemption_id")
        ledger.held -= redemption.points  # its own reservation does not stand in its way
        _take(uow, ledger, redemption, now)
        await uow.points.save_ledger(ledger)
        await uow.points.save_redemption(redemption)
        await settle_account(uow, program, account, ledger, now, None)
        await uow.commit()
    return RedemptionResult(redemption, account.balance, ledger.available)


async def cancel_hold(
    uow: PointsUnitOfWork, customer_id: uuid.UUID, redemption_id: uuid.UUID
) -> RedemptionResult:
    """Release a hold; cancelling twice answers the same, a redeemed one is a 409."""
    async with uow:
        _, now, account, redemption = await _locked(uow, customer_id, redemption_id)
        if redemption.status == "redeemed":
            raise Conflict(f"redemption {redemption_id} is already redeemed", field="redemption_id")
        if redemption.status == "held":
            redemption.status, redemption.settled_at = "cancelled", now
            await uow.points.save_redemption(redemption)
        ledger = await _ledger_with_holds(uow, customer_id, now)
        await uow.commit()
    return RedemptionResult(redemption, account.balance, ledger.available)


async def get_redemption(
    uow: PointsUnitOfWork, customer_id: uuid.UUID, redemption_id: uuid.UUID
) -> Redemption:
    async with uow:
        return await _redemption(uow, customer_id, redemption_id)


# ---------------------------------------------------------------------------- internals


async def _locked(
    uow: PointsUnitOfWork, customer_id: uuid.UUID, redemption_id: uuid.UUID
) -> tuple[Program, datetime, LoyaltyAccount, Redemption]:
    """Inside an open unit of work: the program, the time, the customer's account (locked)
    and the redemption (404 when it is not the customer's)."""
    program = await program_of(uow)
    now = utcnow()
    account = await uow.points.lock_account(customer_id, program.entry_tier, now)
    return program, now, account, await _redemption(uow, customer_id, redemption_id)


async def _ledger_with_holds(
    uow: PointsUnitOfWork, customer_id: uuid.UUID, now: datetime
) -> PointsAccount:
    ledger = await uow.points.ledger(customer_id)
    ledger.held = await uow.points.held_points(customer_id, now)
    return ledger


async def _redemption(
    uow: PointsUnitOfWork, customer_id: uuid.UUID, redemption_id: uuid.UUID
) -> Redemption:
    redemption = await uow.points.redemption(customer_id, redemption_id)
    if redemption is None:
        raise NotFound(f"no redemption {redemption_id} for customer {customer_id}")
    return redemption


def _take(
    uow: PointsUnitOfWork, ledger: PointsAccount, redemption: Redemption, now: datetime
) -> None:
    try:
        entry = ledger.take(
            redemption.points,
            kind="redeem",
            at=now,
            reason="redeemed for a discount",
            source_type="redemption",
            source_id=str(redemption.redemption_id),
        )
    except InsufficientPoints as short:
        raise _not_enough(short.wanted, short.available) from short
    redemption.status, redemption.settled_at = "redeemed", now
    redemption.entry_id, redemption.code = entry.entry_id, new_discount_code()
    uow.emit(
        PointsRedeemed(
            customer_id=redemption.customer_id,
            points=redemption.points,
            balance=ledger.balance,
            discount=redemption.discount,
            currency=redemption.currency,
            code=redemption.code,
            redeemed_at=now,
        )
    )


def _not_enough(wanted: int, available: int) -> Conflict:
    return Conflict(
        f"{wanted} points wanted, {available} available",
        field="points",
        available=available,
    )


def _same_request(
    earlier: Redemption, points: int, balance: int, ledger: PointsAccount
) -> RedemptionResult:
    if earlier.points != points:
        raise Conflict("this Idempotency-Key was used for another request", field="Idempotency-Key")
    return RedemptionResult(earlier, balance, ledger.available)
