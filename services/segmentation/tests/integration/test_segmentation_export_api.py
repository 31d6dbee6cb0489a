"""The segmentation part of a GDPR export: facts, segment memberships, orders and what the
service infers (RFM score, predictions from the stored model, never a fit)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update

from patron_segmentation.adapters.tables import (
    customer_facts,
    insight_models,
    segment_memberships,
)
from patron_segmentation.service import insights as insight_use_cases
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers, unique_tenant
from patron_shared.testing.export import (
    assert_export_needs_the_export_scope,
    export_of,
    insert_row,
)

from .test_insights_api import buyer

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


async def test_the_export_holds_the_facts_and_segments(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    customer_id = uuid.uuid4()
    await insert_row(
        runtime,
        tenant,
        customer_facts,
        customer_id=customer_id,
        tags=["vip"],
        order_count=3,
        total_spent=300,
        source_updated_at=NOW,
    )
    await insert_row(
        runtime,
        tenant,
        segment_memberships,
        segment_key="repeat_buyers",
        customer_id=customer_id,
        entered_at=NOW,
    )

    document = await export_of(client, tenant, customer_id)

    assert document["service"] == "segmentation"
    data = document["data"]
    assert data["facts"]["order_count"] == 3
    assert data["facts"]["tags"] == ["vip"]
    assert [s["segment_key"] for s in data["segments"]] == ["repeat_buyers"]
    assert data["orders"] == []


async def test_an_unknown_customer_exports_every_part_empty(client: httpx.AsyncClient) -> None:
    document = await export_of(client, unique_tenant(), uuid.uuid4())

    assert document["data"] == {
        "facts": None,
        "segments": [],
        "custom_segments": [],
        "orders": [],
        "message_opens": [],
        "insights": {
            "rfm": None,
            "predictions": None,
            "predictions_absent": "no_counted_order",
            "model_as_of": None,
            "model_fitted_at": None,
        },
    }


async def test_the_export_holds_the_customers_scores_predictions_and_custom_segments(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    steady, *_ = [
        await buyer(runtime, tenant, orders=orders, every_days=every, last_days_ago=last)
        for orders, every, last in ((8, 14, 3), (5, 30, 200), (1, 1, 5), (3, 40, 150), (6, 12, 15))
    ]
    marketing = bearer_headers(tenant, "marketing")
    created = await client.post(
        "/api/v1/segments",
        json={"name": "Frequent", "rule": "order_count >= 8"},
        headers=marketing,
    )
    assert created.status_code == 201, created.text
    rfm = (await client.get(f"/api/v1/customers/{steady}/rfm", headers=marketing)).json()
    insights = await client.get(f"/api/v1/customers/{steady}/insights", headers=marketing)
    assert insights.status_code == 200, insights.text

    data = (await export_of(client, tenant, steady))["data"]

    assert data["insights"]["rfm"] == {
        key: rfm[key] for key in ("recency", "frequency", "monetary", "code", "segment")
    }
    predictions = data["insights"]["predictions"]
    for key in ("probability_alive", "churn_risk", "simple_lifetime_value"):
        assert predictions[key] == pytest.approx(insights.json()[key])
    assert data["insights"]["model_as_of"] == insights.json()["model_as_of"]
    assert data["insights"]["predictions_absent"] is None
    assert created.json()["id"] in {s["segment_key"] for s in data["segments"]}
    assert [(s["id"], s["name"]) for s in data["custom_segments"]] == [
        (created.json()["id"], "Frequent")
    ]
    assert "created_by" not in data["custom_segments"][0]
    assert len(data["orders"]) == 8


async def stored_models(runtime: ServiceRuntime, tenant: str) -> list[dict[str, Any]]:
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            text("SELECT set_config('patron.tenant_id', :tenant, true)"), {"tenant": tenant}
        )
        rows = await session.execute(
            select(insight_models.c.as_of, insight_models.c.fitted_at).where(
                insight_models.c.tenant_id == tenant
            )
        )
        return [dict(row) for row in rows.mappings()]


async def some_buyers(runtime: ServiceRuntime, tenant: str) -> uuid.UUID:
    steady, *_ = [
        await buyer(runtime, tenant, orders=orders, every_days=every, last_days_ago=last)
        for orders, every, last in ((8, 14, 3), (5, 30, 200), (1, 1, 5), (3, 40, 150))
    ]
    return steady


async def test_without_a_stored_model_the_export_says_so_and_never_fits_one(
    client: httpx.AsyncClient, runtime: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = unique_tenant()
    steady = await some_buyers(runtime, tenant)
    fits: list[tuple[object, ...]] = []

    def fit(*args: object) -> None:
        fits.append(args)
        raise AssertionError("the export fitted a model")

    monkeypatch.setattr(insight_use_cases, "fit_insight_model", fit)

    insights = (await export_of(client, tenant, steady))["data"]["insights"]

    assert insights["rfm"] is not None
    assert (insights["predictions"], insights["predictions_absent"]) == (None, "no_stored_model")
    assert (insights["model_as_of"], insights["model_fitted_at"]) == (None, None)
    assert fits == []
    assert await stored_models(runtime, tenant) == []


async def test_the_export_predicts_from_a_stale_stored_model_as_it_is(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    tenant = unique_tenant()
    steady = await some_buyers(runtime, tenant)
    fitted = await client.get("/api/v1/insights/model", headers=bearer_headers(tenant, "marketing"))
    assert fitted.status_code == 200, fitted.text
    # far older than INSIGHTS_MODEL_MAX_AGE_HOURS: the API would refit it
    long_ago = datetime.now(UTC) - timedelta(days=60)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            text("SELECT set_config('patron.tenant_id', :tenant, true)"), {"tenant": tenant}
        )
        await session.execute(
            update(insight_models)
            .where(insight_models.c.tenant_id == tenant)
            .values(fitted_at=long_ago)
        )
    before = await stored_models(runtime, tenant)

    insights = (await export_of(client, tenant, steady))["data"]["insights"]

    assert insights["predictions"]["probability_alive"] is not None
    assert insights["predictions_absent"] is None
    assert insights["model_as_of"] == fitted.json()["as_of"]
    assert datetime.fromisoformat(insights["model_fitted_at"]) == long_ago
    assert await stored_models(runtime, tenant) == before


async def test_the_export_needs_the_customers_export_scope(client: httpx.AsyncClient) -> None:
    await assert_export_needs_the_export_scope(client, unique_tenant())
