"""The owner report as a PDF a shop owner reads: key figures first, then acquisition,
retention, value and purchase patterns, each explained in a line and drawn as vector charts.

Money is formatted from `Decimal`; floats only place bars and lines on a chart. The standard
PDF fonts (Helvetica) keep the file small and self-contained; characters they lack render as
boxes rather than failing the report.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Circle, Drawing, Group, Line, PolyLine, Rect, String
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from patron_segmentation.domain.reports import (
    WEEKDAYS,
    AcquisitionReport,
    AcquisitionRow,
    Cohort,
    OwnerReport,
    PatternsReport,
    RetentionReport,
    ValueReport,
)

__all__ = ["render_owner_report"]

MARGIN = 18 * mm
# the page frame pads its content by 6pt on each side
WIDTH = A4[0] - 2 * MARGIN - 12
FONT = "Helvetica"
BOLD = "Helvetica-Bold"
NO_ORDERS = "No orders yet."
DASH = "\u2014"
# the heat map and the charts stay readable on a page: older cohorts are in the CSV
MAX_COHORTS = 12
MAX_MONTHS = 12
MAX_CATEGORIES = 10
MAX_GROUPS = 10

INK = HexColor("#1F2933")
MUTED = HexColor("#616E7C")
AXIS = HexColor("#9AA5B1")
GRID = HexColor("#E4E7EB")
TINT = HexColor("#F0F4F8")
ACCENT = HexColor("#2F6690")
LINE = HexColor("#D1495B")
# calm, distinguishable series colours; a source past the last reuses them in turn
SERIES = [
    HexColor(code)
    for code in ("#2F6690", "#81B29A", "#E0A458", "#8E7DBE", "#3A9FBF", "#C97C5D", "#B5838D")
]
# light to dark blue through a clear mid tone, so middling shares do not look grey
HEAT = [HexColor("#EEF4F8"), HexColor("#8DB8D3"), HexColor("#2F6690")]


def render_owner_report(report: OwnerReport, *, shop_name: str | None = None) -> bytes:
    """The report as an A4 PDF: a title block, the key figures, then one section per report."""
    buffer = io.BytesIO()
    title = shop_name or report.tenant_id
    generated = _utc(report.generated_at)
    footer = f"{title} \u00b7 customer report \u00b7 {generated:%Y-%m-%d %H:%M} UTC"

    def decorate(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(0.6)
        canvas.line(MARGIN, 12 * mm, A4[0] - MARGIN, 12 * mm)
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, 8 * mm, footer)
        canvas.drawRightString(A4[0] - MARGIN, 8 * mm, f"Page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"Customer report \u2014 {title}",
        author="Patron",
        subject="Acquisition, retention, value and purchase patterns",
    )
    story: list[Flowable] = [
        *_title_block(report, title, shop_name is not None, generated),
        *_key_figures(report),
        *_acquisition(report.acquisition),
        *_retention(report.retention),
        *_value(report.value),
        *_patterns(report.patterns),
    ]
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


# -- text ------------------------------------------------------------------------------------

STYLES = {
    "kicker": ParagraphStyle("kicker", fontName=BOLD, fontSize=8, leading=10, textColor=ACCENT),
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=22, leading=26, textColor=INK),
    "subtitle": ParagraphStyle("subtitle", fontName=FONT, fontSize=9, leading=12, textColor=MUTED),
    "h1": ParagraphStyle(
        "h1", fontName=BOLD, fontSize=15, leading=19, textColor=INK, spaceBefore=6
    ),
    "h2": ParagraphStyle(
        "h2", fontName=BOLD, fontSize=10, leading=13, textColor=INK, spaceBefore=4
    ),
    "lead": ParagraphStyle(
        "lead", fontName=FONT, fontSize=9.5, leading=13, textColor=MUTED, spaceAfter=6
    ),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12.5, textColor=INK),
    "empty": ParagraphStyle(
        "empty", fontName=FONT, fontSize=10, leading=14, textColor=MUTED, spaceBefore=4
    ),
    "label": ParagraphStyle("label", fontName=FONT, fontSize=7.5, leading=9.5, textColor=MUTED),
    "figure": ParagraphStyle("figure", fontName=BOLD, fontSize=14, leading=17, textColor=INK),
    "note": ParagraphStyle("note", fontName=FONT, fontSize=7.5, leading=10, textColor=MUTED),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10, textColor=INK),
    "cell_right": ParagraphStyle(
        "cell_right", fontName=FONT, fontSize=8, leading=10, textColor=INK, alignment=TA_RIGHT
    ),
}


def _p(text: str, style: str) -> Paragraph:
    """A paragraph of plain text: names from the shop's data may hold '&' or '<'."""
    return Paragraph(escape(text), STYLES[style])


def _utc(moment: datetime) -> datetime:
    # a naive time is taken as UTC already: the service keeps times in UTC
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _money(value: Decimal | None, currency: str | None) -> str:
    if value is None:
        return DASH
    amount = f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"
    # a non-breaking space keeps the code with its amount when a line wraps
    return f"{currency}\u00a0{amount}" if currency else amount


def _percent(share: float | None) -> str:
    return DASH if share is None else f"{share * 100:.1f}%"


def _days(days: float | None, digits: int = 1) -> str:
    return DASH if days is None else f"{days:,.{digits}f} days"


def _count(number: int) -> str:
    return f"{number:,}"


def _day(day: date) -> str:
    # non-breaking spaces: a date is not split over two lines
    return f"{day.day}\u00a0{day:%b}\u00a0{day:%Y}"


def _month(day: date) -> str:
    return f"{day:%b %Y}"


def _period(day: date, interval: str) -> str:
    return _month(day) if interval == "month" else f"{day.day} {day:%b}"


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "\u2026"


# -- page 1: title and key figures ------------------------------------------------------------


def _title_block(
    report: OwnerReport, title: str, named: bool, generated: datetime
) -> list[Flowable]:
    details = [f"Generated {generated:%d %B %Y, %H:%M} UTC"]
    if named:
        details.append(f"tenant {report.tenant_id}")
    acquisition = report.acquisition
    details.append(
        f"new customers from {_day(acquisition.start)} to {_day(acquisition.end)}, "
        f"retention as of {_day(report.retention.as_of)}"
    )
    return [
        _p("CUSTOMER REPORT", "kicker"),
        Spacer(1, 2),
        _p(title, "title"),
        Spacer(1, 3),
        _p(" \u00b7 ".join(details), "subtitle"),
        Spacer(1, 12),
    ]


def _key_figures(report: OwnerReport) -> list[Flowable]:
    value, retention, patterns = report.value, report.retention, report.patterns
    currency = value.currency
    typical = DASH
    if patterns.order_value_p25 is not None and patterns.order_value_p75 is not None:
        typical = (
            f"{_money(patterns.order_value_p25, patterns.currency)} \u2013 "
            f"{_money(patterns.order_value_p75, None)}"
        )
    figures = [
        ("Buyers", _count(value.buyers)),
        ("Revenue", _money(value.revenue, currency) if value.buyers else DASH),
        ("Average order value", _money(value.average_order_value, currency)),
        ("Repeat purchase rate", _percent(retention.repeat_purchase_rate)),
        (
            f"Churn rate (no order in {retention.churn_days} days)",
            _percent(retention.churn_rate),
        ),
        ("Average customer lifespan", _days(retention.average_lifespan_days, 0)),
        ("Revenue from the top 10% of buyers", _percent(value.top_revenue_share)),
        ("Average days between orders", _days(patterns.average_days_between_orders)),
        ("Typical order value (middle half)", typical),
    ]
    cells = [[_p(label, "label"), Spacer(1, 2), _p(text, "figure")] for label, text in figures]
    rows = [cells[i : i + 3] for i in range(0, len(cells), 3)]
    table = Table(rows, colWidths=[WIDTH / 3] * 3)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), TINT),
                # white rules between the cells read as gaps between cards
                ("LINEAFTER", (0, 0), (-2, -1), 4, white),
                ("LINEBELOW", (0, 0), (-1, -2), 4, white),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 9),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 8),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 9),
            ]
        )
    )
    story: list[Flowable] = [_p("Key figures", "h1"), Spacer(1, 4), table]
    if value.other_currencies:
        story += [
            Spacer(1, 4),
            _p(
                f"Money figures are in {currency}; customers buying in "
                f"{', '.join(value.other_currencies)} are not included in them.",
                "note",
            ),
        ]
    return story


def _section(title: str, lead: str, room: float, *, empty: bool) -> list[Flowable]:
    # a section starts on a new page unless its first chart fits under the heading; an empty
    # one is only a line and goes wherever it fits
    return [CondPageBreak(60 if empty else room), Spacer(1, 10), _p(title, "h1"), _p(lead, "lead")]


# -- acquisition --------------------------------------------------------------------------------


def _acquisition(report: AcquisitionReport) -> list[Flowable]:
    empty = report.new_customers == 0 and report.first_purchases == 0
    story = _section(
        "Acquisition",
        "New customers in each period, where they came from, and how many placed a first order.",
        330,
        empty=empty,
    )
    if empty:
        story.append(
            _p(
                f"{NO_ORDERS} No new customers signed up from {_day(report.start)} "
                f"to {_day(report.end)}.",
                "empty",
            )
        )
        return story
    periods = report.periods
    sources = report.sources
    totals = report.new_customers_by_source()
    by_key = {(row.period, row.source): row for row in report.rows}
    # past as many sources as there are colours, the smallest share one bar segment
    ranked = sorted(sources, key=lambda s: (-totals[s], s))
    drawn = ranked if len(ranked) <= len(SERIES) else ranked[: len(SERIES) - 1]
    series = [
        (_source(source), [_row_count(by_key, period, source) for period in periods])
        for source in sorted(drawn)
    ]
    if len(drawn) < len(ranked):
        rest = ranked[len(drawn) :]
        series.append(
            (
                f"{len(rest)} other sources",
                [sum(_row_count(by_key, period, s) for s in rest) for period in periods],
            )
        )
    first = [
        sum(by_key[(period, s)].first_purchases for s in sources if (period, s) in by_key)
        for period in periods
    ]
    labels = [_period(period, report.interval) for period in periods]
    chart = _bar_chart(labels, series, height=190, stacked=True, line=("First purchases", first))
    firsts = dict.fromkeys(sources, 0)
    for row in report.rows:
        firsts[row.source] += row.first_purchases
    total = report.new_customers
    rows: list[list[str]] = [["Source", "New customers", "Share", "First purchases"]]
    rows += [
        [
            _source(source),
            _count(totals[source]),
            _percent(totals[source] / total if total else None),
            _count(firsts[source]),
        ]
        for source in drawn
    ]
    if len(drawn) < len(ranked):
        rest = ranked[len(drawn) :]
        others = sum(totals[s] for s in rest)
        rows.append(
            [
                f"{len(rest)} other sources",
                _count(others),
                _percent(others / total if total else None),
                _count(sum(firsts[s] for s in rest)),
            ]
        )
    rows.append(["Total", _count(total), _percent(1.0 if total else None), _count(sum(first))])
    table = _data_table(rows, [3, 2, 1.5, 2], total_row=True)
    return [
        *story,
        _p(f"New customers per {report.interval}, by source", "h2"),
        Spacer(1, 4),
        chart,
        KeepTogether([Spacer(1, 10), _p("New customers by source", "h2"), Spacer(1, 3), table]),
    ]


# how the sources Patron connects to spell their own names
_SOURCE_NAMES = {"shopify": "Shopify", "woocommerce": "WooCommerce", "whatsapp": "WhatsApp"}


def _source(source: str) -> str:
    return _SOURCE_NAMES.get(source.lower()) or source.replace("_", " ").capitalize()


def _row_count(by_key: dict[tuple[date, str], AcquisitionRow], period: date, source: str) -> int:
    row = by_key.get((period, source))
    return row.new_customers if row else 0


# -- retention --------------------------------------------------------------------------------


def _retention(report: RetentionReport) -> list[Flowable]:
    empty = not report.cohorts or report.buyers == 0
    story = _section(
        "Retention",
        "The share of each month's new buyers who ordered again in each following month.",
        360,
        empty=empty,
    )
    if empty:
        story.append(_p(NO_ORDERS, "empty"))
        return story
    cohorts = report.cohorts[-MAX_COHORTS:]
    months = min(MAX_MONTHS, max(len(cohort.active) for cohort in cohorts))
    story += [_heat_map(cohorts, months), Spacer(1, 4)]
    shown = f"Latest {len(cohorts)} of {len(report.cohorts)} cohorts. "
    story.append(
        _p(
            (shown if len(report.cohorts) > len(cohorts) else "")
            + "M0 is the month of the first order (always 100%); the darker a later month, "
            "the more of the cohort ordered in it.",
            "note",
        )
    )
    figures = [
        (
            "Repeat purchase rate",
            _percent(report.repeat_purchase_rate),
            f"{_count(report.repeat_buyers)} of {_count(report.buyers)} buyers ordered twice "
            "or more",
        ),
        (
            "Churn rate",
            _percent(report.churn_rate),
            f"{_count(report.churned)} buyers without an order in the last "
            f"{report.churn_days} days",
        ),
        (
            "Average lifespan",
            _days(report.average_lifespan_days, 0),
            "from first to last order, over repeat buyers",
        ),
    ]
    story += [Spacer(1, 10), _figure_row(figures)]
    return story


def _heat_map(cohorts: Sequence[Cohort], months: int) -> Table:
    header = ["Cohort", "Customers", *(f"M{k}" for k in range(months))]
    rows: list[list[str]] = [header]
    shades: list[tuple[int, int, float]] = []
    for r, cohort in enumerate(cohorts, start=1):
        shares = cohort.retention()[:months]
        rows.append(
            [
                _month(cohort.month),
                _count(cohort.customers),
                *(f"{share * 100:.1f}%" for share in shares),
                *([""] * (months - len(shares))),
            ]
        )
        shades += [(c, r, share) for c, share in enumerate(shares[1:], start=3)]
    # month 0 is 100% by definition: shading is scaled to the later months, which differ
    highest = max((share for _, _, share in shades), default=0.0) or 1.0
    cohort_width, size_width = 56, 48
    month_width = min(40.0, (WIDTH - cohort_width - size_width) / max(months, 1))
    table = Table(
        rows,
        colWidths=[cohort_width, size_width, *([month_width] * months)],
        rowHeights=[16] + [15] * len(cohorts),
        hAlign="LEFT",
    )
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, 0), BOLD, 7.5),
        ("FONT", (0, 1), (-1, -1), FONT, 7.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
        ("TEXTCOLOR", (0, 1), (1, -1), INK),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("ALIGN", (2, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, AXIS),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
    if months:
        style += [
            ("BACKGROUND", (2, 1), (2, -1), TINT),
            ("TEXTCOLOR", (2, 1), (2, -1), MUTED),
        ]
    for column, row, share in shades:
        # a square root lifts the small late shares into visibly different shades
        weight = math.sqrt(max(0.0, min(1.0, share / highest)))
        style.append(("BACKGROUND", (column, row), (column, row), _blend(weight)))
        style.append(("TEXTCOLOR", (column, row), (column, row), white if weight > 0.6 else INK))
    # white lines between cells keep neighbouring shades apart
    style.append(("GRID", (2, 1), (-1, -1), 1, white))
    table.setStyle(TableStyle(style))
    return table


def _blend(weight: float) -> Color:
    low, high = (HEAT[0], HEAT[1]) if weight < 0.5 else (HEAT[1], HEAT[2])
    weight = weight * 2 if weight < 0.5 else weight * 2 - 1
    return Color(
        low.red + (high.red - low.red) * weight,
        low.green + (high.green - low.green) * weight,
        low.blue + (high.blue - low.blue) * weight,
    )


# -- value ------------------------------------------------------------------------------------


def _value(report: ValueReport) -> list[Flowable]:
    story = _section(
        "Customer value",
        "How much each buyer has spent in total (lifetime value, less refunds), and how "
        "concentrated revenue is.",
        330,
        empty=report.buyers == 0,
    )
    if report.buyers == 0:
        story.append(_p(NO_ORDERS, "empty"))
        return story
    currency = report.currency
    if report.distribution:
        story.append(_p(f"Buyers by lifetime value ({currency or 'amount'})", "h2"))
        story.append(
            _bar_chart(
                [band.label for band in report.distribution],
                [("Buyers", [band.count for band in report.distribution])],
                height=155,
                bar_labels=True,
            )
        )
    names = {25: "25th", 50: "median", 75: "75th", 90: "90th", 99: "99th"}
    percentiles = " \u00b7 ".join(
        f"{names.get(p, f'{p}th')} {_money(v, currency)}"
        for p, v in sorted(report.percentiles.items())
    )
    if percentiles:
        story += [Spacer(1, 6), _p(f"Lifetime value percentiles: {percentiles}.", "body")]
    story += [
        Spacer(1, 4),
        _p(
            f"The top 10% of buyers ({_count(report.top_customers)} of "
            f"{_count(report.buyers)}) brought {_percent(report.top_revenue_share)} of revenue "
            f"({_money(report.top_revenue, currency)} of {_money(report.revenue, currency)}).",
            "body",
        ),
    ]
    if report.groups:
        rows: list[list[str]] = [
            ["Customer group", "Customers", "Orders", "Revenue", "Average order"]
        ]
        rows += [
            [
                str(group.group_id)[:8] if group.group_id else "No group",
                _count(group.customers),
                _count(group.orders),
                _money(group.revenue, currency),
                _money(group.average_order_value, currency),
            ]
            for group in report.groups[:MAX_GROUPS]
        ]
        table = _data_table(rows, [2.4, 1.4, 1.4, 2, 2])
        more = len(report.groups) - MAX_GROUPS
        story.append(
            KeepTogether(
                [
                    Spacer(1, 10),
                    _p("Average order value by customer group", "h2"),
                    Spacer(1, 3),
                    table,
                    *([_p(f"{more} smaller groups are in the CSV.", "note")] if more > 0 else []),
                ]
            )
        )
    return story


# -- purchase patterns ------------------------------------------------------------------------


def _patterns(report: PatternsReport) -> list[Flowable]:
    story = _section(
        "Purchase patterns",
        "What customers buy, what an order is worth, which days they order, and how soon they "
        "come back.",
        300,
        empty=report.orders == 0,
    )
    if report.orders == 0:
        story.append(_p(NO_ORDERS, "empty"))
        return story
    currency = report.currency
    story.append(
        _p(
            f"{_count(report.orders)} orders; a customer orders again after "
            f"{_days(report.average_days_between_orders)} on average. A typical order is worth "
            f"{_money(report.order_value_p25, currency)} to "
            f"{_money(report.order_value_p75, currency)} "
            f"(median {_money(report.order_value_median, currency)}).",
            "body",
        )
    )
    categories = report.top_categories[:MAX_CATEGORIES]
    if categories:
        story += [
            Spacer(1, 8),
            _p("Top categories by orders", "h2"),
            _category_chart([c.category for c in categories], [c.orders for c in categories]),
        ]
    weekdays = (list(report.orders_by_weekday) + [0] * 7)[:7]
    pair = Drawing(WIDTH, 190)
    half = WIDTH / 2 - 10
    if report.order_values:
        pair.add(
            _bars_group(
                [band.label for band in report.order_values],
                [("Orders", [band.count for band in report.order_values])],
                x=0,
                width=half,
                height=190,
                title=f"Orders by value ({currency or 'amount'})",
                colour=SERIES[1],
            )
        )
    pair.add(
        _bars_group(
            [day[:3] for day in WEEKDAYS],
            [("Orders", weekdays)],
            x=WIDTH / 2 + 10,
            width=half,
            height=190,
            title="Orders by weekday (UTC)",
            colour=SERIES[2],
        )
    )
    story += [Spacer(1, 10), pair]
    if categories:
        rows: list[list[str]] = [["Category", "Orders", "Customers", "Units", "Revenue"]]
        rows += [
            [
                _clip(c.category, 44),
                _count(c.orders),
                _count(c.customers),
                _count(c.units),
                _money(c.revenue, currency),
            ]
            for c in categories
        ]
        story.append(
            KeepTogether(
                [
                    Spacer(1, 12),
                    _p("Top categories in figures (revenue before refunds)", "h2"),
                    Spacer(1, 3),
                    _data_table(rows, [4.2, 1.2, 1.4, 1.2, 1.8]),
                ]
            )
        )
    return story


def _category_chart(names: list[str], orders: list[int]) -> Drawing:
    labels = [_clip(name, 30) for name in names]
    label_width = max(stringWidth(label, FONT, 8) for label in labels) + 8
    bar = 17.0
    height = bar * len(labels) + 24
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    # the stubs type chart geometry as int; a point's fraction does not show
    chart.x = round(label_width)
    chart.y = 16
    chart.width = round(WIDTH - label_width - 40)
    chart.height = round(bar * len(labels))
    # the chart draws its first category at the bottom: the most ordered goes on top
    chart.data = [list(reversed(orders))]
    chart.categoryAxis.categoryNames = list(reversed(labels))
    top, step = _nice_axis(max(orders))
    _style_axes(chart, top, step)
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.visibleGrid = True
    chart.bars[0].fillColor = SERIES[0]
    chart.bars[0].strokeColor = None
    chart.barSpacing = 0
    chart.groupSpacing = 5
    chart.barLabelFormat = _integer
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 7
    chart.barLabels.fillColor = INK
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    return drawing


# -- charts -----------------------------------------------------------------------------------


def _integer(value: float) -> str:
    return f"{value:,.0f}"


def _nice_axis(top: float) -> tuple[float, float]:
    """An axis maximum at or above `top` and a whole-number step giving at most five steps."""
    if top <= 0:
        return 1.0, 1.0
    for exponent in range(16):
        # a step of 2.5 only from 25 up: counts have no fractions
        for multiple in (1, 2, 2.5, 5) if exponent else (1, 2, 5):
            step = multiple * 10**exponent
            if math.ceil(top / step) <= 5:
                return math.ceil(top / step) * step, step
    return top, top


def _style_axes(chart: VerticalBarChart | HorizontalBarChart, top: float, step: float) -> None:
    value_axis, category_axis = chart.valueAxis, chart.categoryAxis
    value_axis.valueMin = 0
    value_axis.valueMax = top
    value_axis.valueStep = step
    value_axis.labelTextFormat = _integer
    value_axis.labels.fontName = FONT
    value_axis.labels.fontSize = 7
    value_axis.labels.fillColor = MUTED
    value_axis.strokeColor = None
    value_axis.visibleGrid = True
    value_axis.gridStrokeColor = GRID
    value_axis.gridStrokeWidth = 0.5
    value_axis.visibleTicks = False
    category_axis.labels.fontName = FONT
    category_axis.labels.fontSize = 7
    category_axis.labels.fillColor = INK
    category_axis.strokeColor = AXIS
    category_axis.strokeWidth = 0.6
    category_axis.visibleTicks = False


def _bar_chart(
    labels: list[str],
    series: list[tuple[str, list[int]]],
    *,
    height: float,
    stacked: bool = False,
    line: tuple[str, list[int]] | None = None,
    bar_labels: bool = False,
) -> Drawing:
    """Bars over the page's width, a legend above them when there is more than one series."""
    items: list[tuple[Color, str, bool]] = []
    if len(series) > 1 or line is not None:
        items = [(SERIES[i % len(SERIES)], name, False) for i, (name, _) in enumerate(series)]
        if line is not None:
            items.append((LINE, line[0], True))
    legend, legend_height = _legend(items, x=34, width=WIDTH - 34)
    drawing = Drawing(WIDTH, height + legend_height)
    drawing.add(
        _bars_group(
            labels,
            series,
            x=0,
            width=WIDTH,
            height=height,
            title="",
            stacked=stacked,
            line=line,
            bar_labels=bar_labels,
        )
    )
    legend.translate(0, height)
    drawing.add(legend)
    return drawing


def _bars_group(
    labels: list[str],
    series: list[tuple[str, list[int]]],
    *,
    x: float,
    width: float,
    height: float,
    title: str,
    stacked: bool = False,
    line: tuple[str, list[int]] | None = None,
    bar_labels: bool = False,
    colour: Color | None = None,
) -> Group:
    group = Group()
    top_room = 24 if title else 6
    if title:
        group.add(String(x, height - 10, title, fontName=BOLD, fontSize=9, fillColor=INK))
    # too many periods to name each: every k-th gets its label
    every = max(1, math.ceil(len(labels) / 16))
    # labels too long for the room between them are turned so they do not run together
    longest = max((stringWidth(label, FONT, 7) for label in labels), default=0)
    slot = (width - 34) / max(len(labels), 1)
    turned = longest > slot * every - 5
    bottom = 14 + (longest * 0.6 if turned else 0)
    chart = VerticalBarChart()
    chart.x = round(x + 34)
    chart.y = round(bottom)
    chart.width = round(width - 34 - 4)
    chart.height = round(height - bottom - top_room)
    chart.data = [values for _, values in series]
    chart.categoryAxis.categoryNames = [
        label if i % every == 0 else "" for i, label in enumerate(labels)
    ]
    if stacked:
        chart.categoryAxis.style = "stacked"
        highest = max((sum(values) for values in zip(*chart.data, strict=True)), default=0)
    else:
        highest = max((max(values, default=0) for values in chart.data), default=0)
    if line is not None:
        highest = max(highest, max(line[1], default=0))
    top, step = _nice_axis(highest * (1.08 if bar_labels else 1))
    _style_axes(chart, top, step)
    if turned:
        chart.categoryAxis.labels.angle = 35
        chart.categoryAxis.labels.boxAnchor = "ne"
        chart.categoryAxis.labels.dx = 2
    chart.categoryAxis.labels.dy = -3
    for i in range(len(series)):
        chart.bars[i].fillColor = colour or SERIES[i % len(SERIES)]
        chart.bars[i].strokeColor = None
    # bars fill 60% of their slot, but no wider than 36pt: one period is not one wide slab;
    # spacing is in units of the bar width, a large one so whole numbers are fine enough
    fill = min(slot * 0.6, 36.0) / slot
    chart.barSpacing = 0
    chart.barWidth = 100
    chart.groupSpacing = round(100 * (1 / fill - 1))
    if bar_labels:
        chart.barLabelFormat = _integer
        chart.barLabels.fontName = FONT
        chart.barLabels.fontSize = 7
        chart.barLabels.fillColor = INK
        chart.barLabels.boxAnchor = "s"
        chart.barLabels.dy = 2
    group.add(chart)
    if line is not None:
        group.add(_line(chart, line[1], top))
    return group


def _line(chart: VerticalBarChart, values: list[int], top: float) -> Group:
    """A series over the bars, through the middle of each period's slot."""
    slot = chart.width / max(len(values), 1)
    points = [
        (chart.x + (i + 0.5) * slot, chart.y + chart.height * value / top)
        for i, value in enumerate(values)
    ]
    group = Group()
    if len(points) > 1:
        flat = [coordinate for point in points for coordinate in point]
        group.add(PolyLine(flat, strokeColor=LINE, strokeWidth=1.6, strokeLineJoin=1))
    radius = 2.2 if len(points) <= 40 else 0
    if radius:
        for px, py in points:
            group.add(Circle(px, py, radius, fillColor=white, strokeColor=LINE, strokeWidth=1.2))
    return group


def _legend(items: list[tuple[Color, str, bool]], *, x: float, width: float) -> tuple[Group, float]:
    """Swatches and names in rows of at most `width`; the group and the height it takes."""
    group = Group()
    if not items:
        return group, 0.0
    row_height = 13.0
    placed: list[tuple[float, int, Color, str, bool]] = []
    left, row = x, 0
    for colour, name, is_line in items:
        room = (18 if is_line else 13) + stringWidth(name, FONT, 8) + 14
        if left + room > x + width and left > x:
            left, row = x, row + 1
        placed.append((left, row, colour, name, is_line))
        left += room
    rows = row + 1
    for start, row, colour, name, is_line in placed:
        # the first row on top: rows count down from the group's top
        y = (rows - 1 - row) * row_height + 4
        if is_line:
            group.add(Line(start, y + 3, start + 14, y + 3, strokeColor=colour, strokeWidth=1.6))
            group.add(Circle(start + 7, y + 3, 2.2, fillColor=white, strokeColor=colour))
        else:
            swatch = Rect(start, y, 9, 7)
            swatch.fillColor, swatch.strokeColor = colour, None
            group.add(swatch)
        text_x = start + (18 if is_line else 13)
        group.add(String(text_x, y, name, fontName=FONT, fontSize=8, fillColor=INK))
    return group, rows * row_height + 4


def _figure_row(figures: list[tuple[str, str, str]]) -> Table:
    cells = [
        [_p(label, "label"), Spacer(1, 2), _p(text, "figure"), Spacer(1, 2), _p(note, "note")]
        for label, text, note in figures
    ]
    table = Table([cells], colWidths=[WIDTH / len(cells)] * len(cells))
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), TINT),
                ("LINEAFTER", (0, 0), (-2, -1), 4, white),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 9),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 8),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 9),
            ]
        )
    )
    return table


def _data_table(rows: list[list[str]], weights: list[float], *, total_row: bool = False) -> Table:
    """A plain table over the page's width, its columns in proportion to `weights`: text in
    the first column, figures right-aligned in the others."""
    widths = [WIDTH * weight / sum(weights) for weight in weights]
    body: list[list[Paragraph]] = [
        [_p(text, "cell" if c == 0 else "cell_right") for c, text in enumerate(row)] for row in rows
    ]
    # header (and total) cells in bold: the paragraphs carry their own font
    bold = [0, len(rows) - 1] if total_row else [0]
    for r in bold:
        body[r] = [
            Paragraph(f"<b>{escape(text)}</b>", cell.style)
            for text, cell in zip(rows[r], body[r], strict=True)
        ]
    style: list[tuple[Any, ...]] = [
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, AXIS),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("ROWBACKGROUNDS", (0, 1), (-1, -2 if total_row else -1), [None, TINT]),
    ]
    if total_row:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 0.6, AXIS))
    return Table(body, colWidths=widths, hAlign="LEFT", repeatRows=1, style=TableStyle(style))
