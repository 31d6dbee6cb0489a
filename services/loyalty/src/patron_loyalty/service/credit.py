"""Store-credit use cases: issue, apply, read, expire, and what merges, unmerges and
erasure do to credit. Each is one transaction.

Every change locks the accounts it touches first (in one order), so one customer's applies
run one at a time and never overdraw. An apply (or an issue) with an Idempotency-Key, and an
apply for an order, are remembered: a retry gets the first result and changes nothing.
Expiry happens wherever an account is touched (and on reads), so spent, shown and moved
credit never includes lots past their expiry; `expire_due_credit` sweeps a whole tenant.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from patron_loyalty.domain.credit import (
    MAX_ORDER_ID_LENGTH,
    AccountKey,
    AnsweredRequest,
    CreditEntry,
    CreditGrant,
    CreditKind,
    RequestKeyType,
    check_amount,
    check_currency,
)
from patron_loyalty.service.ports import CreditUnitOfWork
from patron_shared.db import acknowledge_erasure
from patron_shared.errors import Conflict, InvalidInput
from patron_shared.events import (
    CreditApplied,
    CreditIssued,
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
    round_money,
    utcnow,
)

Clock = Callable[[], datetime]
_KEY_FIELDS: dict[RequestKeyType, str] = {
    "idempotency_key": "Idempotency-Key",
    "order_id": "order_id",
}
MAX_IDEMPOTENCY_KEY_LENGTH = 200
# Names store credit in the erasures it acknowledges (`ErasureAcknowledged.service`).
CREDIT_ERASURE_PARTICIPANT = "loyalty.credit"


@dataclass(frozen=True)
class CreditResult:
    """What an issue or an apply wrote (or, `replayed`, had written the first time)."""

    entry: CreditEntry
    replayed: bool = False

    @property
    def balance(self) -> Decimal:
        return self.entry.balance


@dataclass(frozen=True)
class CreditStatement:
    balances: dict[str, Decimal]
    entries: list[CreditEntry]
    total_entries: int


async def issue_credit(
    uow: CreditUnitOfWork,
    customer_id: uuid.UUID,
    *,
    amount: Decimal,
    currency: str,
    reason: str,
    kind: CreditKind = "goodwill",
    expires_at: datetime | None = None,
    actor: str | None = None,
    idempotency_key: str | None = None,
    clock: Clock = utcnow,
) -> CreditResult:
    now = clock()
    grant = CreditGrant.of(
        amount=amount,
        currency=currency,
        kind=kind,
        reason=reason,
        actor=actor,
        expires_at=expires_at,
        now=now,
    )
    keys = _request_keys(idempotency_key, None)
    fingerprint = _fingerprint(
        "issue", customer_id, currency, amount, kind, reason, expires_at and expires_at.isoformat()
    )
    key = (customer_id, grant.currency)
    async with uow:
        account = (await uow.credit.lock_accounts([key]))[key]
        earlier = await _earlier_result(uow, keys, fingerprint)
        if earlier is not None:
            return earlier  # rolled back: nothing changes
        account.expire(now)
        entry = account.issue(grant, now=now)
        await uow.credit.save(account)
        await _remember(uow, keys, customer_id, fingerprint, entry)
        uow.emit(
            CreditIssued(
                customer_id=customer_id,
                credit_entry_id=entry.id,
                amount=round_money(grant.amount, grant.currency),
                currency=grant.currency,
                balance=round_money(entry.balance, grant.currency),
                reason=grant.reason,
                expires_at=grant.expires_at,
                issued_at=now,
            )
        )
        await uow.commit()
    return CreditResult(entry)


async def apply_credit(
    uow: CreditUnitOfWork,
    customer_id: uuid.UUID,
    *,
    amount: Decimal,
    currency: str,
    order_id: str | None = None,
    actor: str | None = None,
    idempotency_key: str | None = None,
    clock: Clock = utcnow,
) -> CreditResult:
    """Spend credit at checkout: the soonest-expiring lots first, all of `amount` or
    nothing (409 naming `amount` beyond the balance)."""
    now = clock()
    check_currency(currency)
    check_amount(amount, currency)
    if order_id is not None:
        order_id = order_id.strip()
        if not 0 < len(order_id) <= MAX_ORDER_ID_LENGTH:
            raise InvalidInput("order_id", f"must be 1 to {MAX_ORDER_ID_LENGTH} characters")
    keys = _request_keys(idempotency_key, order_id)
    fingerprint = _fingerprint("apply", customer_id, currency, amount, order_id)
    key = (customer_id, currency)
    async with uow:
        account = (await uow.credit.lock_accounts([key]))[key]
        earlier = await _earlier_result(uow, keys, fingerprint)
        if earlier is not None:
            return earlier
        entry = account.apply(amount, now=now, order_id=order_id, actor=actor)
        await uow.credit.save(account)
        await _remember(uow, keys, customer_id, fingerprint, entry)
        uow.emit(
            CreditApplied(
                customer_id=customer_id,
                amount=round_money(amount, currency),
                currency=currency,
                balance=round_money(entry.balance, currency),
                order_id=order_id,
                applied_at=now,
            )
        )
        await uow.commit()
    return CreditResult(entry)


async def get_credit(
    uow: CreditUnitOfWork,
    customer_id: uuid.UUID,
    *,
    currency: str | None = None,
    offset: int = 0,
    limit: int = 20,
    clock: Clock = utcnow,
) -> CreditStatement:
    """The customer's balance per currency and its entries, newest first. Lots past their
    expiry are expired first, so a balance shown is one that can be spent."""
    if currency is not None:
        check_currency(currency)
    now = clock()
    async with uow:
        due = await uow.credit.accounts_with_due_lots(now, customer_id)
        expired = await _expire(uow, due, now)
        balances = await uow.credit.balances(customer_id)
        entries, total = await uow.credit.entries_page(
            customer_id, currency=currency, offset=offset, limit=limit
        )
        if expired:
            await uow.commit()
    return CreditStatement(balances=balances, entries=entries, total_entries=total)


async def expire_due_credit(uow: CreditUnitOfWork, now: datetime) -> int:
    """Expire what remains of every lot of the tenant past its expiry; returns how many
    lots expired (0 when run again)."""
    async with uow:
        expired = await _expire(uow, await uow.credit.accounts_with_due_lots(now), now)
        await uow.commit()
    return expired


async def merge_credit(
    uow: CreditUnitOfWork, event: CustomersMerged, *, clock: Clock = utcnow
) -> None:
    """The merged customer's open lots go to the survivor, each keeping its expiry."""
    survivor, merged = event.customer_id, event.merged_customer_id
    async with uow:
        if survivor != merged:
            currencies = {currency for _, currency in await uow.credit.account_keys([merged])}
            accounts = await uow.credit.lock_accounts(
                [(customer, currency) for customer in (survivor, merged) for currency in currencies]
            )
            now = clock()
            for currency in sorted(currencies):
                accounts[(merged, currency)].move_lots_to(
                    accounts[(survivor, currency)], now=now, actor=event.merged_by
                )
            for account in accounts.values():
                await uow.credit.save(account)
        await uow.commit()


async def unmerge_credit(
    uow: CreditUnitOfWork, event: CustomersUnmerged, *, clock: Clock = utcnow
) -> None:
    """The lots issued to the restored customer that a merge took, and that still hold
    something, go back to it; what was spent meanwhile stays spent."""
    restored = event.restored_customer_id
    async with uow:
        holders = await uow.credit.holders_of_lots_from(restored)
        accounts = await uow.credit.lock_accounts(
            holders | {(restored, currency) for _, currency in holders}
        )
        now = clock()
        for holder, currency in sorted(holders):
            accounts[(holder, currency)].move_lots_to(
                accounts[(restored, currency)],
                now=now,
                which=lambda lot: lot.origin_customer_id == restored,
                actor=event.unmerged_by,
            )
        for account in accounts.values():
            await uow.credit.save(account)
        await uow.commit()


async def erase_credit(uow: CreditUnitOfWork, event: CustomerErased) -> None:
    """The customer's entries lose their free text and the names in them; the amounts
    stay, as the accounts need them."""
    async with uow:
        await uow.credit.erase_personal_data(event.customer_id)
        await acknowledge_erasure(uow, event, service=CREDIT_ERASURE_PARTICIPANT)
        await uow.commit()


async def _expire(uow: CreditUnitOfWork, keys: Collection[AccountKey], now: datetime) -> int:
    expired = 0
    for account in (await uow.credit.lock_accounts(keys)).values():
        expired += len(account.expire(now))
        await uow.credit.save(account)
    return expired


def _request_keys(
    idempotency_key: str | None, order_id: str | None
) -> list[tuple[RequestKeyType, str]]:
    keys: list[tuple[RequestKeyType, str]] = []
    if idempotency_key is not None:
        if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidInput(
                "Idempotency-Key",
                f"must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
                location="header",
            )
        keys.append(("idempotency_key", idempotency_key))
    if order_id is not None:
        keys.append(("order_id", order_id))
    return keys


def _fingerprint(operation: str, customer_id: uuid.UUID, *parts: object) -> str:
    """What a request asks for, as a digest: a retry must ask the same. Hashed, so free
    text (a reason) is not kept here after an erasure blanks it in the ledger."""
    canonical = [operation, str(customer_id)]
    for part in parts:
        canonical.append(format(part.normalize(), "f") if isinstance(part, Decimal) else str(part))
    return hashlib.sha256("\x1f".join(canonical).encode()).hexdigest()


async def _earlier_result(
    uow: CreditUnitOfWork, keys: Iterable[tuple[RequestKeyType, str]], fingerprint: str
) -> CreditResult | None:
    """The result of the request these keys were first used with, if any; 409 naming the
    key when that request asked for something else."""
    keys = list(keys)
    if not keys:
        return None
    for answered in await uow.credit.answered(keys):
        if answered.fingerprint != fingerprint:
            name = _KEY_FIELDS[answered.key_type]
            raise Conflict(
                f"{name}: {answered.key!r} was already used for a different request",
                field=name,
            )
        entry = await uow.credit.entry(answered.entry_id)
        if entry is not None:
            return CreditResult(entry, replayed=True)
    return None


async def _remember(
    uow: CreditUnitOfWork,
    keys: Iterable[tuple[RequestKeyType, str]],
    customer_id: uuid.UUID,
    fingerprint: str,
    entry: CreditEntry,
) -> None:
    requests = [
        AnsweredRequest(key_type, key, customer_id, fingerprint, entry.id) for key_type, key in keys
    ]
    if not await uow.credit.remember(requests):
        # Another customer's request took the key between our check and now; this one
        # rolls back and a retry answers with that request's result (or a 409).
        name = _KEY_FIELDS[requests[0].key_type]
        raise Conflict(f"{name}: used by a concurrent request; retry", field=name)
