"""Which birthdays a day celebrates: every birth date exactly once a year, 29 February on
the 28th when the year has no 29th."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_notifications.service.birthdays import (
    birthday_cause,
    birthday_not_before,
    birthdays_on,
)


def celebrated(day: date, born: date) -> bool:
    month, days = birthdays_on(day)
    return born.month == month and born.day in days


def test_an_ordinary_day_celebrates_its_own_date() -> None:
    assert birthdays_on(date(2026, 12, 4)) == (12, (4,))


def test_the_28th_of_february_also_celebrates_the_29th_in_a_common_year() -> None:
    assert birthdays_on(date(2027, 2, 28)) == (2, (28, 29))
    assert birthdays_on(date(2100, 2, 28)) == (2, (28, 29))  # no 29th: not divisible by 400


def test_in_a_leap_year_the_29th_has_its_own_day() -> None:
    assert birthdays_on(date(2028, 2, 28)) == (2, (28,))
    assert birthdays_on(date(2028, 2, 29)) == (2, (29,))
    assert birthdays_on(date(2000, 2, 28)) == (2, (28,))


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(1901, 2400))
def test_every_birth_date_is_celebrated_on_exactly_one_day_of_every_year(
    born: date, year: int
) -> None:
    first = date(year, 1, 1)
    days = [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]

    assert sum(celebrated(day, born) for day in days) == 1


def test_the_cause_is_the_year_so_a_second_run_that_year_queues_nothing_new() -> None:
    assert birthday_cause(date(2026, 12, 4)) == birthday_cause(date(2026, 12, 4)) == "birthday:2026"
    assert birthday_cause(date(2027, 12, 4)) == "birthday:2027"


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        # 23:30 UTC is 00:30 next day in Berlin (winter): wait until 09:00 Berlin
        (
            datetime(2026, 1, 14, 23, 30, tzinfo=UTC),
            "Europe/Berlin",
            datetime(2026, 1, 15, 8, 0, tzinfo=UTC),
        ),
        (datetime(2026, 7, 1, 7, 59, tzinfo=UTC), "UTC", datetime(2026, 7, 1, 9, 0, tzinfo=UTC)),
        (datetime(2026, 7, 1, 9, 0, tzinfo=UTC), "UTC", None),
        (datetime(2026, 7, 1, 22, 0, tzinfo=UTC), "Pacific/Auckland", None),
    ],
)
def test_a_birthday_message_waits_for_the_morning_in_the_tenants_time_zone(
    now: datetime, zone: str, expected: datetime | None
) -> None:
    assert birthday_not_before(now, ZoneInfo(zone)) == expected
