"""The daily jobs of one tenant: points and store credit that reached their expiry, and
tiers that time alone changes (a downgrade grace period that ended, points leaving a
rolling 12-month window).

Both are safe to run twice or concurrently: each customer's account is locked as every
points change locks it, and expiry takes only what is still due (a second run finds
nothing). Customers go in chunks, a transaction per chunk, so a tenant with many due
customers neither holds long locks nor redoes finished work after a failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from patron_loyalty.service.credit import expire_due_credit
from patron_loyalty.service.points import program_of, settle_account
from patron_loyalty.service.ports import CreditUnitOfWork, PointsUnitOfWork
from patron_shared.events import PointsExpired

CHUNK = 200


class LoyaltyJobsUnitOfWork(PointsUnitOfWork, CreditUnitOfWork, Protocol):
    """What the daily jobs need: the points ledger and the credit ledger."""


@dataclass(frozen=True)
class DailyResult:
    customers_expired: int = 0
    points_expired: int = 0
    tiers_reviewed: int = 0
    credit_lots_expired: int = 0


async def expire_due_points(
    new_uow: Callable[[], PointsUnitOfWork], now: datetime
) -> tuple[int, int]:
    """Expire every lot of the tenant past its expiry; (customers, points) expired."""
    customers = points = 0
    while True:
        async with new_uow() as uow:
            due = await uow.points.customers_with_expired_lots(now, CHUNK)
            if not due:
                return customers, points
            program = await program_of(uow)
            for customer_id in due:  # in customer-id order, as every batch locks
                account = await uow.points.lock_account(customer_id, program.entry_tier, now)
                ledger = await uow.points.ledger(customer_id)
                entry = ledger.expire(now)
                if entry is None:  # another run got there first
                    continue
                await uow.points.save_ledger(ledger)
                await settle_account(uow, program, account, ledger, now, None)
                uow.emit(
                    PointsExpired(
                        customer_id=customer_id,
                        points=-entry.points,
                        balance=ledger.balance,
                        expired_at=now,
                    )
                )
                customers += 1
                points -= entry.points
            await uow.commit()


async def review_tiers(new_uow: Callable[[], PointsUnitOfWork], now: datetime) -> int:
    """Review the tier of every customer time alone can move; how many were reviewed."""
    reviewed = 0
    after: uuid.UUID | None = None
    while True:
        async with new_uow() as uow:
            program = await program_of(uow)
            due = await uow.points.customers_for_tier_review(
                now,
                program.entry_tier.key,
                rolling=program.tier_basis == "rolling_12m",
                after=after,
                limit=CHUNK,
            )
            if not due:
                return reviewed
            for customer_id in due:
                account = await uow.points.lock_account(customer_id, program.entry_tier, now)
                ledger = await uow.points.ledger(customer_id)
                await settle_account(uow, program, account, ledger, now, None)
            await uow.commit()
        reviewed += len(due)
        after = due[-1]


async def run_daily_jobs(
    new_uow: Callable[[], LoyaltyJobsUnitOfWork], now: datetime
) -> DailyResult:
    customers, points = await expire_due_points(new_uow, now)
    reviewed = await review_tiers(new_uow, now)
    credit_lots = await expire_due_credit(new_uow(), now)
    return DailyResult(customers, points, reviewed, credit_lots)
