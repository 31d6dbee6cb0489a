"""Importing customers through the gateway: a file with bad rows loses no good row, and the
error report names each bad one; the imported customers export again; an imported customer
base is not sent welcome emails, though its orders are confirmed; the command line imports
with progress bars and exports what it imported."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from patron_shared.testing import KafkaProbe

from .journeys import emails_to, place_order
from .test_customer_flow import eventually

pytestmark = pytest.mark.e2e


async def wait_for_import(
    gateway: httpx.AsyncClient, headers: dict[str, str], job_id: str
) -> dict[str, Any]:
    for _ in range(300):
        response = await gateway.get(f"/api/v1/imports/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] in ("completed", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"import {job_id} did not finish")


async def test_an_import_with_bad_rows_keeps_every_good_row_and_reports_each_bad_one(
    gateway: httpx.AsyncClient, tenant: str, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth(tenant, "admin")
    template = await gateway.get("/api/v1/imports/template.csv", headers=headers)
    assert template.status_code == 200
    body = (
        "email,first_name,last_name,phone,tags\n"
        "ada@example.com,Ada,Lovelace,,pioneer\n"  # row 2
        "nobody-at-example.com,No,Body,,\n"  # row 3: bad email
        "grace@example.com,Grace,Hopper,+14155550123,navy;pioneer\n"  # row 4
        "ada@example.com,Ada,Again,,\n"  # row 5: duplicate of row 2
        "alan@example.com,Alan,Turing,not-a-phone,\n"  # row 6: bad phone
        ",Nameless,,,\n"  # row 7: no email
    )

    dry = await gateway.post(
        "/api/v1/imports",
        params={"dry_run": "true"},
        content=body.encode(),
        headers=headers | {"Content-Type": "text/csv"},
    )
    assert dry.status_code == 202, dry.text
    previewed = await wait_for_import(gateway, headers, dry.json()["id"])
    assert previewed["counts"]["created"] == 2
    assert previewed["counts"]["errors"] == 4

    started = await gateway.post(
        "/api/v1/imports",
        content=body.encode(),
        headers=headers | {"Content-Type": "text/csv"},
    )
    assert started.status_code == 202, started.text
    job = await wait_for_import(gateway, headers, started.json()["id"])

    assert job["status"] == "completed", job
    assert job["counts"] == {"rows": 6, "created": 2, "updated": 0, "unchanged": 0, "errors": 4}
    for email, last_name in (("ada@example.com", "Lovelace"), ("grace@example.com", "Hopper")):
        found = await gateway.get("/api/v1/customers", params={"email": email}, headers=headers)
        assert [c["last_name"] for c in found.json()["data"]] == [last_name]

    report = await gateway.get(
        f"/api/v1/imports/{job['id']}/errors", params={"format": "csv"}, headers=headers
    )
    assert report.status_code == 200
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [(int(r["row"]), r["field"]) for r in rows] == [
        (3, "email"),
        (5, "email"),
        (6, "phone"),
        (7, "email"),
    ]

    exported = await gateway.get(
        "/api/v1/customers/export", params={"format": "csv", "tags": "pioneer"}, headers=headers
    )
    assert exported.status_code == 200
    emails = sorted(r["email"] for r in csv.DictReader(io.StringIO(exported.text)))
    assert emails == ["ada@example.com", "grace@example.com"]


async def test_imported_customers_get_no_welcome_but_their_orders_are_confirmed(
    gateway: httpx.AsyncClient,
    probe: KafkaProbe,
    stack: dict[str, str],
    tenant: str,
    auth: Callable[..., dict[str, str]],
) -> None:
    headers = auth(tenant, "admin")
    email = f"imported-{uuid.uuid4().hex[:8]}@e2e.example"
    started = await gateway.post(
        "/api/v1/imports",
        content=f"email,first_name\n{email},Iris\n".encode(),
        headers=headers | {"Content-Type": "text/csv"},
    )
    assert started.status_code == 202, started.text
    job = await wait_for_import(gateway, headers, started.json()["id"])
    assert job["counts"]["created"] == 1, job
    found = await gateway.get("/api/v1/customers", params={"email": email}, headers=headers)
    (customer,) = found.json()["data"]

    await place_order(probe, tenant, customer["id"], "E2E-IMP-1", "25.00")

    async def confirmation() -> list[dict[str, Any]]:
        return [m for m in await emails_to(stack, email) if "E2E-IMP-1" in (m["subject"] or "")]

    # The confirmation needs the customer's CustomerCreated handled first, and a welcome
    # would have been queued (so in the log) in that same transaction.
    (confirmed,) = await eventually(confirmation)
    assert "Iris" in confirmed["text"]
    log = await gateway.get(f"/api/v1/customers/{customer['id']}/notifications", headers=headers)
    assert log.status_code == 200, log.text
    assert [entry["template"] for entry in log.json()["data"]] == ["order_confirmation"]


async def patron(*args: str) -> tuple[int, str, str]:
    """The `patron` command line, run as a user runs it: exit code, stdout, stderr."""
    command = Path(sys.executable).with_name("patron")
    process = await asyncio.create_subprocess_exec(
        str(command),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ | {"COLUMNS": "160"},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_line_imports_with_progress_and_exports_what_it_imported(
    gateway: httpx.AsyncClient,
    stack: dict[str, str],
    tenant: str,
    auth: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> None:
    headers = auth(tenant, "admin")
    connection = ["--url", stack["PATRON_GATEWAY_URL"], "--token", headers["Authorization"][7:]]
    upload = tmp_path / "customers.csv"
    upload.write_text(
        "E-mail,Given name,Tags\n"
        "lin@example.com,Lin,cli\n"
        "kay@example.com,Kay,cli;vip\n"
        "not-an-email,Nobody,cli\n"
    )
    report = tmp_path / "errors.csv"

    code, out, err = await patron(
        "customers",
        "import",
        str(upload),
        "--mapping",
        "E-mail=email",
        "--mapping",
        "Given name=first_name",
        "--errors",
        str(report),
        "--interval",
        "0.2",
        *connection,
    )

    assert code == 0, err
    assert " completed: rows 3  created 2  updated 0  unchanged 0  errors 1" in out
    # the progress bars on stderr: the upload, then the job with its counts, both at 100%
    assert "upload" in err
    assert "rows 3  created 2" in err
    assert err.count("100%") >= 2
    assert [(r["row"], r["field"]) for r in csv.DictReader(report.open())] == [("4", "email")]

    code, out, err = await patron(
        "customers", "export", "--format", "csv", "--filter", "tags=cli", *connection
    )

    assert code == 0, err
    exported = {r["email"]: r for r in csv.DictReader(io.StringIO(out))}
    assert set(exported) == {"lin@example.com", "kay@example.com"}
    assert exported["kay@example.com"]["first_name"] == "Kay"
    assert "export" in err
