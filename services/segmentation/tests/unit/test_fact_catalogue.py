"""The facts a rule can name: what SQL holds and what the live evaluation reads agree."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from patron_segmentation.adapters.segments import fact_columns
from patron_segmentation.domain.facts import CustomerFacts, location_of
from patron_segmentation.domain.fields import FIELDS
from patron_segmentation.domain.membership import age_on, rule_facts

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_live_evaluation_reads_exactly_the_facts_the_database_holds() -> None:
    facts = CustomerFacts(uuid.uuid4(), NOW)

    assert set(rule_facts(facts, NOW)) == set(fact_columns(NOW)) == set(FIELDS)


@pytest.mark.parametrize(
    ("born", "age"),
    [
        (date(1990, 3, 1), 36),
        (date(1990, 3, 2), 35),
        (date(2000, 2, 29), 26),  # turns 26 on 1 March in a common year
        (None, None),
    ],
)
def test_age_counts_whole_years(born: date | None, age: int | None) -> None:
    assert age_on(born, NOW) == age


def test_the_location_is_the_default_shipping_address_else_the_default_billing_one() -> None:
    addresses = {
        "b": {
            "type": "billing",
            "is_default": True,
            "city": "Mumbai",
            "state": "MH",
            "country": "in",
        },
        "s": {
            "type": "shipping",
            "is_default": True,
            "city": "Pune",
            "state": "MH",
            "country": "in",
        },
        "a": {
            "type": "shipping",
            "is_default": False,
            "city": "Goa",
            "state": "GA",
            "country": "IN",
        },
    }

    assert location_of(addresses) == ("IN", "MH", "Pune")
    del addresses["s"]
    assert location_of(addresses) == ("IN", "MH", "Mumbai")
    del addresses["b"]
    assert location_of(addresses) == ("IN", "GA", "Goa")
    assert location_of({}) == (None, None, None)
