"""The owner report PDF: rendered from hand-built reports, rasterized and read back.

Each page is drawn to a PNG (also copied to $PATRON_REPORT_PNG_DIR when set, for a person to
look at); the checks are that pages are not blank, that each section's charts put colour on the
page under its heading, and that the text holds the report's own figures, formatted.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from patron_segmentation.adapters.report_pdf import render_owner_report
from patron_segmentation.domain.reports import (
    AcquisitionReport,
    AcquisitionRow,
    Band,
    CategoryFigures,
    Cohort,
    GroupValue,
    Interval,
    OwnerReport,
    PatternsReport,
    RetentionReport,
    ValueReport,
    add_months,
    months_between,
    value_bands,
)

GENERATED = datetime(2025, 12, 15, 9, 30, tzinfo=UTC)
SCALE = 1.5  # 108 dpi: enough to tell chart colours from anti-aliased text
SECTIONS = ("Acquisition", "Retention", "Customer value", "Purchase patterns")
GROUP_A = uuid.UUID("3f2a9c1e-7b44-4d8e-9a51-0c6e2b8f1d23")
GROUP_B = uuid.UUID("a81d04f6-2c9b-47e3-b5d0-9e4f61a7c382")


def realistic_report() -> OwnerReport:
    """A year of a small shop: three sources, fourteen cohorts, three groups, eight categories."""
    start = date(2025, 1, 1)
    months = [add_months(start, k) for k in range(12)]
    sources = {"instagram": 38, "newsletter": 17, "organic_search": 55}
    rows = [
        AcquisitionRow(
            period=month,
            source=source,
            new_customers=(n := round(base * (1 + 0.35 * math.sin(k / 1.9)) + 3 * k)),
            first_purchases=round(n * 0.62),
        )
        for k, month in enumerate(months)
        for source, base in sorted(sources.items())
    ]
    acquisition = AcquisitionReport(
        interval="month", start=start, end=date(2025, 12, 31), rows=rows
    )

    as_of = GENERATED.date()
    cohort_months = [add_months(date(2024, 11, 1), k) for k in range(14)]
    cohorts = []
    for k, month in enumerate(cohort_months):
        size = 60 + 7 * k
        width = months_between(month, as_of) + 1
        active = [size] + [round(size * 0.36 * 0.84 ** (m - 1)) for m in range(1, width)]
        cohorts.append(Cohort(month=month, customers=size, active=active))
    buyers = sum(cohort.customers for cohort in cohorts)
    retention = RetentionReport(
        as_of=as_of,
        cohorts=cohorts,
        buyers=buyers,
        repeat_buyers=round(buyers * 0.384),
        churn_days=180,
        churned=round(buyers * 0.27),
        average_lifespan_days=142.6,
    )

    edges = value_bands(Decimal(20), Decimal(2000))
    counts = [210, 395, 352, 248, 96, 31, 9, 0]
    distribution = [
        Band(
            low=low,
            high=high,
            count=count,
            amount=(low + (high or low * 2)) / 2 * count,
        )
        for low, high, count in zip(edges, [*edges[1:], None], counts[: len(edges)], strict=True)
    ]
    revenue = Decimal("312487.35")
    orders = 4123
    groups = [
        GroupValue(group_id=None, customers=880, orders=2450, revenue=Decimal("171230.10")),
        GroupValue(group_id=GROUP_A, customers=301, orders=1104, revenue=Decimal("98765.40")),
        GroupValue(group_id=GROUP_B, customers=160, orders=569, revenue=Decimal("42491.85")),
    ]
    value = ValueReport(
        currency="EUR",
        buyers=buyers,
        orders=orders,
        revenue=revenue,
        top_customers=math.ceil(buyers / 10),
        top_revenue=Decimal("121874.12"),
        percentiles={
            25: Decimal("48.20"),
            50: Decimal("112.75"),
            75: Decimal("248.00"),
            90: Decimal("512.40"),
            99: Decimal("1893.10"),
        },
        distribution=distribution,
        groups=groups,
    )

    names = [
        "Garden tools",
        "Café & Thé",
        "Seeds and bulbs",
        "Plant pots <large>",
        "茶具 Tea ware",
        "Outdoor lighting and solar powered lamps for patios",
        "Gifts",
        "Gloves",
    ]
    categories = [
        CategoryFigures(
            category=name,
            orders=(n := 1480 - 150 * k - 4 * k * k),
            customers=round(n * 0.7),
            units=n * 2,
            revenue=Decimal(n) * Decimal("41.30"),
        )
        for k, name in enumerate(names)
    ]
    order_edges = value_bands(Decimal(10), Decimal(400))
    order_counts = [420, 1310, 1420, 690, 250, 33]
    order_values = [
        Band(low=low, high=high, count=count, amount=low * count)
        for low, high, count in zip(
            order_edges, [*order_edges[1:], None], order_counts, strict=True
        )
    ]
    patterns = PatternsReport(
        currency="EUR",
        orders=orders,
        average_days_between_orders=47.35,
        order_value_p25=Decimal("38.50"),
        order_value_median=Decimal("64.90"),
        order_value_p75=Decimal("109.00"),
        order_values=order_values,
        top_categories=categories,
        orders_by_weekday=[602, 571, 589, 614, 655, 548, 544],
    )
    return OwnerReport(
        tenant_id="acme-garden",
        generated_at=GENERATED,
        acquisition=acquisition,
        retention=retention,
        value=value,
        patterns=patterns,
    )


def empty_report() -> OwnerReport:
    """A new tenant: no customers, no orders, no currency yet."""
    start = date(2025, 12, 1)
    return OwnerReport(
        tenant_id="new-shop",
        generated_at=GENERATED,
        acquisition=AcquisitionReport(interval="month", start=start, end=start, rows=[]),
        retention=RetentionReport(
            as_of=GENERATED.date(),
            cohorts=[],
            buyers=0,
            repeat_buyers=0,
            churn_days=90,
            churned=0,
            average_lifespan_days=None,
        ),
        value=ValueReport(
            currency=None,
            buyers=0,
            orders=0,
            revenue=Decimal(0),
            top_customers=0,
            top_revenue=Decimal(0),
            percentiles={},
            distribution=[],
            groups=[],
        ),
        patterns=PatternsReport(
            currency=None,
            orders=0,
            average_days_between_orders=None,
            order_value_p25=None,
            order_value_median=None,
            order_value_p75=None,
            order_values=[],
            top_categories=[],
            orders_by_weekday=[0] * 7,
        ),
    )


@dataclass
class Rendered:
    pages: list[np.ndarray]  # RGB, one per page
    texts: list[str]
    # each section heading found: its page and the pixel row under it
    headings: dict[str, tuple[int, int]]

    @property
    def text(self) -> str:
        # pdfium breaks lines with \r\n; one space keeps phrases searchable across lines
        return " ".join(" ".join(page.split()) for page in self.texts)


def render(report: OwnerReport, name: str, tmp_path: Path, **options: str) -> Rendered:
    data = render_owner_report(report, **options)
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    pdf = pdfium.PdfDocument(data)
    pages, texts, headings = [], [], {}
    copy_to = os.environ.get("PATRON_REPORT_PNG_DIR")
    for index in range(len(pdf)):
        page = pdf[index]
        image = page.render(scale=SCALE).to_pil().convert("RGB")
        png = tmp_path / f"{name}-page-{index + 1}.png"
        image.save(png)
        if copy_to:
            Path(copy_to).mkdir(parents=True, exist_ok=True)
            shutil.copy(png, Path(copy_to) / png.name)
        pages.append(np.asarray(image))
        textpage = page.get_textpage()
        texts.append(textpage.get_text_range())
        for title in SECTIONS:
            searcher = textpage.search(title, match_case=True, match_whole_word=True)
            found = searcher.get_next()
            if found and title not in headings:
                _, bottom, _, _ = textpage.get_charbox(found[0])
                headings[title] = (index, round((page.get_height() - bottom) * SCALE))
    return Rendered(pages=pages, texts=texts, headings=headings)


def ink_share(image: np.ndarray) -> float:
    """The share of pixels that are not (near) white."""
    return float((image.min(axis=2) < 235).mean())


def colour_pixels(image: np.ndarray) -> int:
    """Pixels with a clear hue: text and rules are grey-ish, chart fills are not."""
    spread = image.max(axis=2).astype(int) - image.min(axis=2).astype(int)
    return int((spread > 45).sum())


def section_colour(rendered: Rendered, title: str, height_pt: float = 220) -> int:
    page, top = rendered.headings[title]
    region = rendered.pages[page][top : top + round(height_pt * SCALE)]
    return colour_pixels(region)


def money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def test_a_realistic_report_reads_as_its_figures(tmp_path: Path) -> None:
    report = realistic_report()
    rendered = render(report, "realistic", tmp_path, shop_name="Acme Garden Supplies")

    assert 3 <= len(rendered.pages) <= 6
    for number, image in enumerate(rendered.pages, start=1):
        assert ink_share(image) > 0.04, f"page {number} is (nearly) blank"
    # every section is there, and the charts (or heat map) under each heading are in colour
    assert set(rendered.headings) == set(SECTIONS)
    for title in SECTIONS:
        assert section_colour(rendered, title) > 4000, f"no chart drawn under {title}"

    text = rendered.text
    assert "Acme Garden Supplies" in text
    assert "tenant acme-garden" in text
    assert "15 December 2025, 09:30 UTC" in text
    # key figures, each as the report's own numbers formatted
    retention, value, patterns = report.retention, report.value, report.patterns
    assert f"{value.buyers:,}" in text
    assert money(value.revenue, "EUR") in text
    assert money(value.revenue / value.orders, "EUR") in text  # 75.79: AOV to the cent
    repeat = retention.repeat_buyers / retention.buyers * 100
    assert f"Repeat purchase rate {repeat:.1f}%" in text
    assert f"Churn rate (no order in {retention.churn_days} days)" in text
    assert f"{retention.churned / retention.buyers * 100:.1f}%" in text
    assert f"{retention.average_lifespan_days:.0f} days" in text  # whole days: 143
    top_share = value.top_revenue / value.revenue * 100
    assert f"{top_share:.1f}%" in text
    assert f"{patterns.average_days_between_orders:.1f} days" in text
    low, high = patterns.order_value_p25, patterns.order_value_p75
    assert low is not None
    assert f"{money(low, 'EUR')} \u2013 {high}" in text
    # acquisition: a period label and each source's total
    assert "Jun 2025" in text
    for source, total in report.acquisition.new_customers_by_source().items():
        assert f"{source.replace('_', ' ').capitalize()} {total:,}" in text
    # retention: the latest twelve cohorts, a month-3 share of one, the two oldest left out
    shown = retention.cohorts[-12:]
    assert "Jan 2025" in text
    assert f"Dec 2025 {shown[-1].customers}" in text
    jan = shown[0]
    assert f"{jan.active[3] / jan.customers * 100:.1f}%" in text
    assert "Nov 2024" not in text
    assert "Dec 2024" not in text
    assert "M11" in text
    assert "M12" not in text
    # value: bands, percentiles, groups
    assert value.distribution[2].label in text
    assert f"median {money(value.percentiles[50], 'EUR')}" in text
    assert "No group" in text
    assert str(GROUP_A)[:8] in text
    assert money(value.groups[1].revenue / value.groups[1].orders, "EUR") in text
    # patterns: categories (non-ASCII and markup characters included), weekdays
    assert patterns.top_categories[0].category in text
    assert "Café & Thé" in text
    assert "Plant pots <large>" in text
    assert "Wed" in text
    assert "No orders yet" not in text


def test_a_tenant_without_orders_says_so_instead_of_drawing_charts(tmp_path: Path) -> None:
    rendered = render(empty_report(), "empty", tmp_path)

    assert 1 <= len(rendered.pages) <= 2
    for image in rendered.pages:
        assert ink_share(image) > 0.005
    assert set(rendered.headings) == set(SECTIONS)
    for title in SECTIONS:
        assert section_colour(rendered, title, height_pt=80) == 0, f"a chart under {title}"
    text = rendered.text
    assert text.count("No orders yet") == 4
    assert "new-shop" in text
    assert "Buyers 0" in text
    assert "None" not in text


@pytest.mark.parametrize("interval", ["day", "week", "month"])
def test_short_and_long_spans_render(interval: Interval, tmp_path: Path) -> None:
    """One period, or ninety days of them; a single cohort; amounts with no currency."""
    report = realistic_report()
    periods = 1 if interval == "month" else 90 if interval == "day" else 20
    step = timedelta(days=1 if interval == "day" else 7)
    first = date(2025, 3, 3)  # a Monday: the first day of its week
    starts = [first + step * k for k in range(periods)]
    rows = [
        AcquisitionRow(period=start, source=source, new_customers=k % 7 + n, first_purchases=n)
        for k, start in enumerate(starts)
        for n, source in enumerate(["direct", "unknown"])
    ]
    one_cohort = [Cohort(month=date(2025, 12, 1), customers=3, active=[3])]
    short = OwnerReport(
        tenant_id="t",
        generated_at=GENERATED.replace(tzinfo=None),
        acquisition=AcquisitionReport(
            interval=interval,
            start=starts[0],
            end=starts[-1],
            rows=rows,
        ),
        retention=RetentionReport(
            as_of=GENERATED.date(),
            cohorts=one_cohort,
            buyers=3,
            repeat_buyers=0,
            churn_days=90,
            churned=0,
            average_lifespan_days=None,
        ),
        value=replace(report.value, currency=None),
        patterns=replace(report.patterns, currency=None),
    )
    rendered = render(short, f"span-{interval}", tmp_path)

    assert 3 <= len(rendered.pages) <= 6
    assert section_colour(rendered, "Acquisition") > 1000
    text = rendered.text
    assert "Dec 2025 3 100.0%" in text
    assert f"{report.value.revenue:,.2f}" in text
    assert "EUR" not in text
