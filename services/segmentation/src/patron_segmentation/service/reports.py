"""Report use cases: each report for its window, with the defaults a shop owner expects, and
all four together for the PDF."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from patron_segmentation.domain.reports import (
    AcquisitionReport,
    Interval,
    OwnerReport,
    PatternsReport,
    RetentionReport,
    ValueReport,
    add_months,
    period_start,
    periods_between,
)
from patron_segmentation.service.ports import ReportsUnitOfWork
from patron_shared.errors import InvalidInput
from patron_shared.events import utcnow

# how far back a report looks when not told: 30 days, 12 weeks or 12 months
DEFAULT_PERIODS: dict[Interval, int] = {"day": 30, "week": 12, "month": 12}
MAX_PERIODS = 400
DEFAULT_COHORT_MONTHS = 12
TOP_CATEGORIES = 10
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def acquisition_window(
    interval: Interval, start: date | None, end: date | None, today: date
) -> tuple[date, date]:
    """The days an acquisition report covers: up to `end` (today), from `start` (the last
    DEFAULT_PERIODS periods); 422 for a reversed or too long window."""
    end = end or today
    if start is None:
        first = period_start(end, interval)
        if interval == "month":
            start = add_months(first, 1 - DEFAULT_PERIODS["month"])
        else:
            step = 7 if interval == "week" else 1
            start = first - timedelta(days=step * (DEFAULT_PERIODS[interval] - 1))
    if start > end:
        raise InvalidInput("from", "must not be after `to`", location="query")
    if len(periods_between(start, end, interval)) > MAX_PERIODS:
        raise InvalidInput(
            "from", f"the window holds more than {MAX_PERIODS} {interval}s", location="query"
        )
    return start, end


async def acquisition_report(
    uow: ReportsUnitOfWork,
    interval: Interval,
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> AcquisitionReport:
    start, end = acquisition_window(interval, start, end, (now or utcnow()).date())
    async with uow:
        return await uow.reports.acquisition(start, end, interval)


async def retention_report(
    uow: ReportsUnitOfWork,
    *,
    churn_days: int,
    months: int = DEFAULT_COHORT_MONTHS,
    now: datetime | None = None,
) -> RetentionReport:
    async with uow:
        return await uow.reports.retention((now or utcnow()).date(), months, churn_days)


async def value_report(uow: ReportsUnitOfWork, *, currency: str | None = None) -> ValueReport:
    async with uow:
        return await uow.reports.value(await _currency(uow, currency))


async def patterns_report(
    uow: ReportsUnitOfWork, *, currency: str | None = None, top: int = TOP_CATEGORIES
) -> PatternsReport:
    async with uow:
        return await uow.reports.patterns(await _currency(uow, currency), top)


async def owner_report(
    uow: ReportsUnitOfWork,
    *,
    churn_days: int,
    currency: str | None = None,
    now: datetime | None = None,
) -> OwnerReport:
    """The four reports with their defaults (acquisition by month), read in one transaction
    so their figures agree."""
    now = now or utcnow()
    start, end = acquisition_window("month", None, None, now.date())
    async with uow:
        chosen = await _currency(uow, currency)
        return OwnerReport(
            tenant_id=uow.tenant_id,
            generated_at=now,
            acquisition=await uow.reports.acquisition(start, end, "month"),
            retention=await uow.reports.retention(now.date(), DEFAULT_COHORT_MONTHS, churn_days),
            value=await uow.reports.value(chosen),
            patterns=await uow.reports.patterns(chosen, TOP_CATEGORIES),
        )


async def _currency(uow: ReportsUnitOfWork, asked: str | None) -> str | None:
    """The currency asked for, else the one most buyers' statistics are in."""
    if asked is not None:
        if not _CURRENCY.match(asked):
            raise InvalidInput("currency", "an ISO 4217 code such as USD", location="query")
        return asked
    found = await uow.reports.currencies()
    return found[0] if found else None
