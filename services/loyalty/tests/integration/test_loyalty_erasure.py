"""GDPR erasure in loyalty: after `CustomerErased`, no text column of any table of the
database (outbox and inbox included) holds the customer's email, phone or name, and the
erasure is acknowledged in the same transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from patron_shared.events import (
    CustomerCreated,
    CustomerErased,
    CustomerSnapshot,
    OrderPaid,
    OrderPlaced,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import (
    ServiceDatabase,
    deliver_everywhere,
    erasure_acknowledgements,
    find_values,
)


async def test_an_erased_customer_leaves_no_personal_value_and_is_acknowledged(
    runtime: ServiceRuntime, tenant: str, service_database: ServiceDatabase
) -> None:
    marker = uuid.uuid4().hex[:10]
    customer_id = uuid.uuid4()
    now = datetime.now(UTC)
    snapshot = CustomerSnapshot(
        email=f"erase-{marker}@example.com",
        phone=f"+1415555{int(marker[:6], 16) % 10000:04d}",
        first_name=f"Zelda{marker[:5]}",
        last_name=f"Quist{marker[5:]}",
        accepts_marketing=True,
        created_at=now,
        updated_at=now,
    )
    values = [snapshot.email, snapshot.phone, snapshot.first_name, snapshot.last_name]
    events = [
        CustomerCreated(customer_id=customer_id, customer=snapshot),
        OrderPlaced(
            order_id=f"E-{marker}",
            customer_id=customer_id,
            currency="USD",
            total=Decimal("80.00"),
            placed_at=now,
        ),
        OrderPaid(
            order_id=f"E-{marker}",
            customer_id=customer_id,
            amount=Decimal("80.00"),
            currency="USD",
            paid_at=now,
        ),
    ]
    for event in events:
        await deliver_everywhere(runtime, build_envelope(event, tenant_id=tenant, source="tests"))
    # (this service keeps no personal value of its own to look for first)
    erasure_id = uuid.uuid4()
    erased = CustomerErased(
        customer_id=customer_id, mode="anonymize", erased_at=now, erasure_id=erasure_id
    )

    outcomes = await deliver_everywhere(
        runtime, build_envelope(erased, tenant_id=tenant, source="profile")
    )

    assert outcomes
    assert set(outcomes) == {"processed"}
    assert await find_values(service_database.owner_url, values) == []
    acks = await erasure_acknowledgements(service_database.owner_url, erasure_id)
    assert sorted(ack["service"] for ack in acks) == ["loyalty.credit", "loyalty.points"]
    assert {ack["customer_id"] for ack in acks} == {str(customer_id)}
