"""Segment rules compiled to SQL agree with their plain Python evaluation, on PostgreSQL.

Random customers (unknown facts included) go into a table with a column per fact; for random
rules, the customers the database selects with the compiled WHERE clause are exactly those
`rules.matches` accepts. Hypothesis drives it from a worker thread with a loop of its own,
so the test session's event loop is never held up.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Table,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from patron_segmentation.adapters.rule_sql import compile_rule
from patron_segmentation.domain.fields import FIELDS
from patron_segmentation.domain.rules import Rule, matches, render
from patron_shared.testing import ServiceDatabase

from ..unit.rule_strategies import (  # noqa: TID252 - the unit tests' strategies
    NOW,
    customer_facts,
    facts_table,
    rules,
)

pytestmark = pytest.mark.integration


async def selected(
    engine: AsyncEngine, table: Table, customers: list[dict[str, Any]], rule: Rule
) -> set[int]:
    where = compile_rule(rule, {name: table.c[name] for name in FIELDS}, NOW)
    async with engine.begin() as connection:
        await connection.execute(table.delete())
        await connection.execute(
            insert(table), [{"id": n, **facts} for n, facts in enumerate(customers)]
        )
        rows = await connection.execute(select(table.c.id).where(where))
        return {row.id for row in rows}


def check_rules_against_sql(owner_url: str) -> None:
    loop = asyncio.new_event_loop()
    engine = create_async_engine(owner_url, pool_size=1)
    table = facts_table(f"rule_check_{uuid.uuid4().hex[:8]}")

    async def create() -> None:
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)

    async def drop() -> None:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))
        await engine.dispose()

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(customers=st.lists(customer_facts(), min_size=1, max_size=12), rule=rules())
    def sql_agrees_with_python(customers: list[dict[str, Any]], rule: Rule) -> None:
        expected = {n for n, facts in enumerate(customers) if matches(rule, facts, NOW)}
        found = loop.run_until_complete(selected(engine, table, customers, rule))
        assert found == expected, render(rule)

    loop.run_until_complete(create())
    try:
        sql_agrees_with_python()
    finally:
        loop.run_until_complete(drop())
        loop.close()


# the session's event loop goes on meanwhile, and its consumers' retry jitter uses the global
# random module, which Hypothesis (drawing in the worker thread) takes for its own strategies'
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_compiled_rules_select_exactly_the_customers_python_accepts(
    service_database: ServiceDatabase,
) -> None:
    await asyncio.to_thread(check_rules_against_sql, service_database.owner_url)
