"""Store credit: the ledger's rules and its use cases on in-memory fakes, by example and
as properties over random runs of issues, applies, expiries, merges and unmerges."""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_loyalty.domain.credit import (
    AccountKey,
    AnsweredRequest,
    CreditAccount,
    CreditEntry,
    CreditGrant,
    CreditLot,
    InsufficientCredit,
    RequestKeyType,
    balances_agree,
)
from patron_loyalty.service.credit import (
    CreditResult,
    apply_credit,
    erase_credit,
    expire_due_credit,
    get_credit,
    issue_credit,
    merge_credit,
    unmerge_credit,
)
from patron_shared.errors import Conflict, InvalidInput
from patron_shared.events import (
    CreditApplied,
    CreditIssued,
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
)
from patron_shared.testing import run_without_io

from .fakes import FakeLoyaltyUnitOfWork

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ANN = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
BOB = uuid.UUID("00000000-0000-4000-8000-0000000000b2")
CAT = uuid.UUID("00000000-0000-4000-8000-0000000000c3")


# ---------------------------------------------------------------------------- fakes


@dataclass
class FakeCreditRepository:
    """The credit tables in memory: who holds each lot, the ledger, answered requests."""

    accounts: dict[AccountKey, Decimal] = field(default_factory=dict)
    lots: dict[uuid.UUID, tuple[uuid.UUID, CreditLot]] = field(default_factory=dict)
    entries: list[CreditEntry] = field(default_factory=list)
    requests: dict[tuple[RequestKeyType, str], AnsweredRequest] = field(default_factory=dict)

    async def lock_accounts(self, keys: Collection[AccountKey]) -> dict[AccountKey, CreditAccount]:
        accounts = {}
        for key in sorted(set(keys)):
            self.accounts.setdefault(key, Decimal(0))
            account = CreditAccount(customer_id=key[0], currency=key[1])
            account.lots = [
                copy.deepcopy(lot)
                for holder, lot in self.lots.values()
                if (holder, lot.currency) == key and lot.remaining > 0
            ]
            assert account.balance == self.accounts[key]
            accounts[key] = account
        return accounts

    async def account_keys(self, customer_ids: Collection[uuid.UUID]) -> set[AccountKey]:
        return {key for key in self.accounts if key[0] in customer_ids}

    async def holders_of_lots_from(self, origin_customer_id: uuid.UUID) -> set[AccountKey]:
        return {
            (holder, lot.currency)
            for holder, lot in self.lots.values()
            if lot.origin_customer_id == origin_customer_id
            and holder != origin_customer_id
            and lot.remaining > 0
        }

    async def accounts_with_due_lots(
        self, now: datetime, customer_id: uuid.UUID | None = None
    ) -> set[AccountKey]:
        return {
            (holder, lot.currency)
            for holder, lot in self.lots.values()
            if lot.is_due(now) and customer_id in (None, holder)
        }

    async def balances(self, customer_id: uuid.UUID) -> dict[str, Decimal]:
        return {currency: b for (c, currency), b in self.accounts.items() if c == customer_id}

    async def save(self, account: CreditAccount) -> None:
        self.accounts[(account.customer_id, account.currency)] = account.balance
        for lot in account.changed_lots.values():
            self.lots[lot.id] = (account.customer_id, copy.deepcopy(lot))
        self.entries.extend(account.new_entries)
        account.changed_lots, account.new_entries = {}, []

    async def entry(self, entry_id: uuid.UUID) -> CreditEntry | None:
        return next((entry for entry in self.entries if entry.id == entry_id), None)

    async def entries_page(
        self, customer_id: uuid.UUID, *, currency: str | None, offset: int, limit: int
    ) -> tuple[list[CreditEntry], int]:
        mine = [
            entry
            for entry in reversed(self.entries)
            if entry.customer_id == customer_id and currency in (None, entry.currency)
        ]
        return mine[offset : offset + limit], len(mine)

    async def erase_personal_data(self, customer_id: uuid.UUID) -> int:
        erased = [e for e in self.entries if e.customer_id == customer_id and (e.reason or e.actor)]
        self.entries = [e.erased() if e.customer_id == customer_id else e for e in self.entries]
        return len(erased)

    async def answered(self, keys: Sequence[tuple[RequestKeyType, str]]) -> list[AnsweredRequest]:
        return [self.requests[key] for key in keys if key in self.requests]

    async def remember(self, requests: Sequence[AnsweredRequest]) -> bool:
        if any((r.key_type, r.key) in self.requests for r in requests):
            return False
        self.requests |= {(r.key_type, r.key): r for r in requests}
        return True

    # what the tests read

    def ledger(self, key: AccountKey) -> list[CreditEntry]:
        return [e for e in self.entries if (e.customer_id, e.currency) == key]

    def held(self, key: AccountKey) -> list[CreditLot]:
        return [lot for holder, lot in self.lots.values() if (holder, lot.currency) == key]


class FakeCreditUnitOfWork(FakeLoyaltyUnitOfWork):
    repositories = ("members", "credit")

    def __init__(self) -> None:
        super().__init__()
        self.credit = FakeCreditRepository()


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def issue(
    uow: FakeCreditUnitOfWork,
    customer: uuid.UUID,
    amount: str,
    *,
    currency: str = "EUR",
    expires_in_days: int | None = None,
    now: datetime = T0,
    reason: str = "late parcel",
) -> CreditEntry:
    expires_at = None if expires_in_days is None else now + timedelta(days=expires_in_days)
    result = run_without_io(
        issue_credit(
            uow,
            customer,
            amount=Decimal(amount),
            currency=currency,
            reason=reason,
            expires_at=expires_at,
            actor="agent-7",
            clock=Clock(now),
        )
    )
    return result.entry


def remaining(uow: FakeCreditUnitOfWork, entry: CreditEntry) -> Decimal:
    return uow.credit.lots[entry.id][1].remaining


# ---------------------------------------------------------------------------- examples


def test_issuing_opens_a_lot_and_announces_the_new_balance() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "10.00")

    entry = issue(uow, ANN, "25.00", expires_in_days=30)

    assert (entry.type, entry.kind, entry.amount, entry.balance) == (
        "issue",
        "goodwill",
        Decimal("25.00"),
        Decimal("35.00"),
    )
    assert (entry.reason, entry.actor) == ("late parcel", "agent-7")
    lot = uow.credit.lots[entry.id][1]
    assert (lot.amount, lot.remaining, lot.expires_at) == (
        Decimal("25.00"),
        Decimal("25.00"),
        T0 + timedelta(days=30),
    )
    announced = uow.published[-1]
    assert isinstance(announced, CreditIssued)
    assert (announced.credit_entry_id, announced.amount, announced.balance) == (
        entry.id,
        Decimal("25.00"),
        Decimal("35.00"),
    )
    assert announced.expires_at == T0 + timedelta(days=30)


def test_applying_spends_the_soonest_expiring_lot_first_and_lots_without_expiry_last() -> None:
    uow = FakeCreditUnitOfWork()
    never = issue(uow, ANN, "50.00")
    later = issue(uow, ANN, "20.00", expires_in_days=60)
    sooner = issue(uow, ANN, "10.00", expires_in_days=10)

    result = run_without_io(
        apply_credit(uow, ANN, amount=Decimal("25.00"), currency="EUR", clock=Clock())
    )

    assert (result.entry.type, result.entry.amount, result.balance) == (
        "apply",
        Decimal("-25.00"),
        Decimal("55.00"),
    )
    assert [remaining(uow, lot) for lot in (sooner, later, never)] == [0, 5, 50]
    applied = uow.published[-1]
    assert isinstance(applied, CreditApplied)
    assert (applied.amount, applied.balance) == (Decimal("25.00"), Decimal("55.00"))


def test_among_lots_expiring_together_or_never_the_oldest_is_spent_first() -> None:
    uow = FakeCreditUnitOfWork()
    first = issue(uow, ANN, "5.00", now=T0)
    second = issue(uow, ANN, "5.00", now=T0 + timedelta(hours=1))

    run_without_io(
        apply_credit(
            uow, ANN, amount=Decimal("7"), currency="EUR", clock=Clock(T0 + timedelta(hours=2))
        )
    )

    assert [remaining(uow, first), remaining(uow, second)] == [0, 3]


def test_applying_the_whole_balance_leaves_zero() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "12.34")

    result = run_without_io(
        apply_credit(uow, ANN, amount=Decimal("12.34"), currency="EUR", clock=Clock())
    )

    assert result.balance == 0
    assert uow.credit.accounts[(ANN, "EUR")] == 0


def test_applying_more_than_the_balance_is_a_409_naming_the_amount_and_spends_nothing() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "10.00")
    entries = list(uow.credit.entries)

    with pytest.raises(InsufficientCredit) as refused:
        run_without_io(
            apply_credit(uow, ANN, amount=Decimal("10.01"), currency="EUR", clock=Clock())
        )

    assert refused.value.status == 409
    assert refused.value.extensions["field"] == "amount"
    assert refused.value.extensions["balance"] == "10.00"
    assert uow.credit.entries == entries
    assert uow.credit.accounts[(ANN, "EUR")] == Decimal("10.00")


def test_credit_in_one_currency_cannot_pay_in_another() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "10.00", currency="EUR")

    with pytest.raises(InsufficientCredit):
        run_without_io(apply_credit(uow, ANN, amount=Decimal("1"), currency="USD", clock=Clock()))


@pytest.mark.parametrize(
    ("amount", "currency", "expires_in_days", "field"),
    [
        ("0", "EUR", None, "amount"),
        ("-5.00", "EUR", None, "amount"),
        ("1.005", "EUR", None, "amount"),
        ("100.5", "JPY", None, "amount"),
        ("1.0001", "KWD", None, "amount"),
        ("5.00", "euro", None, "currency"),
        ("5.00", "EUR", -1, "expires_at"),
        ("5.00", "EUR", 0, "expires_at"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    amount: str, currency: str, expires_in_days: int | None, field: str
) -> None:
    uow = FakeCreditUnitOfWork()

    with pytest.raises(InvalidInput) as refused:
        issue(uow, ANN, amount, currency=currency, expires_in_days=expires_in_days)

    assert refused.value.field == field
    assert uow.credit.entries == []
    assert uow.credit.accounts == {}


def test_amounts_in_the_currencys_own_precision_are_accepted() -> None:
    uow = FakeCreditUnitOfWork()

    assert issue(uow, ANN, "1500", currency="JPY").amount == 1500
    assert issue(uow, ANN, "1.125", currency="KWD").amount == Decimal("1.125")
    assert issue(uow, ANN, "2.50000", currency="EUR").amount == Decimal("2.5")


def test_the_same_idempotency_key_twice_applies_once_and_answers_the_first_result() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "30.00")

    def apply_once() -> CreditResult:
        return run_without_io(
            apply_credit(
                uow,
                ANN,
                amount=Decimal("10.00"),
                currency="EUR",
                idempotency_key="checkout-1",
                clock=Clock(),
            )
        )

    first, again = apply_once(), apply_once()

    assert (first.replayed, again.replayed) == (False, True)
    assert again.entry == first.entry
    assert uow.credit.accounts[(ANN, "EUR")] == Decimal("20.00")
    assert [e.type for e in uow.credit.entries] == ["issue", "apply"]
    assert sum(isinstance(event, CreditApplied) for event in uow.published) == 1


def test_an_idempotency_key_reused_for_another_request_is_a_409_naming_it() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "30.00")
    run_without_io(
        apply_credit(
            uow, ANN, amount=Decimal("10"), currency="EUR", idempotency_key="k", clock=Clock()
        )
    )

    with pytest.raises(Conflict) as refused:
        run_without_io(
            apply_credit(
                uow, ANN, amount=Decimal("11"), currency="EUR", idempotency_key="k", clock=Clock()
            )
        )

    assert refused.value.extensions["field"] == "Idempotency-Key"
    assert uow.credit.accounts[(ANN, "EUR")] == Decimal("20")


def test_credit_is_applied_to_an_order_once() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "30.00")

    for _ in range(3):
        result = run_without_io(
            apply_credit(
                uow, ANN, amount=Decimal("10"), currency="EUR", order_id="A-1", clock=Clock()
            )
        )
    with pytest.raises(Conflict) as refused:
        run_without_io(
            apply_credit(
                uow, ANN, amount=Decimal("5"), currency="EUR", order_id="A-1", clock=Clock()
            )
        )

    assert (result.replayed, result.balance, result.entry.order_id) == (True, Decimal(20), "A-1")
    assert refused.value.extensions["field"] == "order_id"
    assert uow.credit.accounts[(ANN, "EUR")] == 20


def test_expiry_takes_what_remains_of_lots_past_their_expiry_once() -> None:
    uow = FakeCreditUnitOfWork()
    short = issue(uow, ANN, "10.00", expires_in_days=1)
    issue(uow, ANN, "7.00", expires_in_days=5)
    issue(uow, BOB, "3.00", expires_in_days=1)
    run_without_io(apply_credit(uow, ANN, amount=Decimal("4"), currency="EUR", clock=Clock()))
    later = T0 + timedelta(days=2)

    assert run_without_io(expire_due_credit(uow, later)) == 2
    snapshot = copy.deepcopy(uow.credit)
    assert run_without_io(expire_due_credit(uow, later)) == 0

    assert uow.credit == snapshot
    assert remaining(uow, short) == 0
    expiry = [e for e in uow.credit.ledger((ANN, "EUR")) if e.type == "expire"]
    assert [(e.amount, e.balance, e.lot_id) for e in expiry] == [
        (Decimal("-6.00"), Decimal("7.00"), short.id)
    ]
    assert uow.credit.accounts == {(ANN, "EUR"): Decimal("7.00"), (BOB, "EUR"): 0}


def test_expired_credit_is_never_spent() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "10.00", expires_in_days=1)
    issue(uow, ANN, "2.00")

    with pytest.raises(InsufficientCredit):
        run_without_io(
            apply_credit(
                uow, ANN, amount=Decimal("3"), currency="EUR", clock=Clock(T0 + timedelta(days=1))
            )
        )


def test_reading_credit_expires_due_lots_and_pages_entries_newest_first() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "10.00", expires_in_days=1)
    issue(uow, ANN, "5.00")
    issue(uow, ANN, "1000", currency="JPY")

    statement = run_without_io(
        get_credit(uow, ANN, offset=0, limit=2, clock=Clock(T0 + timedelta(days=3)))
    )

    assert statement.balances == {"EUR": Decimal("5.00"), "JPY": Decimal("1000")}
    assert statement.total_entries == 4
    assert [(e.type, e.currency) for e in statement.entries] == [
        ("expire", "EUR"),
        ("issue", "JPY"),
    ]
    assert uow.commits == 4  # three issues, and the expiry the read found


def test_a_merge_moves_the_secondarys_open_lots_to_the_survivor_with_their_expiry() -> None:
    uow = FakeCreditUnitOfWork()
    spent = issue(uow, BOB, "5.00", expires_in_days=10)
    kept = issue(uow, BOB, "20.00", expires_in_days=40)
    issue(uow, BOB, "300", currency="JPY")
    issue(uow, ANN, "1.00")
    run_without_io(apply_credit(uow, BOB, amount=Decimal("8"), currency="EUR", clock=Clock()))
    merged = CustomersMerged(customer_id=ANN, merged_customer_id=BOB, merged_at=T0)

    run_without_io(merge_credit(uow, merged, clock=Clock()))
    snapshot = copy.deepcopy(uow.credit)
    run_without_io(merge_credit(uow, merged, clock=Clock()))  # delivered again

    assert uow.credit == snapshot
    assert uow.credit.accounts == {
        (BOB, "EUR"): 0,
        (BOB, "JPY"): 0,
        (ANN, "EUR"): Decimal("18.00"),
        (ANN, "JPY"): Decimal("300"),
    }
    holder, lot = uow.credit.lots[kept.id]
    assert (holder, lot.remaining, lot.expires_at) == (ANN, Decimal(17), T0 + timedelta(days=40))
    assert uow.credit.lots[spent.id][0] == BOB  # nothing left of it: it stays
    moves = [(e.customer_id, e.type, e.amount) for e in uow.credit.entries[-4:]]
    assert sorted(moves, key=str) == sorted(
        [
            (BOB, "merge_out", Decimal("-17.00")),
            (ANN, "merge_in", Decimal("17.00")),
            (BOB, "merge_out", Decimal("-300")),
            (ANN, "merge_in", Decimal("300")),
        ],
        key=str,
    )


def test_an_unmerge_gives_back_what_was_moved_and_is_still_unspent() -> None:
    uow = FakeCreditUnitOfWork()
    bobs = issue(uow, BOB, "20.00")
    issue(uow, ANN, "10.00", expires_in_days=1)
    run_without_io(
        merge_credit(
            uow,
            CustomersMerged(customer_id=ANN, merged_customer_id=BOB, merged_at=T0),
            clock=Clock(),
        )
    )
    # Ann's own lot expires first: 10 of it, then 5 of Bob's
    run_without_io(apply_credit(uow, ANN, amount=Decimal("15"), currency="EUR", clock=Clock()))
    unmerged = CustomersUnmerged(customer_id=ANN, restored_customer_id=BOB, unmerged_at=T0)

    run_without_io(unmerge_credit(uow, unmerged, clock=Clock()))
    run_without_io(unmerge_credit(uow, unmerged, clock=Clock()))  # delivered again

    assert uow.credit.accounts == {(ANN, "EUR"): 0, (BOB, "EUR"): Decimal("15.00")}
    assert uow.credit.lots[bobs.id][0] == BOB
    assert [(e.type, e.amount) for e in uow.credit.ledger((BOB, "EUR"))] == [
        ("issue", Decimal("20.00")),
        ("merge_out", Decimal("-20.00")),
        ("merge_in", Decimal("15.00")),
    ]


def test_erasure_blanks_reasons_and_actors_and_keeps_the_amounts() -> None:
    uow = FakeCreditUnitOfWork()
    issue(uow, ANN, "10.00", reason="Ann's birthday, call her at +1 415 555 0123")
    issue(uow, BOB, "4.00")
    run_without_io(
        apply_credit(uow, ANN, amount=Decimal("3"), currency="EUR", actor="jane", clock=Clock())
    )

    run_without_io(
        erase_credit(uow, CustomerErased(customer_id=ANN, mode="anonymize", erased_at=T0))
    )

    anns = uow.credit.ledger((ANN, "EUR"))
    assert [(e.reason, e.actor) for e in anns] == [(None, None), (None, None)]
    assert [e.amount for e in anns] == [Decimal("10.00"), Decimal("-3")]
    assert uow.credit.ledger((BOB, "EUR"))[0].reason == "late parcel"


def test_a_grant_refuses_a_blank_reason_and_a_naive_expiry() -> None:
    with pytest.raises(InvalidInput) as blank:
        CreditGrant.of(amount=Decimal(1), currency="EUR", kind="goodwill", reason="  ", now=T0)
    with pytest.raises(InvalidInput) as naive:
        CreditGrant.of(
            amount=Decimal(1),
            currency="EUR",
            kind="goodwill",
            reason="x",
            now=T0,
            expires_at=datetime(2030, 1, 1),  # naive: the point of the test
        )

    assert (blank.value.field, naive.value.field) == ("reason", "expires_at")


# ---------------------------------------------------------------------------- properties

CENTS = st.integers(min_value=1, max_value=5_000).map(lambda c: Decimal(c).scaleb(-2))
CUSTOMERS = st.sampled_from([ANN, BOB, CAT])
CURRENCIES = st.sampled_from(["EUR", "JPY"])


@dataclass(frozen=True)
class Issue:
    customer: uuid.UUID
    currency: str
    amount: Decimal
    expires_in_days: int | None


@dataclass(frozen=True)
class Apply:
    customer: uuid.UUID
    currency: str
    amount: Decimal
    key: int


@dataclass(frozen=True)
class Advance:
    days: int


@dataclass(frozen=True)
class Expire:
    pass


@dataclass(frozen=True)
class Merge:
    survivor: uuid.UUID
    merged: uuid.UUID


@dataclass(frozen=True)
class Unmerge:
    survivor: uuid.UUID
    restored: uuid.UUID


@dataclass(frozen=True)
class Read:
    customer: uuid.UUID


Step = Issue | Apply | Advance | Expire | Merge | Unmerge | Read
STEPS: st.SearchStrategy[Step] = st.one_of(
    st.builds(Issue, CUSTOMERS, CURRENCIES, CENTS, st.none() | st.integers(1, 20)),
    st.builds(Apply, CUSTOMERS, CURRENCIES, CENTS, st.integers(0, 3)),
    st.builds(Advance, st.integers(1, 10)),
    st.builds(Expire),
    st.builds(Merge, CUSTOMERS, CUSTOMERS),
    st.builds(Unmerge, CUSTOMERS, CUSTOMERS),
    st.builds(Read, CUSTOMERS),
)


def in_precision(amount: Decimal, currency: str) -> Decimal:
    """`amount` as the currency can hold it (whole yen), at least 1."""
    return max(amount.to_integral_value() if currency == "JPY" else amount, Decimal(1))


def run_step(uow: FakeCreditUnitOfWork, clock: Clock, step: Step) -> None:
    """One step; applies, merges and unmerges come twice, as retries and redeliveries do."""
    match step:
        case Issue(customer, currency, amount, days):
            expires_at = None if days is None else clock.now + timedelta(days=days)
            run_without_io(
                issue_credit(
                    uow,
                    customer,
                    amount=in_precision(amount, currency),
                    currency=currency,
                    reason="goodwill",
                    expires_at=expires_at,
                    clock=clock,
                )
            )
        case Apply(customer, currency, amount, key):
            for _ in range(2):
                with contextlib.suppress(InsufficientCredit, Conflict):
                    run_without_io(
                        apply_credit(
                            uow,
                            customer,
                            amount=in_precision(amount, currency),
                            currency=currency,
                            idempotency_key=f"{customer}-{currency}-{key}-{amount}",
                            clock=clock,
                        )
                    )
        case Advance(days):
            clock.now += timedelta(days=days)
        case Expire():
            run_without_io(expire_due_credit(uow, clock.now))
        case Merge(survivor, merged):
            merge = CustomersMerged(
                customer_id=survivor, merged_customer_id=merged, merged_at=clock.now
            )
            for _ in range(2):
                run_without_io(merge_credit(uow, merge, clock=clock))
        case Unmerge(survivor, restored):
            unmerge = CustomersUnmerged(
                customer_id=survivor, restored_customer_id=restored, unmerged_at=clock.now
            )
            for _ in range(2):
                run_without_io(unmerge_credit(uow, unmerge, clock=clock))
        case Read(customer):
            run_without_io(get_credit(uow, customer, clock=clock))


def assert_ledger_holds(uow: FakeCreditUnitOfWork) -> None:
    credit = uow.credit
    for key, stored in credit.accounts.items():
        ledger, held = credit.ledger(key), credit.held(key)
        assert balances_agree(ledger, held), key
        assert stored == sum((e.amount for e in ledger), Decimal(0)) >= 0
        assert stored == sum((lot.remaining for lot in held), Decimal(0))
        assert all(0 <= lot.remaining <= lot.amount for lot in held)
    # merges only move credit: what is held is what was issued less what was spent or expired
    issued = sum((e.amount for e in credit.entries if e.type == "issue"), Decimal(0))
    taken = sum((e.amount for e in credit.entries if e.type in ("apply", "expire")), Decimal(0))
    assert sum(credit.accounts.values(), Decimal(0)) == issued + taken


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(STEPS, max_size=40))
def test_any_run_keeps_balance_entries_and_lots_in_agreement(steps: list[Step]) -> None:
    uow, clock = FakeCreditUnitOfWork(), Clock()

    for step in steps:
        run_step(uow, clock, step)
        assert_ledger_holds(uow)

    assert run_without_io(expire_due_credit(uow, clock.now)) >= 0
    assert not any(lot.is_due(clock.now) for _, lot in uow.credit.lots.values())
    settled = copy.deepcopy(uow.credit)
    assert run_without_io(expire_due_credit(uow, clock.now)) == 0
    assert uow.credit == settled
    assert_ledger_holds(uow)


@settings(max_examples=200, deadline=None)
@given(
    lots=st.lists(
        st.tuples(CENTS, st.none() | st.integers(min_value=1, max_value=30)),
        min_size=1,
        max_size=8,
    ),
    percent=st.integers(min_value=1, max_value=100),
)
def test_an_apply_spends_lots_strictly_in_spending_order(
    lots: list[tuple[Decimal, int | None]], percent: int
) -> None:
    account = CreditAccount(customer_id=ANN, currency="EUR")
    for number, (amount, days) in enumerate(lots):
        grant = CreditGrant.of(
            amount=amount,
            currency="EUR",
            kind="goodwill",
            reason="r",
            now=T0,
            expires_at=None if days is None else T0 + timedelta(days=days),
        )
        account.issue(grant, now=T0 + timedelta(seconds=number))
    before = {lot.id: lot.remaining for lot in account.lots}
    # soonest expiry first, never-expiring last; then the oldest (spelled out, not the
    # domain's own key, so the test can disagree with it)
    never = datetime.max.replace(tzinfo=UTC)
    order = sorted(
        copy.deepcopy(account.lots),
        key=lambda lot: (lot.expires_at or never, lot.issued_at),
    )
    wanted = max((account.balance * percent / 100).quantize(Decimal("0.01")), Decimal("0.01"))

    account.apply(wanted, now=T0)

    after = {lot.id: lot.remaining for lot in account.lots}
    left = [after.get(lot.id, Decimal(0)) for lot in order]
    touched = [n for n, lot in enumerate(order) if left[n] != before[lot.id]]
    # a prefix of the spending order is used up, then at most one lot is cut into
    assert all(left[n] == 0 for n in range(touched[-1]))
    assert all(left[n] == before[lot.id] for n, lot in enumerate(order) if n > touched[-1])
    assert sum(before.values()) - sum(after.values()) == wanted
    assert balances_agree(account.new_entries, account.lots)
