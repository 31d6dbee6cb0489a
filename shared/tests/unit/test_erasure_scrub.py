"""The pure parts of erasure: which values are looked for, how a payload is redacted, and
what a service's acknowledgement says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from patron_shared.db.erasure import (
    REDACTED,
    acknowledge_erasure,
    name_form,
    personal_values,
    redact_mentions,
    redact_payload,
)
from patron_shared.events import CONTRACTS, CustomerErased, ErasureAcknowledged, Topic
from patron_shared.testing import InMemoryUnitOfWork, run_without_io

CUSTOMER = uuid.UUID("6f1c2a3e-0000-4000-8000-000000000001")


def test_personal_values_are_the_distinct_non_blank_ones_of_some_length() -> None:
    assert personal_values("ann@example.com", None, "", " ", "Al", "ann@example.com", " Ann ") == (
        "Ann",
        "ann@example.com",
    )


def test_personal_fields_are_redacted_at_any_depth_and_amounts_stay() -> None:
    payload = {
        "type": "CustomerCreated",
        "subject": str(CUSTOMER),
        "data": {
            "customer_id": str(CUSTOMER),
            "customer": {"email": "ann@example.com", "phone": "+14155550199", "tags": ["vip"]},
            "total": "125.00",
            "addresses": [{"address1": "1 Market St", "country": "US"}],
        },
    }

    clean = redact_payload(payload, [])

    assert clean["data"]["customer"] == {"email": REDACTED, "phone": REDACTED, "tags": ["vip"]}
    assert clean["data"]["addresses"] == [{"address1": REDACTED, "country": "US"}]
    assert clean["data"]["total"] == "125.00"
    assert clean["subject"] == str(CUSTOMER)


def test_known_values_are_redacted_wherever_they_appear_whatever_their_case() -> None:
    payload = {"data": {"comparisons": [{"field": "name", "left": "Dear ANN LEE,", "right": "x"}]}}

    clean = redact_payload(payload, ["ann lee"])

    assert clean == {"data": {"comparisons": [{"field": "name", "left": REDACTED, "right": "x"}]}}


def test_nulls_and_empty_personal_fields_stay_as_they_are() -> None:
    payload = {"email": None, "phone": "", "first_name": 3}
    assert redact_payload(payload, ["someone"]) == payload


def test_a_service_scrubs_then_acknowledges_an_erasure_with_its_id() -> None:
    uow = InMemoryUnitOfWork()
    erasure_id = uuid.uuid4()
    event = CustomerErased(
        customer_id=CUSTOMER, mode="anonymize", erased_at=datetime.now(UTC), erasure_id=erasure_id
    )
    now = datetime(2026, 12, 4, 15, tzinfo=UTC)

    async def erase() -> None:
        async with uow:
            await acknowledge_erasure(uow, event, service="loyalty.points", now=now)
            await uow.commit()

    run_without_io(erase())

    assert uow.scrubbed == [CUSTOMER]
    assert uow.published == [
        ErasureAcknowledged(
            customer_id=CUSTOMER,
            erasure_id=erasure_id,
            service="loyalty.points",
            mode="anonymize",
            completed_at=now,
        )
    ]


def test_an_erasure_without_an_id_is_scrubbed_but_not_acknowledged() -> None:
    uow = InMemoryUnitOfWork()
    event = CustomerErased(customer_id=CUSTOMER, mode="hard", erased_at=datetime.now(UTC))

    async def erase() -> None:
        async with uow:
            await acknowledge_erasure(uow, event, service="identity")
            await uow.commit()

    run_without_io(erase())

    assert uow.scrubbed == [CUSTOMER]
    assert uow.published == []


def test_acknowledgements_travel_on_their_own_topic_keyed_by_the_customer() -> None:
    assert ErasureAcknowledged.topic is Topic.ERASURE_EVENTS
    assert CONTRACTS.contract_for("ErasureAcknowledged") is ErasureAcknowledged


ANN = [("Ann", "Smith")]


def test_another_customers_message_keeps_a_first_or_last_name_it_shares_with_the_erased() -> None:
    payload = {
        "data": {
            "customer": {"first_name": "Ann", "last_name": "Jones", "email": "aj@example.com"},
            "note": "Bob Smith called; annual plan",
            "tags": ["ann", "smith"],
        }
    }

    assert redact_mentions(payload, ["ann.smith@example.com"], ANN) == payload


def test_another_customers_message_loses_only_its_mentions_of_the_erased() -> None:
    payload = {
        "data": {
            "customer": {"first_name": "Bob", "last_name": "Jones", "email": "bob@example.com"},
            "note": "Referred by ann SMITH, see ANN.SMITH@example.com",
            "gift_to": {"first_name": "Smith", "last_name": "Ann", "city": "Lyon"},
            "greeting": "Dear Smith, Ann",
        }
    }

    clean = redact_mentions(payload, ["ann.smith@example.com"], ANN)

    assert clean["data"]["customer"] == payload["data"]["customer"]
    assert clean["data"]["note"] == REDACTED
    assert clean["data"]["gift_to"] == {
        "first_name": REDACTED,
        "last_name": REDACTED,
        "city": "Lyon",
    }
    assert clean["data"]["greeting"] == REDACTED


_words = st.sampled_from(["ann", "Ann", "smith", "SMITH", "bob", "jones", "annual", "lee", "x"])
_strings = st.lists(_words, max_size=4).map(" ".join)
_payloads: st.SearchStrategy[Any] = st.recursive(
    _strings | st.integers() | st.none(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["first_name", "last_name", "note", "x"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


def _strings_of(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings_of(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings_of(item)]
    return [node] if isinstance(node, str) else []


def _mentions_full_name(node: Any) -> bool:
    """Whether `node` names Ann Smith: as adjacent words of a string, or as two values of
    one object (the rule, written out plainly)."""
    if isinstance(node, dict):
        forms = {name_form(v) for v in node.values() if isinstance(v, str)}
        if {"ann", "smith"} <= forms:
            return True
        return any(_mentions_full_name(value) for value in node.values())
    if isinstance(node, list):
        return any(_mentions_full_name(item) for item in node)
    if isinstance(node, str):
        spaced = f" {name_form(node)} "
        return " ann smith " in spaced or " smith ann " in spaced
    return False


@given(_payloads)
def test_a_message_is_changed_exactly_when_it_names_the_erased_with_both_names(
    payload: Any,
) -> None:
    clean = redact_mentions(payload, [], ANN)

    assert (clean != payload) == _mentions_full_name(payload)
    assert not _mentions_full_name(clean)
    # what stays is what was there: nothing but mentions is replaced
    assert set(_strings_of(clean)) - {REDACTED} <= set(_strings_of(payload))
