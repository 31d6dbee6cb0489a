"""Customer imports and exports through the API, on a real database and broker."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from patron_profile.adapters.tables import messaging
from patron_profile.adapters.uow import ProfileUnitOfWork
from patron_shared.http import ServiceRuntime
from patron_shared.testing.auth import bearer_headers

pytestmark = pytest.mark.integration
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def start_import(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    body: bytes,
    content_type: str,
    **params: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/imports",
        content=body,
        params={k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()},
        headers=headers | {"Content-Type": content_type},
    )
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/api/v1/imports/{response.json()['id']}"
    return dict(response.json())


async def finished(
    client: httpx.AsyncClient, headers: dict[str, str], job_id: str
) -> dict[str, Any]:
    for _ in range(300):
        job = (await client.get(f"/api/v1/imports/{job_id}", headers=headers)).json()
        if job["status"] in ("completed", "failed"):
            return dict(job)
        await asyncio.sleep(0.05)
    raise AssertionError(f"import {job_id} did not finish: {job}")


async def customer_by_email(
    client: httpx.AsyncClient, headers: dict[str, str], email: str
) -> dict[str, Any] | None:
    found = (await client.get("/api/v1/customers", params={"email": email}, headers=headers)).json()
    return found["data"][0] if found["data"] else None


async def test_a_file_with_bad_rows_imports_every_good_row_and_reports_each_bad_one(
    client: httpx.AsyncClient, admin: dict[str, str], runtime: ServiceRuntime, tenant: str
) -> None:
    existing = await client.post(
        "/api/v1/customers",
        json={"email": "kept@example.com", "first_name": "Kept", "tags": ["old"]},
        headers=admin,
    )
    assert existing.status_code == 201
    body = (
        b"Email,First name,Last name,Phone,Tags\n"
        b"new1@example.com,Ann,One,,vip\n"  # row 2: new
        b"not-an-email,Bad,Email,,\n"  # row 3: bad email
        b"KEPT@example.com,,Updated,,gift\n"  # row 4: update by email
        b",No,Email,,\n"  # row 5: no email
        b"new1@example.com,Ann,Again,,\n"  # row 6: duplicate of row 2
        b"new2@example.com,Bob,Two,12,\n"  # row 7: bad phone
        b"new3@example.com,Cy,Three,+14155550123,\n"  # row 8: new
    )

    job = await start_import(client, admin, body, "text/csv", file_name="shop.csv")
    done = await finished(client, admin, job["id"])

    assert done["status"] == "completed", done
    assert done["progress"] == 1.0
    assert done["counts"] == {"rows": 7, "created": 2, "updated": 1, "unchanged": 0, "errors": 4}
    kept = await customer_by_email(client, admin, "kept@example.com")
    assert kept is not None
    assert kept["last_name"] == "Updated"
    assert kept["first_name"] == "Kept"
    assert kept["tags"] == ["old", "gift"]
    for email in ("new1@example.com", "new3@example.com"):
        created = await customer_by_email(client, admin, email)
        assert created is not None
        assert created["source"] == "import"
    assert await customer_by_email(client, admin, "new2@example.com") is None

    report = await client.get(
        f"/api/v1/imports/{job['id']}/errors", params={"format": "csv"}, headers=admin
    )
    assert report.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.text)))
    assert lines[0] == ["row", "field", "message"]
    assert [(int(row), field) for row, field, _ in lines[1:]] == [
        (3, "email"),
        (5, "email"),
        (6, "email"),
        (7, "phone"),
    ]
    assert "duplicate: row 2" in lines[3][2]
    as_json = await client.get(f"/api/v1/imports/{job['id']}/errors", headers=admin)
    assert [e["row"] for e in as_json.json()] == [3, 5, 6, 7]

    # each customer created or updated is announced through the outbox, like the API does
    outbox = messaging.outbox
    async with runtime.unit_of_work(ProfileUnitOfWork, tenant_id=tenant) as uow:
        types = list(
            await uow.session.scalars(
                select(outbox.c.message_type)
                .where(outbox.c.tenant_id == tenant)
                .order_by(outbox.c.seq)
            )
        )
    assert types.count("CustomerCreated") == 3  # the API's customer and the two imported
    assert types.count("CustomerUpdated") == 1
    assert types.count("TagsChanged") == 1


async def test_a_dry_run_previews_and_counts_but_writes_no_customer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post("/api/v1/customers", json={"email": "there@example.com"}, headers=admin)
    body = json.dumps(
        [
            {"email": "there@example.com", "first_name": "There"},
            {"email": "fresh@example.com"},
            {"email": "broken"},
        ]
    ).encode()

    job = await start_import(client, admin, body, "application/json", dry_run=True)
    done = await finished(client, admin, job["id"])

    assert done["dry_run"] is True
    assert done["counts"] == {"rows": 3, "created": 1, "updated": 1, "unchanged": 0, "errors": 1}
    assert [(p["row"], p["action"]) for p in done["preview"]] == [
        (1, "update"),
        (2, "create"),
        (3, "error"),
    ]
    assert await customer_by_email(client, admin, "fresh@example.com") is None
    there = await customer_by_email(client, admin, "there@example.com")
    assert there is not None
    assert there["first_name"] is None


async def test_ndjson_and_xlsx_files_import_as_csv_does(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ndjson = b'{"email": "nd1@example.com", "tags": ["a", "b"]}\n{"email": "nd2@example.com"}\n'
    job = await start_import(client, admin, ndjson, "application/x-ndjson")
    assert (await finished(client, admin, job["id"]))["counts"]["created"] == 2
    nd1 = await customer_by_email(client, admin, "nd1@example.com")
    assert nd1 is not None
    assert nd1["tags"] == ["a", "b"]

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Courriel", "Prénom"])
    sheet.append(["xl@example.com", "Zoé"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = await start_import(
        client,
        admin,
        buffer.getvalue(),
        XLSX,
        mapping=json.dumps({"Courriel": "email", "Prénom": "first_name"}),
    )
    done = await finished(client, admin, job["id"])
    assert done["counts"]["created"] == 1, done
    xl = await customer_by_email(client, admin, "xl@example.com")
    assert xl is not None
    assert xl["first_name"] == "Zoé"


async def test_bad_requests_are_refused_before_any_job_starts(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    wrong_type = await client.post(
        "/api/v1/imports", content=b"x", headers=admin | {"Content-Type": "text/plain"}
    )
    bad_mapping = await client.post(
        "/api/v1/imports",
        content=b"email\na@example.com\n",
        params={"mapping": '{"email": "points"}'},
        headers=admin | {"Content-Type": "text/csv"},
    )
    reader = await client.post(
        "/api/v1/imports",
        content=b"email\na@example.com\n",
        headers=bearer_headers(tenant, "analyst") | {"Content-Type": "text/csv"},
    )
    assert wrong_type.status_code == 422
    assert wrong_type.headers["content-type"] == "application/problem+json"
    assert bad_mapping.status_code == 422
    assert "mapping" in bad_mapping.text
    assert reader.status_code == 403


async def test_a_file_that_cannot_be_read_fails_its_job_with_the_reason(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    job = await start_import(client, admin, b'{"not": "an array"}', "application/json")
    done = await finished(client, admin, job["id"])
    assert done["status"] == "failed"
    assert "not an array" in done["failure"]


async def test_the_template_lists_every_importable_column(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get("/api/v1/imports/template.csv", headers=admin)
    assert response.status_code == 200
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[:4] == ["email", "phone", "first_name", "last_name"]


async def test_export_streams_csv_json_and_xlsx_and_masks_pii_without_the_scope(
    client: httpx.AsyncClient, admin: dict[str, str], tenant: str
) -> None:
    ids = []
    for n in range(3):
        created = await client.post(
            "/api/v1/customers",
            json={"email": f"exp{n}@example.com", "first_name": f"Exp{n}", "tags": ["x"] * (n % 2)},
            headers=admin,
        )
        ids.append(created.json()["id"])

    as_csv = await client.get("/api/v1/customers/export", headers=admin)
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert [r["email"] for r in rows] == [
        "exp0@example.com",
        "exp1@example.com",
        "exp2@example.com",
    ]

    tagged = await client.get(
        "/api/v1/customers/export", params={"format": "json", "tags": "x"}, headers=admin
    )
    assert [c["id"] for c in tagged.json()] == [ids[1]]

    chosen = await client.get(
        "/api/v1/customers/export",
        params={"format": "json", "ids": f"{ids[2]},{ids[0]}"},
        headers=admin,
    )
    assert sorted(c["id"] for c in chosen.json()) == sorted([ids[0], ids[2]])

    masked = await client.get(
        "/api/v1/customers/export",
        params={"format": "json"},
        headers=bearer_headers(tenant, "analyst"),
    )
    assert masked.status_code == 200
    assert all(c["email"] != f"exp{n}@example.com" for n, c in enumerate(masked.json()))

    as_xlsx = await client.get("/api/v1/customers/export", params={"format": "xlsx"}, headers=admin)
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:2] == ("id", "email")
    assert len(values) == 4

    both = await client.get(
        "/api/v1/customers/export", params={"ids": ids[0], "tags": "x"}, headers=admin
    )
    assert both.status_code == 422
