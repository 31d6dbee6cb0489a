"""The address API on a real database: default rules, the index behind them, events, tenancy."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from patron_profile.adapters.addresses import addresses
from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_profile.domain.address import MAX_ADDRESSES_PER_CUSTOMER
from patron_shared.http import ServiceRuntime
from patron_shared.testing import ServiceDatabase, row_security_of, unique_tenant
from patron_shared.testing import bearer_headers as bearer

pytestmark = pytest.mark.integration

SHIPPING = {
    "type": "shipping",
    "first_name": "Jane",
    "last_name": "Doe",
    "address1": "1 Market St",
    "city": "San Francisco",
    "state": "CA",
    "pincode": "94105",
    "country": "us",
    "phone": "415 555 0123",
}
BILLING = SHIPPING | {"type": "billing", "address1": "2 Billing Ave"}


async def a_customer(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(
        "/api/v1/customers", json={"email": f"{uuid.uuid4().hex}@example.com"}, headers=headers
    )
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


async def add(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/customers/{customer_id}/addresses", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    address: dict[str, Any] = response.json()
    return address


async def listing(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str
) -> dict[str, dict[str, Any]]:
    response = await client.get(f"/api/v1/customers/{customer_id}/addresses", headers=headers)
    assert response.status_code == 200, response.text
    return {a["id"]: a for a in response.json()["data"]}


def defaults(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {a["type"]: a["id"] for a in found.values() if a["is_default"]}


async def test_the_migration_puts_addresses_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    secured, _ = await row_security_of(service_database, ["addresses"])
    assert secured == {"addresses": True}


async def test_an_address_is_added_listed_changed_and_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    response = await client.post(
        f"/api/v1/customers/{customer_id}/addresses", json=SHIPPING, headers=admin
    )
    assert response.status_code == 201
    created = response.json()
    url = f"/api/v1/customers/{customer_id}/addresses/{created['id']}"
    assert response.headers["location"] == url
    assert (created["country"], created["phone"], created["is_default"]) == (
        "US",
        "+14155550123",
        True,
    )

    patched = await client.patch(url, json={"city": "Oakland", "address2": "Apt 4"}, headers=admin)
    assert patched.status_code == 200
    assert (patched.json()["city"], patched.json()["address2"]) == ("Oakland", "Apt 4")

    page = await client.get(f"/api/v1/customers/{customer_id}/addresses", headers=admin)
    assert page.json()["meta"]["total_items"] == 1
    assert page.json()["data"][0]["city"] == "Oakland"

    assert (await client.delete(url, headers=admin)).status_code == 204
    assert await listing(client, admin, customer_id) == {}
    assert (await client.delete(url, headers=admin)).status_code == 404


async def test_each_type_keeps_exactly_one_default_through_adds_sets_and_deletes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    first = await add(client, admin, customer_id, **SHIPPING)
    second = await add(client, admin, customer_id, **SHIPPING)
    third = await add(client, admin, customer_id, **SHIPPING)
    billing = await add(client, admin, customer_id, **BILLING)
    assert defaults(await listing(client, admin, customer_id)) == {
        "shipping": first["id"],
        "billing": billing["id"],
    }

    made = await client.post(
        f"/api/v1/customers/{customer_id}/addresses/{second['id']}/default", headers=admin
    )
    assert made.status_code == 200
    assert made.json()["is_default"] is True
    found = await listing(client, admin, customer_id)
    assert defaults(found) == {"shipping": second["id"], "billing": billing["id"]}
    assert found[first["id"]]["is_default"] is False

    # Deleting the default promotes the most recently created remaining shipping address.
    await client.delete(f"/api/v1/customers/{customer_id}/addresses/{second['id']}", headers=admin)
    assert defaults(await listing(client, admin, customer_id))["shipping"] == third["id"]

    # A new address can take the default over as it is created.
    newest = await add(client, admin, customer_id, **BILLING, is_default=True)
    assert defaults(await listing(client, admin, customer_id))["billing"] == newest["id"]

    # Moving the shipping default to billing hands shipping's default to the one left.
    moved = await client.patch(
        f"/api/v1/customers/{customer_id}/addresses/{third['id']}",
        json={"type": "billing"},
        headers=admin,
    )
    assert moved.json()["is_default"] is False
    assert defaults(await listing(client, admin, customer_id)) == {
        "shipping": first["id"],
        "billing": newest["id"],
    }


async def test_the_database_rejects_a_second_default_of_a_type(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    await add(client, admin, customer_id, **SHIPPING)

    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        with pytest.raises(IntegrityError, match="uq_addresses_default_per_type"):
            await uow.session.execute(
                insert(addresses).values(
                    id=uuid.uuid4(),
                    tenant_id=tenant,
                    customer_id=uuid.UUID(customer_id),
                    type="shipping",
                    is_default=True,
                    address1="2 Other St",
                    country="US",
                )
            )


async def test_every_change_writes_address_changed_to_the_outbox_without_names_or_phone(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    first = await add(client, admin, customer_id, **SHIPPING)
    second = await add(client, admin, customer_id, **SHIPPING)
    base = f"/api/v1/customers/{customer_id}/addresses"
    await client.patch(f"{base}/{second['id']}", json={"city": "Oakland"}, headers=admin)
    await client.post(f"{base}/{second['id']}/default", headers=admin)
    await client.delete(f"{base}/{second['id']}", headers=admin)

    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        rows = await uow.session.execute(
            select(outbox.c.topic, outbox.c.payload)
            .where(
                outbox.c.tenant_id == tenant,
                outbox.c.message_key == customer_id,
                outbox.c.message_type == "AddressChanged",
            )
            .order_by(outbox.c.seq)
        )
        events = [(topic, payload) for topic, payload in rows]

    assert {topic for topic, _ in events} == {"patron.customer.events.v1"}
    changes = [
        (p["data"]["address_id"], p["data"]["change"], p["data"]["address"]["is_default"])
        for _, p in events
    ]
    assert changes == [
        (first["id"], "created", True),
        (second["id"], "created", False),
        (second["id"], "updated", False),
        (first["id"], "updated", False),
        (second["id"], "updated", True),
        (second["id"], "deleted", True),
        (first["id"], "updated", True),
    ]
    for _, payload in events:
        assert set(payload["data"]["address"]) == {
            "type",
            "is_default",
            "address1",
            "address2",
            "city",
            "state",
            "pincode",
            "country",
        }
        assert payload["data"]["address"]["address1"] == SHIPPING["address1"]
        # Names and the phone stay in the profile service (the key set above has neither).
        assert "Jane" not in str(payload["data"])


async def test_another_tenant_or_customer_cannot_reach_an_address(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    address = await add(client, admin, customer_id, **SHIPPING)
    other_customer = await a_customer(client, admin)
    intruder = bearer(unique_tenant("intruder"))

    for headers, owner in ((intruder, customer_id), (admin, other_customer)):
        base = f"/api/v1/customers/{owner}/addresses"
        url = f"{base}/{address['id']}"
        answers = [
            await client.patch(url, json={"city": "X"}, headers=headers),
            await client.post(f"{url}/default", headers=headers),
            await client.delete(url, headers=headers),
        ]
        assert [a.status_code for a in answers] == [404, 404, 404]
    assert (
        await client.get(f"/api/v1/customers/{customer_id}/addresses", headers=intruder)
    ).status_code == 404
    assert (await listing(client, admin, customer_id))[address["id"]]["city"] == "San Francisco"


async def test_an_unknown_or_deleted_customer_has_no_addresses(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    unknown = f"/api/v1/customers/{uuid.uuid4()}/addresses"
    assert (await client.get(unknown, headers=admin)).status_code == 404
    assert (await client.post(unknown, json=SHIPPING, headers=admin)).status_code == 404

    customer_id = await a_customer(client, admin)
    await add(client, admin, customer_id, **SHIPPING)
    await client.delete(f"/api/v1/customers/{customer_id}", headers=admin)
    gone = await client.get(f"/api/v1/customers/{customer_id}/addresses", headers=admin)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (SHIPPING | {"country": "XX"}, "country"),
        (SHIPPING | {"country": "USA"}, "country"),
        (SHIPPING | {"type": "home"}, "type"),
        (SHIPPING | {"phone": "12"}, "phone"),
        (SHIPPING | {"address1": "   "}, "address1"),
        ({"type": "billing", "country": "US"}, "address1"),
        (SHIPPING | {"street": "x"}, "street"),
    ],
)
async def test_bad_input_is_a_422_problem_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    customer_id = await a_customer(client, admin)
    response = await client.post(
        f"/api/v1/customers/{customer_id}/addresses", json=body, headers=admin
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_a_change_cannot_clear_a_required_field_or_set_an_unknown_country(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    address = await add(client, admin, customer_id, **SHIPPING)
    url = f"/api/v1/customers/{customer_id}/addresses/{address['id']}"

    for body, field in (({"address1": None}, "address1"), ({"country": "ZZ"}, "country")):
        response = await client.patch(url, json=body, headers=admin)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field


async def test_a_customer_has_at_most_a_limited_number_of_addresses(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    await add(client, admin, customer_id, **SHIPPING)
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            insert(addresses),
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant,
                    "customer_id": uuid.UUID(customer_id),
                    "type": "billing",
                    "address1": f"{number} Main St",
                    "country": "US",
                }
                for number in range(MAX_ADDRESSES_PER_CUSTOMER - 1)
            ],
        )
        await uow.commit()

    response = await client.post(
        f"/api/v1/customers/{customer_id}/addresses", json=BILLING, headers=admin
    )

    assert response.status_code == 409
    assert response.json()["limit"] == MAX_ADDRESSES_PER_CUSTOMER


async def test_callers_without_the_pii_scope_see_masked_addresses(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    customer_id = await a_customer(client, admin)
    await add(client, admin, customer_id, **SHIPPING)

    seen = next(iter((await listing(client, bearer(tenant, "analyst"), customer_id)).values()))

    assert (seen["first_name"], seen["address1"], seen["phone"]) == ("J***", "1***", "********0123")
    assert (seen["city"], seen["country"]) == ("San Francisco", "US")
    denied = await client.post(
        f"/api/v1/customers/{customer_id}/addresses",
        json=SHIPPING,
        headers=bearer(tenant, "analyst"),
    )
    assert denied.status_code == 403


async def test_concurrent_changes_to_one_customer_leave_exactly_one_default_per_type(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    customer_id = await a_customer(client, admin)
    base = f"/api/v1/customers/{customer_id}/addresses"

    added = await asyncio.gather(
        *(client.post(base, json=SHIPPING, headers=admin) for _ in range(8))
    )
    assert [r.status_code for r in added] == [201] * 8
    made = await asyncio.gather(
        *(client.post(f"{base}/{r.json()['id']}/default", headers=admin) for r in added)
    )
    assert [r.status_code for r in made] == [200] * 8

    found = await listing(client, admin, customer_id)
    assert len(found) == 8
    assert sum(a["is_default"] for a in found.values()) == 1
