"""The points ledger, its lots, order earning and tiers: examples and properties."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_loyalty.domain.earning import OrderPoints, order_points
from patron_loyalty.domain.ledger import Entry, InsufficientPoints, Lot, PointsAccount
from patron_loyalty.domain.program import Program, ProgramError, Tier, add_months
from patron_loyalty.domain.tiers import TierStanding
from patron_shared.events import OrderCancelled, OrderPaid, OrderPlaced, OrderRefunded
from patron_shared.orders import OrderEvent, OrderState, apply_order_event

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")
PROGRAM = Program()


def placed(order_id: str, total: str, *, shipping: str | None = None) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=CUSTOMER,
        currency="USD",
        total=Decimal(total),
        shipping_total=Decimal(shipping) if shipping else None,
        placed_at=T0,
    )


def fold(order_id: str, *events: OrderEvent) -> OrderState:
    state = OrderState(order_id, CUSTOMER)
    for event in events:
        state = apply_order_event(state, event, event_id=uuid.uuid4(), owner=CUSTOMER)
    return state


# ---------------------------------------------------------------------------- program


def test_the_default_program_is_the_documented_one() -> None:
    assert [(t.key, t.min_points, t.earn_rate) for t in PROGRAM.tiers] == [
        ("bronze", 0, 10),
        ("silver", 1_000, 12),
        ("gold", 5_000, 15),
    ]
    assert PROGRAM.tier_for(999).key == "bronze"
    assert PROGRAM.tier_for(1_000).key == "silver"
    assert PROGRAM.tier_for(4_999).key == "silver"
    assert PROGRAM.tier_for(5_000).key == "gold"
    assert PROGRAM.cash_value(250) == Decimal("2.50")
    assert PROGRAM.cash_value(199) == Decimal("1.99")
    assert PROGRAM.expires_at(T0) == datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tiers", "field_name"),
    [
        ((), "tiers"),
        ((Tier("a", "A", 10, Decimal(1)),), "tiers"),
        ((Tier("a", "A", 0, Decimal(1)), Tier("a", "B", 5, Decimal(1))), "tiers"),
        ((Tier("a", "A", 0, Decimal(1)), Tier("b", "B", 0, Decimal(1))), "tiers"),
    ],
)
def test_a_program_that_cannot_work_is_refused_naming_the_field(
    tiers: tuple[Tier, ...], field_name: str
) -> None:
    with pytest.raises(ProgramError) as refused:
        Program(tiers=tiers)
    assert refused.value.field == field_name


def test_months_are_added_to_the_last_day_when_the_month_is_shorter() -> None:
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 3, 31, tzinfo=UTC), -12) == datetime(2025, 3, 31, tzinfo=UTC)
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)


# ---------------------------------------------------------------------------- orders


def test_an_order_earns_on_its_merchandise_once_paid() -> None:
    order = placed("O-1", "130.00", shipping="10.00")
    assert order_points(fold("O-1", order), PROGRAM, Decimal(10)) == 0  # not paid yet
    paid = fold(
        "O-1",
        order,
        OrderPaid(
            order_id="O-1", customer_id=CUSTOMER, amount=Decimal("130"), currency="USD", paid_at=T0
        ),
    )
    assert order_points(paid, PROGRAM, Decimal(10)) == 1_200
    on_placing = Program(earn_on="OrderPlaced")
    assert order_points(fold("O-1", order), on_placing, Decimal(12)) == 1_440


def test_refunds_reverse_in_proportion_and_cancellation_reverses_all() -> None:
    account = PointsAccount(CUSTOMER, [])
    events: list[OrderEvent] = [
        placed("O-1", "100.00"),
        OrderPaid(
            order_id="O-1", customer_id=CUSTOMER, amount=Decimal(100), currency="USD", paid_at=T0
        ),
    ]
    order = OrderPoints("O-1", CUSTOMER, fold("O-1", *events))
    order.settle(account, PROGRAM, Decimal(10), T0)
    assert account.balance == 1_000
    refund = OrderRefunded(
        order_id="O-1", customer_id=CUSTOMER, amount=Decimal(25), currency="USD", refunded_at=T0
    )
    order.state = apply_order_event(order.state, refund, event_id=uuid.uuid4(), owner=CUSTOMER)
    # a tier change meanwhile does not change the rate the order earned at
    reversed_ = order.settle(account, PROGRAM, Decimal(15), T0)
    assert [(e.kind, e.points) for e in reversed_] == [("reverse", -250)]
    assert account.balance == 750
    cancel = OrderCancelled(order_id="O-1", customer_id=CUSTOMER, cancelled_at=T0)
    order.state = apply_order_event(order.state, cancel, event_id=uuid.uuid4(), owner=CUSTOMER)
    order.settle(account, PROGRAM, Decimal(10), T0)
    assert account.balance == 0
    assert order.credited == 0


def an_order_in(currency: str, total: str, order_id: str = "E-1") -> list[OrderEvent]:
    return [
        OrderPlaced(
            order_id=order_id,
            customer_id=CUSTOMER,
            currency=currency,
            total=Decimal(total),
            placed_at=T0,
        ),
        OrderPaid(
            order_id=order_id,
            customer_id=CUSTOMER,
            amount=Decimal(total),
            currency=currency,
            paid_at=T0,
        ),
    ]


def test_an_order_in_another_currency_earns_at_the_programs_rate_for_it() -> None:
    program = Program(exchange_rates={"EUR": Decimal("1.08"), "JPY": Decimal("0.0067")})
    assert program.conversion_from("USD") == 1
    assert program.conversion_from("GBP") is None
    assert order_points(fold("E-1", *an_order_in("EUR", "100.00")), program, Decimal(10)) == 1_080
    assert order_points(fold("E-1", *an_order_in("JPY", "15000")), program, Decimal(10)) == 1_005
    # no rate: nothing, as before rates existed
    assert order_points(fold("E-1", *an_order_in("GBP", "100.00")), program, Decimal(10)) == 0


def test_an_order_keeps_the_rate_it_earned_at_when_the_rates_change() -> None:
    account = PointsAccount(CUSTOMER, [])
    order = OrderPoints("E-1", CUSTOMER, fold("E-1", *an_order_in("EUR", "100.00")))
    order.settle(account, Program(exchange_rates={"EUR": Decimal("1.084512")}), Decimal(12), T0)
    assert account.balance == 1_301  # 100 x 12 x 1.084512 = 1,301.41
    assert order.earn_rate == Decimal("13.014144")
    refund = OrderRefunded(
        order_id="E-1", customer_id=CUSTOMER, amount=Decimal(50), currency="EUR", refunded_at=T0
    )
    order.state = apply_order_event(order.state, refund, event_id=uuid.uuid4(), owner=CUSTOMER)
    # the rate went down, then the merchant dropped EUR: the refund still reverses half of
    # what the order earned, at the rate it earned at
    order.settle(account, Program(), Decimal(15), T0)
    assert account.balance == 650  # floor(50 x 13.014144)
    assert order.credited == 650


@pytest.mark.parametrize(
    ("rates", "field_name"),
    [
        ({"eur": Decimal(1)}, "exchange_rates.eur"),
        ({"USD": Decimal(1)}, "exchange_rates.USD"),
        ({"EUR": Decimal(0)}, "exchange_rates.EUR"),
        ({"EUR": Decimal("-1.1")}, "exchange_rates.EUR"),
        ({"EUR": Decimal("1.0845121")}, "exchange_rates.EUR"),
    ],
)
def test_an_exchange_rate_that_cannot_work_is_refused_naming_it(
    rates: dict[str, Decimal], field_name: str
) -> None:
    with pytest.raises(ProgramError) as refused:
        Program(exchange_rates=rates)
    assert refused.value.field == field_name


@settings(max_examples=300)
@given(
    rate=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1000), places=6),
    tier_rate=st.decimals(min_value=Decimal(0), max_value=Decimal(50), places=2),
    total=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2),
    refunds=st.lists(st.integers(min_value=0, max_value=100), max_size=4),
)
def test_an_order_in_another_currency_ends_at_its_exact_worth_whatever_is_refunded(
    rate: Decimal, tier_rate: Decimal, total: Decimal, refunds: list[int]
) -> None:
    program = Program(exchange_rates={"EUR": rate})
    account = PointsAccount(CUSTOMER, [])
    order = OrderPoints("E-1", CUSTOMER, fold("E-1", *an_order_in("EUR", str(total))))
    order.settle(account, program, tier_rate, T0)
    refunded = Decimal(0)
    for percent in refunds:
        amount = min(total - refunded, (total * percent / 100).quantize(Decimal("0.01")))
        refunded += amount
        refund = OrderRefunded(
            order_id="E-1", customer_id=CUSTOMER, amount=amount, currency="EUR", refunded_at=T0
        )
        order.state = apply_order_event(order.state, refund, event_id=uuid.uuid4(), owner=CUSTOMER)
        order.settle(account, program, tier_rate, T0)
    # no shipping or tax: the merchandise is the total; products of decimals are exact
    worth = (total - order.state.refunded_amount) * tier_rate * rate
    assert account.balance == order.credited == int(worth.to_integral_value(rounding="ROUND_FLOOR"))
    assert account.balance >= 0


def test_a_reversal_never_takes_the_balance_below_zero() -> None:
    account = PointsAccount(CUSTOMER, [])
    order = OrderPoints("O-1", CUSTOMER, fold("O-1", placed("O-1", "50.00")))
    order.settle(account, Program(earn_on="OrderPlaced"), Decimal(10), T0)
    account.take(400, kind="redeem", at=T0, reason="discount", source_type="redemption")
    order.state = order.state.cancel(T0)
    order.settle(account, PROGRAM, Decimal(10), T0)
    assert account.balance == 0
    assert (order.reversed, order.unrecovered) == (100, 400)


# ---------------------------------------------------------------------------- lots


def test_redemption_takes_the_oldest_lots_first_and_expiry_what_is_due() -> None:
    account = PointsAccount(CUSTOMER, [])
    for n in range(3):
        at = T0 + timedelta(days=30 * n)
        account.earn(100, at=at, expires_at=at + timedelta(days=365), reason="order")
    redeemed = account.take(150, kind="redeem", at=T0, reason="discount", source_type="redemption")
    lots = sorted(account.lots, key=lambda lot: lot.earned_at)
    assert [lot.remaining for lot in lots] == [0, 50, 100]
    assert [m.points for m in redeemed.moves] == [-100, -50]
    expired = account.expire(T0 + timedelta(days=400))
    assert expired is not None
    assert expired.points == -50
    assert account.expire(T0 + timedelta(days=400)) is None  # twice: nothing more
    assert account.balance == 100
    assert account.expiring_by(T0 + timedelta(days=425)) == 100


def test_taking_more_than_the_balance_is_refused_and_changes_nothing() -> None:
    account = PointsAccount(CUSTOMER, [])
    account.earn(100, at=T0, expires_at=None, reason="order")
    with pytest.raises(InsufficientPoints) as refused:
        account.take(101, kind="redeem", at=T0, reason="discount", source_type="redemption")
    assert (refused.value.wanted, refused.value.available) == (101, 100)
    assert account.balance == 100
    assert len(account.new_entries) == 1


def test_a_merge_moves_every_open_lot_with_its_dates() -> None:
    survivor_id = uuid.uuid4()
    secondary = PointsAccount(CUSTOMER, [])
    secondary.earn(100, at=T0, expires_at=T0 + timedelta(days=10), reason="order")
    survivor = PointsAccount(survivor_id, [])
    survivor.earn(50, at=T0, expires_at=None, reason="order")
    out, lots = secondary.give_all(survivor_id, at=T0)
    arrived = survivor.receive(lots, source=CUSTOMER, at=T0)
    assert out is not None
    assert arrived is not None
    assert (out.points, arrived.points) == (-100, 100)
    assert (secondary.balance, survivor.balance) == (0, 150)
    assert survivor.expiring_by(T0 + timedelta(days=10)) == 100


# ---------------------------------------------------------------------------- tiers


def test_upgrades_are_immediate_and_downgrades_wait_for_the_grace_period() -> None:
    program = Program(downgrade_grace_days=30)
    standing = TierStanding("bronze", T0)
    change = standing.review(program, 1_200, T0)
    assert change is not None
    assert (change[0].key, change[1].key) == ("bronze", "silver")
    assert standing.review(program, 800, T0) is None  # grace starts
    assert standing.downgrade_due_at == T0 + timedelta(days=30)
    assert standing.review(program, 800, T0 + timedelta(days=29)) is None
    assert standing.review(program, 1_000, T0 + timedelta(days=29)) is None  # regained
    assert standing.downgrade_due_at is None
    assert standing.review(program, 800, T0 + timedelta(days=40)) is None  # grace again
    change = standing.review(program, 800, T0 + timedelta(days=70))
    assert change is not None
    assert change[1].key == "bronze"
    assert standing.tier == "bronze"


def test_without_a_grace_period_a_downgrade_is_immediate() -> None:
    standing = TierStanding("gold", T0)
    change = standing.review(PROGRAM, 10, T0)
    assert change is not None
    assert (change[0].key, change[1].key) == ("gold", "bronze")


# ---------------------------------------------------------------------------- properties


@dataclass
class Books:
    """Every entry and lot a run made: what the ledger must agree with."""

    entries: list[Entry] = field(default_factory=list)
    lots: dict[uuid.UUID, Lot] = field(default_factory=dict)

    def take_in(self, account: PointsAccount) -> None:
        self.entries.extend(account.new_entries)
        for lot in account.new_lots:
            self.lots[lot.lot_id] = lot
        account.new_entries.clear()
        account.new_lots.clear()


amounts = st.integers(min_value=1, max_value=40_000).map(lambda cents: Decimal(cents) / 100)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.integers(0, 5), amounts),
        st.tuples(st.just("pay"), st.integers(0, 5)),
        st.tuples(st.just("refund"), st.integers(0, 5), amounts),
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("redeem"), st.integers(1, 3_000)),
        st.tuples(st.just("adjust"), st.integers(-2_000, 2_000).filter(bool)),
        st.tuples(st.just("expire"), st.integers(0, 500)),
        st.tuples(st.just("replay"), st.integers(0, 50)),
    ),
    max_size=40,
)


def _event(op: tuple[object, ...], at: datetime) -> OrderEvent | None:
    kind, n = op[0], op[1]
    order_id = f"O-{n}"
    if kind == "place":
        amount = op[2]
        assert isinstance(amount, Decimal)
        return OrderPlaced(
            order_id=order_id, customer_id=CUSTOMER, currency="USD", total=amount, placed_at=at
        )
    if kind == "pay":
        return OrderPaid(
            order_id=order_id, customer_id=CUSTOMER, amount=Decimal(1), currency="USD", paid_at=at
        )
    if kind == "refund":
        amount = op[2]
        assert isinstance(amount, Decimal)
        return OrderRefunded(
            order_id=order_id, customer_id=CUSTOMER, amount=amount, currency="USD", refunded_at=at
        )
    if kind == "cancel":
        return OrderCancelled(order_id=order_id, customer_id=CUSTOMER, cancelled_at=at)
    return None


@settings(max_examples=300, deadline=None)
@given(operations)
def test_the_ledger_always_balances_never_goes_negative_and_replays_change_nothing(  # noqa: PLR0912
    ops: list[tuple[object, ...]],
) -> None:
    account = PointsAccount(CUSTOMER, [])
    books = Books()
    orders: dict[str, OrderPoints] = {}
    delivered: list[tuple[OrderEvent, uuid.UUID]] = []
    now = T0
    for op in ops:
        now += timedelta(days=3)
        kind = op[0]
        event = _event(op, now)
        if kind == "replay" and delivered:
            # a message delivered again: same event, same message id
            event, message_id = delivered[int(str(op[1])) % len(delivered)]
            before = account.balance
        else:
            message_id = uuid.uuid4()
        if event is not None:
            delivered.append((event, message_id))
            order = orders.setdefault(
                event.order_id,
                OrderPoints(event.order_id, CUSTOMER, OrderState(event.order_id, CUSTOMER)),
            )
            order.state = apply_order_event(order.state, event, event_id=message_id, owner=CUSTOMER)
            order.settle(account, PROGRAM, Decimal(10), now)
            if kind == "replay":
                assert account.balance == before
        elif kind == "redeem":
            points = int(str(op[1]))
            if points <= account.balance:
                entry = account.take(
                    points, kind="redeem", at=now, reason="discount", source_type="redemption"
                )
                _assert_oldest_first(entry, books, account)
            else:
                with pytest.raises(InsufficientPoints):
                    account.take(
                        points, kind="redeem", at=now, reason="discount", source_type="redemption"
                    )
        elif kind == "adjust":
            delta = int(str(op[1]))
            if delta > 0:
                account.earn(
                    delta,
                    at=now,
                    expires_at=PROGRAM.expires_at(now),
                    reason="goodwill",
                    kind="adjust",
                    source_type="admin",
                )
            elif -delta <= account.balance:
                account.take(
                    -delta, kind="adjust", at=now, reason="correction", source_type="admin"
                )
        elif kind == "expire":
            now += timedelta(days=int(str(op[1])))
            entry = account.expire(now)
            assert account.expire(now) is None  # twice changes nothing
            if entry is not None:
                assert all(books.lots[m.lot_id].expired(now) for m in entry.moves)
            assert all(not lot.expired(now) for lot in account.open_lots())
        books.take_in(account)
        # the invariants
        assert account.balance >= 0
        assert account.balance == sum(e.points for e in books.entries)
        assert account.balance == sum(lot.remaining for lot in books.lots.values())
        assert all(0 <= lot.remaining <= lot.points for lot in books.lots.values())
        for lot in books.lots.values():  # each lot's moves explain what remains of it
            moved = sum(m.points for e in books.entries for m in e.moves if m.lot_id == lot.lot_id)
            assert moved == lot.remaining
        if books.entries:
            assert books.entries[-1].balance_after == account.balance
    for order in orders.values():  # each order ends credited with what it is worth
        worth = order_points(order.state, PROGRAM, order.earn_rate or Decimal(10))
        assert order.credited == worth


def _assert_oldest_first(entry: Entry, books: Books, account: PointsAccount) -> None:
    taken = [
        books.lots.get(m.lot_id) or next(lot for lot in account.lots if lot.lot_id == m.lot_id)
        for m in entry.moves
    ]
    newest_taken = max(lot.fifo_key for lot in taken)
    # every lot older than the newest one it took from is used up
    assert all(lot.remaining == 0 for lot in account.lots if lot.fifo_key < newest_taken)


OTHER = uuid.UUID("00000000-0000-4000-8000-000000000002")
two_account_operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.booleans(), st.integers(1, 2_000)),
        st.tuples(st.just("take"), st.booleans(), st.integers(1, 2_000)),
        st.tuples(st.just("hold"), st.booleans(), st.integers(0, 2_000)),
        st.tuples(st.just("expire"), st.booleans(), st.integers(0, 400)),
        st.tuples(st.just("merge"), st.booleans(), st.just(0)),
        st.tuples(st.just("unmerge"), st.booleans(), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(two_account_operations)
def test_merges_and_holds_keep_both_ledgers_exact(ops: list[tuple[str, bool, int]]) -> None:
    """Two customers earning, spending, holding and expiring points, merged into one and
    split again at random: each ledger stays exact and points are neither made nor lost
    by moving them."""
    accounts = {CUSTOMER: PointsAccount(CUSTOMER, []), OTHER: PointsAccount(OTHER, [])}
    books = Books()
    merged = False
    now = T0
    made = 0  # points earned less points taken and expired: what the two must hold
    for kind, first, amount in ops:
        now += timedelta(days=5)
        # once merged, everything of the other customer happens to the survivor
        customer = CUSTOMER if first or merged else OTHER
        account = accounts[customer]
        if kind == "earn":
            account.earn(amount, at=now, expires_at=now + timedelta(days=300), reason="order")
            made += amount
        elif kind == "take":
            if amount <= account.available:
                account.take(amount, kind="redeem", at=now, reason="r", source_type="redemption")
                made -= amount
            else:
                with pytest.raises(InsufficientPoints):
                    account.take(
                        amount, kind="redeem", at=now, reason="r", source_type="redemption"
                    )
        elif kind == "hold":
            account.held = min(amount, account.balance)
        elif kind == "expire":
            now += timedelta(days=amount)
            for each in accounts.values():
                entry = each.expire(now)
                made += entry.points if entry else 0
        elif kind == "merge" and not merged:
            _, lots = accounts[OTHER].give_all(CUSTOMER, at=now)
            accounts[CUSTOMER].receive(lots, source=OTHER, at=now)
            accounts[OTHER].held = 0  # its holds are cancelled with the merge
            merged = True
            assert accounts[OTHER].balance == 0
        elif kind == "unmerge" and merged:
            _, lots = accounts[CUSTOMER].give_back(OTHER, at=now)
            accounts[OTHER].receive(lots, source=CUSTOMER, at=now)
            merged = False
        for each in accounts.values():
            each.held = min(each.held, each.balance)  # expiry and merges are not held back
            books.take_in(each)
        for customer_id, each in accounts.items():
            mine = [e for e in books.entries if e.customer_id == customer_id]
            owned = [lot for lot in books.lots.values() if lot.customer_id == customer_id]
            assert each.balance == sum(e.points for e in mine) >= 0
            assert each.balance == sum(lot.remaining for lot in owned)
            assert 0 <= each.available <= each.balance
        assert sum(each.balance for each in accounts.values()) == made


def test_a_refunded_order_rounds_down_exactly() -> None:
    """6.00 of merchandise, 5.98 of 6.90 refunded: exactly 8 points are kept (a quotient
    rounded to 28 digits would make it 7.99...)."""
    order = OrderPlaced(
        order_id="O-1",
        customer_id=CUSTOMER,
        currency="USD",
        total=Decimal("6.90"),
        tax_total=Decimal("0.90"),
        placed_at=T0,
    )
    refund = OrderRefunded(
        order_id="O-1", customer_id=CUSTOMER, amount=Decimal("5.98"), currency="USD", refunded_at=T0
    )
    state = fold("O-1", order, refund)
    assert order_points(state, Program(earn_on="OrderPlaced"), Decimal(10)) == 8
