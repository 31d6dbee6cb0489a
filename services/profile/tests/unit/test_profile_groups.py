"""Customer groups: rule evaluation, the choice between groups, pins, and the hooks."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_profile.domain.group import (
    Assignment,
    CustomerFacts,
    CustomerGroup,
    Rule,
    choose_group,
    clean_group_fields,
    default_group_id,
    default_groups,
    is_free_mail,
    parse_rules,
    rule_outcome,
)
from patron_profile.service.customers import ContactRules, create_customer, update_customer
from patron_profile.service.groups import (
    assign_customers,
    change_group,
    create_group,
    delete_group,
    list_groups,
    reevaluate_customers,
)
from patron_profile.service.orders import record_order_event
from patron_shared.errors import Conflict, InvalidInput
from patron_shared.events import CustomerUpdated, OrderPlaced

from .conftest import FakeUnitOfWork

T0 = datetime(2026, 11, 1, tzinfo=UTC)
RULES = ContactRules()


def group(priority: int = 0, *, rules: Sequence[Rule] = (), **values: object) -> CustomerGroup:
    return CustomerGroup(
        id=uuid.uuid4(),
        tenant_id="demo",
        name=f"g-{uuid.uuid4().hex[:8]}",
        created_at=T0,
        updated_at=T0,
        auto_assign=True,
        priority=priority,
        rules=tuple(rules) or (Rule("total_orders", ">=", 0),),
        **values,  # type: ignore[arg-type]
    )


# --- rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "facts", "expected"),
    [
        (Rule("total_spent", ">", Decimal(5000)), CustomerFacts(total_spent=Decimal(5000)), False),
        (
            Rule("total_spent", ">", Decimal(5000)),
            CustomerFacts(total_spent=Decimal("5000.01")),
            True,
        ),
        (Rule("total_spent", "<=", Decimal(10)), CustomerFacts(total_spent=Decimal(10)), True),
        (Rule("total_orders", ">", 10), CustomerFacts(total_orders=11), True),
        (Rule("total_orders", "=", 3), CustomerFacts(total_orders=4), False),
        (Rule("email_domain", "in", ("acme.com",)), CustomerFacts(email="a@ACME.com"), True),
        (Rule("email_domain", "in", ("acme.com",)), CustomerFacts(email="a@sub.acme.com"), False),
        (Rule("email_domain", "not_in", ("acme.com",)), CustomerFacts(email="a@b.com"), True),
        (Rule("email_domain", "not_in", ("acme.com",)), CustomerFacts(), False),
        (Rule("email_domain", "business"), CustomerFacts(email="jo@acme.com"), True),
        (Rule("email_domain", "business"), CustomerFacts(email="jo@gmail.com"), False),
        (Rule("email_domain", "business"), CustomerFacts(), False),
    ],
)
def test_a_rule_matches_the_facts_it_names(
    rule: Rule, facts: CustomerFacts, expected: bool
) -> None:
    assert rule.matches(facts) is expected


@pytest.mark.parametrize(
    "domain", ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com",
               "proton.me", "gmx.de", "gmx.net", "yahoo.co.uk", "hotmail.fr"],
)  # fmt: skip
def test_free_mail_providers_are_not_businesses(domain: str) -> None:
    assert is_free_mail(domain)


@pytest.mark.parametrize("domain", ["acme.com", "live.acme.com", "gmx-consulting.com", "gmail.co"])
def test_company_domains_are_businesses(domain: str) -> None:
    assert not is_free_mail(domain)


def test_rules_round_trip_through_their_json_form() -> None:
    raw = [
        {"field": "total_spent", "op": ">", "value": "5000"},
        {"field": "total_orders", "op": ">", "value": 10},
        {"field": "email_domain", "op": "in", "value": ["@Acme.com", "acme.com"]},
        {"field": "email_domain", "op": "business"},
    ]
    rules = parse_rules(raw)

    assert rules[2].value == ("acme.com",)
    assert parse_rules([r.to_json() for r in rules]) == rules
    assert rules[0].to_json() == {"field": "total_spent", "op": ">", "value": "5000"}


@pytest.mark.parametrize(
    ("raw", "field_name"),
    [
        ([{"field": "age", "op": ">", "value": 1}], "rules.0.field"),
        ([{"field": "total_spent", "op": "in", "value": "1"}], "rules.0.op"),
        ([{"field": "total_spent", "op": ">", "value": 1.5}], "rules.0.value"),
        ([{"field": "total_spent", "op": ">", "value": "-1"}], "rules.0.value"),
        ([{"field": "total_orders", "op": ">", "value": "many"}], "rules.0.value"),
        ([{"field": "total_orders", "op": ">", "value": True}], "rules.0.value"),
        ([{"field": "email_domain", "op": "in", "value": []}], "rules.0.value"),
        ([{"field": "email_domain", "op": "in", "value": ["not a domain"]}], "rules.0.value"),
        ([{"field": "email_domain", "op": "business", "value": ["x.com"]}], "rules.0.value"),
        ([{"field": "email_domain", "op": ">", "value": 1}], "rules.0.op"),
        ([{"field": "total_orders", "op": ">", "value": 1}] * 21, "rules"),
    ],
)
def test_a_bad_rule_is_invalid_input_naming_where(
    raw: list[dict[str, object]], field_name: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rules(raw)
    assert caught.value.field == field_name


# --- group fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field_name"),
    [
        ({"discount_percent": "100.01"}, "discount_percent"),
        ({"discount_percent": "12.345"}, "discount_percent"),
        ({"discount_percent": 12.5}, "discount_percent"),
        ({"payment_terms": "net-400"}, "payment_terms"),
        ({"payment_terms": "whenever"}, "payment_terms"),
        ({"currency": "usd1"}, "currency"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"priority": 10**7}, "priority"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_group_fields_are_invalid_input_naming_the_field(
    values: dict[str, object], field_name: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_group_fields(values)
    assert caught.value.field == field_name


@pytest.mark.parametrize(
    ("values", "field_name"),
    [
        ({"free_shipping_threshold": "10", "currency": "USD"}, "free_shipping_threshold"),
        ({"minimum_order": "10"}, "currency"),
        ({"auto_assign": True}, "rules"),
    ],
)
def test_the_rules_between_group_fields_hold(values: dict[str, object], field_name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        CustomerGroup.new(
            group_id=uuid.uuid4(),
            tenant_id="demo",
            now=T0,
            **clean_group_fields({"name": "Trade", **values}),
        )
    assert caught.value.field == field_name


def test_every_tenant_gets_the_same_three_defaults_with_stable_ids() -> None:
    retail, wholesale, vip = default_groups("acme", now=T0)

    assert [g.name for g in (retail, wholesale, vip)] == ["Retail", "Wholesale", "VIP"]
    assert retail.discount_percent == 0
    assert (wholesale.discount_percent, wholesale.payment_terms) == (30, "net-30")
    assert (wholesale.free_shipping_threshold, wholesale.minimum_order) == (500, 250)
    assert (vip.discount_percent, vip.free_shipping, vip.free_shipping_threshold) == (
        15,
        True,
        None,
    )
    assert not any(g.auto_assign for g in (retail, wholesale, vip))
    assert vip.id == default_group_id("acme", "vip") != default_group_id("other", "vip")


# --- choosing a group --------------------------------------------------------------------

facts_strategy = st.builds(
    CustomerFacts,
    email=st.sampled_from([None, "a@acme.com", "b@gmail.com", "c@shop.io"]),
    total_spent=st.decimals(min_value=0, max_value=10_000, places=2),
    total_orders=st.integers(min_value=0, max_value=30),
)
rule_strategy = st.one_of(
    st.builds(
        Rule,
        field=st.just("total_spent"),
        op=st.sampled_from([">", ">=", "<", "<=", "="]),
        value=st.decimals(min_value=0, max_value=10_000, places=0),
    ),
    st.builds(
        Rule,
        field=st.just("total_orders"),
        op=st.sampled_from([">", ">=", "<", "<=", "="]),
        value=st.integers(min_value=0, max_value=30),
    ),
    st.builds(
        Rule,
        field=st.just("email_domain"),
        op=st.sampled_from(["in", "not_in"]),
        value=st.just(("acme.com",)),
    ),
    st.just(Rule("email_domain", "business")),
)
group_strategy = st.builds(
    lambda priority, rules, auto, age: CustomerGroup(
        id=uuid.uuid4(),
        tenant_id="demo",
        name="g",
        created_at=T0 + timedelta(days=age),
        updated_at=T0,
        auto_assign=auto,
        priority=priority,
        rules=tuple(rules),
    ),
    st.integers(min_value=-2, max_value=2),
    st.lists(rule_strategy, min_size=0, max_size=3),
    st.booleans(),
    st.integers(min_value=0, max_value=2),
)


@given(st.lists(group_strategy, max_size=8), facts_strategy, st.randoms())
def test_the_chosen_group_is_the_highest_priority_matching_auto_group_whatever_the_order(
    groups: list[CustomerGroup], facts: CustomerFacts, rnd: random.Random
) -> None:
    chosen = choose_group(groups, facts)
    matching = [
        g for g in groups if g.auto_assign and g.rules and all(r.matches(facts) for r in g.rules)
    ]

    if not matching:
        assert chosen is None
        return
    assert chosen in matching
    assert chosen.priority == max(g.priority for g in matching)
    tied = [g for g in matching if g.priority == chosen.priority]
    assert (chosen.created_at, chosen.id) == min((g.created_at, g.id) for g in tied)
    shuffled = list(groups)
    rnd.shuffle(shuffled)
    assert choose_group(shuffled, facts) is chosen


@given(
    st.lists(group_strategy, max_size=6),
    facts_strategy,
    st.sampled_from(["manual", "foreign", "rule-elsewhere"]),
)
def test_a_pinned_group_is_never_overridden_by_rules(
    groups: list[CustomerGroup], facts: CustomerFacts, how: str
) -> None:
    current = uuid.uuid4()
    assignment = {
        "manual": Assignment(current, "manual"),
        "foreign": None,  # set by a path that recorded no assignment
        "rule-elsewhere": Assignment(uuid.uuid4(), "rule"),  # changed since the rule set it
    }[how]

    assert rule_outcome(current, assignment, groups, facts) is None


@given(st.lists(group_strategy, max_size=6), facts_strategy, st.booleans())
def test_rules_move_customers_without_a_group_or_in_a_rule_group(
    groups: list[CustomerGroup], facts: CustomerFacts, had_rule_group: bool
) -> None:
    current = uuid.uuid4() if had_rule_group else None
    assignment = Assignment(current, "rule") if current else None

    outcome = rule_outcome(current, assignment, groups, facts)

    chosen = choose_group(groups, facts)
    assert outcome is not None
    assert outcome.group_id == (chosen.id if chosen else None)
    assert outcome.assignment == (Assignment(chosen.id, "rule") if chosen else None)


# --- use cases on fakes ------------------------------------------------------------------


FakeGroupUnitOfWork = FakeUnitOfWork  # every profile fake unit of work holds groups


@pytest.fixture
def guow() -> FakeGroupUnitOfWork:
    return FakeGroupUnitOfWork()


async def defaults(uow: FakeGroupUnitOfWork) -> dict[str, CustomerGroup]:
    views, _ = await list_groups(uow, offset=0, limit=10)
    return {v.group.key or v.group.name: v.group for v in views}


def placed(customer_id: uuid.UUID, order_id: str, total: str) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        currency="USD",
        total=Decimal(total),
        items=[],
        placed_at=T0,
    )


def group_events(uow: FakeGroupUnitOfWork) -> list[CustomerUpdated]:
    return [
        e
        for e in uow.published
        if isinstance(e, CustomerUpdated) and "group_id" in e.changed_fields
    ]


async def test_a_customer_moves_to_vip_by_rule_when_its_spend_crosses_the_threshold(
    guow: FakeGroupUnitOfWork,
) -> None:
    vip = (await defaults(guow))["vip"]
    await change_group(guow, vip.id, {"auto_assign": True})
    customer = await create_customer(guow, {"email": "big@spender.io"}, rules=RULES)

    guow.causation_id = str(uuid.uuid4())
    await record_order_event(guow, placed(customer.id, "A-1", "4000"))
    assert guow.customers.rows[customer.id].group_id is None
    guow.causation_id = str(uuid.uuid4())
    await record_order_event(guow, placed(customer.id, "A-2", "1000.01"))

    assert guow.customers.rows[customer.id].group_id == vip.id
    assert guow.groups.assignments[customer.id] == Assignment(vip.id, "rule")
    assert group_events(guow)[-1].customer.group_id == vip.id


async def test_a_manual_choice_is_kept_until_cleared_then_rules_take_over(
    guow: FakeGroupUnitOfWork,
) -> None:
    groups = await defaults(guow)
    await change_group(guow, groups["wholesale"].id, {"auto_assign": True})
    customer = await create_customer(guow, {"email": "buyer@acme.com"}, rules=RULES)
    assert guow.customers.rows[customer.id].group_id == groups["wholesale"].id

    await update_customer(guow, customer.id, {"group_id": groups["retail"].id}, rules=RULES)
    await update_customer(guow, customer.id, {"email": "buyer@acme.org"}, rules=RULES)
    await reevaluate_customers(guow)
    assert guow.customers.rows[customer.id].group_id == groups["retail"].id
    assert guow.groups.assignments[customer.id].assigned_by == "manual"

    await update_customer(guow, customer.id, {"group_id": None}, rules=RULES)
    assert guow.customers.rows[customer.id].group_id == groups["wholesale"].id
    assert guow.groups.assignments[customer.id].assigned_by == "rule"


async def test_a_rule_group_is_left_when_the_rule_stops_matching(guow: FakeGroupUnitOfWork) -> None:
    wholesale = (await defaults(guow))["wholesale"]
    await change_group(guow, wholesale.id, {"auto_assign": True})
    customer = await create_customer(guow, {"email": "x@acme.com"}, rules=RULES)

    await update_customer(guow, customer.id, {"email": "x@gmail.com"}, rules=RULES)

    assert guow.customers.rows[customer.id].group_id is None
    assert customer.id not in guow.groups.assignments


async def test_an_unknown_group_id_is_invalid_input_naming_group_id(
    guow: FakeGroupUnitOfWork,
) -> None:
    customer = await create_customer(guow, {"email": "a@b.io"}, rules=RULES)

    with pytest.raises(InvalidInput) as caught:
        await update_customer(guow, customer.id, {"group_id": uuid.uuid4()}, rules=RULES)
    with pytest.raises(InvalidInput) as on_create:
        await create_customer(guow, {"email": "c@d.io", "group_id": uuid.uuid4()}, rules=RULES)

    assert caught.value.field == on_create.value.field == "group_id"
    assert guow.customers.rows[customer.id].group_id is None


async def test_rule_changes_re_evaluate_customers_in_bounded_batches(
    guow: FakeGroupUnitOfWork,
) -> None:
    wholesale = (await defaults(guow))["wholesale"]
    ids = [
        (await create_customer(guow, {"email": f"p{n}@firm{n}.com"}, rules=RULES)).id
        for n in range(5)
    ]
    pinned = ids[0]
    retail = (await defaults(guow))["retail"]
    await assign_customers(guow, retail.id, [pinned])
    commits = guow.commits

    await change_group(guow, wholesale.id, {"auto_assign": True}, batch_size=2)

    assert [guow.customers.rows[i].group_id for i in ids] == [retail.id] + [wholesale.id] * 4
    # The change, then ceil(4 candidates / 2) + 1 batches, then the read-back.
    assert guow.commits - commits == 1 + 3 + 1


async def test_bulk_assignment_pins_customers_and_reports_unknown_ids(
    guow: FakeGroupUnitOfWork,
) -> None:
    vip = (await defaults(guow))["vip"]
    known = await create_customer(guow, {"email": "k@n.io"}, rules=RULES)
    unknown = uuid.uuid4()

    result = await assign_customers(guow, vip.id, [known.id, unknown, known.id])

    assert (result.assigned, result.not_found) == (1, [unknown])
    assert guow.groups.assignments[known.id] == Assignment(vip.id, "manual")
    assert group_events(guow)[-1].customer_id == known.id
    with pytest.raises(InvalidInput) as caught:
        await assign_customers(guow, vip.id, [uuid.uuid4() for _ in range(1001)])
    assert caught.value.field == "customer_ids"


async def test_groups_with_customers_need_a_target_and_defaults_stay(
    guow: FakeGroupUnitOfWork,
) -> None:
    groups = await defaults(guow)
    trade = (await create_group(guow, {"name": "Trade"})).group
    member = await create_customer(guow, {"email": "m@t.io", "group_id": trade.id}, rules=RULES)

    with pytest.raises(Conflict):
        await delete_group(guow, groups["retail"].id)
    with pytest.raises(Conflict):
        await delete_group(guow, trade.id)
    await delete_group(guow, trade.id, reassign_to=groups["vip"].id)

    assert trade.id not in guow.groups.rows
    assert guow.customers.rows[member.id].group_id == groups["vip"].id
    assert guow.groups.assignments[member.id] == Assignment(groups["vip"].id, "manual")
