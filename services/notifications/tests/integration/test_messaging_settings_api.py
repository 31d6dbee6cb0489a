"""`/api/v1/notifications/settings` on a real database: defaults, PUT replaces, PATCH
merges, 422s naming the field, scopes and tenancy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from patron_notifications.domain.messaging_settings import TRIGGERS
from patron_shared.testing import bearer_headers, unique_tenant

pytestmark = pytest.mark.integration
URL = "/api/v1/notifications/settings"
DEFAULTS = {
    "shop_name": "Patron Shop",
    "shop_url": "http://127.0.0.1:8080",
    "triggers": dict.fromkeys(TRIGGERS, True),
    "marketing_cap": 3,
    "marketing_cap_days": 7,
    "sms_quiet_hours": {"start": "21:00", "end": "08:00"},
    "default_time_zone": "UTC",
    "own": [],
    "updated_at": None,
    "updated_by": None,
}


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


async def test_a_tenant_that_saved_nothing_sees_the_services_defaults(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert ok(await client.get(URL, headers=admin)) == DEFAULTS


async def test_patch_changes_only_what_it_names_and_triggers_merge_by_name(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ok(await client.patch(URL, json={"triggers": {"win_back": False}}, headers=admin))
    ok(await client.patch(URL, json={"triggers": {"birthday": False}}, headers=admin))
    body = ok(
        await client.patch(
            URL,
            json={"shop_name": "Northwind", "sms_quiet_hours": {"start": "22:30", "end": "07:00"}},
            headers=admin,
        )
    )

    assert body["triggers"] == dict.fromkeys(TRIGGERS, True) | {
        "win_back": False,
        "birthday": False,
    }
    assert (body["shop_name"], body["shop_url"]) == ("Northwind", DEFAULTS["shop_url"])
    assert body["sms_quiet_hours"] == {"start": "22:30", "end": "07:00"}
    assert body["own"] == ["shop_name", "sms_quiet_hours", "triggers.birthday", "triggers.win_back"]
    assert body["updated_by"] == "dev-user"
    assert body["updated_at"] is not None
    assert ok(await client.get(URL, headers=admin)) == body


async def test_null_puts_a_field_or_a_trigger_back_on_its_default(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ok(
        await client.patch(
            URL, json={"shop_name": "Northwind", "triggers": {"win_back": False}}, headers=admin
        )
    )

    body = ok(
        await client.patch(
            URL, json={"shop_name": None, "triggers": {"win_back": None}}, headers=admin
        )
    )

    assert {k: v for k, v in body.items() if k not in ("updated_at", "updated_by")} == {
        k: v for k, v in DEFAULTS.items() if k not in ("updated_at", "updated_by")
    }


async def test_put_replaces_the_tenants_own_settings_whole(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ok(
        await client.patch(
            URL,
            json={"shop_name": "Northwind", "triggers": {"win_back": False}, "marketing_cap": 9},
            headers=admin,
        )
    )

    body = ok(
        await client.put(
            URL,
            json={"marketing_cap": 1, "marketing_cap_days": 30, "triggers": {"welcome": False}},
            headers=admin,
        )
    )

    assert body["own"] == ["marketing_cap", "marketing_cap_days", "triggers.welcome"]
    assert (body["shop_name"], body["marketing_cap"], body["marketing_cap_days"]) == (
        "Patron Shop",
        1,
        30,
    )
    assert body["triggers"] == dict.fromkeys(TRIGGERS, True) | {"welcome": False}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"triggers": {"welcome": True, "spam": True}}, "triggers.spam"),
        ({"default_time_zone": "Mars/Olympus"}, "default_time_zone"),
        ({"sms_quiet_hours": {"start": "25:00", "end": "08:00"}}, "sms_quiet_hours.start"),
        ({"sms_quiet_hours": {"start": "21:00", "end": "21:00"}}, "sms_quiet_hours"),
        ({"marketing_cap_days": 0}, "marketing_cap_days"),
        ({"shop_url": "ftp://shop.example.com"}, "shop_url"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_a_bad_field_is_a_422_naming_it_and_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    ok(await client.patch(URL, json={"shop_name": "Northwind"}, headers=admin))

    for method in ("PUT", "PATCH"):
        assert refused(await client.request(method, URL, json=body, headers=admin)) == [field]

    assert ok(await client.get(URL, headers=admin))["own"] == ["shop_name"]


async def test_reading_needs_notifications_read_and_changing_needs_write(
    client: httpx.AsyncClient, tenant: str
) -> None:
    reader = bearer_headers(tenant, scopes=("notifications:read",))

    assert (await client.get(URL, headers=reader)).status_code == 200
    assert (await client.patch(URL, json={"shop_name": "X"}, headers=reader)).status_code == 403
    assert (await client.put(URL, json={}, headers=reader)).status_code == 403
    assert (await client.get(URL)).status_code == 401


async def test_a_tenant_never_sees_another_tenants_settings(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ok(await client.patch(URL, json={"shop_name": "Northwind"}, headers=admin))

    other = bearer_headers(unique_tenant("notifications"), "admin")

    assert ok(await client.get(URL, headers=other)) == DEFAULTS
