"""`/api/v1/identity/connectors` on a real database: registration, secrets, scopes, tenancy."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from patron_identity.settings import IdentitySettings
from patron_shared.secrets import SEALED_PREFIX
from patron_shared.testing import ServiceDatabase, bearer_headers, owner_fetch, row_security_of

pytestmark = pytest.mark.integration

URL = "/api/v1/identity/connectors"


def shop_account() -> str:
    return f"shop-{uuid.uuid4().hex[:10]}.myshopify.com"


async def register(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return await client.post(
        URL, json={"source": "shopify", "account": shop_account()} | body, headers=headers
    )


async def test_the_connector_tables_are_under_row_level_security(
    service_database: ServiceDatabase,
) -> None:
    tables = ["source_connectors", "source_deliveries"]

    secured, version = await row_security_of(service_database, tables)

    assert secured == dict.fromkeys(tables, True)
    assert version is not None
    assert version >= "0005"


async def test_a_registered_connector_answers_its_secret_once_and_a_hint_afterwards(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await register(client, admin, name="Main store")

    assert created.status_code == 201, created.text
    body = created.json()
    assert len(body["secret"]) >= 32
    assert body["webhook_url"] == f"http://identity/api/v1/identity/webhooks/{body['id']}"
    assert created.headers["location"] == f"{URL}/{body['id']}"
    shown = (await client.get(f"{URL}/{body['id']}", headers=admin)).json()
    listed = (await client.get(URL, headers=admin)).json()
    assert "secret" not in shown
    assert shown["secret_hint"] == "…" + body["secret"][-4:]
    assert [c["id"] for c in listed["data"]] == [body["id"]]
    assert body["secret"] not in str(listed)


async def test_a_secret_is_stored_sealed_and_rotating_seals_the_new_one(
    client: httpx.AsyncClient, admin: dict[str, str], service_database: ServiceDatabase
) -> None:
    created = (await register(client, admin)).json()

    async def stored() -> str:
        [row] = await owner_fetch(
            service_database,
            "SELECT secret FROM source_connectors WHERE id = $1",
            uuid.UUID(created["id"]),
        )
        return str(row["secret"])

    sealed = await stored()
    assert sealed.startswith(SEALED_PREFIX)
    assert created["secret"] not in sealed
    assert IdentitySettings().secret_box.open(sealed) == created["secret"]
    rotated = await client.post(f"{URL}/{created['id']}/rotate-secret", json={}, headers=admin)
    assert rotated.status_code == 200, rotated.text
    resealed = await stored()
    assert resealed != sealed
    assert IdentitySettings().secret_box.open(resealed) == rotated.json()["secret"]


async def test_the_webhook_url_uses_the_gateways_forwarded_host(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    forwarded = admin | {"X-Forwarded-Host": "127.0.0.1:8080", "X-Forwarded-Proto": "https"}

    body = (await register(client, forwarded)).json()

    assert body["webhook_url"] == f"https://127.0.0.1:8080/api/v1/identity/webhooks/{body['id']}"


async def test_a_given_secret_is_kept_and_whatsapp_gets_a_verify_token(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {
        "source": "whatsapp",
        "account": str(uuid.uuid4().int)[:15],
        "secret": "meta-app-secret-0123456789",
    }

    created = (await client.post(URL, json=body, headers=admin)).json()

    assert created["secret"] == "meta-app-secret-0123456789"
    assert created["verify_token"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "shopify", "account": "shop.example.com"}, "account"),
        ({"source": "magento", "account": "shop"}, "source"),
        ({"source": "shopify", "account": "a.myshopify.com", "secret": "short"}, "secret"),
        (
            {"source": "shopify", "account": "a.myshopify.com", "verify_token": "t" * 20},
            "verify_token",
        ),
        ({"source": "generic", "account": "a", "colour": "red"}, "colour"),
    ],
)
async def test_a_bad_registration_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post(URL, json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_one_account_has_one_active_connector_until_it_is_disabled(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    account = shop_account()
    first = (await register(client, admin, account=account)).json()

    duplicate = await register(client, admin, account=account.upper())
    deleted = await client.delete(f"{URL}/{first['id']}", headers=admin)
    again = await register(client, admin, account=account)

    assert duplicate.status_code == 409
    assert deleted.status_code == 204
    assert again.status_code == 201
    shown = (await client.get(f"{URL}/{first['id']}", headers=admin)).json()
    assert (shown["status"], shown["disabled_at"] is not None) == ("disabled", True)
    active = (await client.get(URL, headers=admin)).json()["data"]
    everything = (await client.get(URL, params={"status": "all"}, headers=admin)).json()["data"]
    assert [c["id"] for c in active] == [again.json()["id"]]
    assert {c["id"] for c in everything} == {first["id"], again.json()["id"]}


async def test_rotating_answers_a_new_secret_and_the_hint_follows(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = (await register(client, admin)).json()

    rotated = await client.post(f"{URL}/{created['id']}/rotate-secret", headers=admin)
    chosen = await client.post(
        f"{URL}/{created['id']}/rotate-secret",
        json={"secret": "a-secret-chosen-by-the-merchant"},
        headers=admin,
    )

    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] not in (created["secret"], None)
    assert chosen.json()["secret"] == "a-secret-chosen-by-the-merchant"
    shown = (await client.get(f"{URL}/{created['id']}", headers=admin)).json()
    assert shown["secret_hint"] == "…hant"


async def test_the_list_pages_with_a_cursor_and_filters_by_source(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = [(await register(client, admin)).json()["id"] for _ in range(5)]
    await client.post(URL, json={"source": "generic", "account": "store-pos"}, headers=admin)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"source": "shopify", "per_page": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(URL, params=params, headers=admin)).json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break

    assert seen == made
    bad = await client.get(URL, params={"cursor": "nonsense"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


async def test_only_tenant_admins_manage_connectors(client: httpx.AsyncClient, tenant: str) -> None:
    support = bearer_headers(tenant, "support")  # may write identities, not administer them
    scoped = bearer_headers(tenant, scopes=["identity:admin"])

    assert (await client.get(URL)).status_code == 401
    assert (await client.get(URL, headers=support)).status_code == 403
    assert (await register(client, support)).status_code == 403
    assert (await register(client, scoped)).status_code == 201


async def test_another_tenant_cannot_see_or_disable_a_connector(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = (await register(client, admin)).json()
    stranger = bearer_headers(f"other-{uuid.uuid4().hex[:8]}", "admin")

    assert (await client.get(f"{URL}/{created['id']}", headers=stranger)).status_code == 404
    assert (await client.delete(f"{URL}/{created['id']}", headers=stranger)).status_code == 404
    assert (await client.get(URL, headers=stranger)).json()["data"] == []
    shown = (await client.get(f"{URL}/{created['id']}", headers=admin)).json()
    assert shown["status"] == "active"
