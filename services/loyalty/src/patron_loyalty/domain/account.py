"""A customer's loyalty account: card, points balance and tier standing (the ledger's
entries and lots are in `ledger`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from patron_loyalty.domain.program import Program
from patron_loyalty.domain.tiers import TierStanding


@dataclass
class LoyaltyAccount:
    customer_id: uuid.UUID
    card_number: str
    # always the ledger's balance: updated in the transaction that writes its entries
    balance: int
    standing: TierStanding
    created_at: datetime


@dataclass(frozen=True)
class CardRead:
    account: LoyaltyAccount
    member_since: datetime | None
    points_expiring: int
    points_held: int
    # None: the tenant runs the default program
    program: Program | None
