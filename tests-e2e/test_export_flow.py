"""Across the running stack: a customer with an order (Kafka), points, a note, a consent and
a welcome email -> the GDPR export through the gateway holds every service's part."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from patron_shared.testing import KafkaProbe

from .journeys import SERVICES, known_everywhere, publish_paid_order
from .test_customer_flow import eventually

pytestmark = pytest.mark.e2e


async def test_the_export_holds_every_services_part_of_the_customer(
    gateway: httpx.AsyncClient, probe: KafkaProbe, tenant: str, auth: Any
) -> None:
    headers = auth(tenant)
    email = f"grace-{uuid.uuid4().hex[:8]}@e2e.example"
    created = await gateway.post(
        "/api/v1/customers",
        json={"email": email, "first_name": "Grace", "last_name": "Hopper"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    note = await gateway.post(
        f"/api/v1/customers/{customer_id}/notes",
        json={"type": "general", "body": "asked for a catalogue"},
        headers=headers,
    )
    assert note.status_code == 201, note.text
    consent = await gateway.post(
        f"/api/v1/customers/{customer_id}/consents",
        json={"purpose": "email_marketing", "granted": True, "source": "checkout"},
        headers=headers,
    )
    assert consent.status_code == 201, consent.text
    await publish_paid_order(probe, tenant, customer_id, "E2E-X-1", "80.00")

    async def export() -> dict[str, Any] | None:
        response = await gateway.get(f"/api/v1/customers/{customer_id}/export", headers=headers)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document if known_everywhere(document) else None

    document = await eventually(export)
    assert document is not None, "every service's part arrives in the export"
    assert document["complete"] is True
    assert (document["customer_id"], document["tenant_id"]) == (customer_id, tenant)
    parts = document["services"]
    assert set(parts) == set(SERVICES)

    profile = parts["profile"]
    assert profile["customer"]["email"] == email
    assert [o["order_id"] for o in profile["orders"]] == ["E2E-X-1"]
    assert [n["body"] for n in profile["notes"]] == ["asked for a catalogue"]
    assert any(c["purpose"] == "email_marketing" and c["granted"] for c in profile["consents"])
    assert any(e["source"] == "checkout" for e in profile["consent_history"])

    assert parts["identity"]["customer"]["email"] == email
    assert email in {i["value"] for i in parts["identity"]["identifiers"]}

    assert parts["segmentation"]["facts"]["order_count"] == 1
    assert [o["order_id"] for o in parts["segmentation"]["orders"]] == ["E2E-X-1"]
    insights = parts["segmentation"]["insights"]  # what segmentation infers (profiling)
    assert insights["rfm"]["code"] == "".join(
        str(insights["rfm"][score]) for score in ("recency", "frequency", "monetary")
    )
    # the export never fits the tenant's model: none is stored yet, so no predictions
    assert (insights["predictions"], insights["predictions_absent"]) == (None, "no_stored_model")

    loyalty = parts["loyalty"]
    assert loyalty["points_account"]["balance"] > 0
    assert [e["kind"] for e in loyalty["points_ledger"]] == ["earn"]
    assert loyalty["points_ledger"][0]["points"] == loyalty["points_account"]["balance"]

    notifications = parts["notifications"]
    assert notifications["contact"]["email"] == email
    assert "welcome" in {d["template_key"] for d in notifications["deliveries"]}
    assert all(d["recipient"] == email for d in notifications["deliveries"])

    fitted = await gateway.get("/api/v1/insights/model", headers=headers)
    assert fitted.status_code == 200, fitted.text
    again = await export()
    assert again is not None
    insights = again["services"]["segmentation"]["insights"]
    assert 0 <= insights["predictions"]["probability_alive"] <= 1
    assert insights["model_as_of"] == fitted.json()["as_of"]
    assert datetime.fromisoformat(insights["model_fitted_at"]) == datetime.fromisoformat(
        fitted.json()["fitted_at"]
    )

    audit = await gateway.get(f"/api/v1/customers/{customer_id}/audit", headers=headers)
    assert audit.status_code == 200, audit.text
    assert "export" in {entry["action"] for entry in audit.json()["data"]}


async def test_the_export_is_only_for_callers_with_the_export_scope(
    gateway: httpx.AsyncClient, tenant: str, auth: Any
) -> None:
    created = await gateway.post(
        "/api/v1/customers",
        json={"email": f"x-{uuid.uuid4().hex[:8]}@e2e.example"},
        headers=auth(tenant),
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/customers/{created.json()['id']}/export"

    support = await gateway.get(path, headers=auth(tenant, "support"))

    assert support.status_code == 403, support.text


async def test_the_services_internal_export_paths_are_not_routed_by_the_gateway(
    gateway: httpx.AsyncClient, tenant: str, auth: Any
) -> None:
    response = await gateway.get(
        f"/internal/v1/customers/{uuid.uuid4()}/export", headers=auth(tenant)
    )

    assert response.status_code == 404, response.text
