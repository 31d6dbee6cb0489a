"""The fidelity card read outside any transaction (a point read, `patron_shared.db.reads`):
the account, the member's enrolment, the points expiring soon, the points held and the
tenant's program, in one statement and one round trip."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select

from patron_loyalty.adapters.points import program_from_json
from patron_loyalty.adapters.tables import (
    loyalty_members,
    loyalty_programs,
    points_accounts,
    points_lots,
    points_redemptions,
)
from patron_loyalty.domain.account import CardRead, LoyaltyAccount
from patron_loyalty.domain.tiers import TierStanding
from patron_shared.db.reads import PointQuery, TenantReads

_accounts, _lots, _holds = points_accounts.c, points_lots.c, points_redemptions.c

_EXPIRING = (
    select(func.coalesce(func.sum(_lots.remaining), 0))
    .where(
        _lots.tenant_id == _accounts.tenant_id,
        _lots.customer_id == _accounts.customer_id,
        _lots.remaining > 0,
        _lots.expires_at <= bindparam("soon"),
    )
    .scalar_subquery()
)
_HELD = (
    select(func.coalesce(func.sum(_holds.points), 0))
    .where(
        _holds.tenant_id == _accounts.tenant_id,
        _holds.customer_id == _accounts.customer_id,
        _holds.status == "held",
        or_(_holds.hold_expires_at.is_(None), _holds.hold_expires_at > bindparam("now")),
    )
    .scalar_subquery()
)
_PROGRAM = (
    select(loyalty_programs.c.program)
    .where(loyalty_programs.c.tenant_id == _accounts.tenant_id)
    .scalar_subquery()
)
_CARD = PointQuery.of(
    select(
        points_accounts,
        loyalty_members.c.member_since,
        _EXPIRING.label("expiring"),
        _HELD.label("held"),
        _PROGRAM.label("program"),
    )
    .select_from(
        points_accounts.outerjoin(
            loyalty_members,
            and_(
                loyalty_members.c.tenant_id == _accounts.tenant_id,
                loyalty_members.c.customer_id == _accounts.customer_id,
            ),
        )
    )
    .where(
        _accounts.tenant_id == bindparam("tenant_id"),
        _accounts.customer_id == bindparam("customer_id"),
    )
)


class SqlCardLookup:
    def __init__(self, reads: TenantReads) -> None:
        self._reads = reads

    async def card(self, customer_id: uuid.UUID, now: datetime, soon: datetime) -> CardRead | None:
        """The card of a customer with an account; None for one without."""
        row = await self._reads.fetch_one(
            _CARD, tenant_id=self._reads.tenant_id, customer_id=customer_id, now=now, soon=soon
        )
        return None if row is None else _card(row)


def _card(row: Any) -> CardRead:
    stored = row["program"]
    return CardRead(
        account=LoyaltyAccount(
            customer_id=row["customer_id"],
            card_number=row["card_number"],
            balance=row["balance"],
            standing=TierStanding(row["tier"], row["tier_since"], row["downgrade_due_at"]),
            created_at=row["created_at"],
        ),
        member_since=row["member_since"],
        points_expiring=int(row["expiring"]),
        points_held=int(row["held"]),
        program=None if stored is None else program_from_json(stored),
    )
