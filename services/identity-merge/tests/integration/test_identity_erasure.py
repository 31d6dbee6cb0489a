"""GDPR erasure in identity: after `CustomerErased`, no text column of any table of the
database (outbox and inbox included) holds the customer's email, phone or name, and the
erasure is acknowledged in the same transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from patron_identity.adapters.tables import source_deliveries
from patron_identity.domain.connectors import ERASED_EXTERNAL_ID
from patron_shared.events import CustomerErased, build_envelope
from patron_shared.http import ServiceRuntime
from patron_shared.testing import ServiceDatabase, check_customer_erasure
from patron_shared.testing.export import insert_row
from patron_shared.testing.pii import deliver_everywhere


async def test_an_erased_customer_leaves_no_personal_value_and_is_acknowledged(
    runtime: ServiceRuntime, tenant: str, service_database: ServiceDatabase
) -> None:
    await check_customer_erasure(
        runtime,
        tenant,
        service_database.owner_url,
        acknowledged_by=["identity"],
        keeps_personal_values=True,
    )


def result(customer_id: uuid.UUID, external_id: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "event": "upsert",
        "customer_id": str(customer_id),
        "created": True,
        "matched_by": None,
    }


async def outcomes(runtime: ServiceRuntime, tenant: str) -> dict[str, list[dict[str, Any]]]:
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            text("SELECT set_config('patron.tenant_id', :tenant, true)"), {"tenant": tenant}
        )
        rows = await session.execute(
            select(source_deliveries.c.delivery_key, source_deliveries.c.outcome)
        )
        return {row.delivery_key: row.outcome for row in rows}


async def test_an_erasure_blanks_the_sources_id_of_the_customer_in_remembered_deliveries(
    runtime: ServiceRuntime, tenant: str
) -> None:
    erased, other = uuid.uuid4(), uuid.uuid4()
    before = {
        "batch": [result(other, "shopify:2"), result(erased, "shopify:1")],
        "webhook": [result(erased, "shopify:1")],
        "someone-else": [result(other, "shopify:2")],
    }
    for key, outcome in before.items():
        await insert_row(
            runtime,
            tenant,
            source_deliveries,
            channel="api:shopify",
            delivery_key=key,
            fingerprint=key,
            outcome=outcome,
        )
    erasure = CustomerErased(
        customer_id=erased,
        mode="anonymize",
        erased_at=datetime.now(UTC),
        erasure_id=uuid.uuid4(),
    )

    handled = await deliver_everywhere(
        runtime, build_envelope(erasure, tenant_id=tenant, source="profile")
    )

    assert set(handled) == {"processed"}
    blanked = result(erased, ERASED_EXTERNAL_ID)
    assert await outcomes(runtime, tenant) == {
        "batch": [result(other, "shopify:2"), blanked],
        "webhook": [blanked],
        "someone-else": [result(other, "shopify:2")],
    }
