"""Report building blocks: periods, value bands and the tables CSV gives."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_segmentation.domain.reports import (
    AcquisitionReport,
    AcquisitionRow,
    Cohort,
    RetentionReport,
    period_start,
    periods_between,
    top_share,
    value_bands,
)

amounts = st.decimals(0, 10_000_000, places=2)


@given(low=amounts, high=amounts)
def test_value_bands_start_at_zero_rise_and_reach_past_the_top(low: Decimal, high: Decimal) -> None:
    low, high = min(low, high), max(low, high)

    edges = value_bands(low, high)

    assert edges[0] == 0
    assert all(a < b for a, b in itertools.pairwise(edges))
    if high > 0:
        assert edges[-1] > high
        assert len(edges) - 1 <= 10
        # every edge after 0 is 1, 2, 3 or 5 times a power of ten: bands a person reads
        assert all(str(edge.normalize()).lstrip("0.")[0] in "1235" for edge in edges[1:])


def test_value_bands_for_typical_order_values() -> None:
    assert value_bands(Decimal(5), Decimal(405)) == [0, 10, 20, 50, 100, 200, 500]


@pytest.mark.parametrize(
    ("interval", "first_days"),
    [
        ("day", [date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 1)]),
        ("week", [date(2026, 3, 30)]),  # Monday of that week
        ("month", [date(2026, 3, 1), date(2026, 4, 1)]),
    ],
)
def test_periods_cover_the_window_from_the_period_holding_its_start(
    interval: str, first_days: list[date]
) -> None:
    found = periods_between(date(2026, 3, 30), date(2026, 4, 1), interval)  # type: ignore[arg-type]

    assert found == first_days
    assert period_start(date(2026, 4, 5), "week") == date(2026, 3, 30)  # a Sunday


@given(st.lists(amounts, max_size=50))
def test_the_top_tenth_is_the_largest_ceil_n_over_ten(values: list[Decimal]) -> None:
    top, total = top_share(values)

    assert top == -(-len(values) // 10)
    assert total == sum(sorted(values)[len(values) - top :], Decimal(0))
    assert total >= sum(values, Decimal(0)) * top / max(len(values), 1)


def test_report_tables_have_a_header_and_one_row_per_item() -> None:
    acquisition = AcquisitionReport(
        "month",
        date(2026, 1, 1),
        date(2026, 2, 10),
        [
            AcquisitionRow(date(2026, 1, 1), "shopify", 3, 1),
            AcquisitionRow(date(2026, 2, 1), "shopify", 2, 2),
        ],
    )
    retention = RetentionReport(
        as_of=date(2026, 2, 10),
        cohorts=[Cohort(date(2026, 1, 1), 4, [4, 1]), Cohort(date(2026, 2, 1), 2, [2])],
        buyers=6,
        repeat_buyers=1,
        churn_days=180,
        churned=0,
        average_lifespan_days=31.5,
    )

    assert acquisition.tables()["periods"][1:] == [
        ["2026-01-01", "shopify", "3", "1"],
        ["2026-02-01", "shopify", "2", "2"],
    ]
    assert acquisition.new_customers_by_source() == {"shopify": 5}
    cohorts = retention.tables()["cohorts"]
    assert cohorts[0] == ["cohort", "customers", "month_0", "month_1"]
    assert cohorts[1:] == [["2026-01", "4", "1.0000", "0.2500"], ["2026-02", "2", "1.0000", ""]]
    summary = dict(retention.tables()["summary"][1:])
    assert summary["repeat_purchase_rate"] == f"{1 / 6:.4f}"
