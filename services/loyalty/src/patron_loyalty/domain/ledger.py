"""The points ledger of one customer: append-only entries over lots.

Every point earned is a *lot* (how many, when, when it expires, from which order). Every
entry (earn, redeem, expire, adjust, reverse, merge) says how many points it added or took
and which lots it took them from, so a balance is explainable line by line:

    balance = sum of entries' points = sum of open lots' remaining points >= 0

Taking points (redemption, expiry, deductions, reversals) consumes the oldest lots first;
a reversal of an order's points takes from that order's own lot before the others. The
account never goes negative: a deduction larger than what is available (the balance less
the points held for checkouts) is refused (`InsufficientPoints`); a reversal or an expiry
takes what is there (holds do not shield points from them), and a reversal reports what it
could not take as unrecovered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

EntryKind = Literal["earn", "redeem", "expire", "adjust", "reverse", "merge_in", "merge_out"]
SourceType = Literal["order", "admin", "redemption", "expiry", "merge"]


class InsufficientPoints(Exception):
    def __init__(self, wanted: int, available: int) -> None:
        super().__init__(f"{wanted} points wanted, {available} available")
        self.wanted = wanted
        self.available = available


@dataclass
class Lot:
    lot_id: uuid.UUID
    customer_id: uuid.UUID
    points: int
    remaining: int
    earned_at: datetime
    expires_at: datetime | None
    # the order it was earned on (None for adjustments and the like)
    order_id: str | None = None
    # whose it was before the latest merge moved it (None: never moved)
    origin_customer_id: uuid.UUID | None = None

    @property
    def fifo_key(self) -> tuple[datetime, uuid.UUID]:
        return (self.earned_at, self.lot_id)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class LotMove:
    """Points an entry put into (positive) or took from (negative) one lot."""

    lot_id: uuid.UUID
    points: int


@dataclass(frozen=True)
class Entry:
    entry_id: uuid.UUID
    customer_id: uuid.UUID
    kind: EntryKind
    points: int  # signed: what the entry did to the balance
    balance_after: int
    reason: str
    occurred_at: datetime
    source_type: SourceType
    source_id: str | None = None
    actor: str | None = None
    moves: tuple[LotMove, ...] = ()


@dataclass
class PointsAccount:
    """A customer's open lots; operations append entries and change lots in memory, and
    the repository writes `new_entries`, `new_lots` and `touched_lots` back."""

    customer_id: uuid.UUID
    lots: list[Lot]
    # points reserved by open checkout holds: not available to take
    held: int = 0
    new_entries: list[Entry] = field(default_factory=list)
    new_lots: list[Lot] = field(default_factory=list)
    touched_lots: dict[uuid.UUID, Lot] = field(default_factory=dict)

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots)

    @property
    def available(self) -> int:
        return max(0, self.balance - self.held)

    def open_lots(self) -> list[Lot]:
        return sorted((lot for lot in self.lots if lot.remaining > 0), key=lambda lot: lot.fifo_key)

    def expiring_by(self, moment: datetime) -> int:
        """Points that will have expired by `moment` unless spent first."""
        return sum(lot.remaining for lot in self.lots if lot.remaining and lot.expired(moment))

    # ------------------------------------------------------------------ adding

    def earn(
        self,
        points: int,
        *,
        at: datetime,
        expires_at: datetime | None,
        reason: str,
        kind: EntryKind = "earn",
        source_type: SourceType = "order",
        source_id: str | None = None,
        actor: str | None = None,
        order_id: str | None = None,
    ) -> Entry:
        """A new lot of `points` and the entry that made it."""
        if points <= 0:
            raise ValueError("earning needs a positive number of points")
        lot = Lot(uuid.uuid4(), self.customer_id, points, points, at, expires_at, order_id)
        self.lots.append(lot)
        self.new_lots.append(lot)
        return self._append(
            kind, points, at, reason, source_type, source_id, actor, (LotMove(lot.lot_id, points),)
        )

    # ------------------------------------------------------------------ taking

    def take(
        self,
        points: int,
        *,
        kind: EntryKind,
        at: datetime,
        reason: str,
        source_type: SourceType,
        source_id: str | None = None,
        actor: str | None = None,
    ) -> Entry:
        """Take exactly `points`, oldest lots first; `InsufficientPoints` if fewer are
        available."""
        if points <= 0:
            raise ValueError("taking needs a positive number of points")
        available = self.available
        if points > available:
            raise InsufficientPoints(points, available)
        moves = self._consume(points, self.open_lots())
        return self._append(kind, -points, at, reason, source_type, source_id, actor, moves)

    def reverse_order(
        self, order_id: str, points: int, *, at: datetime, reason: str
    ) -> tuple[Entry | None, int]:
        """Take back up to `points` earned on an order: its own lot first, then the oldest.
        Returns the entry (None when nothing was left to take) and the points not recovered."""
        if points <= 0:
            raise ValueError("reversing needs a positive number of points")
        ordered = self.open_lots()
        own = [lot for lot in ordered if lot.order_id == order_id]
        others = [lot for lot in ordered if lot.order_id != order_id]
        taken = min(points, self.balance)
        if taken == 0:
            return None, points
        moves = self._consume(taken, own + others)
        entry = self._append("reverse", -taken, at, reason, "order", order_id, None, moves)
        return entry, points - taken

    def expire(self, now: datetime) -> Entry | None:
        """Whatever remains of lots past their expiry, as one entry; None when nothing is due
        (so running it twice changes nothing)."""
        due = [lot for lot in self.open_lots() if lot.expired(now)]
        total = sum(lot.remaining for lot in due)
        if total == 0:
            return None
        moves = self._consume(total, due)
        return self._append("expire", -total, now, "points expired", "expiry", None, None, moves)

    # ------------------------------------------------------------------ merging

    def give_all(self, to: uuid.UUID, *, at: datetime) -> tuple[Entry | None, list[Lot]]:
        """Every open lot moves to customer `to` (a merge), keeping its dates and noting
        whose it was; returns this account's merge_out entry (None when it had nothing)
        and the lots moved."""
        moving = self.open_lots()
        for lot in moving:
            lot.origin_customer_id = self.customer_id
        return self._give(moving, to, at, "merged into another customer")

    def give_back(self, to: uuid.UUID, *, at: datetime) -> tuple[Entry | None, list[Lot]]:
        """The open lots a merge brought from customer `to` go back to it (an unmerge);
        what was spent of them meanwhile stays spent."""
        moving = [lot for lot in self.open_lots() if lot.origin_customer_id == to]
        for lot in moving:
            lot.origin_customer_id = None
        return self._give(moving, to, at, "unmerged: back to their customer")

    def _give(
        self, moving: list[Lot], to: uuid.UUID, at: datetime, reason: str
    ) -> tuple[Entry | None, list[Lot]]:
        total = sum(lot.remaining for lot in moving)
        if total == 0:
            return None, []
        moves = tuple(LotMove(lot.lot_id, -lot.remaining) for lot in moving)
        for lot in moving:
            lot.customer_id = to
            self.touched_lots[lot.lot_id] = lot
        self.lots = [lot for lot in self.lots if lot not in moving]
        entry = self._append("merge_out", -total, at, reason, "merge", str(to), None, moves)
        return entry, moving

    def receive(
        self,
        lots: Iterable[Lot],
        *,
        source: uuid.UUID,
        at: datetime,
        reason: str = "merged from another customer",
    ) -> Entry | None:
        """Lots another account gave (a merge, or an unmerge giving them back)."""
        arriving = [lot for lot in lots if lot.remaining > 0]
        total = sum(lot.remaining for lot in arriving)
        if total == 0:
            return None
        for lot in arriving:
            lot.customer_id = self.customer_id
            self.lots.append(lot)
            self.touched_lots[lot.lot_id] = lot
        moves = tuple(LotMove(lot.lot_id, lot.remaining) for lot in arriving)
        return self._append("merge_in", total, at, reason, "merge", str(source), None, moves)

    # ------------------------------------------------------------------ internals

    def _consume(self, points: int, lots: Iterable[Lot]) -> tuple[LotMove, ...]:
        moves: list[LotMove] = []
        left = points
        for lot in lots:
            if left == 0:
                break
            taken = min(left, lot.remaining)
            if taken == 0:
                continue
            lot.remaining -= taken
            left -= taken
            self.touched_lots[lot.lot_id] = lot
            moves.append(LotMove(lot.lot_id, -taken))
        assert left == 0, "callers take at most what the lots hold"
        return tuple(moves)

    def _append(  # noqa: PLR0917
        self,
        kind: EntryKind,
        points: int,
        at: datetime,
        reason: str,
        source_type: SourceType,
        source_id: str | None,
        actor: str | None,
        moves: tuple[LotMove, ...],
    ) -> Entry:
        entry = Entry(
            entry_id=uuid.uuid4(),
            customer_id=self.customer_id,
            kind=kind,
            points=points,
            balance_after=self.balance,
            reason=reason,
            occurred_at=at,
            source_type=source_type,
            source_id=source_id,
            actor=actor,
            moves=moves,
        )
        self.new_entries.append(entry)
        return entry
