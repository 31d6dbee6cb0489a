"""`/api/v1/templates` on a real database: versions, built-ins, 422s naming the part,
previews, tenancy and scopes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from patron_notifications.domain.template_defaults import BUILTIN_TEMPLATES
from patron_shared.testing import bearer_headers, unique_tenant

pytestmark = pytest.mark.integration
WELCOME = {
    "key": "welcome",
    "channel": "email",
    "subject": "Welcome, {{ customer.first_name }}",
    "text": "Hi {{ customer.first_name }}, welcome to {{ shop.name }}.",
    "html": "<p>Hi {{ customer.first_name }}</p>",
}


async def saved(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> Any:
    response = await client.post("/api/v1/templates", json=WELCOME | fields, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_saving_a_template_stores_version_1(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    stored = await saved(client, admin)

    assert stored | {"created_at": None} == {
        "key": "welcome",
        "channel": "email",
        "category": "transactional",
        "version": 1,
        "builtin": False,
        "subject": WELCOME["subject"],
        "text": WELCOME["text"],
        "html": WELCOME["html"],
        "created_at": None,
        "created_by": "dev-user",
    }
    assert stored["created_at"] is not None


async def test_saving_again_makes_version_2_the_one_in_use_and_keeps_version_1(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await saved(client, admin, text="First {{ customer.name }}")
    second = await saved(client, admin, text="Second {{ customer.name }}")

    current = await client.get("/api/v1/templates/welcome?channel=email", headers=admin)
    first = await client.get("/api/v1/templates/welcome/versions/1", headers=admin)
    missing = await client.get("/api/v1/templates/welcome/versions/3", headers=admin)

    assert second["version"] == 2
    assert (current.json()["version"], current.json()["text"]) == (2, "Second {{ customer.name }}")
    assert (first.json()["version"], first.json()["text"]) == (1, "First {{ customer.name }}")
    assert missing.status_code == 404


async def test_an_email_and_an_sms_of_one_key_are_versioned_apart(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await saved(client, admin)
    sms = await saved(client, admin, channel="sms", subject=None, html=None, text="Hi!")

    email = await client.get("/api/v1/templates/welcome", headers=admin)

    assert (sms["version"], sms["channel"]) == (1, "sms")
    assert (email.json()["channel"], email.json()["text"]) == ("email", WELCOME["text"])


async def test_the_built_in_is_in_use_until_a_template_is_saved(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get("/api/v1/templates/shipping_update?channel=sms", headers=admin)
    unknown = await client.get("/api/v1/templates/no_such_template", headers=admin)

    builtin = BUILTIN_TEMPLATES[("shipping_update", "sms")]
    assert response.status_code == 200
    assert response.json() | {"created_at": None} == {
        "key": "shipping_update",
        "channel": "sms",
        "category": "transactional",
        "version": 0,
        "builtin": True,
        "subject": None,
        "text": builtin.text,
        "html": None,
        "created_at": None,
        "created_by": None,
    }
    assert unknown.status_code == 404


async def test_the_list_pages_through_the_tenant_s_templates_and_the_built_ins(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await saved(client, admin)
    await saved(client, admin, text="Again {{ customer.name }}")
    await saved(client, admin, key="aaa_news", category="transactional")

    first = (await client.get("/api/v1/templates?per_page=2", headers=admin)).json()
    everything = (await client.get("/api/v1/templates?per_page=200", headers=admin)).json()

    assert first["meta"]["total_items"] == len(BUILTIN_TEMPLATES) + 1
    assert [(t["key"], t["channel"], t["version"]) for t in first["data"]] == [
        ("aaa_news", "email", 1),
        ("abandoned_cart", "email", 0),
    ]
    welcome = [t for t in everything["data"] if t["key"] == "welcome"]
    assert [(t["version"], t["builtin"]) for t in welcome] == [(2, False)]


@pytest.mark.parametrize(
    ("fields", "field", "detail"),
    [
        ({"text": "Hi {{ customer.nmae }}"}, "text", "unknown variable 'customer.nmae' (line 1)"),
        ({"subject": "{{ foo }}"}, "subject", "unknown variable 'foo' (line 1)"),
        ({"html": "<p>\n{% if %}</p>"}, "html", "syntax error"),
        ({"channel": "sms", "html": None}, "subject", "an SMS has no subject"),
    ],
)
async def test_an_invalid_template_is_a_422_naming_the_part(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    fields: dict[str, Any],
    field: str,
    detail: str,
) -> None:
    response = await client.post("/api/v1/templates", json=WELCOME | fields, headers=admin)

    body = problem(response)
    assert body["errors"][0]["field"] == field
    assert body["detail"].startswith(f"{field}: ")
    assert detail in body["detail"]
    nothing = await client.get("/api/v1/templates/welcome/versions/1", headers=admin)
    assert nothing.status_code == 404


async def test_a_syntax_error_names_its_line(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/templates", json=WELCOME | {"html": "<p>\n\n{{ customer.name </p>"}, headers=admin
    )

    body = problem(response)
    assert (body["errors"][0]["field"], body["line"]) == ("html", 3)
    assert body["detail"].endswith("(line 3)")


async def test_a_preview_renders_and_escapes_the_html_only(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    variables = {"customer": {"first_name": "<script>x</script>"}, "shop": {"name": "A&B"}}

    response = await client.post(
        "/api/v1/templates/preview", json=WELCOME | {"variables": variables}, headers=admin
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "subject": "Welcome, <script>x</script>",
        "text": "Hi <script>x</script>, welcome to A&B.",
        "html": "<p>Hi &lt;script&gt;x&lt;/script&gt;</p>",
    }


async def test_a_preview_of_a_key_renders_the_template_in_use_with_the_sample_customer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    builtin = await client.post("/api/v1/templates/preview", json={"key": "welcome"}, headers=admin)
    await saved(client, admin, subject="Yours, {{ customer.name }}")
    own = await client.post("/api/v1/templates/preview", json={"key": "welcome"}, headers=admin)

    assert builtin.json()["subject"] == "Welcome to Northwind Outfitters, Maria!"
    assert own.json()["subject"] == "Yours, Maria Garcia"


async def test_an_unknown_variable_is_a_422_at_preview_too(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    in_template = await client.post(
        "/api/v1/templates/preview", json={"text": "{{ customer.nmae }}"}, headers=admin
    )
    in_values = await client.post(
        "/api/v1/templates/preview",
        json={"text": "{{ customer.name }}", "variables": {"customer": {"nmae": "x"}}},
        headers=admin,
    )
    not_given = await client.post(
        "/api/v1/templates/preview",
        json={"text": "{{ customer.name }}", "variables": {"customer": {}}},
        headers=admin,
    )

    assert problem(in_template)["errors"][0]["field"] == "text"
    assert problem(in_values)["errors"][0]["field"] == "variables.customer.nmae"
    assert problem(not_given)["errors"][0]["field"] == "text"


async def test_a_tenant_never_sees_another_tenant_s_templates(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await saved(client, admin, text="Secret {{ customer.name }}")
    intruder = bearer_headers(unique_tenant("intruder"))

    current = await client.get("/api/v1/templates/welcome", headers=intruder)
    version = await client.get("/api/v1/templates/welcome/versions/1", headers=intruder)
    listed = (await client.get("/api/v1/templates?per_page=200", headers=intruder)).json()
    own = await saved(client, intruder)

    assert current.json()["builtin"] is True
    assert version.status_code == 404
    assert "Secret {{ customer.name }}" not in [t["text"] for t in listed["data"]]
    assert own["version"] == 1


async def test_reading_needs_notifications_read_and_saving_notifications_write(
    client: httpx.AsyncClient, tenant: str
) -> None:
    analyst = bearer_headers(tenant, "analyst")
    support = bearer_headers(tenant, "support")  # reads notifications, writes none

    read = await client.get("/api/v1/templates", headers=analyst)
    write = await client.post("/api/v1/templates", json=WELCOME, headers=support)
    marketing = await client.post(
        "/api/v1/templates", json=WELCOME, headers=bearer_headers(tenant, "marketing")
    )

    assert (read.status_code, write.status_code, marketing.status_code) == (403, 403, 201)


async def test_the_variable_catalogue_of_a_key_is_listed_with_sample_values(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get("/api/v1/templates/variables?key=points_adjusted", headers=admin)
    common = (await client.get("/api/v1/templates/variables", headers=admin)).json()

    listed = {v["path"]: v for v in response.json()}
    assert listed["points.delta"] == {
        "path": "points.delta",
        "description": "points added (negative: taken)",
        "kind": "value",
        "example": 200,
    }
    assert listed["customer.last_order"]["kind"] == "object"
    assert "order.total" not in listed
    assert "points.delta" not in {v["path"] for v in common}
    assert "customer.first_name" in {v["path"] for v in common}
