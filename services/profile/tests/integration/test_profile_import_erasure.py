"""GDPR erasure reaches the import jobs: their previews and error reports keep no value of
an erased customer, and other customers' rows stay as they were."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from patron_shared.db.erasure import REDACTED
from patron_shared.testing import ServiceDatabase, find_values

from .test_profile_imports import customer_by_email, finished, start_import

pytestmark = pytest.mark.integration


def people(marker: str) -> tuple[dict[str, str], dict[str, str]]:
    erased = {
        "email": f"gone-{marker}@example.com",
        "phone": f"+1415555{int(marker[:6], 16) % 10000:04d}",
        "first_name": f"Zelda{marker[:5]}",
        "last_name": f"Quist{marker[5:]}",
    }
    kept = {
        "email": f"kept-{marker}@example.com",
        "first_name": f"Ada{marker[:5]}",
        "last_name": f"Byron{marker[5:]}",
    }
    return erased, kept


@pytest.mark.parametrize("mode", ["anonymize", "hard"])
async def test_erasing_an_imported_customer_scrubs_the_import_preview_and_error_report(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    service_database: ServiceDatabase,
    mode: str,
) -> None:
    marker = uuid.uuid4().hex[:10]
    erased, kept = people(marker)
    body = (
        "Email,First name,Last name,Phone,Date of birth,Status\n"
        f"{erased['email']},{erased['first_name']},{erased['last_name']},{erased['phone']},,\n"
        f"{kept['email']},{kept['first_name']},{kept['last_name']},,,\n"
        # shifted columns: the erased customer's values land where they fail validation
        f"x-{marker}@example.com,,,,{erased['last_name']},\n"
        f"y-{marker}@example.com,,,,,{erased['email']}\n"
    ).encode()
    job = await finished(client, admin, (await start_import(client, admin, body, "text/csv"))["id"])
    assert job["counts"]["errors"] == 2, job
    found = await customer_by_email(client, admin, erased["email"])
    assert found is not None
    values = list(erased.values())
    before = {hit.table for hit in await find_values(service_database.owner_url, values)}
    assert {"public.imports", "public.import_errors"} <= before

    response = await client.delete(
        f"/api/v1/customers/{found['id']}", params={"mode": mode}, headers=admin
    )

    assert response.status_code == 202, response.text
    assert await find_values(service_database.owner_url, values) == []
    after = (await client.get(f"/api/v1/imports/{job['id']}", headers=admin)).json()
    preview: dict[int, dict[str, Any]] = {row["row"]: row for row in after["preview"]}
    assert preview[2] == {
        "row": 2,
        "action": "create",
        "fields": dict.fromkeys(job["preview"][0]["fields"], REDACTED),
    }
    assert preview[3] == job["preview"][1]  # the other customer's row is untouched
    assert preview[3]["fields"]["email"] == kept["email"]
    assert REDACTED in str(preview[4]["errors"])
    assert REDACTED in str(preview[5]["errors"])
    report = await client.get(f"/api/v1/imports/{job['id']}/errors", headers=admin)
    assert report.status_code == 200, report.text
    messages = {error["row"]: error["message"] for error in report.json()}
    assert messages[4] == f"'{REDACTED}' is not a date (YYYY-MM-DD)"
    assert messages[5].startswith(f"'{REDACTED}' is not one of")


async def test_a_customer_sharing_only_a_first_name_keeps_their_preview_row(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    marker = uuid.uuid4().hex[:10]
    erased, kept = people(marker)
    kept["first_name"] = erased["first_name"]
    body = (
        "Email,First name,Last name\n"
        f"{erased['email']},{erased['first_name']},{erased['last_name']}\n"
        f"{kept['email']},{kept['first_name']},{kept['last_name']}\n"
    ).encode()
    job = await finished(client, admin, (await start_import(client, admin, body, "text/csv"))["id"])
    found = await customer_by_email(client, admin, erased["email"])
    assert found is not None

    response = await client.delete(
        f"/api/v1/customers/{found['id']}", params={"mode": "hard"}, headers=admin
    )

    assert response.status_code == 202, response.text
    after = (await client.get(f"/api/v1/imports/{job['id']}", headers=admin)).json()
    assert after["preview"][1] == job["preview"][1]
    assert set(after["preview"][0]["fields"].values()) == {REDACTED}
