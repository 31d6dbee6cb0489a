"""Segment rules compiled to SQL agree with their plain Python evaluation, on PostgreSQL.

Random customers (unknown facts included) go into a table with a column per fact; for random
rules, the customers the database selects with the compiled WHERE clause are exactly those
`rules.matches` accepts. Hypothesis drives it from a worker thread; each example's queries
run on the test's own event loop, which is held still while Hypothesis draws (see `HeldLoop`).
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
from patron_shared.testing import HeldLoop, ServiceDatabase

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


async def test_compiled_rules_select_exactly_the_customers_python_accepts(
    service_database: ServiceDatabase,
) -> None:
    engine = create_async_engine(service_database.owner_url, pool_size=1)
    table = facts_table(f"rule_check_{uuid.uuid4().hex[:8]}")
    async with engine.begin() as connection:
        await connection.run_sync(table.metadata.create_all)
    loop = asyncio.get_running_loop()

    def check_rules() -> None:
        with HeldLoop(loop) as held:

            @settings(
                max_examples=150,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(customers=st.lists(customer_facts(), min_size=1, max_size=12), rule=rules())
            def sql_agrees_with_python(customers: list[dict[str, Any]], rule: Rule) -> None:
                expected = {n for n, facts in enumerate(customers) if matches(rule, facts, NOW)}
                found = held.run(selected(engine, table, customers, rule))
                assert found == expected, render(rule)

            sql_agrees_with_python()

    try:
        await asyncio.to_thread(check_rules)
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))
        await engine.dispose()
