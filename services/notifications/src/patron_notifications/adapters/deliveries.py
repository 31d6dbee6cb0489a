"""Delivery persistence: queueing (once per idempotency key), the workers' cross-tenant
claim, recording what an attempt came to and what the provider reported after (or before:
early SMS reports), and the notification that wakes the workers when something is queued."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from patron_notifications.adapters.delivery_tables import deliveries, early_sms_reports
from patron_notifications.domain.delivery import DUPLICATE, Delivery, DeliveryStatus
from patron_notifications.domain.sms_reports import EarlyReport
from patron_notifications.domain.status_callback import SmsStatus, SmsStatusUpdate
from patron_shared.db import json_recordset

_QUEUED_COLUMNS = (
    "delivery_id",
    "tenant_id",
    "customer_id",
    "channel",
    "category",
    "template_key",
    "idempotency_key",
    "cause",
    "campaign_id",
    "recipient",
    "subject",
    "text_body",
    "html_body",
    "headers",
    "status",
    "next_attempt_at",
    "skipped_reason",
    "created_at",
    # a message that failed before it was queued (its template did not render)
    "last_error",
    "failed_at",
    # a message waiting for the customer: what planning it again needs
    "request",
)


# What recording an attempt writes (the Delivery's attribute of each name).
_OUTCOME_COLUMNS = (
    "delivery_id",
    "attempts",
    "status",
    "next_attempt_at",
    "last_error",
    "provider_message_id",
    "sent_at",
    "failed_at",
)

# what planning a waiting message again changes (its id, cause, campaign and creation time
# stay)
_REPLANNED_COLUMNS = frozenset(_QUEUED_COLUMNS) - {
    "delivery_id",
    "tenant_id",
    "cause",
    "campaign_id",
    "created_at",
}


# `NOTIFY`ed (at commit) by a transaction that queued messages: workers LISTEN to start a
# round at once instead of at their next look.
DELIVERIES_DUE_CHANNEL = "patron_deliveries_due"
_NOTIFY_DUE = text("SELECT pg_notify(:channel, '')")

# Typed as the table's columns, so JSON and times come back as they do from the table.
# Named, not `*`: a textual select's columns match by position, and the database's column
# order is the migrations' order, not necessarily the order of the table defined here.
_CLAIM = text(
    f"SELECT {', '.join(column.name for column in deliveries.columns)} "  # noqa: S608 - names from the table definition
    "FROM claim_due_deliveries(:now, :limit, :lease)"
).columns(*deliveries.columns)


# Transaction-scoped advisory locks on a tenant's SMS sids, taken in one order (by hash):
# a status report reads a sid's delivery, and the worker claims the sid's early reports,
# under the same lock, so that one of the two always sees what the other committed.
_LOCK_SIDS = text(
    """
    SELECT pg_advisory_xact_lock(hashed.lock_id)
    FROM (
        SELECT DISTINCT hashtextextended('sms-sid:' || :tenant_id || ':' || wanted.sid, 0)
            AS lock_id
        FROM unnest(CAST(:sids AS text[])) AS wanted(sid)
        ORDER BY lock_id
    ) AS hashed
    """
)


class SqlDeliveryRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def queue(self, queued: Sequence[Delivery]) -> set[uuid.UUID]:
        """Insert the deliveries whose idempotency key is new; returns their ids (a key
        seen before queues nothing: the message it made is the one)."""
        if not queued:
            return set()
        rows = json_recordset(
            deliveries, [self._values(delivery) for delivery in queued], _QUEUED_COLUMNS
        )
        inserted = await self._session.execute(
            pg_insert(deliveries)
            .from_select(_QUEUED_COLUMNS, select(*(rows.c[name] for name in _QUEUED_COLUMNS)))
            .on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"])
            .returning(deliveries.c.delivery_id)
        )
        new = {delivery_id for (delivery_id,) in inserted}
        if any(d.status == "queued" and d.delivery_id in new for d in queued):
            await self._notify_due()
        return new

    async def waiting_for(self, customer_ids: Sequence[uuid.UUID]) -> list[Delivery]:
        """The customers' deliveries waiting for them, oldest first, locked until commit
        (one snapshot plans each once; the expiry skips none of them meanwhile)."""
        if not customer_ids:
            return []
        d = deliveries.c
        rows = await self._session.execute(
            select(deliveries)
            .where(
                d.tenant_id == self._tenant_id,
                d.customer_id.in_(set(customer_ids)),
                d.status == "waiting",
            )
            .order_by(d.created_at, d.delivery_id)
            .with_for_update()
        )
        return [delivery_from_row(row) for row in rows]

    async def skip_queued(self, customer_ids: Sequence[uuid.UUID], reason: str) -> int:
        """The customers' deliveries queued to be sent (not those a worker sends now)
        skipped with `reason` in one statement, their request forgotten; how many."""
        if not customer_ids:
            return 0
        d = deliveries.c
        result = await self._session.execute(
            update(deliveries)
            .where(
                d.tenant_id == self._tenant_id,
                d.customer_id.in_(set(customer_ids)),
                d.status == "queued",
            )
            .values(status="skipped", skipped_reason=reason, next_attempt_at=None, request=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def replan(self, planned: Sequence[Delivery]) -> int:
        """Waiting deliveries planned again, in place: their status, channel, address,
        content and idempotency key (that of the channel and customer they now go to); their
        id, cause, campaign and creation time stay. The request is forgotten. One whose new
        key another delivery holds already (that message exists) is skipped, `duplicate`,
        under its old key. Wakes the workers when any is queued; how many rows changed."""
        if not planned:
            return 0
        d = deliveries.c
        taken = set(
            await self._session.scalars(
                select(d.idempotency_key).where(
                    d.tenant_id == self._tenant_id,
                    d.idempotency_key.in_({x.idempotency_key for x in planned}),
                    d.delivery_id.not_in({x.delivery_id for x in planned}),
                )
            )
        )
        changed = 0
        for delivery in planned:
            values: dict[str, Any] = {"request": delivery.request}
            if delivery.idempotency_key in taken:
                delivery.status, delivery.skipped_reason = "skipped", DUPLICATE
                values |= {"status": "skipped", "skipped_reason": DUPLICATE}
            else:
                values |= {
                    name: value
                    for name, value in self._values(delivery).items()
                    if name in _REPLANNED_COLUMNS
                }
            result = await self._session.execute(
                update(deliveries)
                .where(
                    d.tenant_id == self._tenant_id,
                    d.delivery_id == delivery.delivery_id,
                    d.status == "waiting",
                )
                .values(values)
            )
            changed += int(getattr(result, "rowcount", 0))
        if any(x.status == "queued" for x in planned):
            await self._notify_due()
        return changed

    async def _notify_due(self) -> None:
        await self._session.execute(_NOTIFY_DUE, {"channel": DELIVERIES_DUE_CHANNEL})

    async def record_outcome(self, delivery: Delivery) -> bool:
        """What an attempt came to; False when the claim had lapsed and another worker holds
        the message now (its outcome is the one that counts)."""
        return delivery.delivery_id in await self.record_outcomes([delivery])

    async def record_outcomes(self, outcomes: Sequence[Delivery]) -> set[uuid.UUID]:
        """What a round's attempts came to, in one statement; returns the ids recorded (a
        claim that lapsed meanwhile belongs to another worker, whose outcome counts)."""
        if not outcomes:
            return set()
        d = deliveries.c
        rows = json_recordset(
            deliveries, [self._outcome(delivery) for delivery in outcomes], _OUTCOME_COLUMNS
        )
        recorded = await self._session.execute(
            update(deliveries)
            .where(
                d.tenant_id == self._tenant_id,
                d.delivery_id == rows.c.delivery_id,
                d.status == "sending",
                d.attempts == rows.c.attempts,
            )
            .values(
                status=rows.c.status,
                next_attempt_at=rows.c.next_attempt_at,
                last_error=rows.c.last_error,
                provider_message_id=rows.c.provider_message_id,
                sent_at=rows.c.sent_at,
                failed_at=rows.c.failed_at,
                lease_until=None,
            )
            .returning(d.delivery_id)
        )
        return {delivery_id for (delivery_id,) in recorded}

    @staticmethod
    def _outcome(delivery: Delivery) -> dict[str, Any]:
        return {name: getattr(delivery, name) for name in _OUTCOME_COLUMNS}

    async def marketing_times(
        self, customer_ids: Sequence[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, list[datetime]]:
        """When each customer's marketing messages since `since` were queued (those not
        skipped or failed): what the frequency cap counts."""
        if not customer_ids:
            return {}
        d = deliveries.c
        rows = await self._session.execute(
            select(d.customer_id, d.created_at).where(
                d.tenant_id == self._tenant_id,
                d.customer_id.in_(set(customer_ids)),
                d.category == "marketing",
                d.created_at > since,
                d.status.in_(("queued", "sending", "sent", "delivered")),
            )
        )
        times: dict[uuid.UUID, list[datetime]] = {}
        for customer_id, created_at in rows:
            times.setdefault(customer_id, []).append(created_at)
        return times

    async def get(self, delivery_id: uuid.UUID) -> Delivery | None:
        row = (
            await self._session.execute(
                select(deliveries).where(
                    deliveries.c.tenant_id == self._tenant_id,
                    deliveries.c.delivery_id == delivery_id,
                )
            )
        ).first()
        return None if row is None else delivery_from_row(row)

    async def log(
        self, customer_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> tuple[list[Delivery], bool]:
        """The customer's deliveries newest first, `limit` after a (created_at, id) cursor;
        and whether more follow."""
        d = deliveries.c
        query = select(deliveries).where(
            d.tenant_id == self._tenant_id, d.customer_id == customer_id
        )
        if after is not None:
            at, delivery_id = after
            query = query.where(
                or_(d.created_at < at, and_(d.created_at == at, d.delivery_id < delivery_id))
            )
        rows = (
            await self._session.execute(
                query.order_by(d.created_at.desc(), d.delivery_id.desc()).limit(limit + 1)
            )
        ).all()
        return [delivery_from_row(row) for row in rows[:limit]], len(rows) > limit

    async def by_provider_message_id(self, provider_message_id: str) -> Delivery | None:
        """The tenant's delivery the provider knows by this id (an SMS sid), read under the
        sid's lock: a worker recording the sid meanwhile has committed (or starts claiming
        its early reports only once this transaction has ended)."""
        await self._lock_sids([provider_message_id])
        row = (
            await self._session.execute(
                select(deliveries)
                .where(
                    deliveries.c.tenant_id == self._tenant_id,
                    deliveries.c.provider_message_id == provider_message_id,
                )
                .limit(1)
            )
        ).first()
        return None if row is None else delivery_from_row(row)

    async def record_report(self, delivery: Delivery, previous: DeliveryStatus) -> bool:
        """What the provider reported about a sent message (delivered, or not after all),
        over the status it was read with, `sent` or `delivered`: False when another report
        changed it first (that one counts; this one changes nothing)."""
        if previous not in ("sent", "delivered"):
            return False
        result = await self._session.execute(
            update(deliveries)
            .where(
                deliveries.c.tenant_id == self._tenant_id,
                deliveries.c.delivery_id == delivery.delivery_id,
                deliveries.c.status == previous,
            )
            .values(
                status=delivery.status,
                delivered_at=delivery.delivered_at,
                failed_at=delivery.failed_at,
                last_error=delivery.last_error,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def keep_early_report(self, report: EarlyReport) -> bool:
        """Keep a report about a sid no delivery has yet (call under the sid's lock, taken
        by `by_provider_message_id`); False when one is kept for it already (the first
        counts)."""
        status_update = report.update
        kept = await self._session.execute(
            pg_insert(early_sms_reports)
            .values(
                tenant_id=self._tenant_id,
                message_sid=status_update.message_sid,
                status=status_update.status.value,
                error_code=status_update.error_code,
                error_message=report.error_message,
                received_at=report.received_at,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "message_sid"])
            .returning(early_sms_reports.c.message_sid)
        )
        return kept.first() is not None

    async def claim_early_reports(self, sids: Sequence[str]) -> dict[str, EarlyReport]:
        """The reports kept about these sids, by sid, removed: for the transaction that
        records the sids to apply. Taken under the sids' locks, after that transaction wrote
        them: a report read concurrently either saw them committed or was kept in time."""
        if not sids:
            return {}
        await self._lock_sids(sids)
        r = early_sms_reports.c
        rows = await self._session.execute(
            delete(early_sms_reports)
            .where(r.tenant_id == self._tenant_id, r.message_sid.in_(set(sids)))
            .returning(r.message_sid, r.status, r.error_code, r.error_message, r.received_at)
        )
        return {
            row.message_sid: EarlyReport(
                SmsStatusUpdate(row.message_sid, SmsStatus(row.status), row.error_code),
                row.received_at,
                row.error_message,
            )
            for row in rows
        }

    async def _lock_sids(self, sids: Sequence[str]) -> None:
        await self._session.execute(
            _LOCK_SIDS, {"tenant_id": self._tenant_id, "sids": sorted(set(sids))}
        )

    def _values(self, delivery: Delivery) -> dict[str, Any]:
        return {
            "delivery_id": delivery.delivery_id,
            "tenant_id": self._tenant_id,
            "customer_id": delivery.customer_id,
            "channel": delivery.channel,
            "category": delivery.category,
            "template_key": delivery.template_key,
            "idempotency_key": delivery.idempotency_key,
            "cause": delivery.cause,
            "campaign_id": delivery.campaign_id,
            "recipient": delivery.recipient,
            "subject": delivery.subject,
            "text_body": delivery.text,
            "html_body": delivery.html,
            "headers": delivery.headers,
            "status": delivery.status,
            "next_attempt_at": delivery.next_attempt_at,
            "skipped_reason": delivery.skipped_reason,
            "created_at": delivery.created_at,
            "last_error": delivery.last_error,
            "failed_at": delivery.failed_at,
            "request": delivery.request,
        }


async def claim_due_deliveries(
    engine: AsyncEngine, now: datetime, limit: int, lease: timedelta
) -> list[tuple[str, Delivery]]:
    """Claim up to `limit` due messages of any tenant for one worker, each with its tenant:
    `status = 'sending'`, the attempt counted, a lease until `now + lease`. Concurrent
    workers never get the same message (SKIP LOCKED); one whose lease ran out is due again."""
    async with engine.begin() as connection:
        rows = (
            await connection.execute(_CLAIM, {"now": now, "limit": limit, "lease": lease})
        ).all()
    return [(row.tenant_id, delivery_from_row(row)) for row in rows]


def delivery_from_row(row: Row[Any]) -> Delivery:
    return Delivery(
        delivery_id=row.delivery_id,
        customer_id=row.customer_id,
        channel=row.channel,
        category=row.category,
        template_key=row.template_key,
        idempotency_key=row.idempotency_key,
        recipient=row.recipient,
        created_at=row.created_at,
        cause=row.cause,
        campaign_id=row.campaign_id,
        subject=row.subject,
        text=row.text_body,
        html=row.html_body,
        headers=dict(row.headers or {}),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        provider_message_id=row.provider_message_id,
        sent_at=row.sent_at,
        failed_at=row.failed_at,
        delivered_at=row.delivered_at,
        skipped_reason=row.skipped_reason,
        request=row.request,
    )


async def expire_waiting_deliveries(engine: AsyncEngine, before: datetime, reason: str) -> int:
    """Every tenant's deliveries waiting since before `before` skipped with `reason`, their
    request forgotten (through the function migration 0010 made); how many."""
    async with engine.begin() as connection:
        expired = await connection.scalar(
            text("SELECT expire_waiting_deliveries(:before, :reason)"),
            {"before": before, "reason": reason},
        )
    return int(expired or 0)


async def purge_early_sms_reports(engine: AsyncEngine, before: datetime) -> int:
    """Every tenant's early SMS reports received before `before` and never claimed
    forgotten (through the function migration 0012 made); how many."""
    async with engine.begin() as connection:
        purged = await connection.scalar(
            text("SELECT purge_early_sms_reports(:before)"), {"before": before}
        )
    return int(purged or 0)


async def listen_for_due_deliveries(
    engine: AsyncEngine, on_due: Callable[[], object], *, check_every_s: float = 30.0
) -> None:
    """Call `on_due` whenever a transaction that queued messages commits (and once on
    connecting: what was queued while nobody listened), on one connection held for it,
    until that connection is lost: then return (or raise), for the caller to log and to
    try again later. The connection is closed afterwards, never pooled with its LISTEN."""
    async with engine.connect() as connection:
        try:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            lost = asyncio.Event()
            # No transaction is ever opened on this connection: asyncpg runs the callbacks.
            driver.add_termination_listener(lambda _connection: lost.set())
            await driver.add_listener(DELIVERIES_DUE_CHANNEL, lambda *_args: on_due())
            on_due()
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), timeout=check_every_s)
                except TimeoutError:
                    # a peer gone without a word (network, failover) shows only here
                    await asyncio.wait_for(driver.execute("SELECT 1"), timeout=check_every_s)
        finally:
            await connection.invalidate()
