"""Store-credit persistence: accounts locked per change, lots, the ledger, answered requests.

Every change to an account's lots happens with the account row locked (`FOR UPDATE`), so
one customer's applies run one at a time and never spend the same credit twice. Accounts
are always locked in (customer, currency) order, so changes touching several (a merge)
never wait on each other in a circle.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_loyalty.adapters.credit_tables import (
    credit_accounts,
    credit_entries,
    credit_lots,
    credit_requests,
)
from patron_loyalty.domain.credit import (
    AccountKey,
    AnsweredRequest,
    CreditAccount,
    CreditEntry,
    CreditLot,
    RequestKeyType,
)


class LedgerInconsistent(RuntimeError):
    """An account row whose balance is not the sum of its open lots: never written by this
    code; refuse to build on it."""


class SqlCreditRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def lock_accounts(self, keys: Collection[AccountKey]) -> dict[AccountKey, CreditAccount]:
        """The accounts of `keys` (opened, empty, when new), locked until the transaction
        ends, with their open lots."""
        ordered = sorted(set(keys))
        if not ordered:
            return {}
        await self._session.execute(
            pg_insert(credit_accounts)
            .values(
                [
                    {"tenant_id": self._tenant_id, "customer_id": customer, "currency": currency}
                    for customer, currency in ordered
                ]
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "customer_id", "currency"])
        )
        # ORDER BY before FOR UPDATE: rows are locked in that order.
        locked = await self._session.execute(
            select(
                credit_accounts.c.customer_id, credit_accounts.c.currency, credit_accounts.c.balance
            )
            .where(
                credit_accounts.c.tenant_id == self._tenant_id,
                tuple_(credit_accounts.c.customer_id, credit_accounts.c.currency).in_(ordered),
            )
            .order_by(credit_accounts.c.customer_id, credit_accounts.c.currency)
            .with_for_update()
        )
        balances = {(row.customer_id, row.currency): row.balance for row in locked}
        lots = await self._session.execute(
            select(credit_lots)
            .where(
                credit_lots.c.tenant_id == self._tenant_id,
                credit_lots.c.remaining > 0,
                tuple_(credit_lots.c.customer_id, credit_lots.c.currency).in_(ordered),
            )
            .order_by(credit_lots.c.issued_at, credit_lots.c.id)
        )
        accounts = {key: CreditAccount(customer_id=key[0], currency=key[1]) for key in ordered}
        for row in lots:
            accounts[(row.customer_id, row.currency)].lots.append(_to_lot(row))
        for key, account in accounts.items():
            if account.balance != balances[key]:
                raise LedgerInconsistent(f"credit account {key} does not match its lots")
        return accounts

    async def account_keys(self, customer_ids: Collection[uuid.UUID]) -> set[AccountKey]:
        rows = await self._session.execute(
            select(credit_accounts.c.customer_id, credit_accounts.c.currency).where(
                credit_accounts.c.tenant_id == self._tenant_id,
                credit_accounts.c.customer_id.in_(list(customer_ids)),
            )
        )
        return {(row.customer_id, row.currency) for row in rows}

    async def holders_of_lots_from(self, origin_customer_id: uuid.UUID) -> set[AccountKey]:
        """The accounts holding open lots issued to `origin_customer_id` and moved away."""
        rows = await self._session.execute(
            select(credit_lots.c.customer_id, credit_lots.c.currency)
            .distinct()
            .where(
                credit_lots.c.tenant_id == self._tenant_id,
                credit_lots.c.origin_customer_id == origin_customer_id,
                credit_lots.c.customer_id != origin_customer_id,
                credit_lots.c.remaining > 0,
            )
        )
        return {(row.customer_id, row.currency) for row in rows}

    async def accounts_with_due_lots(
        self, now: datetime, customer_id: uuid.UUID | None = None
    ) -> set[AccountKey]:
        query = (
            select(credit_lots.c.customer_id, credit_lots.c.currency)
            .distinct()
            .where(
                credit_lots.c.tenant_id == self._tenant_id,
                credit_lots.c.remaining > 0,
                credit_lots.c.expires_at <= now,
            )
        )
        if customer_id is not None:
            query = query.where(credit_lots.c.customer_id == customer_id)
        return {(row.customer_id, row.currency) for row in await self._session.execute(query)}

    async def balances(self, customer_id: uuid.UUID) -> dict[str, Decimal]:
        rows = await self._session.execute(
            select(credit_accounts.c.currency, credit_accounts.c.balance)
            .where(
                credit_accounts.c.tenant_id == self._tenant_id,
                credit_accounts.c.customer_id == customer_id,
            )
            .order_by(credit_accounts.c.currency)
        )
        return {row.currency: row.balance for row in rows}

    async def save(self, account: CreditAccount) -> None:
        """Write what changed: the account's balance, its lots, its new entries."""
        await self._session.execute(
            update(credit_accounts)
            .where(
                credit_accounts.c.tenant_id == self._tenant_id,
                credit_accounts.c.customer_id == account.customer_id,
                credit_accounts.c.currency == account.currency,
            )
            .values(balance=account.balance, updated_at=func.now())
        )
        if account.changed_lots:
            insert = pg_insert(credit_lots)
            await self._session.execute(
                insert.on_conflict_do_update(
                    index_elements=["id"],
                    set_={
                        "customer_id": insert.excluded.customer_id,
                        "remaining": insert.excluded.remaining,
                        "updated_at": func.now(),
                    },
                ),
                [_lot_row(self._tenant_id, account, lot) for lot in account.changed_lots.values()],
            )
        if account.new_entries:
            await self._session.execute(
                pg_insert(credit_entries),
                [_entry_row(self._tenant_id, entry) for entry in account.new_entries],
            )
        account.changed_lots = {}
        account.new_entries = []

    async def entry(self, entry_id: uuid.UUID) -> CreditEntry | None:
        row = (
            await self._session.execute(
                select(credit_entries).where(
                    credit_entries.c.tenant_id == self._tenant_id, credit_entries.c.id == entry_id
                )
            )
        ).first()
        return None if row is None else _to_entry(row)

    async def entries_page(
        self, customer_id: uuid.UUID, *, currency: str | None, offset: int, limit: int
    ) -> tuple[list[CreditEntry], int]:
        """The customer's entries, newest first, and how many there are in all."""
        where = [
            credit_entries.c.tenant_id == self._tenant_id,
            credit_entries.c.customer_id == customer_id,
        ]
        if currency is not None:
            where.append(credit_entries.c.currency == currency)
        total = await self._session.scalar(
            select(func.count()).select_from(credit_entries).where(*where)
        )
        rows = await self._session.execute(
            select(credit_entries)
            .where(*where)
            .order_by(credit_entries.c.seq.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_to_entry(row) for row in rows], int(total or 0)

    async def erase_personal_data(self, customer_id: uuid.UUID) -> int:
        """Blank the free text and the names in the customer's entries (amounts stay, for
        the accounts); returns how many entries still had some."""
        result = await self._session.execute(
            update(credit_entries)
            .where(
                credit_entries.c.tenant_id == self._tenant_id,
                credit_entries.c.customer_id == customer_id,
                or_(credit_entries.c.reason.is_not(None), credit_entries.c.actor.is_not(None)),
            )
            .values(reason=None, actor=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def answered(self, keys: Sequence[tuple[RequestKeyType, str]]) -> list[AnsweredRequest]:
        if not keys:
            return []
        rows = await self._session.execute(
            select(credit_requests).where(
                credit_requests.c.tenant_id == self._tenant_id,
                or_(
                    *(
                        and_(credit_requests.c.key_type == key_type, credit_requests.c.key == key)
                        for key_type, key in keys
                    )
                ),
            )
        )
        return [
            AnsweredRequest(
                key_type=row.key_type,
                key=row.key,
                customer_id=row.customer_id,
                fingerprint=row.fingerprint,
                entry_id=row.entry_id,
            )
            for row in rows
        ]

    async def remember(self, requests: Sequence[AnsweredRequest]) -> bool:
        """Record answered requests; False when one of their keys was taken meanwhile."""
        if not requests:
            return True
        result = await self._session.execute(
            pg_insert(credit_requests)
            .values(
                [
                    {
                        "tenant_id": self._tenant_id,
                        "key_type": request.key_type,
                        "key": request.key,
                        "customer_id": request.customer_id,
                        "fingerprint": request.fingerprint,
                        "entry_id": request.entry_id,
                    }
                    for request in requests
                ]
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "key_type", "key"])
            .returning(credit_requests.c.key)
        )
        return len(result.all()) == len(requests)


def _lot_row(tenant_id: str, account: CreditAccount, lot: CreditLot) -> dict[str, Any]:
    return {
        "id": lot.id,
        "tenant_id": tenant_id,
        "customer_id": account.customer_id,
        "origin_customer_id": lot.origin_customer_id,
        "currency": lot.currency,
        "kind": lot.kind,
        "amount": lot.amount,
        "remaining": lot.remaining,
        "issued_at": lot.issued_at,
        "expires_at": lot.expires_at,
    }


def _entry_row(tenant_id: str, entry: CreditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "tenant_id": tenant_id,
        "customer_id": entry.customer_id,
        "currency": entry.currency,
        "entry_type": entry.type,
        "amount": entry.amount,
        "balance_after": entry.balance,
        "lot_id": entry.lot_id,
        "kind": entry.kind,
        "reason": entry.reason,
        "actor": entry.actor,
        "order_id": entry.order_id,
        "counterparty_customer_id": entry.counterparty_id,
        "expires_at": entry.expires_at,
        "created_at": entry.created_at,
    }


def _to_lot(row: Row[Any]) -> CreditLot:
    return CreditLot(
        id=row.id,
        origin_customer_id=row.origin_customer_id,
        currency=row.currency,
        kind=row.kind,
        amount=row.amount,
        remaining=row.remaining,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
    )


def _to_entry(row: Row[Any]) -> CreditEntry:
    return CreditEntry(
        id=row.id,
        customer_id=row.customer_id,
        currency=row.currency,
        type=row.entry_type,
        amount=row.amount,
        balance=row.balance_after,
        created_at=row.created_at,
        lot_id=row.lot_id,
        kind=row.kind,
        reason=row.reason,
        actor=row.actor,
        order_id=row.order_id,
        counterparty_id=row.counterparty_customer_id,
        expires_at=row.expires_at,
    )
