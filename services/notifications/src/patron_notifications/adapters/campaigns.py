"""Campaign persistence: campaigns and their customer lists, segment membership, the
live counts and the cancel over the deliveries table, and the runners' cross-tenant list of
due campaigns."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from patron_notifications.adapters.campaign_tables import (
    campaign_customers,
    campaigns,
    segment_members,
)
from patron_notifications.adapters.delivery_tables import deliveries
from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.domain.campaign import (
    CANCELLED_REASON,
    Audience,
    Campaign,
    SegmentChange,
)
from patron_shared.db import is_one_of, json_recordset

_c = campaigns.c
_m = segment_members.c
_DUE = text("SELECT tenant_id, campaign_id FROM due_campaigns(:now, :limit)")
_MEMBER_COLUMNS = ("tenant_id", "segment_key", "customer_id", "member", "changed_at")
_LIST_COLUMNS = ("campaign_id", "customer_id", "tenant_id")


class SqlCampaignRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(
        self,
        campaign: Campaign,
        *,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
    ) -> bool:
        """Store a new campaign (and its customer list); False when the tenant already has
        a campaign under `idempotency_key` (nothing stored then)."""
        inserted = await self._session.execute(
            pg_insert(campaigns)
            .values(
                **self._values(campaign),
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"])
            .returning(_c.campaign_id)
        )
        if inserted.first() is None:
            return False
        ids = campaign.audience.customer_ids
        if ids:
            rows = json_recordset(
                campaign_customers,
                [
                    {
                        "campaign_id": campaign.campaign_id,
                        "customer_id": i,
                        "tenant_id": self._tenant_id,
                    }
                    for i in ids
                ],
                _LIST_COLUMNS,
            )
            await self._session.execute(
                pg_insert(campaign_customers).from_select(
                    _LIST_COLUMNS, select(*(rows.c[name] for name in _LIST_COLUMNS))
                )
            )
        return True

    async def by_idempotency_key(self, key: str) -> tuple[Campaign, str | None] | None:
        """The campaign created under `key`, with the hash of the request that made it."""
        row = (
            await self._session.execute(
                select(campaigns).where(_c.tenant_id == self._tenant_id, _c.idempotency_key == key)
            )
        ).first()
        return None if row is None else (_to_campaign(row), row.request_hash)

    async def get(self, campaign_id: uuid.UUID, *, for_update: bool = False) -> Campaign | None:
        query = select(campaigns).where(
            _c.tenant_id == self._tenant_id, _c.campaign_id == campaign_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_campaign(row)

    async def lock_due(self, campaign_id: uuid.UUID, now: datetime) -> Campaign | None:
        """The campaign, locked for this transaction, if it is due and no other runner
        holds it now (SKIP LOCKED: None then, as for one not due or finished)."""
        row = (
            await self._session.execute(
                select(campaigns)
                .where(
                    _c.tenant_id == self._tenant_id,
                    _c.campaign_id == campaign_id,
                    _c.status.in_(("scheduled", "sending")),
                    _c.scheduled_at <= now,
                )
                .with_for_update(skip_locked=True)
            )
        ).first()
        return None if row is None else _to_campaign(row)

    async def page(
        self, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> tuple[list[Campaign], bool]:
        """The tenant's campaigns newest first, `limit` after a (created_at, id) cursor;
        and whether more follow."""
        query = select(campaigns).where(_c.tenant_id == self._tenant_id)
        if after is not None:
            at, campaign_id = after
            query = query.where(
                or_(_c.created_at < at, and_(_c.created_at == at, _c.campaign_id < campaign_id))
            )
        rows = (
            await self._session.execute(
                query.order_by(_c.created_at.desc(), _c.campaign_id.desc()).limit(limit + 1)
            )
        ).all()
        found = [_to_campaign(row) for row in rows[:limit]]
        return found, len(rows) > limit

    async def save_state(self, campaign: Campaign) -> None:
        """The campaign's progress and state (status, times, cursor, counts)."""
        await self._session.execute(
            update(campaigns)
            .where(_c.tenant_id == self._tenant_id, _c.campaign_id == campaign.campaign_id)
            .values(
                status=campaign.status,
                started_at=campaign.started_at,
                sent_at=campaign.sent_at,
                cancelled_at=campaign.cancelled_at,
                cancelled_by=campaign.cancelled_by,
                cursor_customer_id=campaign.cursor,
                targeted=campaign.targeted,
                audience_size=campaign.audience_size,
            )
        )

    async def audience_page(
        self, campaign: Campaign, *, after: uuid.UUID | None, limit: int
    ) -> list[uuid.UUID]:
        """The next `limit` customers of the audience after `after`, in customer-id order:
        the segment's members now, or the campaign's list."""
        if campaign.audience.is_segment:
            query = select(_m.customer_id).where(
                _m.tenant_id == self._tenant_id,
                _m.segment_key == campaign.audience.segment_key,
                _m.member,
            )
            column = _m.customer_id
        else:
            l = campaign_customers.c  # noqa: E741
            query = select(l.customer_id).where(
                l.tenant_id == self._tenant_id, l.campaign_id == campaign.campaign_id
            )
            column = l.customer_id
        if after is not None:
            query = query.where(column > after)
        rows = await self._session.execute(query.order_by(column).limit(limit))
        return [customer_id for (customer_id,) in rows]

    async def in_audience(self, campaign: Campaign, customer_id: uuid.UUID) -> bool:
        if campaign.audience.is_segment:
            return await self.is_member(campaign.audience.segment_key or "", customer_id)
        l = campaign_customers.c  # noqa: E741
        found = await self._session.scalar(
            select(l.customer_id).where(
                l.tenant_id == self._tenant_id,
                l.campaign_id == campaign.campaign_id,
                l.customer_id == customer_id,
            )
        )
        return found is not None

    async def first_of_audience(self, campaign: Campaign) -> uuid.UUID | None:
        found = await self.audience_page(campaign, after=None, limit=1)
        return found[0] if found else None

    async def delivery_counts(
        self, campaign_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[tuple[str, str | None], int]]:
        """Each campaign's deliveries by status and skipped reason, in one statement."""
        if not campaign_ids:
            return {}
        d = deliveries.c
        rows = await self._session.execute(
            select(d.campaign_id, d.status, d.skipped_reason, func.count())
            .where(d.tenant_id == self._tenant_id, is_one_of(d.campaign_id, campaign_ids))
            .group_by(d.campaign_id, d.status, d.skipped_reason)
        )
        counts: dict[uuid.UUID, dict[tuple[str, str | None], int]] = {i: {} for i in campaign_ids}
        for campaign_id, status, reason, count in rows:
            counts[campaign_id][(status, reason)] = count
        return counts

    async def skip_waiting(self, campaign_id: uuid.UUID) -> int:
        """The campaign's queued deliveries and those waiting for their customer (not
        those being sent now) skipped as cancelled, in one statement; how many."""
        d = deliveries.c
        result = await self._session.execute(
            update(deliveries)
            .where(
                d.tenant_id == self._tenant_id,
                d.campaign_id == campaign_id,
                d.status.in_(("queued", "waiting")),
            )
            .values(
                status="skipped",
                skipped_reason=CANCELLED_REASON,
                next_attempt_at=None,
                request=None,
            )
        )
        return int(getattr(result, "rowcount", 0))

    # segment membership

    async def member_count(self, segment_key: str) -> int:
        count = await self._session.scalar(
            select(func.count()).where(
                _m.tenant_id == self._tenant_id, _m.segment_key == segment_key, _m.member
            )
        )
        return int(count or 0)

    async def is_member(self, segment_key: str, customer_id: uuid.UUID) -> bool:
        found = await self._session.scalar(
            select(_m.member).where(
                _m.tenant_id == self._tenant_id,
                _m.segment_key == segment_key,
                _m.customer_id == customer_id,
            )
        )
        return bool(found)

    async def record_changes(self, changes: Sequence[SegmentChange]) -> None:
        """Upsert memberships in one statement; a stored change newer than the given one
        (or as new, and a leave) stands. At most one change per (segment, customer)."""
        if not changes:
            return
        rows = json_recordset(
            segment_members,
            [
                {
                    "tenant_id": self._tenant_id,
                    "segment_key": change.segment_key,
                    "customer_id": change.customer_id,
                    "member": change.member,
                    "changed_at": change.at,
                }
                for change in changes
            ],
            _MEMBER_COLUMNS,
        )
        insert = pg_insert(segment_members).from_select(
            _MEMBER_COLUMNS, select(*(rows.c[name] for name in _MEMBER_COLUMNS))
        )
        given = insert.excluded
        newer = or_(
            _m.changed_at < given.changed_at,
            and_(_m.changed_at == given.changed_at, _m.member, ~given.member),
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "segment_key", "customer_id"],
                set_={
                    "member": given.member,
                    "changed_at": given.changed_at,
                    "updated_at": func.now(),
                },
                where=newer,
            )
        )

    async def members(self, segment_key: str) -> dict[uuid.UUID, bool]:
        """Every customer the segment ever had, and whether they are in it now."""
        rows = await self._session.execute(
            select(_m.customer_id, _m.member).where(
                _m.tenant_id == self._tenant_id, _m.segment_key == segment_key
            )
        )
        return {customer_id: member for customer_id, member in rows}

    def _values(self, campaign: Campaign) -> dict[str, Any]:
        return {
            "campaign_id": campaign.campaign_id,
            "tenant_id": self._tenant_id,
            "name": campaign.name,
            "template_key": campaign.template_key,
            "channel": campaign.channel,
            "category": campaign.category,
            "segment_key": campaign.audience.segment_key,
            "audience_size": campaign.audience_size,
            "variables": campaign.variables,
            "throttle_per_second": campaign.throttle_per_second,
            "status": campaign.status,
            "scheduled_at": campaign.scheduled_at,
            "started_at": campaign.started_at,
            "sent_at": campaign.sent_at,
            "cancelled_at": campaign.cancelled_at,
            "cancelled_by": campaign.cancelled_by,
            "cursor_customer_id": campaign.cursor,
            "targeted": campaign.targeted,
            "created_by": campaign.created_by,
            "created_at": campaign.created_at,
        }


class CampaignsUnitOfWork(NotificationsUnitOfWork):
    """The notifications unit of work with campaigns and segment membership."""

    campaigns: SqlCampaignRepository

    def _open_repositories(self) -> None:
        super()._open_repositories()
        self.campaigns = SqlCampaignRepository(self.session, self.tenant_id)


async def list_due_campaigns(
    engine: AsyncEngine, now: datetime, limit: int
) -> list[tuple[str, uuid.UUID]]:
    """(tenant, campaign id) of up to `limit` campaigns of any tenant due by `now`,
    the longest due first; those a runner is working on at this moment left out."""
    async with engine.begin() as connection:
        rows = (await connection.execute(_DUE, {"now": now, "limit": limit})).all()
    return [(row.tenant_id, row.campaign_id) for row in rows]


def _to_campaign(row: Row[Any]) -> Campaign:
    # a list audience's ids are read a page at a time (audience_page), never all at once
    return Campaign(
        campaign_id=row.campaign_id,
        name=row.name,
        template_key=row.template_key,
        channel=row.channel,
        category=row.category,
        audience=Audience(segment_key=row.segment_key),
        audience_size=row.audience_size,
        scheduled_at=row.scheduled_at,
        created_at=row.created_at,
        variables=dict(row.variables or {}),
        throttle_per_second=row.throttle_per_second,
        status=row.status,
        started_at=row.started_at,
        sent_at=row.sent_at,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
        cursor=row.cursor_customer_id,
        targeted=row.targeted,
        created_by=row.created_by,
    )
