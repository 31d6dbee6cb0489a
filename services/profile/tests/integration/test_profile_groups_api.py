"""`/api/v1/groups` on real PostgreSQL: defaults, CRUD, assignment by hand and by rule."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron_profile.adapters.groups import customer_groups
from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.service.orders import record_order_event
from patron_shared.events import OrderPlaced
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

pytestmark = pytest.mark.integration


async def groups_by_key(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/v1/groups", headers=headers)
    assert response.status_code == 200
    return {g["key"] or g["name"]: g for g in response.json()["data"]}


async def create_customer(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    response = await client.post("/api/v1/customers", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def group_of(client: httpx.AsyncClient, headers: dict[str, str], customer_id: str) -> Any:
    response = await client.get(f"/api/v1/customers/{customer_id}", headers=headers)
    return response.json()["group_id"]


async def place(
    runtime: ServiceRuntime, tenant: str, customer_id: str, order_id: str, total: str
) -> None:
    order = OrderPlaced(
        order_id=order_id,
        customer_id=uuid.UUID(customer_id),
        currency="USD",
        total=Decimal(total),
        items=[],
        placed_at=datetime(2026, 11, 20, tzinfo=UTC),
    )
    uow = runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant)
    uow.causation_id = str(uuid.uuid4())
    await record_order_event(uow, order)


async def group_updates(runtime: ServiceRuntime, tenant: str, customer_id: str) -> list[Any]:
    """The group ids announced in this customer's CustomerUpdated events, oldest first."""
    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.scalars(
            select(outbox.c.payload)
            .where(
                outbox.c.tenant_id == tenant,
                outbox.c.message_key == customer_id,
                outbox.c.message_type == "CustomerUpdated",
            )
            .order_by(outbox.c.seq)
        )
        return [
            p["data"]["customer"]["group_id"]
            for p in rows
            if "group_id" in p["data"]["changed_fields"]
        ]


def error_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


async def test_every_tenant_has_the_three_defaults_once_however_many_first_calls_race(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    responses = await asyncio.gather(
        *(client.get("/api/v1/groups", headers=admin) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {200}

    groups = await groups_by_key(client, admin)
    assert sorted(groups) == ["retail", "vip", "wholesale"]
    retail, wholesale, vip = groups["retail"], groups["wholesale"], groups["vip"]
    assert retail["discount_percent"] == "0.00"
    assert retail["is_default"] is True
    assert wholesale["discount_percent"] == "30.00"
    assert wholesale["free_shipping"] is True
    assert wholesale["free_shipping_threshold"] == "500.00"
    assert wholesale["minimum_order"] == "250.00"
    assert wholesale["payment_terms"] == "net-30"
    assert wholesale["rules"] == [{"field": "email_domain", "op": "business", "value": None}]
    assert vip["discount_percent"] == "15.00"
    assert (vip["free_shipping"], vip["free_shipping_threshold"]) == (True, None)
    assert vip["rules"] == [{"field": "total_spent", "op": ">", "value": "5000"}]
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        stored = await uow.session.scalar(select(func.count()).select_from(customer_groups))
    assert stored == 3


async def test_a_custom_group_is_created_read_changed_and_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/groups",
        json={
            "name": "Trade partners",
            "discount_percent": "12.5",
            "free_shipping": True,
            "free_shipping_threshold": "300",
            "minimum_order": "100.00",
            "currency": "eur",
            "payment_terms": "NET-15",
            "price_list": "trade-2026",
            "rules": [{"field": "total_orders", "op": ">", "value": 10}],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    url = f"/api/v1/groups/{body['id']}"
    assert created.headers["Location"] == url
    assert body["key"] is None
    assert body["is_default"] is False
    assert body["discount_percent"] == "12.50"
    assert body["free_shipping_threshold"] == "300.00"
    assert (body["currency"], body["payment_terms"]) == ("EUR", "net-15")
    assert body["customer_count"] == 0

    changed = await client.patch(
        url,
        json={"discount_percent": "20", "price_list": None, "name": "Trade"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["discount_percent"], changed.json()["price_list"]) == ("20.00", None)
    assert (await client.get(url, headers=admin)).json()["name"] == "Trade"
    duplicate = await client.post("/api/v1/groups", json={"name": "tRADE"}, headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["field"] == "name"
    renamed_onto_default = await client.patch(url, json={"name": "vip"}, headers=admin)
    assert renamed_onto_default.status_code == 409

    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404
    assert (await client.delete(url, headers=admin)).status_code == 404


async def test_bad_group_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "A", "discount_percent": "150"}, "discount_percent"),
        ({"name": "A", "discount_percent": 12.5}, "discount_percent"),
        ({"name": "A", "minimum_order": "10"}, "currency"),
        (
            {"name": "A", "free_shipping_threshold": "10", "currency": "USD"},
            "free_shipping_threshold",
        ),
        ({"name": "A", "payment_terms": "net-400"}, "payment_terms"),
        ({"name": "A", "auto_assign": True}, "rules"),
        ({"name": "A", "rules": [{"field": "age", "op": ">", "value": 1}]}, "rules.0.field"),
        (
            {"name": "A", "rules": [{"field": "total_spent", "op": "in", "value": "1"}]},
            "rules.0.op",
        ),
        (
            {"name": "A", "rules": [{"field": "email_domain", "op": "in", "value": ["a b"]}]},
            "rules.0.value",
        ),
        ({"name": ""}, "name"),
        ({"discount_percent": "1"}, "name"),
        ({"name": "A", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/groups", json=body, headers=admin)
        assert field in error_fields(response), (body, response.json())
    vip = (await groups_by_key(client, admin))["vip"]
    cleared = await client.patch(f"/api/v1/groups/{vip['id']}", json={"name": None}, headers=admin)
    assert error_fields(cleared) == ["name"]


async def test_defaults_can_be_edited_but_not_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    retail = (await groups_by_key(client, admin))["retail"]
    url = f"/api/v1/groups/{retail['id']}"

    edited = await client.patch(url, json={"discount_percent": "2.5"}, headers=admin)
    deleted = await client.delete(url, headers=admin)

    assert edited.json()["discount_percent"] == "2.50"
    assert edited.json()["key"] == "retail"
    assert deleted.status_code == 409
    assert deleted.headers["content-type"].startswith("application/problem+json")


async def test_a_group_with_customers_is_deleted_only_with_a_reassignment_target(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    trade = (await client.post("/api/v1/groups", json={"name": "Trade"}, headers=admin)).json()
    vip = (await groups_by_key(client, admin))["vip"]
    member = await create_customer(client, admin, email="member@trade.io", group_id=trade["id"])
    url = f"/api/v1/groups/{trade['id']}"
    assert (await client.get(url, headers=admin)).json()["customer_count"] == 1

    refused = await client.delete(url, headers=admin)
    to_itself = await client.delete(f"{url}?reassign_to={trade['id']}", headers=admin)
    to_nowhere = await client.delete(f"{url}?reassign_to={uuid.uuid4()}", headers=admin)
    not_an_id = await client.delete(f"{url}?reassign_to=nope", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["customers"] == 1
    assert error_fields(to_itself) == ["reassign_to"]
    assert error_fields(to_nowhere) == ["reassign_to"]
    assert error_fields(not_an_id) == ["reassign_to"]

    moved = await client.delete(f"{url}?reassign_to={vip['id']}", headers=admin)
    assert moved.status_code == 204
    assert await group_of(client, admin, member) == vip["id"]
    assert (await client.get(url, headers=admin)).status_code == 404


async def test_manual_assignment_is_announced_and_pins_the_customer(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    groups = await groups_by_key(client, admin)
    retail, vip = groups["retail"], groups["vip"]
    customer = await create_customer(client, admin, email="pinned@example.com")
    unknown = str(uuid.uuid4())

    response = await client.post(
        f"/api/v1/groups/{retail['id']}/customers",
        json={"customer_ids": [customer, unknown]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"assigned": 1, "not_found": [unknown]}
    assert await group_updates(runtime, tenant, customer) == [retail["id"]]

    # VIP by rule would take this customer, but the manual choice stands.
    await client.patch(f"/api/v1/groups/{vip['id']}", json={"auto_assign": True}, headers=admin)
    await place(runtime, tenant, customer, f"P-{uuid.uuid4()}", "6000.00")
    assert await group_of(client, admin, customer) == retail["id"]

    # Cleared: the rules take over.
    await client.patch(f"/api/v1/customers/{customer}", json={"group_id": None}, headers=admin)
    assert await group_of(client, admin, customer) == vip["id"]
    too_many = await client.post(
        f"/api/v1/groups/{retail['id']}/customers",
        json={"customer_ids": [str(uuid.uuid4()) for _ in range(1001)]},
        headers=admin,
    )
    assert error_fields(too_many) == ["customer_ids"]


async def test_a_customer_whose_spend_crosses_5000_moves_to_vip_by_rule(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    vip = (await groups_by_key(client, admin))["vip"]
    enabled = await client.patch(
        f"/api/v1/groups/{vip['id']}", json={"auto_assign": True}, headers=admin
    )
    assert enabled.status_code == 200, enabled.text
    customer = await create_customer(client, admin, email="spender@example.com")

    await place(runtime, tenant, customer, "S-1", "3000.00")
    assert await group_of(client, admin, customer) is None
    await place(runtime, tenant, customer, "S-2", "2000.50")

    assert await group_of(client, admin, customer) == vip["id"]
    assert await group_updates(runtime, tenant, customer) == [vip["id"]]
    listed = await client.get(f"/api/v1/customers?group={vip['id']}", headers=admin)
    assert [c["id"] for c in listed.json()["data"]] == [customer]


async def test_business_emails_go_to_wholesale_once_its_rule_is_on(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    wholesale = (await groups_by_key(client, admin))["wholesale"]
    before = await create_customer(client, admin, email="buyer@acme-corp.com")
    assert await group_of(client, admin, before) is None

    # Turning the rule on re-evaluates existing customers...
    await client.patch(
        f"/api/v1/groups/{wholesale['id']}", json={"auto_assign": True}, headers=admin
    )
    assert await group_of(client, admin, before) == wholesale["id"]
    # ...and new ones are placed when created, or when their email changes.
    business = await create_customer(client, admin, email="ops@widgets.example")
    personal = await create_customer(client, admin, email="someone@gmail.com")
    assert await group_of(client, admin, business) == wholesale["id"]
    assert await group_of(client, admin, personal) is None
    await client.patch(
        f"/api/v1/customers/{business}", json={"email": "ops@yahoo.co.uk"}, headers=admin
    )
    assert await group_of(client, admin, business) is None

    # Turning it off hands the rule's customers back.
    await client.patch(
        f"/api/v1/groups/{wholesale['id']}", json={"auto_assign": False}, headers=admin
    )
    assert await group_of(client, admin, before) is None


async def test_an_unknown_group_id_on_a_customer_is_a_422_naming_group_id(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/customers",
        json={"email": "nogroup@example.com", "group_id": str(uuid.uuid4())},
        headers=admin,
    )
    assert error_fields(created) == ["group_id"]
    customer = await create_customer(client, admin, email="nogroup@example.com")
    patched = await client.patch(
        f"/api/v1/customers/{customer}", json={"group_id": str(uuid.uuid4())}, headers=admin
    )
    assert error_fields(patched) == ["group_id"]


async def test_another_tenant_sees_none_of_the_groups(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    trade = (await client.post("/api/v1/groups", json={"name": "Trade"}, headers=admin)).json()
    vip = (await groups_by_key(client, admin))["vip"]
    other = bearer_headers(f"{tenant}-x")
    customer = await create_customer(client, other, email="other@example.com")

    for group in (trade, vip):
        url = f"/api/v1/groups/{group['id']}"
        assert (await client.get(url, headers=other)).status_code == 404
        assert (await client.patch(url, json={"name": "Mine"}, headers=other)).status_code == 404
        assert (await client.delete(url, headers=other)).status_code == 404
        assigned = await client.post(
            f"{url}/customers", json={"customer_ids": [customer]}, headers=other
        )
        assert assigned.status_code == 404
    patched = await client.patch(
        f"/api/v1/customers/{customer}", json={"group_id": trade["id"]}, headers=other
    )
    assert error_fields(patched) == ["group_id"]
    others = await groups_by_key(client, other)
    assert others["vip"]["id"] != vip["id"]
    assert "Trade" not in others


async def test_reading_groups_needs_the_read_scope(client: httpx.AsyncClient, tenant: str) -> None:
    nobody = bearer_headers(tenant, scopes=["segments:read"])
    reader = bearer_headers(tenant, scopes=["customers:read"])

    assert (await client.get("/api/v1/groups", headers=nobody)).status_code == 403
    assert (await client.get("/api/v1/groups", headers=reader)).status_code == 200
    created = await client.post("/api/v1/groups", json={"name": "X"}, headers=reader)
    assert created.status_code == 403
