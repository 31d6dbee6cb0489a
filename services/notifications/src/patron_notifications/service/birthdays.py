"""The birthday job: each day, every customer born on that day gets the `birthday` message.

"That day" is today in the tenant's default time zone (its messaging settings); customers
born on 29 February are wished theirs on the 28th in other years. The message's cause is
`birthday:<year>`, so the job may run as often as it likes (hourly by default,
`PATRON_BIRTHDAY_JOB_INTERVAL_SECONDS`), on several replicas at once: each customer gets one
birthday message a year. Customers go in keyset pages by customer id, a transaction each,
so a tenant with a million contacts never loads them at once and a failure redoes one page
at most. A tenant that switched the `birthday` trigger off is skipped. A message queued
before 09:00 in that time zone waits until then: nobody wants a birthday email at midnight.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo

from patron_notifications.domain.messaging_settings import Trigger
from patron_notifications.service.messages import MessageRequest, Messenger
from patron_notifications.service.triggers import (
    TRIGGERED,
    TriggerContacts,
    TriggerUnitOfWork,
    channels_for,
    count_outcomes,
)
from patron_shared.logging import get_logger

log = get_logger("patron.notifications.birthdays")

PAGE = 500
BIRTHDAY: Trigger = "birthday"


class BirthdayContacts(TriggerContacts, Protocol):
    async def born_on(
        self, month: int, days: Sequence[int], *, after: uuid.UUID | None, limit: int
    ) -> list[uuid.UUID]: ...


class BirthdayUnitOfWork(TriggerUnitOfWork, Protocol):
    @property
    def contacts(self) -> BirthdayContacts: ...


@dataclass(frozen=True)
class BirthdayRun:
    tenant: str
    day: date | None  # None: the trigger is off
    customers: int = 0
    queued: int = 0


def birthdays_on(day: date) -> tuple[int, tuple[int, ...]]:
    """(month, days of that month) of the birthdays celebrated on `day`: 28 February also
    celebrates the 29th when the year has none."""
    if (day.month, day.day) == (2, 28) and not _leap(day.year):
        return 2, (28, 29)
    return day.month, (day.day,)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


BIRTHDAY_HOUR = time(9, 0)


def birthday_not_before(now: datetime, zone: ZoneInfo) -> datetime | None:
    """09:00 of today in `zone` (in UTC), when `now` is earlier; None after it."""
    local = now.astimezone(zone)
    morning = datetime.combine(local.date(), BIRTHDAY_HOUR, tzinfo=zone)
    return morning.astimezone(now.tzinfo) if local < morning else None


def birthday_cause(day: date) -> str:
    return f"{BIRTHDAY}:{day.year}"


async def send_birthday_messages(
    new_uow: Callable[[], BirthdayUnitOfWork],
    messenger: Messenger,
    now: datetime,
    *,
    tenant: str,
    page: int = PAGE,
) -> BirthdayRun:
    """One tenant's birthdays of today (see the module's notes)."""
    async with new_uow() as uow:
        settings = await uow.messaging_settings.get(messenger.defaults)
    if not settings.trigger_on(BIRTHDAY):
        return BirthdayRun(tenant, None)
    zone = ZoneInfo(settings.rules.default_time_zone)
    today = now.astimezone(zone).date()
    not_before = birthday_not_before(now, zone)
    month, days = birthdays_on(today)
    cause = birthday_cause(today)
    customers = queued = 0
    after: uuid.UUID | None = None
    while True:
        async with new_uow() as uow:
            born = await uow.contacts.born_on(month, days, after=after, limit=page)
            if not born:
                break
            channels = await channels_for(uow, BIRTHDAY, born)
            messages = await messenger.queue(
                uow,
                [
                    MessageRequest(
                        customer_id,
                        BIRTHDAY,
                        channels[customer_id],
                        cause,
                        not_before=not_before,
                    )
                    for customer_id in born
                ],
            )
            await uow.commit()
        count_outcomes(BIRTHDAY, messages)
        customers += len(born)
        queued += messages.count("queued")
        after = born[-1]
        if len(born) < page:
            break
    return BirthdayRun(tenant, today, customers, queued)


async def send_birthday_messages_to_all(
    tenants: Callable[[], Awaitable[list[str]]],
    new_uow: Callable[[str], BirthdayUnitOfWork],
    messenger: Messenger,
    now: Callable[[], datetime],
) -> list[BirthdayRun]:
    """Every tenant's birthdays of today; a tenant that fails is logged and tried again
    on the next run (what it queued before failing stays queued once)."""
    done: list[BirthdayRun] = []
    for tenant in await tenants():
        try:
            run = await send_birthday_messages(
                partial(new_uow, tenant),
                messenger,
                now(),
                tenant=tenant,
            )
        except Exception:
            TRIGGERED.labels(BIRTHDAY, "error").inc()
            log.exception("birthday job failed for a tenant; the next run retries", tenant=tenant)
            continue
        done.append(run)
        if run.queued:
            log.info("birthday messages queued", tenant=tenant, day=str(run.day), queued=run.queued)
    return done
