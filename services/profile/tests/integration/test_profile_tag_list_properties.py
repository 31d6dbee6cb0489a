"""Lists filtered by tags against a model, on a real database under row-level security.

A tag filter is counted by walking the tag's customers (at most a budget of them) and
falls back to the planner's own plan when the walk ends too early to be sure of the count;
whichever way a count goes, the total and the page must be the model's.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron_profile.adapters.customer_lookup import SqlCustomerLookup
from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.customer_query import CustomerFilters, CustomerSort
from patron_profile.service import customers as customer_use_cases
from patron_shared.db import create_engine, create_session_factory
from patron_shared.db.reads import PointReads
from patron_shared.testing import ServiceDatabase, unique_tenant

pytestmark = pytest.mark.integration

TAGS = ["a", "b", "c"]
PERSON = st.tuples(
    st.lists(st.sampled_from(TAGS), max_size=3, unique=True),  # tags
    st.booleans(),  # accepts marketing
    st.booleans(),  # deleted
)
QUERY = st.fixed_dictionaries(
    {
        "tags": st.lists(st.sampled_from([*TAGS, "d"]), min_size=1, max_size=3),
        "match": st.sampled_from(["any", "all"]),
        "marketing": st.sampled_from([None, True, False]),
        "descending": st.booleans(),
        "count_limit": st.integers(1, 8),
        "tag_probes": st.integers(1, 12),
        "per_page": st.integers(1, 4),
        "page": st.integers(0, 3),
    }
)


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    created_at: datetime
    tags: frozenset[str]
    accepts_marketing: bool
    deleted: bool


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=st.lists(PERSON, max_size=12), queries=st.lists(QUERY, min_size=1, max_size=6))
def test_tag_filtered_lists_give_the_models_total_and_page(
    service_database: ServiceDatabase,
    people: list[tuple[list[str], bool, bool]],
    queries: list[dict[str, object]],
) -> None:
    asyncio.run(check_lists(service_database, people, queries))


async def check_lists(
    database: ServiceDatabase,
    people: list[tuple[list[str], bool, bool]],
    queries: list[dict[str, object]],
) -> None:
    engine = create_engine(database.app_url, pool_size=1)
    sessions = create_session_factory(engine)
    tenant = unique_tenant("taglist")

    def uow() -> ProfileUnitOfWork:
        return ProfileUnitOfWork(sessions, messaging, tenant_id=tenant, source="profile")

    rules = customer_use_cases.ContactRules()
    reads = PointReads(database.app_url, size=1, application_name="tag-list-properties")
    await reads.open()
    try:
        model: list[Person] = []
        for n, (tags, marketing, deleted) in enumerate(people):
            created = await customer_use_cases.create_customer(
                uow(),
                {"email": f"p{n}@example.com", "tags": tags, "accepts_marketing": marketing},
                rules=rules,
            )
            if deleted:
                await customer_use_cases.delete_customer(uow(), created.id)
            model.append(
                Person(created.id, created.created_at, frozenset(tags), marketing, deleted)
            )
        for query in queries:
            await check_query(reads, tenant, model, query)
    finally:
        await reads.close()
        await engine.dispose()


async def check_query(
    reads: PointReads,
    tenant: str,
    model: list[Person],
    query: dict[str, object],
) -> None:
    wanted = frozenset(query["tags"])  # type: ignore[arg-type]
    match: Literal["any", "all"] = query["match"]  # type: ignore[assignment]
    marketing: bool | None = query["marketing"]  # type: ignore[assignment]
    count_limit: int = query["count_limit"]  # type: ignore[assignment]
    per_page: int = query["per_page"]  # type: ignore[assignment]
    offset = per_page * query["page"]  # type: ignore[operator]
    descending: bool = query["descending"]  # type: ignore[assignment]

    def matches(person: Person) -> bool:
        tagged = person.tags >= wanted if match == "all" else bool(person.tags & wanted)
        return (
            not person.deleted
            and tagged
            and (marketing is None or person.accepts_marketing == marketing)
        )

    expected = sorted(
        (p for p in model if matches(p)), key=lambda p: (p.created_at, p.id), reverse=descending
    )
    filters = CustomerFilters(
        tags=tuple(query["tags"]),  # type: ignore[arg-type]
        tags_match=match,
        accepts_marketing=marketing,
    )
    lookup = SqlCustomerLookup(
        reads.for_tenant(tenant),
        tag_probes=query["tag_probes"],  # type: ignore[arg-type]
    )
    found, total = await lookup.list_page(
        filters,
        CustomerSort("created_at", descending=descending),
        offset=offset,
        limit=per_page,
        count_limit=count_limit,
    )
    assert total == min(len(expected), count_limit + 1), query
    assert [c.id for c in found] == [p.id for p in expected[offset : offset + per_page]], query
