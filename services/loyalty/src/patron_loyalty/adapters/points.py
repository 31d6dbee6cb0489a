"""Points persistence: programs, accounts, entries, lots and orders (tenant-scoped)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from patron_loyalty.adapters.tables import (
    loyalty_programs,
    points_accounts,
    points_entries,
    points_lots,
    points_merges,
    points_orders,
    points_redemptions,
)
from patron_loyalty.domain.account import LoyaltyAccount
from patron_loyalty.domain.earning import OrderPoints
from patron_loyalty.domain.ledger import Entry, Lot, LotMove, PointsAccount
from patron_loyalty.domain.program import Program, Tier
from patron_loyalty.domain.redemption import Redemption
from patron_loyalty.domain.tiers import TierStanding
from patron_loyalty.service.ports import HistoryPage
from patron_shared.db import is_one_of, json_recordset
from patron_shared.orders import OrderState, Refund

_CARD_ATTEMPTS = 5
# what an order's row holds besides its key
_ORDER_COLUMNS = (
    "customer_id",
    "state",
    "earn_rate",
    "earned",
    "reversed",
    "unrecovered",
    "origin_customer_id",
)
ERASED = "[erased]"


class SqlPointsRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    # ------------------------------------------------------------------ program

    async def program(self) -> Program | None:
        stored = await self._session.scalar(
            select(loyalty_programs.c.program).where(
                loyalty_programs.c.tenant_id == self._tenant_id
            )
        )
        return None if stored is None else program_from_json(stored)

    async def save_program(self, program: Program, actor: str) -> None:
        values = {"program": program_to_json(program), "updated_by": actor}
        insert = pg_insert(loyalty_programs).values(tenant_id=self._tenant_id, **values)
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id"], set_=values | {"updated_at": func.now()}
            )
        )

    # ------------------------------------------------------------------ accounts

    async def account(self, customer_id: uuid.UUID) -> LoyaltyAccount | None:
        row = (
            await self._session.execute(
                select(points_accounts).where(
                    points_accounts.c.tenant_id == self._tenant_id,
                    points_accounts.c.customer_id == customer_id,
                )
            )
        ).first()
        return None if row is None else _to_account(row)

    async def lock_account(
        self, customer_id: uuid.UUID, entry_tier: Tier, now: datetime
    ) -> LoyaltyAccount:
        """The customer's account, locked for this transaction (opened on first use, with a
        new card number and the entry tier): every change of one customer's points
        serializes here."""
        return (await self.lock_accounts([customer_id], entry_tier, now))[customer_id]

    async def lock_accounts(
        self, customer_ids: Sequence[uuid.UUID], entry_tier: Tier, now: datetime
    ) -> dict[uuid.UUID, LoyaltyAccount]:
        """`lock_account` for many customers: two statements, locks taken in customer-id
        order (so two transactions locking overlapping sets cannot deadlock)."""
        accounts = points_accounts.c
        wanted = sorted(set(customer_ids))
        locked: dict[uuid.UUID, LoyaltyAccount] = {}
        for _ in range(_CARD_ATTEMPTS):
            missing = [c for c in wanted if c not in locked]
            if not missing:
                return locked
            columns = ["tenant_id", "customer_id", "card_number", "tier", "tier_since"]
            rows = json_recordset(
                points_accounts,
                [
                    {
                        "tenant_id": self._tenant_id,
                        "customer_id": customer_id,
                        "card_number": new_card_number(),
                        "tier": entry_tier.key,
                        "tier_since": now,
                    }
                    for customer_id in missing
                ],
                columns,
            )
            # a taken card number skips the row too: it is opened again with another
            await self._session.execute(
                pg_insert(points_accounts)
                .from_select(columns, select(*(rows.c[name] for name in columns)))
                .on_conflict_do_nothing()
            )
            found = await self._session.execute(
                select(points_accounts)
                .where(
                    accounts.tenant_id == self._tenant_id, is_one_of(accounts.customer_id, missing)
                )
                .order_by(accounts.customer_id)
                .with_for_update()
            )
            locked |= {row.customer_id: _to_account(row) for row in found}
        raise RuntimeError("could not issue a unique card number")

    async def save_account(self, account: LoyaltyAccount) -> None:
        await self.save_accounts([account])

    async def save_accounts(self, accounts: Sequence[LoyaltyAccount]) -> None:
        """Balances and tier standings, one statement for all."""
        if not accounts:
            return
        columns = ["customer_id", "balance", "tier", "tier_since", "downgrade_due_at"]
        rows = json_recordset(
            points_accounts,
            [
                {
                    "customer_id": account.customer_id,
                    "balance": account.balance,
                    "tier": account.standing.tier,
                    "tier_since": account.standing.since,
                    "downgrade_due_at": account.standing.downgrade_due_at,
                }
                for account in accounts
            ],
            columns,
        )
        await self._session.execute(
            update(points_accounts)
            .where(
                points_accounts.c.tenant_id == self._tenant_id,
                points_accounts.c.customer_id == rows.c.customer_id,
            )
            .values({name: rows.c[name] for name in columns[1:]} | {"updated_at": func.now()})
        )

    async def ledger(self, customer_id: uuid.UUID) -> PointsAccount:
        """The customer's open lots (call with the account locked)."""
        return (await self.ledgers([customer_id]))[customer_id]

    async def ledgers(self, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PointsAccount]:
        """Each customer's open lots, one statement for all (call with the accounts locked)."""
        lots = points_lots.c
        rows = await self._session.execute(
            select(points_lots)
            .where(
                lots.tenant_id == self._tenant_id,
                is_one_of(lots.customer_id, set(customer_ids)),
                lots.remaining > 0,
            )
            .order_by(lots.earned_at, lots.lot_id)
        )
        found = {customer_id: PointsAccount(customer_id, []) for customer_id in customer_ids}
        for row in rows:
            found[row.customer_id].lots.append(_to_lot(row))
        return found

    async def save_ledger(self, account: PointsAccount) -> None:
        await self.save_ledgers([account])

    async def save_ledgers(self, accounts: Sequence[PointsAccount]) -> None:
        """What the accounts' operations made (new lots, changed lots, new entries), three
        statements at most for all of them."""
        new_lots = [lot for account in accounts for lot in account.new_lots]
        new_ids = {lot.lot_id for lot in new_lots}
        touched = {
            lot.lot_id: lot
            for account in accounts
            for lot in account.touched_lots.values()
            if lot.lot_id not in new_ids
        }
        entries = [entry for account in accounts for entry in account.new_entries]
        if new_lots:
            await self._insert_rows(points_lots, [self._lot_values(lot) for lot in new_lots])
        if touched:
            columns = ["lot_id", "remaining", "customer_id", "origin_customer_id"]
            rows = json_recordset(
                points_lots, [self._lot_values(lot) for lot in touched.values()], columns
            )
            await self._session.execute(
                update(points_lots)
                .where(
                    points_lots.c.tenant_id == self._tenant_id,
                    points_lots.c.lot_id == rows.c.lot_id,
                )
                .values({name: rows.c[name] for name in columns[1:]})
            )
        if entries:
            await self._insert_rows(points_entries, [self._entry_values(e) for e in entries])
        for account in accounts:
            account.new_lots.clear()
            account.touched_lots.clear()
            account.new_entries.clear()

    async def _insert_rows(self, table: Table, values: list[dict[str, Any]]) -> None:
        columns = list(values[0])
        rows = json_recordset(table, values, columns)
        await self._session.execute(
            table.insert().from_select(columns, select(*(rows.c[name] for name in columns)))
        )

    def _lot_values(self, lot: Lot) -> dict[str, Any]:
        return {
            "lot_id": lot.lot_id,
            "tenant_id": self._tenant_id,
            "customer_id": lot.customer_id,
            "points": lot.points,
            "remaining": lot.remaining,
            "earned_at": lot.earned_at,
            "expires_at": lot.expires_at,
            "order_id": lot.order_id,
            "origin_customer_id": lot.origin_customer_id,
        }

    def _entry_values(self, entry: Entry) -> dict[str, Any]:
        return {
            "entry_id": entry.entry_id,
            "tenant_id": self._tenant_id,
            "customer_id": entry.customer_id,
            "kind": entry.kind,
            "points": entry.points,
            "balance_after": entry.balance_after,
            "reason": entry.reason,
            "actor": entry.actor,
            "source_type": entry.source_type,
            "source_id": entry.source_id,
            "lot_moves": [{"lot_id": str(m.lot_id), "points": m.points} for m in entry.moves],
            "occurred_at": entry.occurred_at,
        }

    async def qualifying_points(self, customer_id: uuid.UUID, since: datetime | None) -> int:
        """Points earned on orders less their reversals (since `since`, or ever), by the
        customer and by every customer merged into it."""
        return (await self.qualifying_points_of([customer_id], since))[customer_id]

    async def qualifying_points_of(
        self, customer_ids: Sequence[uuid.UUID], since: datetime | None
    ) -> dict[uuid.UUID, int]:
        """`qualifying_points` for many customers, in two statements."""
        owner = {customer_id: customer_id for customer_id in customer_ids}
        for survivor, merged in await self._absorbed_of(customer_ids):
            owner[merged] = survivor
        entries = points_entries.c
        query = (
            select(entries.customer_id, func.sum(entries.points))
            .where(
                entries.tenant_id == self._tenant_id,
                is_one_of(entries.customer_id, owner),
                entries.source_type == "order",
            )
            .group_by(entries.customer_id)
        )
        if since is not None:
            query = query.where(entries.occurred_at >= since)
        totals = dict.fromkeys(customer_ids, 0)
        for customer_id, points in await self._session.execute(query):
            totals[owner[customer_id]] += int(points or 0)
        return totals

    async def _absorbed_of(
        self, survivors: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(survivor, customer merged into it, directly or through others) pairs."""
        merges = points_merges.c
        seed = (
            select(merges.survivor_id.label("root"), merges.merged_customer_id)
            .where(
                merges.tenant_id == self._tenant_id,
                is_one_of(merges.survivor_id, survivors),
                merges.unmerged_at.is_(None),
            )
            .cte("absorbed", recursive=True)
        )
        deeper = select(seed.c.root, merges.merged_customer_id).where(
            merges.tenant_id == self._tenant_id,
            merges.unmerged_at.is_(None),
            merges.survivor_id == seed.c.merged_customer_id,
        )
        tree = seed.union(deeper)
        rows = await self._session.execute(select(tree.c.root, tree.c.merged_customer_id))
        return [(root, merged) for root, merged in rows]

    async def history(
        self, customer_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> HistoryPage:
        """Entries newest first, `limit` at a time after a (occurred_at, entry_id) cursor."""
        entries = points_entries.c
        query = select(points_entries).where(
            entries.tenant_id == self._tenant_id, entries.customer_id == customer_id
        )
        if after is not None:
            at, entry_id = after
            query = query.where(
                or_(
                    entries.occurred_at < at,
                    and_(entries.occurred_at == at, entries.entry_id < entry_id),
                )
            )
        rows = (
            await self._session.execute(
                query.order_by(entries.occurred_at.desc(), entries.entry_id.desc()).limit(limit + 1)
            )
        ).all()
        return HistoryPage([_to_entry(row) for row in rows[:limit]], has_more=len(rows) > limit)

    # ------------------------------------------------------------------ merges

    async def record_merge(self, merged: uuid.UUID, survivor: uuid.UUID, at: datetime) -> None:
        values = {"survivor_id": survivor, "merged_at": at, "unmerged_at": None}
        insert = pg_insert(points_merges).values(
            tenant_id=self._tenant_id, merged_customer_id=merged, **values
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "merged_customer_id"], set_=values
            )
        )

    async def record_unmerge(self, merged: uuid.UUID, at: datetime) -> None:
        await self._session.execute(
            update(points_merges)
            .where(
                points_merges.c.tenant_id == self._tenant_id,
                points_merges.c.merged_customer_id == merged,
            )
            .values(unmerged_at=at)
        )

    async def survivors_of(self, customer_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """For each of these customers merged away, the customer it lives on in (following
        chains of merges); customers not merged away are left out."""
        found: dict[uuid.UUID, uuid.UUID] = {}
        pending = set(customer_ids)
        for _ in range(32):  # a chain longer than this would be a cycle
            if not pending:
                break
            rows = await self._session.execute(
                select(points_merges.c.merged_customer_id, points_merges.c.survivor_id).where(
                    points_merges.c.tenant_id == self._tenant_id,
                    points_merges.c.unmerged_at.is_(None),
                    is_one_of(points_merges.c.merged_customer_id, pending),
                )
            )
            step = {merged: survivor for merged, survivor in rows}
            for start in list(customer_ids):
                current = found.get(start, start)
                if current in step:
                    found[start] = step[current]
            pending = set(step.values())
        return found

    async def move_orders(self, source: uuid.UUID, to: uuid.UUID) -> None:
        """The source's orders become `to`'s, remembering whose they were."""
        await self._session.execute(
            update(points_orders)
            .where(
                points_orders.c.tenant_id == self._tenant_id, points_orders.c.customer_id == source
            )
            .values(customer_id=to, origin_customer_id=source, updated_at=func.now())
        )

    async def move_orders_back(self, origin: uuid.UUID, holder: uuid.UUID) -> None:
        await self._session.execute(
            update(points_orders)
            .where(
                points_orders.c.tenant_id == self._tenant_id,
                points_orders.c.customer_id == holder,
                points_orders.c.origin_customer_id == origin,
            )
            .values(customer_id=origin, origin_customer_id=None, updated_at=func.now())
        )

    async def cancel_holds(self, customer_id: uuid.UUID, at: datetime) -> int:
        r = points_redemptions.c
        result = await self._session.execute(
            update(points_redemptions)
            .where(r.tenant_id == self._tenant_id, r.customer_id == customer_id, r.status == "held")
            .values(status="cancelled", settled_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def erase_personal_references(self, customer_id: uuid.UUID) -> None:
        """What could name the person goes; amounts stay for accounting. Operators' free-text
        reasons may quote the customer; the card number identifies them at a till."""
        e = points_entries.c
        await self._session.execute(
            update(points_entries)
            .where(
                e.tenant_id == self._tenant_id,
                e.customer_id == customer_id,
                e.source_type == "admin",
            )
            .values(reason=ERASED)
        )
        await self._session.execute(
            update(points_accounts)
            .where(
                points_accounts.c.tenant_id == self._tenant_id,
                points_accounts.c.customer_id == customer_id,
            )
            .values(card_number="erased-" + uuid.uuid4().hex[:24], updated_at=func.now())
        )

    # ------------------------------------------------------------------ daily jobs

    async def customers_with_expired_lots(self, now: datetime, limit: int) -> list[uuid.UUID]:
        lots = points_lots.c
        rows = await self._session.execute(
            select(lots.customer_id)
            .where(
                lots.tenant_id == self._tenant_id,
                lots.remaining > 0,
                lots.expires_at <= now,
            )
            .group_by(lots.customer_id)
            .order_by(lots.customer_id)
            .limit(limit)
        )
        return [customer_id for (customer_id,) in rows]

    async def customers_for_tier_review(
        self, now: datetime, entry_tier: str, *, rolling: bool, after: uuid.UUID | None, limit: int
    ) -> list[uuid.UUID]:
        """Customers whose tier time alone can change: a downgrade grace period that ended,
        and with a rolling window every customer above the entry tier (`after`: keyset)."""
        accounts = points_accounts.c
        due = and_(accounts.downgrade_due_at.is_not(None), accounts.downgrade_due_at <= now)
        condition = or_(due, accounts.tier != entry_tier) if rolling else due
        query = select(accounts.customer_id).where(accounts.tenant_id == self._tenant_id, condition)
        if after is not None:
            query = query.where(accounts.customer_id > after)
        rows = await self._session.execute(query.order_by(accounts.customer_id).limit(limit))
        return [customer_id for (customer_id,) in rows]

    # ------------------------------------------------------------------ redemptions

    async def held_points(self, customer_id: uuid.UUID, now: datetime) -> int:
        """Points reserved by the customer's open holds (lapsed ones reserve nothing)."""
        r = points_redemptions.c
        total = await self._session.scalar(
            select(func.coalesce(func.sum(r.points), 0)).where(
                r.tenant_id == self._tenant_id,
                r.customer_id == customer_id,
                r.status == "held",
                or_(r.hold_expires_at.is_(None), r.hold_expires_at > now),
            )
        )
        return int(total or 0)

    async def redemption(
        self, customer_id: uuid.UUID, redemption_id: uuid.UUID
    ) -> Redemption | None:
        return await self._one_redemption(
            customer_id, points_redemptions.c.redemption_id == redemption_id
        )

    async def redemption_by_key(
        self, customer_id: uuid.UUID, idempotency_key: str
    ) -> Redemption | None:
        return await self._one_redemption(
            customer_id, points_redemptions.c.idempotency_key == idempotency_key
        )

    async def _one_redemption(
        self, customer_id: uuid.UUID, which: ColumnElement[bool]
    ) -> Redemption | None:
        r = points_redemptions.c
        row = (
            await self._session.execute(
                select(points_redemptions).where(
                    r.tenant_id == self._tenant_id, r.customer_id == customer_id, which
                )
            )
        ).first()
        return None if row is None else _to_redemption(row)

    async def save_redemption(self, redemption: Redemption) -> None:
        values = {
            "status": redemption.status,
            "code": redemption.code,
            "entry_id": redemption.entry_id,
            "settled_at": redemption.settled_at,
        }
        insert = pg_insert(points_redemptions).values(
            redemption_id=redemption.redemption_id,
            tenant_id=self._tenant_id,
            customer_id=redemption.customer_id,
            points=redemption.points,
            discount=redemption.discount,
            currency=redemption.currency,
            order_id=redemption.order_id,
            hold_expires_at=redemption.hold_expires_at,
            idempotency_key=redemption.idempotency_key,
            created_at=redemption.created_at,
            **values,
        )
        await self._session.execute(
            insert.on_conflict_do_update(index_elements=["redemption_id"], set_=values)
        )

    # ------------------------------------------------------------------ orders

    async def orders(self, order_ids: set[str]) -> dict[str, OrderPoints]:
        """The orders known among these, locked (their account is locked first)."""
        if not order_ids:
            return {}
        rows = (
            await self._session.execute(
                select(points_orders)
                .where(
                    points_orders.c.tenant_id == self._tenant_id,
                    is_one_of(points_orders.c.order_id, order_ids),
                )
                .with_for_update()
            )
        ).all()
        return {row.order_id: _to_order(row) for row in rows}

    async def save_orders(self, orders: Sequence[OrderPoints]) -> None:
        """Insert or update the orders, one statement for all."""
        if not orders:
            return
        columns = ["tenant_id", "order_id", *_ORDER_COLUMNS]
        rows = json_recordset(
            points_orders,
            [
                {
                    "tenant_id": self._tenant_id,
                    "order_id": order.order_id,
                    "customer_id": order.customer_id,
                    "state": state_to_json(order.state),
                    "earn_rate": order.earn_rate,
                    "earned": order.earned,
                    "reversed": order.reversed,
                    "unrecovered": order.unrecovered,
                    "origin_customer_id": order.origin_customer_id,
                }
                for order in orders
            ],
            columns,
        )
        insert = pg_insert(points_orders).from_select(
            columns, select(*(rows.c[name] for name in columns))
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "order_id"],
                set_={name: insert.excluded[name] for name in _ORDER_COLUMNS}
                | {"updated_at": func.now()},
            )
        )


# ---------------------------------------------------------------------------- mapping


async def loyalty_tenants(engine: AsyncEngine) -> list[str]:
    """Every tenant with a points account (through the function migration 0005 made)."""
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT loyalty_tenants()"))
        return sorted(tenant for (tenant,) in rows)


def new_card_number() -> str:
    """16 digits, the last a Luhn check digit (so a mistyped number is caught at the till)."""
    body = "8" + "".join(secrets.choice("0123456789") for _ in range(14))
    return body + _luhn_digit(body)


def _luhn_digit(body: str) -> str:
    total = 0
    for n, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if n % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and _luhn_digit(number[:-1]) == number[-1]


def program_to_json(program: Program) -> dict[str, Any]:
    data = asdict(program)
    data["tiers"] = [
        {**asdict(tier), "earn_rate": str(tier.earn_rate), "benefits": list(tier.benefits)}
        for tier in program.tiers
    ]
    data["exchange_rates"] = {code: str(rate) for code, rate in program.exchange_rates.items()}
    return data


def program_from_json(data: dict[str, Any]) -> Program:
    tiers = tuple(
        Tier(
            key=tier["key"],
            name=tier["name"],
            min_points=int(tier["min_points"]),
            earn_rate=Decimal(str(tier["earn_rate"])),
            benefits=tuple(tier.get("benefits", ())),
        )
        for tier in data["tiers"]
    )
    rates = {code: Decimal(str(rate)) for code, rate in data.get("exchange_rates", {}).items()}
    return Program(**{**data, "tiers": tiers, "exchange_rates": rates})


def state_to_json(state: OrderState) -> dict[str, Any]:
    def as_text(value: object) -> str | None:
        return None if value is None else str(value)

    def moment(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "currency": state.currency,
        "total": as_text(state.total),
        "merchandise": as_text(state.merchandise),
        "placed_at": moment(state.placed_at),
        "placed_event_id": as_text(state.placed_event_id),
        "paid_at": moment(state.paid_at),
        "cancelled_at": moment(state.cancelled_at),
        "refunds": [
            {
                "refund_id": str(r.refund_id),
                "amount": str(r.amount),
                "currency": r.currency,
                "refunded_at": r.refunded_at.isoformat(),
            }
            for r in state.refunds
        ],
    }


def state_from_json(order_id: str, customer_id: uuid.UUID, data: dict[str, Any]) -> OrderState:
    def money(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    def moment(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    return OrderState(
        order_id=order_id,
        customer_id=customer_id,
        currency=data.get("currency"),
        total=money(data.get("total")),
        merchandise=money(data.get("merchandise")),
        placed_at=moment(data.get("placed_at")),
        placed_event_id=uuid.UUID(data["placed_event_id"]) if data.get("placed_event_id") else None,
        paid_at=moment(data.get("paid_at")),
        cancelled_at=moment(data.get("cancelled_at")),
        refunds=tuple(
            Refund(
                refund_id=uuid.UUID(r["refund_id"]),
                amount=Decimal(r["amount"]),
                currency=r["currency"],
                refunded_at=datetime.fromisoformat(r["refunded_at"]),
            )
            for r in data.get("refunds", ())
        ),
    )


def _to_account(row: Row[Any]) -> LoyaltyAccount:
    return LoyaltyAccount(
        customer_id=row.customer_id,
        card_number=row.card_number,
        balance=row.balance,
        standing=TierStanding(row.tier, row.tier_since, row.downgrade_due_at),
        created_at=row.created_at,
    )


def _to_lot(row: Row[Any]) -> Lot:
    return Lot(
        lot_id=row.lot_id,
        customer_id=row.customer_id,
        points=row.points,
        remaining=row.remaining,
        earned_at=row.earned_at,
        expires_at=row.expires_at,
        order_id=row.order_id,
        origin_customer_id=row.origin_customer_id,
    )


def _to_entry(row: Row[Any]) -> Entry:
    return Entry(
        entry_id=row.entry_id,
        customer_id=row.customer_id,
        kind=row.kind,
        points=row.points,
        balance_after=row.balance_after,
        reason=row.reason,
        occurred_at=row.occurred_at,
        source_type=row.source_type,
        source_id=row.source_id,
        actor=row.actor,
        moves=tuple(LotMove(uuid.UUID(m["lot_id"]), int(m["points"])) for m in row.lot_moves),
    )


def _to_redemption(row: Row[Any]) -> Redemption:
    return Redemption(
        redemption_id=row.redemption_id,
        customer_id=row.customer_id,
        points=row.points,
        discount=row.discount,
        currency=row.currency,
        status=row.status,
        created_at=row.created_at,
        code=row.code,
        order_id=row.order_id,
        hold_expires_at=row.hold_expires_at,
        entry_id=row.entry_id,
        idempotency_key=row.idempotency_key,
        settled_at=row.settled_at,
    )


def _to_order(row: Row[Any]) -> OrderPoints:
    return OrderPoints(
        order_id=row.order_id,
        customer_id=row.customer_id,
        state=state_from_json(row.order_id, row.customer_id, row.state),
        earn_rate=row.earn_rate,
        earned=row.earned,
        reversed=row.reversed,
        unrecovered=row.unrecovered,
        origin_customer_id=row.origin_customer_id,
    )
