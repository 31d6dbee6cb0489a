"""Duplicate matching persistence: the blocking index, suggestions, rejected pairs, and each
tenant's match policy and fitted model."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    Uuid,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron_identity.adapters.tables import (
    duplicate_suggestions,
    match_keys,
    match_models,
    match_policies,
    rejected_pairs,
)
from patron_identity.domain.duplicates import (
    DuplicateSuggestion,
    MatchPolicy,
    SuggestionCursor,
    SuggestionFilters,
    SuggestionSort,
)
from patron_identity.domain.matching import FieldEvidence, MatchModel
from patron_shared.logging import get_logger

log = get_logger("patron.identity.matching")

CustomerPair = tuple[uuid.UUID, uuid.UUID]
OPEN_STATUSES = ("pending", "accepted")
# Pairs looked up per statement: bounded, so a batch's decisions never make one huge array.
_PAIRS_PER_QUERY = 5000

# Up to `limit` holders of each key, in one round trip: a large block costs no more than a
# small one, and more than `limit` is all the caller needs to know to call it a stop key.
_BLOCK_MEMBERS = text(
    """
    SELECT wanted.key, holder.customer_id
    FROM unnest(CAST(:keys AS text[])) AS wanted(key)
    CROSS JOIN LATERAL (
        SELECT m.customer_id FROM match_keys AS m
        WHERE m.tenant_id = :tenant_id AND m.key = wanted.key
        LIMIT :limit
    ) AS holder
    """
)

# Transaction-scoped advisory locks on a tenant's keys, taken in one order (by hash) so that
# two transactions indexing overlapping keys queue instead of deadlocking.
_LOCK_KEYS = text(
    """
    SELECT pg_advisory_xact_lock(hashed.lock_id)
    FROM (
        SELECT DISTINCT hashtextextended(:tenant_id || ':' || wanted.key, 0) AS lock_id
        FROM unnest(CAST(:keys AS text[])) AS wanted(key)
        ORDER BY lock_id
    ) AS hashed
    """
)


async def _pairs_among(
    session: AsyncSession,
    table: Table,
    tenant_id: str,
    pairs: Collection[CustomerPair],
    *conditions: ColumnElement[bool],
) -> set[CustomerPair]:
    """Which of `pairs` `table` holds for the tenant (under `conditions`).

    The pairs arrive as two arrays unnested row by row and joined to the table, so the
    lookup is one index probe per pair whatever the planner believes of the table's size
    (a tuple IN list of a thousand pairs could be planned as a scan of every row).
    """
    found: set[CustomerPair] = set()
    ordered = sorted(set(pairs))
    t = table.c
    for start in range(0, len(ordered), _PAIRS_PER_QUERY):
        chunk = ordered[start : start + _PAIRS_PER_QUERY]
        wanted = (
            func.unnest(
                bindparam("firsts", [first for first, _ in chunk], type_=ARRAY(Uuid)),
                bindparam("seconds", [second for _, second in chunk], type_=ARRAY(Uuid)),
            )
            .table_valued("first_customer_id", "second_customer_id")
            .render_derived(name="wanted")
        )
        rows = await session.execute(
            select(t.first_customer_id, t.second_customer_id)
            .select_from(wanted)
            .join(
                table,
                and_(
                    t.tenant_id == tenant_id,
                    t.first_customer_id == wanted.c.first_customer_id,
                    t.second_customer_id == wanted.c.second_customer_id,
                ),
            )
            .where(*conditions)
        )
        found.update((first, second) for first, second in rows)
    return found


class SqlMatchKeyRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def replace(self, customer_id: uuid.UUID, keys: Collection[str]) -> None:
        """Make `keys` the customer's blocking keys; none removes it from the index.

        The keys are locked until the transaction ends, so that of two customers indexed
        under one key at the same time, the later one sees the earlier one as a candidate.
        """
        k = match_keys.c
        wanted = sorted(set(keys))
        if wanted:
            await self._session.execute(_LOCK_KEYS, {"keys": wanted, "tenant_id": self._tenant_id})
        stale = delete(match_keys).where(
            k.tenant_id == self._tenant_id, k.customer_id == customer_id
        )
        if wanted:
            stale = stale.where(k.key.not_in(wanted))
        await self._session.execute(stale)
        if wanted:
            rows = [
                {"tenant_id": self._tenant_id, "key": key, "customer_id": customer_id}
                for key in wanted
            ]
            await self._session.execute(pg_insert(match_keys).values(rows).on_conflict_do_nothing())

    async def members(self, keys: Collection[str], *, limit: int) -> dict[str, list[uuid.UUID]]:
        """Holders of each key, at most `limit` per key."""
        if not keys:
            return {}
        rows = await self._session.execute(
            _BLOCK_MEMBERS,
            {"keys": sorted(set(keys)), "tenant_id": self._tenant_id, "limit": limit},
        )
        found: dict[str, list[uuid.UUID]] = {}
        for key, customer_id in rows:
            found.setdefault(key, []).append(customer_id)
        return found


class SqlSuggestionRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add_all(self, suggestions: Sequence[DuplicateSuggestion]) -> set[uuid.UUID]:
        """Store new suggestions; returns the ids stored (not those whose pair already has
        an open suggestion)."""
        if not suggestions:
            return set()
        # one statement per page of rows (SQLAlchemy's insertmanyvalues), however many
        inserted = await self._session.execute(
            pg_insert(duplicate_suggestions)
            .on_conflict_do_nothing()
            .returning(duplicate_suggestions.c.id),
            [{"tenant_id": self._tenant_id, **_row(suggestion)} for suggestion in suggestions],
        )
        return set(inserted.scalars())

    async def get(
        self, suggestion_id: uuid.UUID, *, for_update: bool = False
    ) -> DuplicateSuggestion | None:
        s = duplicate_suggestions.c
        query = select(duplicate_suggestions).where(
            s.tenant_id == self._tenant_id, s.id == suggestion_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return None if row is None else _to_suggestion(row)

    async def save(self, suggestion: DuplicateSuggestion) -> None:
        """Store a decision on a suggestion."""
        s = duplicate_suggestions.c
        await self._session.execute(
            update(duplicate_suggestions)
            .where(s.tenant_id == self._tenant_id, s.id == suggestion.id)
            .values(
                status=suggestion.status,
                decided_at=suggestion.decided_at,
                decided_by=suggestion.decided_by,
                primary_id=suggestion.primary_id,
            )
        )

    async def open_among(self, pairs: Collection[CustomerPair]) -> set[CustomerPair]:
        """Those of `pairs` that are pending review or were merged."""
        return await _pairs_among(
            self._session,
            duplicate_suggestions,
            self._tenant_id,
            pairs,
            duplicate_suggestions.c.status.in_(OPEN_STATUSES),
        )

    async def pending_involving(
        self, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> list[DuplicateSuggestion]:
        s = duplicate_suggestions.c
        query = (
            select(duplicate_suggestions)
            .where(
                s.tenant_id == self._tenant_id,
                s.status == "pending",
                or_(s.first_customer_id == customer_id, s.second_customer_id == customer_id),
            )
            .order_by(s.id)
        )
        if for_update:
            query = query.with_for_update()
        return [_to_suggestion(row) for row in await self._session.execute(query)]

    async def open_for(self, pair: CustomerPair) -> DuplicateSuggestion | None:
        """The pair's pending or accepted suggestion (there is at most one), locked."""
        s = duplicate_suggestions.c
        row = (
            await self._session.execute(
                select(duplicate_suggestions)
                .where(
                    s.tenant_id == self._tenant_id,
                    s.status.in_(OPEN_STATUSES),
                    s.first_customer_id == pair[0],
                    s.second_customer_id == pair[1],
                )
                .with_for_update()
            )
        ).first()
        return None if row is None else _to_suggestion(row)

    async def merging_away(
        self, customer_ids: Collection[uuid.UUID], *, decided_after: datetime
    ) -> set[uuid.UUID]:
        """Those of `customer_ids` that a suggestion accepted after `decided_after` merges
        into another customer."""
        if not customer_ids:
            return set()
        s = duplicate_suggestions.c
        wanted = sorted(set(customer_ids))
        secondary = case(
            (s.primary_id == s.first_customer_id, s.second_customer_id),
            else_=s.first_customer_id,
        )
        rows = await self._session.execute(
            select(secondary).where(
                s.tenant_id == self._tenant_id,
                s.status == "accepted",
                s.decided_at > decided_after,
                or_(s.first_customer_id.in_(wanted), s.second_customer_id.in_(wanted)),
            )
        )
        return {customer_id for (customer_id,) in rows} & set(wanted)

    async def page(
        self,
        filters: SuggestionFilters,
        sort: SuggestionSort,
        *,
        after: SuggestionCursor | None,
        limit: int,
    ) -> list[DuplicateSuggestion]:
        """Suggestions matching `filters` in `sort` order, after the cursor (keyset)."""
        s = duplicate_suggestions.c
        query = select(duplicate_suggestions).where(
            s.tenant_id == self._tenant_id, s.status == filters.status
        )
        if filters.customer_id is not None:
            query = query.where(
                or_(
                    s.first_customer_id == filters.customer_id,
                    s.second_customer_id == filters.customer_id,
                )
            )
        if filters.min_score is not None:
            query = query.where(s.score >= filters.min_score)
        if filters.rule is not None:
            query = query.where(s.rule == filters.rule)
        column = s.score if sort.field == "score" else s.created_at
        if after is not None:
            value: Any = after.score if sort.field == "score" else after.created_at
            position = tuple_(column, s.id)
            boundary = tuple_(value, after.id)
            query = query.where(position < boundary if sort.descending else position > boundary)
        order = (column.desc(), s.id.desc()) if sort.descending else (column.asc(), s.id.asc())
        rows = await self._session.execute(query.order_by(*order).limit(limit))
        return [_to_suggestion(row) for row in rows]


class SqlRejectedPairRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(
        self,
        pair: CustomerPair,
        *,
        decided_by: str,
        at: datetime,
        suggestion_id: uuid.UUID | None = None,
    ) -> None:
        """Remember that the pair is two people; the first decision is the one kept."""
        await self._session.execute(
            pg_insert(rejected_pairs)
            .values(
                tenant_id=self._tenant_id,
                first_customer_id=pair[0],
                second_customer_id=pair[1],
                decided_by=decided_by,
                decided_at=at,
                suggestion_id=suggestion_id,
            )
            .on_conflict_do_nothing()
        )

    async def among(self, pairs: Collection[CustomerPair]) -> set[CustomerPair]:
        return await _pairs_among(self._session, rejected_pairs, self._tenant_id, pairs)


class SqlMatchPolicyRepository:
    """The tenant's stored choices over `defaults` (which come from the settings)."""

    def __init__(self, session: AsyncSession, tenant_id: str, defaults: MatchPolicy) -> None:
        self._session = session
        self._tenant_id = tenant_id
        self._defaults = defaults

    async def get(self) -> MatchPolicy:
        p = match_policies.c
        row = (
            await self._session.execute(
                select(match_policies).where(p.tenant_id == self._tenant_id)
            )
        ).first()
        if row is None:
            return self._defaults
        return replace(
            self._defaults,
            exact_match=row.exact_match,
            auto_merge_threshold=row.auto_merge_threshold,
            review_threshold=row.review_threshold,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )

    async def save(self, policy: MatchPolicy) -> None:
        values = {
            "exact_match": policy.exact_match,
            "auto_merge_threshold": policy.auto_merge_threshold,
            "review_threshold": policy.review_threshold,
            "updated_at": policy.updated_at,
            "updated_by": policy.updated_by,
        }
        insert = pg_insert(match_policies).values(tenant_id=self._tenant_id, **values)
        await self._session.execute(
            insert.on_conflict_do_update(index_elements=["tenant_id"], set_=values)
        )


class SqlMatchModelRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def get(self) -> MatchModel | None:
        """The tenant's fitted model; None when none is stored (use the default)."""
        m = match_models.c
        stored = await self._session.scalar(select(m.model).where(m.tenant_id == self._tenant_id))
        if stored is None:
            return None
        try:
            return MatchModel.from_dict(stored)
        except (ValueError, KeyError, TypeError) as unusable:
            # fitted for other comparisons: matching goes on with the default until refitted
            log.warning("stored match model ignored", error=str(unusable))
            return None

    async def save(self, model: MatchModel, *, fitted_at: datetime, records: int) -> None:
        values = {"model": model.to_dict(), "records": records, "fitted_at": fitted_at}
        insert = pg_insert(match_models).values(tenant_id=self._tenant_id, **values)
        await self._session.execute(
            insert.on_conflict_do_update(index_elements=["tenant_id"], set_=values)
        )


def _row(suggestion: DuplicateSuggestion) -> dict[str, Any]:
    return {
        "id": suggestion.id,
        "first_customer_id": suggestion.first_id,
        "second_customer_id": suggestion.second_id,
        "score": suggestion.score,
        "match_weight": suggestion.match_weight,
        "rule": suggestion.rule,
        "explanation": [
            {"field": e.field, "level": e.level, "weight": e.weight} for e in suggestion.explanation
        ],
        "status": suggestion.status,
        "created_at": suggestion.created_at,
        "decided_at": suggestion.decided_at,
        "decided_by": suggestion.decided_by,
        "primary_id": suggestion.primary_id,
    }


def _to_suggestion(row: Row[Any]) -> DuplicateSuggestion:
    explanation: Sequence[dict[str, Any]] = row.explanation or []
    return DuplicateSuggestion(
        id=row.id,
        first_id=row.first_customer_id,
        second_id=row.second_customer_id,
        score=row.score,
        match_weight=row.match_weight,
        rule=row.rule,
        explanation=tuple(
            FieldEvidence(field=e["field"], level=e["level"], weight=float(e["weight"]))
            for e in explanation
        ),
        status=row.status,
        created_at=row.created_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        primary_id=row.primary_id,
    )
