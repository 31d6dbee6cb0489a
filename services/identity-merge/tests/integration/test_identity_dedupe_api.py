"""File dedupe and batch dedupe runs through the HTTP API, on a real database."""

from __future__ import annotations

import asyncio
import csv
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from patron_identity.adapters.dedupe_runs import SqlRunLeases, interrupt_orphaned_runs
from patron_identity.adapters.tables import identity_customers, messaging
from patron_identity.adapters.uow import IdentityUnitOfWork
from patron_identity.app import create_app
from patron_identity.domain.dedupe_runs import INTERRUPTED, DedupeRun
from patron_identity.settings import IdentitySettings
from patron_shared.http import ServiceRuntime
from patron_shared.testing import bearer_headers

pytestmark = pytest.mark.integration
FILE_URL = "/api/v1/identity/dedupe-file"
RUNS_URL = "/api/v1/identity/dedupe-runs"
PEOPLE_CSV = (
    "id,first_name,last_name,E-mail,phone,date_of_birth\n"
    "a1,Ann,Lee,ann.lee@example.com,+14155550101,1990-01-31\n"
    "b2,Zed,Marsh,zed@example.com,,\n"
    "a3,Ann,Lee,ANN.LEE@example.com,(415) 555-0101,1990-01-31\n"
)


# --------------------------------------------------------------------------- file dedupe


async def test_a_csv_body_is_clustered_and_answered_as_json(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        FILE_URL,
        params={"map": "E-mail=email"},
        content=PEOPLE_CSV,
        headers=admin | {"Content-Type": "text/csv"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    clusters = {row["id"]: row["cluster_id"] for row in body["records"]}
    assert clusters == {"a1": "a1", "b2": "b2", "a3": "a1"}
    assert body["records"][0]["matches"][0]["id"] == "a3"
    assert body["records"][0]["matches"][0]["decision"] == "merge"
    (pair,) = body["pairs"]
    assert (pair["left_id"], pair["right_id"], pair["decision"]) == ("a1", "a3", "merge")
    explained = {item["field"]: item["level"] for item in pair["explanation"]}
    assert explained["email"] == "exact"
    assert body["summary"]["records"] == 3
    assert body["summary"]["merges"] == 1


async def test_an_uploaded_form_file_is_answered_as_csv_when_asked(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        FILE_URL,
        files={"file": ("people.csv", PEOPLE_CSV.encode(), "text/csv")},
        data={"map": "E-mail=email"},
        headers=admin | {"Accept": "text/csv"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(response.text.splitlines()))
    assert [(row["id"], row["cluster_id"], row["cluster_size"]) for row in rows] == [
        ("a1", "a1", "2"),
        ("b2", "b2", "1"),
        ("a3", "a1", "2"),
    ]
    assert response.headers["X-Dedupe-Merges"] == "1"


async def test_a_registry_style_file_joins_mapped_columns_and_reports_impossible_dates(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # the layout public linkage data sets use: street number apart, birth dates as YYYYMMDD
    content = (
        "rec_id,given_name,surname,street_number,address_1,suburb,postcode,date_of_birth\n"
        "rec-1-org,mitchell,green,7,wallaby place,cleveland,2119,19560409\n"
        "rec-1-dup-0,mitchell,green,7,wallaby place,cleveland,2119,19561409\n"
        "rec-2-org,harley,mccarthy,177,pridham street,marsden,3165,19080419\n"
    )
    params = [
        ("id_column", "rec_id"),
        ("map", "given_name=first_name"),
        ("map", "surname=last_name"),
        ("map", "street_number=address1"),
        ("map", "address_1=address1"),
        ("map", "suburb=city"),
    ]

    response = await client.post(
        FILE_URL, params=params, content=content, headers=admin | {"Content-Type": "text/csv"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"]["ignored_values"] == 1
    assert "line 3" in body["summary"]["ignored_examples"][0]
    clusters = {row["id"]: row["cluster_id"] for row in body["records"]}
    assert clusters["rec-1-dup-0"] == "rec-1-org"
    assert clusters["rec-2-org"] == "rec-2-org"
    (pair,) = body["pairs"]
    explained = {item["field"]: item["level"] for item in pair["explanation"]}
    assert explained["address1"] == "exact"
    assert explained["date_of_birth"] == "missing"


@pytest.mark.parametrize(
    ("content", "params", "field", "detail"),
    [
        (PEOPLE_CSV, {"map": "E-mail=mail"}, "map", "unknown field 'mail'"),
        ("id,email\n1,a@example.com\n1,b@example.com\n", {}, "id", "line 3"),
        ("id,date_of_birth\n1,01/02/1990\n", {}, "date_of_birth", "line 2"),
        ("name,email\nAnn,a@example.com\n", {}, "id_column", "no id column"),
    ],
)
async def test_an_invalid_file_or_mapping_is_a_422_problem_naming_field_and_line(
    *,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    content: str,
    params: dict[str, str],
    field: str,
    detail: str,
) -> None:
    response = await client.post(
        FILE_URL, params=params, content=content, headers=admin | {"Content-Type": "text/csv"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert detail in problem["detail"]


async def test_a_file_over_the_row_limit_is_a_413_problem(
    service_settings: IdentitySettings, admin: dict[str, str]
) -> None:
    limited = create_app(service_settings.model_copy(update={"dedupe_file_max_rows": 2}))
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as http:
        response = await http.post(
            FILE_URL, content=PEOPLE_CSV, headers=admin | {"Content-Type": "text/csv"}
        )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "more than 2 rows" in response.json()["detail"]


async def test_a_json_body_is_a_415_and_a_reader_may_not_dedupe_files(
    client: httpx.AsyncClient, tenant: str, admin: dict[str, str]
) -> None:
    as_json = await client.post(FILE_URL, json={"rows": []}, headers=admin)
    reader = bearer_headers(tenant, scopes=["identity:read"]) | {"Content-Type": "text/csv"}
    forbidden = await client.post(FILE_URL, content=PEOPLE_CSV, headers=reader)

    assert as_json.status_code == 415
    assert forbidden.status_code == 403


# --------------------------------------------------------------------------- dedupe runs

JOINED = datetime(2025, 1, 1, tzinfo=UTC)


FEATURES = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "date_of_birth",
    "address1",
    "city",
    "postcode",
    "country",
    "deleted_at",
)


def customer_row(n: int, **features: Any) -> dict[str, Any]:
    return {
        "customer_id": uuid.uuid4(),
        "source_updated_at": JOINED,
        "created_at": JOINED + timedelta(minutes=n),
        **dict.fromkeys(FEATURES),
        **features,
    }


async def store_customers(runtime: ServiceRuntime, tenant: str, rows: list[dict[str, Any]]) -> None:
    """Customers as the projection stores them, without screening them one by one."""
    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        await uow.session.execute(
            insert(identity_customers), [{"tenant_id": tenant, **row} for row in rows]
        )
        await uow.commit()


def small_tenant() -> list[dict[str, Any]]:
    ann = {"first_name": "Ann", "last_name": "Lee", "date_of_birth": date(1990, 1, 31)}
    return [
        # the same person twice: shared email and phone
        customer_row(0, email="ann.lee@example.com", phone="+14155550101", **ann),
        customer_row(1, email="ann.lee@example.com", phone="+14155550101", **ann),
        # a household: same last name and address, another first name (a person decides)
        customer_row(
            2,
            first_name="Robert",
            last_name="Smith",
            address1="12 Oak Street",
            city="Austin",
            postcode="78701",
            country="US",
        ),
        customer_row(
            3,
            first_name="Mary",
            last_name="Smith",
            address1="12 Oak St",
            city="Austin",
            postcode="78701",
            country="US",
        ),
        customer_row(4, first_name="Zed", last_name="Marsh", email="zed@example.com"),
        customer_row(5, first_name="Ann", last_name="Lee", deleted_at=JOINED, email="x@x.io"),
    ]


async def follow(client: httpx.AsyncClient, headers: dict[str, str], run_id: str) -> list[Any]:
    """Every snapshot of the run until it finishes."""
    seen: list[Any] = []
    for _ in range(500):
        response = await client.get(f"{RUNS_URL}/{run_id}", headers=headers)
        assert response.status_code == 200
        seen.append(response.json())
        if seen[-1]["status"] in ("succeeded", "failed"):
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"the run did not finish: {seen[-1]}")


async def test_a_dedupe_run_reports_progress_and_ends_with_merges_and_suggestions(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    rows = small_tenant()
    await store_customers(runtime, tenant, rows)

    started = await client.post(RUNS_URL, json={"estimate_model": False}, headers=admin)

    assert started.status_code == 202, started.text
    run = started.json()
    assert run["status"] in ("queued", "running")
    assert started.headers["Location"] == f"{RUNS_URL}/{run['id']}"
    snapshots = await follow(client, admin, run["id"])
    order = {"queued": 0, "running": 1, "succeeded": 2, "failed": 2}
    statuses = [order[s["status"]] for s in snapshots]
    assert statuses == sorted(statuses)
    assert snapshots[0]["status"] in ("queued", "running")
    final = snapshots[-1]
    assert final["status"] == "succeeded", final
    assert final["customers_total"] == final["customers_scanned"] == 5
    assert final["pairs_compared"] >= 2
    assert final["merges"] == 1
    assert final["suggestions"] == 1
    assert final["started_at"]
    assert final["finished_at"]
    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        commands = (
            await uow.session.execute(
                select(messaging.outbox.c.payload).where(
                    messaging.outbox.c.tenant_id == tenant,
                    messaging.outbox.c.message_type == "MergeCustomers",
                )
            )
        ).scalars()
        merges = [payload["data"] for payload in commands]
    assert [(m["customer_id"], m["secondary_id"]) for m in merges] == [
        (str(rows[0]["customer_id"]), str(rows[1]["customer_id"]))
    ]


async def test_runs_are_listed_newest_first_a_page_at_a_time(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    await store_customers(runtime, tenant, small_tenant()[:2])
    ids = []
    for _ in range(3):
        started = (await client.post(RUNS_URL, headers=admin)).json()
        await follow(client, admin, started["id"])
        ids.append(started["id"])

    first = (await client.get(RUNS_URL, params={"per_page": 2}, headers=admin)).json()
    cursor = first["meta"]["next_cursor"]
    second = (
        await client.get(RUNS_URL, params={"per_page": 2, "cursor": cursor}, headers=admin)
    ).json()

    assert [r["id"] for r in first["data"] + second["data"]] == ids[::-1]
    assert second["meta"]["next_cursor"] is None


async def test_a_second_run_while_one_is_running_is_a_409_until_its_process_is_gone(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    # a run another process executes: its lease is held
    running = DedupeRun.queued(estimate_model=False, requested_by="other", at=datetime.now(UTC))
    running.start(at=datetime.now(UTC), customers_total=0)
    lease = await SqlRunLeases(runtime.engine).acquire(running.id)
    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        assert await uow.dedupe_runs.add(running)
        await uow.commit()

    refused = await client.post(RUNS_URL, headers=admin)
    await lease.release()  # that process stops
    accepted = await client.post(RUNS_URL, headers=admin)

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["run_id"] == str(running.id)
    assert accepted.status_code == 202
    await follow(client, admin, accepted.json()["id"])
    interrupted = (await client.get(f"{RUNS_URL}/{running.id}", headers=admin)).json()
    assert (interrupted["status"], interrupted["error"]) == ("failed", INTERRUPTED)


async def test_a_restart_fails_the_runs_no_process_executes_any_more(
    client: httpx.AsyncClient, runtime: ServiceRuntime, tenant: str, admin: dict[str, str]
) -> None:
    orphan = DedupeRun.queued(estimate_model=True, requested_by="ops", at=datetime.now(UTC))
    orphan.start(at=datetime.now(UTC), customers_total=10)
    async with runtime.unit_of_work(IdentityUnitOfWork, tenant_id=tenant) as uow:
        assert await uow.dedupe_runs.add(orphan)
        await uow.commit()

    interrupted = await interrupt_orphaned_runs(runtime.engine, INTERRUPTED)

    assert interrupted >= 1
    run = (await client.get(f"{RUNS_URL}/{orphan.id}", headers=admin)).json()
    assert (run["status"], run["error"], run["phase"]) == ("failed", INTERRUPTED, None)
    assert run["finished_at"] is not None


async def test_a_run_of_another_tenant_is_not_found_and_readers_cannot_start_runs(
    client: httpx.AsyncClient, tenant: str, admin: dict[str, str]
) -> None:
    started = (await client.post(RUNS_URL, headers=admin)).json()
    await follow(client, admin, started["id"])
    stranger = bearer_headers(f"{tenant}-other")
    reader = bearer_headers(tenant, scopes=["identity:read"])

    unseen = await client.get(f"{RUNS_URL}/{started['id']}", headers=stranger)
    refused = await client.post(RUNS_URL, headers=reader)

    assert unseen.status_code == 404
    assert unseen.headers["content-type"] == "application/problem+json"
    assert refused.status_code == 403
