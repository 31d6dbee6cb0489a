"""The customer timeline through real Kafka and PostgreSQL: events of other services and
profile's own changes become entries, newest first, once each, paginated and filterable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.events import (
    CustomersUnmerged,
    MergeCustomers,
    NotificationSent,
    OrderPaid,
    OrderPlaced,
    PointsAdjusted,
    TierChanged,
    build_envelope,
)
from patron_shared.http import ServiceRuntime
from patron_shared.testing import KafkaProbe
from patron_shared.testing.auth import bearer_headers

from .bus import eventually, new_customer, publish

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def placed(customer_id: str, order_id: str, minutes: int, total: str = "40.00") -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id=uuid.UUID(customer_id),
        currency="USD",
        total=Decimal(total),
        placed_at=T0 + timedelta(minutes=minutes),
    )


async def timeline(
    client: httpx.AsyncClient, admin: dict[str, str], customer_id: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/customers/{customer_id}/timeline", params=params, headers=admin
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def entries_when(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    customer_id: str,
    count: int,
    kinds: tuple[str, ...] = ("order_placed", "customers_merged"),
) -> list[dict[str, Any]]:
    """The customer's first page of entries of `kinds` once it holds at least `count`.

    Kinds are asked for because the running stack's loyalty service answers the orders
    these tests publish with points of its own, which reach this consumer too."""

    async def check() -> list[dict[str, Any]]:
        page: list[dict[str, Any]] = (
            await timeline(client, admin, customer_id, per_page=100, kind=list(kinds))
        )["data"]
        return page

    return await eventually(check, lambda data: len(data) >= count)


async def test_events_of_every_service_and_profiles_own_changes_make_one_timeline_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    customer_id = await new_customer(client, admin)
    cid = uuid.UUID(customer_id)
    await publish(probe, tenant, placed(customer_id, "T-1", 0, "125.00"))
    await publish(
        probe,
        tenant,
        OrderPaid(
            order_id="T-1",
            customer_id=cid,
            amount=Decimal("125.00"),
            currency="USD",
            paid_at=T0 + timedelta(minutes=1),
        ),
    )
    await publish(
        probe,
        tenant,
        PointsAdjusted(
            customer_id=cid,
            points=50,
            balance=50,
            reason="goodwill",
            actor="agent-7",
            adjusted_at=T0 + timedelta(minutes=2),
        ),
    )
    await publish(
        probe,
        tenant,
        TierChanged(
            customer_id=cid,
            tier="silver",
            direction="upgrade",
            changed_at=T0 + timedelta(minutes=3),
        ),
    )
    await publish(
        probe,
        tenant,
        NotificationSent(
            customer_id=cid,
            notification_id=uuid.uuid4(),
            channel="email",
            template="order_confirmation",
            category="transactional",
            sent_at=T0 + timedelta(minutes=4),
        ),
    )
    base = f"/api/v1/customers/{customer_id}"
    note = {"type": "support", "body": "Called about a late delivery"}
    assert (await client.post(f"{base}/notes", json=note, headers=admin)).status_code == 201
    consent = {"purpose": "sms_marketing", "granted": True, "source": "checkout"}
    assert (await client.post(f"{base}/consents", json=consent, headers=admin)).is_success

    shown = await entries_when(
        client,
        admin,
        customer_id,
        7,
        kinds=(
            "order_placed",
            "order_paid",
            "points_adjusted",
            "tier_changed",
            "notification_sent",
            "note_added",
            "consent_changed",
        ),
    )
    # Only what this test made (a tier the stack's loyalty grants for the order is "now").
    data = [
        entry
        for entry in shown
        if entry["kind"] != "tier_changed" or entry["occurred_at"].startswith("2026-11-01")
    ]

    kinds = [entry["kind"] for entry in data]
    assert kinds[:2] == ["consent_changed", "note_added"] or kinds[:2] == [
        "note_added",
        "consent_changed",
    ]
    assert kinds[2:] == [
        "notification_sent",
        "tier_changed",
        "points_adjusted",
        "order_paid",
        "order_placed",
    ]
    moments = [entry["occurred_at"] for entry in data]
    assert moments == sorted(moments, reverse=True)
    by_kind = {entry["kind"]: entry for entry in data}
    assert by_kind["order_placed"]["summary"]["total"] == "125.00"
    assert by_kind["points_adjusted"]["summary"]["points"] == 50
    assert by_kind["consent_changed"]["summary"] | {"source": None} == {
        "channel": "sms",
        "purpose": "marketing",
        "granted": True,
        "source": None,
    }
    # A note's body is personal data: the timeline names the note, not what it says.
    assert "body" not in by_kind["note_added"]["summary"]
    assert "late delivery" not in str(data)


async def test_a_redelivered_event_adds_no_second_entry(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    customer_id = await new_customer(client, admin)
    envelope = build_envelope(
        placed(customer_id, "R-1", 0), tenant_id=tenant, source="orders-service"
    )
    for _ in range(2):
        await probe.publish("patron.order.events.v1", envelope.to_json_bytes(), key=customer_id)
    # A later event, to know the redelivery before it was handled.
    await publish(probe, tenant, placed(customer_id, "R-2", 5))

    data = await entries_when(client, admin, customer_id, 2)

    assert [(entry["kind"], entry["summary"]["order_id"]) for entry in data] == [
        ("order_placed", "R-2"),
        ("order_placed", "R-1"),
    ]
    assert data[1]["id"] == str(envelope.id)


async def test_pages_follow_each_other_newest_first_without_gaps_or_repeats(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    customer_id = await new_customer(client, admin)
    # Two orders at the same moment: the entry id breaks the tie.
    for n, minutes in enumerate([0, 10, 10, 20, 30]):
        await publish(probe, tenant, placed(customer_id, f"P-{n}", minutes))
    everything = await entries_when(client, admin, customer_id, 5)

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"per_page": 2, "kind": "order_placed"}
        if cursor:
            params["cursor"] = cursor
        body = await timeline(client, admin, customer_id, **params)
        seen += body["data"]
        pages += 1
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert [entry["id"] for entry in seen] == [entry["id"] for entry in everything]
    assert len({entry["id"] for entry in seen}) == 5
    assert seen[0]["summary"]["order_id"] == "P-4"


async def test_the_timeline_filters_by_kind(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    customer_id = await new_customer(client, admin)
    await publish(probe, tenant, placed(customer_id, "F-1", 0))
    await publish(
        probe,
        tenant,
        PointsAdjusted(
            customer_id=uuid.UUID(customer_id),
            points=-5,
            balance=0,
            reason="correction",
            actor="agent-1",
            adjusted_at=T0 + timedelta(minutes=1),
        ),
    )
    note = {"type": "general", "body": "prefers phone calls"}
    response = await client.post(f"/api/v1/customers/{customer_id}/notes", json=note, headers=admin)
    assert response.status_code == 201
    await entries_when(
        client, admin, customer_id, 3, kinds=("order_placed", "points_adjusted", "note_added")
    )

    only_points = await timeline(client, admin, customer_id, kind="points_adjusted")
    both = await client.get(
        f"/api/v1/customers/{customer_id}/timeline?kind=order_placed&kind=note_added",
        headers=admin,
    )

    assert [entry["kind"] for entry in only_points["data"]] == ["points_adjusted"]
    assert [entry["kind"] for entry in both.json()["data"]] == ["note_added", "order_placed"]


async def test_bad_kinds_and_cursors_are_422_naming_the_parameter(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await new_customer(client, admin)
    base = f"/api/v1/customers/{customer_id}/timeline"

    bad_kind = await client.get(f"{base}?kind=lunch", headers=admin)
    bad_cursor = await client.get(f"{base}?cursor=nonsense", headers=admin)

    assert bad_kind.status_code == 422
    assert bad_kind.headers["content-type"].startswith("application/problem+json")
    assert "kind" in bad_kind.text
    assert bad_cursor.status_code == 422
    assert "cursor" in bad_cursor.text


async def test_a_merge_shows_both_histories_on_the_survivor(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    primary = await new_customer(client, admin)
    secondary = await new_customer(client, admin)
    await publish(probe, tenant, placed(primary, f"M-{primary[:6]}", 0))
    await publish(probe, tenant, placed(secondary, f"M-{secondary[:6]}", 5))
    await entries_when(client, admin, primary, 1)
    await entries_when(client, admin, secondary, 1)

    await publish(
        probe,
        tenant,
        MergeCustomers(
            customer_id=uuid.UUID(primary),
            secondary_id=uuid.UUID(secondary),
            requested_by="reviewer-1",
        ),
    )
    data = await entries_when(client, admin, primary, 3)

    assert [(entry["kind"], entry["customer_id"]) for entry in data] == [
        ("customers_merged", primary),
        ("order_placed", secondary),
        ("order_placed", primary),
    ]
    assert data[0]["summary"]["merged_customer_id"] == secondary
    gone = await client.get(f"/api/v1/customers/{secondary}/timeline", headers=admin)
    assert gone.status_code == 404
    assert gone.json()["merged_into"] == primary


async def test_an_unmerge_gives_each_customer_its_own_history_back(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str, probe: KafkaProbe
) -> None:
    primary = await new_customer(client, admin)
    secondary = await new_customer(client, admin)
    await publish(probe, tenant, placed(primary, f"U-{primary[:6]}", 0))
    await publish(probe, tenant, placed(secondary, f"U-{secondary[:6]}", 5))
    await entries_when(client, admin, secondary, 1)
    merge = MergeCustomers(
        customer_id=uuid.UUID(primary), secondary_id=uuid.UUID(secondary), requested_by="r-1"
    )
    await publish(probe, tenant, merge)
    await entries_when(client, admin, primary, 3)

    unmerge = CustomersUnmerged(
        customer_id=uuid.UUID(primary),
        restored_customer_id=uuid.UUID(secondary),
        unmerged_at=datetime.now(UTC),
        unmerged_by="r-2",
    )
    sent = await publish(probe, tenant, unmerge)
    kinds = ("order_placed", "customers_merged", "customers_unmerged")
    await entries_when(client, admin, primary, 1, kinds=("customers_unmerged",))
    on_primary = await entries_when(client, admin, primary, 3, kinds=kinds)
    on_secondary = await entries_when(client, admin, secondary, 1, kinds=kinds)

    assert [(entry["kind"], entry["customer_id"]) for entry in on_primary] == [
        ("customers_unmerged", primary),
        ("customers_merged", primary),
        ("order_placed", primary),
    ]
    assert on_primary[0]["id"] == str(sent.id)
    assert on_primary[0]["summary"]["restored_customer_id"] == secondary
    assert [(entry["kind"], entry["customer_id"]) for entry in on_secondary] == [
        ("order_placed", secondary)
    ]


async def test_erasing_a_timeline_deletes_the_customers_entries_only(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    tenant: str,
    probe: KafkaProbe,
    runtime: ServiceRuntime,
) -> None:
    erased = await new_customer(client, admin)
    kept = await new_customer(client, admin)
    for customer_id in (erased, kept):
        await publish(probe, tenant, placed(customer_id, f"E-{customer_id[:8]}", 0))
        await entries_when(client, admin, customer_id, 1)

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        removed = await uow.timeline.erase_timeline(uuid.UUID(erased))
        await uow.commit()

    assert removed >= 1
    assert (await timeline(client, admin, erased, kind="order_placed"))["data"] == []
    assert len((await timeline(client, admin, kept, kind="order_placed"))["data"]) == 1


async def test_a_caller_who_may_not_read_customers_gets_403(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = await new_customer(client, admin)
    outsider = bearer_headers(tenant, scopes=["loyalty:read"])

    response = await client.get(f"/api/v1/customers/{customer_id}/timeline", headers=outsider)

    assert response.status_code == 403
