"""GDPR erasure in segmentation: after `CustomerErased`, no text column of any table of the
database (outbox and inbox included) holds the customer's email, phone or name, and the
erasure is acknowledged in the same transaction."""

from __future__ import annotations

from patron_shared.http import ServiceRuntime
from patron_shared.testing import ServiceDatabase, check_customer_erasure


async def test_an_erased_customer_leaves_no_personal_value_and_is_acknowledged(
    runtime: ServiceRuntime, tenant: str, service_database: ServiceDatabase
) -> None:
    await check_customer_erasure(
        runtime,
        tenant,
        service_database.owner_url,
        acknowledged_by=["segmentation"],
        keeps_personal_values=False,
    )
