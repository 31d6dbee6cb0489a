"""The import job with many small batches written at once: every row counted once, every
customer stored and announced once, the preview in file order, rule-based groups applied."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron_profile.adapters.imports import ImportUnitOfWork
from patron_profile.adapters.tables import customers, messaging
from patron_profile.domain.import_jobs import ImportJob
from patron_profile.service.imports import ImportOptions, create_import, run_import
from patron_shared.events import utcnow
from patron_shared.http import ServiceRuntime

pytestmark = pytest.mark.integration


async def import_file(
    runtime: ServiceRuntime, tenant: str, path: Path, options: ImportOptions
) -> ImportJob:
    def new_uow() -> ImportUnitOfWork:
        return runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant)

    now = utcnow()
    job = ImportJob(
        id=uuid.uuid4(),
        tenant_id=tenant,
        format="csv",
        dry_run=False,
        mapping={},
        file_bytes=(await asyncio.to_thread(path.stat)).st_size,
        created_at=now,
        updated_at=now,
    )
    await create_import(new_uow(), job)
    return await run_import(new_uow, job.id, path, options)


async def stored(runtime: ServiceRuntime, tenant: str) -> dict[str, Any]:
    outbox = messaging.outbox
    async with runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant) as uow:
        emails = list(await uow.session.scalars(select(customers.c.email)))
        created = await uow.session.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.tenant_id == tenant, outbox.c.message_type == "CustomerCreated")
        )
        announced = set(
            await uow.session.scalars(
                select(outbox.c.message_key).where(
                    outbox.c.tenant_id == tenant, outbox.c.message_type == "CustomerCreated"
                )
            )
        )
        ids = {str(i) for i in await uow.session.scalars(select(customers.c.id))}
    return {"emails": emails, "created_events": created, "announced": announced, "ids": ids}


async def test_small_batches_written_at_once_count_every_row_once(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    runtime: ServiceRuntime,
    tenant: str,
    tmp_path: Path,
) -> None:
    existing = await client.post(
        "/api/v1/customers", json={"email": "row7@example.com", "first_name": "Old"}, headers=admin
    )
    assert existing.status_code == 201
    lines = ["Email,First name"]
    for n in range(2, 62):  # spreadsheet rows 2..61
        if n % 10 == 3:
            lines.append(f"row{n}-at-example.com,Bad")  # 6 bad emails
        elif n % 10 == 9:
            lines.append("row2@example.com,Again")  # 6 duplicates of row 2
        else:
            lines.append(f"row{n}@example.com,Name{n}")
    path = tmp_path / "customers.csv"
    await asyncio.to_thread(path.write_text, "\n".join(lines) + "\n")

    job = await import_file(runtime, tenant, path, ImportOptions(batch_size=4, writers=3))

    assert job.status == "completed", job.failure
    assert job.ignored_columns == []
    counts = job.counts
    assert (counts.rows, counts.errors, counts.updated, counts.unchanged) == (60, 12, 1, 0)
    assert counts.created == 47  # 60 rows - 12 errors - 1 update
    assert [entry["row"] for entry in job.preview] == list(range(2, 22))
    assert job.preview[1] == {
        "row": 3,
        "action": "error",
        "errors": [{"field": "email", "message": job.preview[1]["errors"][0]["message"]}],
    }
    assert job.preview[5]["action"] == "update"  # row 7, the customer that existed
    assert job.read_bytes == job.file_bytes
    data = await stored(runtime, tenant)
    assert len(data["emails"]) == len(set(data["emails"])) == 48
    assert data["created_events"] == 48  # the API's customer and the 47 imported
    assert data["announced"] == data["ids"]


async def test_rule_based_groups_place_the_customers_an_import_creates(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    runtime: ServiceRuntime,
    tenant: str,
    tmp_path: Path,
) -> None:
    groups = (await client.get("/api/v1/groups", headers=admin)).json()["data"]
    (wholesale,) = [g for g in groups if g["key"] == "wholesale"]
    enabled = await client.patch(
        f"/api/v1/groups/{wholesale['id']}", json={"auto_assign": True}, headers=admin
    )
    assert enabled.status_code == 200, enabled.text
    path = tmp_path / "customers.csv"
    content = "email\nbuyer@acme-corp.com\nsomeone@gmail.com\nops@widgets.example\n"
    await asyncio.to_thread(path.write_text, content)

    job = await import_file(runtime, tenant, path, ImportOptions(batch_size=2, writers=2))

    assert job.status == "completed", job.failure
    assert job.counts.created == 3
    placed = {}
    for email in ("buyer@acme-corp.com", "someone@gmail.com", "ops@widgets.example"):
        found = await client.get("/api/v1/customers", params={"email": email}, headers=admin)
        (customer,) = found.json()["data"]
        placed[email] = customer["group_id"]
    assert placed == {
        "buyer@acme-corp.com": wholesale["id"],
        "someone@gmail.com": None,
        "ops@widgets.example": wholesale["id"],
    }
