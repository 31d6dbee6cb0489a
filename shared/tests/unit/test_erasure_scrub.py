"""The pure parts of erasure: which values are looked for, how a payload is redacted, and
what a service's acknowledgement says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from patron_shared.db.erasure import REDACTED, acknowledge_erasure, personal_values, redact_payload
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
