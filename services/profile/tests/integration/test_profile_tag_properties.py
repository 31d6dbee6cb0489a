"""Bulk tagging against a model, over random histories, on a real database: each customer's
tags, the events announcing each change, and the tag index the filters read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from patron_profile.adapters.tables import customer_tags, customers, messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service import customers as customer_use_cases
from patron_profile.service import tags as tag_use_cases
from patron_shared.db import create_engine, create_session_factory
from patron_shared.testing import ServiceDatabase, unique_tenant

pytestmark = pytest.mark.integration

CUSTOMERS = 5
TAG = st.sampled_from(["a", "b", "c", "D", " d "])  # "D" and " d " normalise to "d"
SOME_CUSTOMERS = st.lists(st.integers(0, CUSTOMERS - 1), min_size=1, max_size=CUSTOMERS + 2)
STEP: st.SearchStrategy[tuple[str, Any, list[str]]] = st.one_of(
    st.tuples(st.sampled_from(["add", "remove"]), SOME_CUSTOMERS, st.lists(TAG, min_size=1)),
    st.tuples(st.just("set"), st.integers(0, CUSTOMERS - 1), st.lists(TAG, max_size=3)),
    st.tuples(st.just("delete"), st.integers(0, CUSTOMERS - 1), st.just([])),
)
Model = dict[int, list[str] | None]  # customer -> tags; None once deleted


def normalised(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().lower() for t in tags))


def bulk_change(old: list[str], wanted: list[str], mode: Literal["add", "remove"]) -> list[str]:
    if mode == "add":
        return old + [t for t in wanted if t not in old]
    return [t for t in old if t not in wanted]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.lists(st.lists(TAG, max_size=3), min_size=CUSTOMERS, max_size=CUSTOMERS),
    steps=st.lists(STEP, max_size=6),
)
def test_bulk_tagging_matches_the_model_and_the_tag_index_matches_the_customers(
    service_database: ServiceDatabase, start: list[list[str]], steps: list[Any]
) -> None:
    asyncio.run(check_history(service_database, start, steps))


async def check_history(
    database: ServiceDatabase, start: list[list[str]], steps: list[Any]
) -> None:
    engine = create_engine(database.app_url, pool_size=1)
    sessions = create_session_factory(engine)
    tenant = unique_tenant("tagprop")

    def uow() -> ProfileUnitOfWork:
        return ProfileUnitOfWork(sessions, messaging, tenant_id=tenant, source="profile")

    rules = customer_use_cases.ContactRules()
    try:
        ids: list[uuid.UUID] = []
        model: Model = {}
        for n, tags in enumerate(start):
            created = await customer_use_cases.create_customer(
                uow(), {"email": f"c{n}@example.com", "tags": tags}, rules=rules
            )
            ids.append(created.id)
            model[n] = normalised(tags)
        for action, target, tags in steps:
            if action in ("add", "remove"):
                await check_bulk_change(uow, ids, model, target, tags, mode=action)
            elif model[target] is None:
                continue
            elif action == "set":
                await customer_use_cases.update_customer(
                    uow(), ids[target], {"tags": tags}, rules=rules
                )
                model[target] = normalised(tags)
            else:
                await customer_use_cases.delete_customer(uow(), ids[target])
                model[target] = None
        async with uow() as reading:
            stored = dict(
                (await reading.session.execute(select(customers.c.id, customers.c.tags))).all()
            )
            indexed = set(
                (
                    await reading.session.execute(
                        select(customer_tags.c.customer_id, customer_tags.c.tag)
                    )
                ).all()
            )
        live = {n: tags for n, tags in model.items() if tags is not None}
        assert {n: stored[ids[n]] for n in live} == live
        assert indexed == {(ids[n], tag) for n, tags in live.items() for tag in tags}
    finally:
        await engine.dispose()


async def check_bulk_change(
    uow: Callable[[], ProfileUnitOfWork],
    ids: list[uuid.UUID],
    model: Model,
    targets: list[int],
    tags: list[str],
    *,
    mode: Literal["add", "remove"],
) -> None:
    wanted = normalised(tags)
    expected: dict[uuid.UUID, tuple[list[str], list[str], list[str]]] = {}
    for n in dict.fromkeys(targets):
        old = model[n]
        if old is None:
            continue
        new = bulk_change(old, wanted, mode)
        if new != old:
            added = [t for t in new if t not in old]
            removed = [t for t in old if t not in new]
            expected[ids[n]] = (new, added, removed)
            model[n] = new
    outbox = messaging.outbox
    async with uow() as before:
        last = await before.session.scalar(select(func.max(outbox.c.seq)))

    result = await tag_use_cases.change_tags_in_bulk(uow(), [ids[n] for n in targets], tags, mode)

    assert result.changed == len(expected)
    assert result.unchanged == sum(1 for n in set(targets) if model[n] is not None) - len(expected)
    async with uow() as reading:
        rows = (
            await reading.session.execute(
                select(outbox.c.message_type, outbox.c.payload)
                .where(outbox.c.tenant_id == reading.tenant_id, outbox.c.seq > (last or 0))
                .order_by(outbox.c.seq)
            )
        ).all()
    announced: dict[uuid.UUID, list[tuple[str, dict[str, Any]]]] = {}
    for message_type, payload in rows:
        announced.setdefault(uuid.UUID(payload["subject"]), []).append(
            (message_type, payload["data"])
        )
    assert set(announced) == set(expected)
    for customer_id, (new, added, removed) in expected.items():
        (updated_type, updated), (changed_type, changed) = announced[customer_id]
        assert (updated_type, changed_type) == ("CustomerUpdated", "TagsChanged")
        assert updated["customer"]["tags"] == new
        assert changed == {
            "customer_id": str(customer_id),
            "added": added,
            "removed": removed,
            "tags": new,
        }
