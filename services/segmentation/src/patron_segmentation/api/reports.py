"""`/api/v1/reports/...`: acquisition, retention, value and purchase patterns, as JSON, as CSV
(`Accept: text/csv`, one of the report's tables) and all four as a PDF report.

No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import asyncio
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from patron_segmentation.adapters.report_pdf import render_owner_report
from patron_segmentation.adapters.uow import SegmentationUnitOfWork
from patron_segmentation.domain.reports import (
    WEEKDAYS,
    AcquisitionReport,
    Band,
    Interval,
    PatternsReport,
    RetentionReport,
    Table,
    ValueReport,
)
from patron_segmentation.service import reports as use_cases
from patron_segmentation.settings import SegmentationSettings
from patron_shared.auth import Scope
from patron_shared.errors import InvalidInput
from patron_shared.http import (
    CSV_CONTENT_TYPE,
    CSV_TYPE,
    PDF_TYPE,
    api_router,
    attachment,
    csv_text,
    prefers,
    unit_of_work,
)

Analyst = Annotated[
    SegmentationUnitOfWork, Depends(unit_of_work(SegmentationUnitOfWork, Scope.ANALYTICS_READ))
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {CSV_TYPE: {}}}}
TableQuery = Query(
    description="With `Accept: text/csv`, which of the report's tables (default: the first)"
)
CurrencyQuery = Query(
    description="ISO 4217 code; default: the currency most buyers' statistics are in",
    examples=["USD"],
)


class BandOut(BaseModel):
    low: Decimal = Field(description="from this amount (inclusive)")
    high: Decimal | None = Field(description="to this amount (exclusive); null: no upper bound")
    label: str
    count: int
    amount: Decimal

    @classmethod
    def of(cls, band: Band) -> "BandOut":
        return cls(
            low=band.low, high=band.high, label=band.label, count=band.count, amount=band.amount
        )


class AcquisitionRowOut(BaseModel):
    period: date = Field(description="the period's first day (weeks start on Monday)")
    source: str = Field(description='where the customers came from; "unknown" when not said')
    new_customers: int = Field(description="customers who registered in the period")
    first_purchases: int = Field(description="buyers whose first order was in the period")


class AcquisitionOut(BaseModel):
    interval: Interval
    start: date
    end: date
    new_customers: int
    first_purchases: int
    new_customers_by_source: dict[str, int]
    rows: list[AcquisitionRowOut]

    @classmethod
    def of(cls, report: AcquisitionReport) -> "AcquisitionOut":
        return cls(
            interval=report.interval,
            start=report.start,
            end=report.end,
            new_customers=report.new_customers,
            first_purchases=report.first_purchases,
            new_customers_by_source=report.new_customers_by_source(),
            rows=[
                AcquisitionRowOut(
                    period=row.period,
                    source=row.source,
                    new_customers=row.new_customers,
                    first_purchases=row.first_purchases,
                )
                for row in report.rows
            ],
        )


class CohortOut(BaseModel):
    month: str = Field(description="the first-order month, YYYY-MM", examples=["2026-01"])
    customers: int
    active: list[int] = Field(description="of them, with an order k months later (k = index)")
    retention: list[float] = Field(description="active / customers, per month")


class RetentionOut(BaseModel):
    as_of: date
    buyers: int = Field(description="live customers with at least one counted order")
    repeat_buyers: int
    repeat_purchase_rate: float | None = Field(description="repeat buyers / buyers")
    churn_days: int
    churned: int = Field(description="buyers with no order in `churn_days` days")
    churn_rate: float | None
    average_lifespan_days: float | None = Field(
        description="first to last order, averaged over repeat buyers"
    )
    cohorts: list[CohortOut]

    @classmethod
    def of(cls, report: RetentionReport) -> "RetentionOut":
        return cls(
            as_of=report.as_of,
            buyers=report.buyers,
            repeat_buyers=report.repeat_buyers,
            repeat_purchase_rate=report.repeat_purchase_rate,
            churn_days=report.churn_days,
            churned=report.churned,
            churn_rate=report.churn_rate,
            average_lifespan_days=report.average_lifespan_days,
            cohorts=[
                CohortOut(
                    month=cohort.month.strftime("%Y-%m"),
                    customers=cohort.customers,
                    active=cohort.active,
                    retention=[round(share, 4) for share in cohort.retention()],
                )
                for cohort in report.cohorts
            ],
        )


class GroupValueOut(BaseModel):
    group_id: uuid.UUID | None = Field(description="null: customers in no group")
    customers: int
    orders: int
    revenue: Decimal
    average_order_value: Decimal | None


class ValueOut(BaseModel):
    currency: str | None
    buyers: int
    orders: int
    revenue: Decimal = Field(description="order totals less refunds")
    average_order_value: Decimal | None
    top_10_percent_customers: int = Field(description="ceil(buyers / 10)")
    top_10_percent_revenue_share: float | None
    lifetime_value_percentiles: dict[str, Decimal] = Field(examples=[{"p50": "120.00"}])
    distribution: list[BandOut] = Field(description="count: customers; amount: their revenue")
    groups: list[GroupValueOut]
    other_currencies: list[str] = Field(description="buyers in these are in their own report")

    @classmethod
    def of(cls, report: ValueReport) -> "ValueOut":
        return cls(
            currency=report.currency,
            buyers=report.buyers,
            orders=report.orders,
            revenue=report.revenue,
            average_order_value=report.average_order_value,
            top_10_percent_customers=report.top_customers,
            top_10_percent_revenue_share=report.top_revenue_share,
            lifetime_value_percentiles={f"p{p}": v for p, v in report.percentiles.items()},
            distribution=[BandOut.of(band) for band in report.distribution],
            groups=[
                GroupValueOut(
                    group_id=g.group_id,
                    customers=g.customers,
                    orders=g.orders,
                    revenue=g.revenue,
                    average_order_value=g.average_order_value,
                )
                for g in report.groups
            ],
            other_currencies=report.other_currencies,
        )


class CategoryOut(BaseModel):
    category: str
    orders: int
    customers: int
    units: int
    revenue: Decimal = Field(description="quantity x unit price, before refunds")


class PatternsOut(BaseModel):
    currency: str | None
    orders: int
    average_days_between_orders: float | None
    order_value_p25: Decimal | None
    order_value_median: Decimal | None
    order_value_p75: Decimal | None
    order_values: list[BandOut] = Field(description="count: orders; amount: their totals")
    top_categories: list[CategoryOut]
    orders_by_weekday: dict[str, int] = Field(description="UTC, Monday first")

    @classmethod
    def of(cls, report: PatternsReport) -> "PatternsOut":
        return cls(
            currency=report.currency,
            orders=report.orders,
            average_days_between_orders=report.average_days_between_orders,
            order_value_p25=report.order_value_p25,
            order_value_median=report.order_value_median,
            order_value_p75=report.order_value_p75,
            order_values=[BandOut.of(band) for band in report.order_values],
            top_categories=[
                CategoryOut(
                    category=c.category,
                    orders=c.orders,
                    customers=c.customers,
                    units=c.units,
                    revenue=c.revenue,
                )
                for c in report.top_categories
            ],
            orders_by_weekday=dict(zip(WEEKDAYS, report.orders_by_weekday, strict=True)),
        )


class SummaryOut(BaseModel):
    tenant_id: str
    generated_at: datetime
    acquisition: AcquisitionOut
    retention: RetentionOut
    value: ValueOut
    purchase_patterns: PatternsOut


def _csv(name: str, tables: dict[str, Table], table: str | None) -> Response:
    chosen = table or next(iter(tables))
    if chosen not in tables:
        raise InvalidInput(
            "table", f"one of {', '.join(tables)}", location="query", allowed=list(tables)
        )
    return Response(
        csv_text(tables[chosen]),
        media_type=CSV_CONTENT_TYPE,
        headers=attachment(f"{name}-{chosen}.csv"),
    )


def build_reports_router(settings: SegmentationSettings) -> APIRouter:
    router = api_router(prefix="/api/v1/reports", tags=["reports"])
    churn_days_query = Query(
        ge=1, le=36_500, description=f"default REPORTS_CHURN_DAYS ({settings.reports_churn_days})"
    )

    @router.get(
        "/acquisition",
        summary="New customers and first purchases per day, week or month, by source",
        responses=CSV_RESPONSE,
    )
    async def acquisition(
        *,
        uow: Analyst,
        request: Request,
        interval: Interval = "month",
        start: Annotated[
            date | None, Query(alias="from", description="default: 30 days, 12 weeks or months")
        ] = None,
        end: Annotated[date | None, Query(alias="to", description="default: today (UTC)")] = None,
        table: Annotated[str | None, TableQuery] = None,
    ) -> Any:
        report = await use_cases.acquisition_report(uow, interval, start=start, end=end)
        if prefers(request, CSV_TYPE):
            return _csv("acquisition", report.tables(), table)
        return AcquisitionOut.of(report)

    @router.get(
        "/retention",
        summary="Cohorts by first-order month, repeat purchase rate, churn rate and lifespan",
        responses=CSV_RESPONSE,
    )
    async def retention(
        uow: Analyst,
        request: Request,
        months: Annotated[int, Query(ge=1, le=60, description="how many cohorts")] = 12,
        churn_days: Annotated[int | None, churn_days_query] = None,
        table: Annotated[str | None, TableQuery] = None,
    ) -> Any:
        report = await use_cases.retention_report(
            uow, months=months, churn_days=churn_days or settings.reports_churn_days
        )
        if prefers(request, CSV_TYPE):
            return _csv("retention", report.tables(), table)
        return RetentionOut.of(report)

    @router.get(
        "/value",
        summary="Lifetime value distribution, the top 10%'s revenue share, AOV by group",
        responses=CSV_RESPONSE,
    )
    async def value(
        uow: Analyst,
        request: Request,
        currency: Annotated[str | None, CurrencyQuery] = None,
        table: Annotated[str | None, TableQuery] = None,
    ) -> Any:
        report = await use_cases.value_report(uow, currency=currency)
        if prefers(request, CSV_TYPE):
            return _csv("value", report.tables(), table)
        return ValueOut.of(report)

    @router.get(
        "/purchase-patterns",
        summary="Days between orders, typical order values, top categories, weekdays",
        responses=CSV_RESPONSE,
    )
    async def purchase_patterns(
        uow: Analyst,
        request: Request,
        currency: Annotated[str | None, CurrencyQuery] = None,
        top: Annotated[int, Query(ge=1, le=100, description="how many categories")] = 10,
        table: Annotated[str | None, TableQuery] = None,
    ) -> Any:
        report = await use_cases.patterns_report(uow, currency=currency, top=top)
        if prefers(request, CSV_TYPE):
            return _csv("purchase-patterns", report.tables(), table)
        return PatternsOut.of(report)

    @router.get(
        "/summary",
        summary="All four reports: JSON, or with `Accept: application/pdf` the PDF report",
        responses={200: {"content": {PDF_TYPE: {}}}},
    )
    async def summary(
        uow: Analyst,
        request: Request,
        currency: Annotated[str | None, CurrencyQuery] = None,
        churn_days: Annotated[int | None, churn_days_query] = None,
    ) -> Any:
        report = await use_cases.owner_report(
            uow, currency=currency, churn_days=churn_days or settings.reports_churn_days
        )
        if prefers(request, PDF_TYPE):
            # drawing the charts takes a while: off the event loop
            return Response(
                await asyncio.to_thread(render_owner_report, report),
                media_type=PDF_TYPE,
                headers=attachment(f"report-{report.generated_at.date().isoformat()}.pdf"),
            )
        return SummaryOut(
            tenant_id=report.tenant_id,
            generated_at=report.generated_at,
            acquisition=AcquisitionOut.of(report.acquisition),
            retention=RetentionOut.of(report.retention),
            value=ValueOut.of(report.value),
            purchase_patterns=PatternsOut.of(report.patterns),
        )

    return router
