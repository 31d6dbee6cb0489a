"""Merge, unmerge and erasure persistence: the merge records, the contacts' survivor and
preference columns a merge writes, and the moves and blanking of delivery rows.

The rules these statements apply are stated in `domain/merges.py` (`moved_by_merge`,
`given_back`, `family_of`) and in `service/lifecycle.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, case, cast, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.merge_tables import contact_merges
from patron_notifications.adapters.tables import contacts
from patron_notifications.domain.contact import UNKNOWN_SINCE
from patron_notifications.domain.merges import MergeRecord, PreferenceFlags

# What an erased customer's queued or in-flight messages become.
ERASED_REASON = "customer_erased"


class SqlMergeRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    # ---------------------------------------------------------------- merge records

    async def records_of(self, merged_customer_id: uuid.UUID) -> list[MergeRecord]:
        m = contact_merges.c
        rows = await self._session.execute(
            select(contact_merges)
            .where(m.tenant_id == self._tenant_id, m.merged_customer_id == merged_customer_id)
            .order_by(m.recorded_at, m.record_id)
        )
        return [_to_record(row) for row in rows]

    async def save_record(self, record: MergeRecord) -> None:
        values = {
            "merged_customer_id": record.merged_customer_id,
            "survivor_id": record.survivor_id,
            "merged_at": record.merged_at,
            "unmerged_at": record.unmerged_at,
            "merge_id": record.merge_id,
            "email_unsubscribed_before": record.email_unsubscribed_before,
            "sms_unsubscribed_before": record.sms_unsubscribed_before,
        }
        insert = pg_insert(contact_merges).values(
            tenant_id=self._tenant_id, record_id=record.record_id, **values
        )
        await self._session.execute(
            insert.on_conflict_do_update(index_elements=["tenant_id", "record_id"], set_=values)
        )

    # ---------------------------------------------------------------- contacts

    async def ensure_contacts(self, customer_ids: Collection[uuid.UUID]) -> None:
        """A contact row for each (one not seen yet starts empty, older than any snapshot),
        so that a merge seen before a customer's creation can be recorded and locked."""
        if not customer_ids:
            return
        await self._session.execute(
            pg_insert(contacts)
            .values(
                [
                    {
                        "tenant_id": self._tenant_id,
                        "customer_id": customer_id,
                        "source_updated_at": UNKNOWN_SINCE,
                    }
                    for customer_id in sorted(customer_ids)
                ]
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "customer_id"])
        )

    async def set_merged_into(self, customer_id: uuid.UUID, survivor: uuid.UUID | None) -> None:
        await self._session.execute(
            update(contacts)
            .where(contacts.c.tenant_id == self._tenant_id, contacts.c.customer_id == customer_id)
            .values(merged_into=survivor, updated_at=func.now())
        )

    async def set_preferences(self, customer_id: uuid.UUID, flags: PreferenceFlags) -> None:
        await self._session.execute(
            update(contacts)
            .where(contacts.c.tenant_id == self._tenant_id, contacts.c.customer_id == customer_id)
            .values(
                email_unsubscribed=flags.email_unsubscribed,
                sms_unsubscribed=flags.sms_unsubscribed,
                time_zone=flags.time_zone,
                updated_at=func.now(),
            )
        )

    async def forget_time_zones(self, customer_ids: Collection[uuid.UUID]) -> None:
        """An erased customer's time zone goes with the rest (the snapshot never writes it)."""
        if not customer_ids:
            return
        await self._session.execute(
            update(contacts)
            .where(
                contacts.c.tenant_id == self._tenant_id,
                contacts.c.customer_id.in_(list(customer_ids)),
            )
            .values(time_zone=None, updated_at=func.now())
        )

    async def family(self, root: uuid.UUID) -> set[uuid.UUID]:
        """`root` and every customer merged into it, directly or through others (as the
        contacts' `merged_into` say now)."""
        c = contacts.c
        seed = select(literal(root, type_=contacts.c.customer_id.type).label("customer_id")).cte(
            "family", recursive=True
        )
        deeper = select(c.customer_id).where(
            c.tenant_id == self._tenant_id, c.merged_into == seed.c.customer_id
        )
        # UNION (not UNION ALL): a cycle, should one ever be stored, ends the recursion
        tree = seed.union(deeper)
        rows = await self._session.execute(select(tree.c.customer_id))
        return {customer_id for (customer_id,) in rows}

    # ---------------------------------------------------------------- the delivery log

    async def move_log(self, merged: uuid.UUID, survivor: uuid.UUID) -> int:
        """Every delivery in `merged`'s log goes to `survivor`'s, remembering the customer
        it was queued for (`domain.merges.moved_by_merge`)."""
        d = deliveries.c
        result = await self._session.execute(
            update(deliveries)
            .where(d.tenant_id == self._tenant_id, d.customer_id == merged)
            .values(customer_id=survivor, merged_from=func.coalesce(d.merged_from, d.customer_id))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def give_back_log(self, restored: uuid.UUID, family: Collection[uuid.UUID]) -> int:
        """Every delivery queued for a customer of `family` (`restored` and those still
        merged into it) comes back to `restored`'s log (`domain.merges.given_back`)."""
        if not family:
            return 0
        d = deliveries.c
        result = await self._session.execute(
            update(deliveries)
            .where(d.tenant_id == self._tenant_id, d.merged_from.in_(list(family)))
            .values(
                customer_id=restored,
                merged_from=func.nullif(d.merged_from, restored),
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def erase_log(self, customer_ids: Collection[uuid.UUID]) -> int:
        """Blank the address and the rendered content of these customers' deliveries (those
        in their logs and those a merge moved elsewhere), keeping status, channel,
        template, category, times and counts; what was still to be sent, or waiting for
        the customer, is skipped, and a waiting message's request (it may hold order
        details) is forgotten."""
        if not customer_ids:
            return 0
        d = deliveries.c
        wanted = list(customer_ids)
        unsent = d.status.in_(("queued", "sending", "waiting"))
        result = await self._session.execute(
            update(deliveries)
            .where(
                d.tenant_id == self._tenant_id,
                or_(d.customer_id.in_(wanted), d.merged_from.in_(wanted)),
            )
            .values(
                recipient="",
                subject=None,
                text_body="",
                html_body=None,
                headers=cast(literal("{}"), deliveries.c.headers.type),
                last_error=None,
                status=case((unsent, "skipped"), else_=d.status),
                skipped_reason=case((unsent, ERASED_REASON), else_=d.skipped_reason),
                next_attempt_at=case((unsent, None), else_=d.next_attempt_at),
                lease_until=None,
                request=None,
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


def _to_record(row: Row[Any]) -> MergeRecord:
    return MergeRecord(
        record_id=row.record_id,
        merged_customer_id=row.merged_customer_id,
        survivor_id=row.survivor_id,
        merged_at=row.merged_at,
        unmerged_at=row.unmerged_at,
        merge_id=row.merge_id,
        email_unsubscribed_before=row.email_unsubscribed_before,
        sms_unsubscribed_before=row.sms_unsubscribed_before,
    )
