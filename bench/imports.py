"""Customer import benchmark: rows of a CSV file imported per second by the import job.

1. A fresh profile database (the service's own migrations).
2. A CSV file of `--rows` customers (email, names, phone, tags), `--bad-every` of them with a
   bad email, and every `--duplicate-every`th repeating an earlier email.
3. The import job as the service runs it (`service.imports.run_import`, the settings'
   batch size and writers), in this process, on the file: the figure is the job's wall
   time from start to its last commit, rows per second, and this process's and
   PostgreSQL's CPU. Creating the job row and the upload itself are not in the figure.
4. Checked: the job's counts, the customers stored, the outbox rows written (one
   CustomerCreated per customer created), the error rows.
5. With `--again unchanged|changed`, the same emails are imported a second time: every
   good row then matches its customer (by email), the upsert's other path, and changes
   nothing, or its last name (each customer updated through its aggregate, with its
   CustomerUpdated event).
6. Prints the figures and writes JSON to bench/results/imports-<UTC time>.json and
   imports-latest.json; the database is dropped.

    uv run python bench/imports.py [--rows N] [--batch-size N] [--writers N]
        [--again unchanged|changed]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench.*` importable
    sys.path.insert(0, str(ROOT))

from bench.cpu import cpu_used, process_cpu  # noqa: E402
from patron_profile.adapters.imports import ImportUnitOfWork  # noqa: E402
from patron_profile.adapters.tables import messaging  # noqa: E402
from patron_profile.domain.import_jobs import ImportJob  # noqa: E402
from patron_profile.service.imports import ImportOptions, create_import, run_import  # noqa: E402
from patron_profile.settings import ProfileSettings  # noqa: E402
from patron_shared.events import utcnow  # noqa: E402
from patron_shared.heap import settle_heap  # noqa: E402
from patron_shared.http import ServiceRuntime  # noqa: E402
from patron_shared.testing import (  # noqa: E402
    create_service_database,
    drop_database,
    resolve_database_url,
    unique_tenant,
)

NAME = "imports"
SERVICE = ROOT / "services" / "profile"
RESULTS = ROOT / "bench" / "results"
TARGET_SECONDS_PER_MILLION = 60.0


def write_file(
    path: Path, rows: int, bad_every: int, duplicate_every: int, *, last_name: str = "Last"
) -> dict[str, int]:
    """The CSV file; how many rows are good, bad and duplicates. `last_name`: the last
    names' prefix (another one changes every customer a second import matches)."""
    bad = duplicates = 0
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Email", "First name", "Last name", "Phone", "Tags"])
        for n in range(rows):
            email = f"customer{n}@example.com"
            if bad_every and n % bad_every == bad_every - 1:
                email = f"customer{n}-at-example.com"
                bad += 1
            elif duplicate_every and n % duplicate_every == duplicate_every - 1 and n > 1:
                email = "customer0@example.com"  # row 2 (never bad, never a duplicate)
                duplicates += 1
            phone = f"+1415555{n % 10_000:04d}" if n % 3 == 0 else ""
            writer.writerow([email, f"First{n}", f"{last_name}{n}", phone, "imported;bench"])
    return {"good": rows - bad - duplicates, "bad": bad, "duplicates": duplicates}


async def timed_import(
    new_uow: Callable[[], ImportUnitOfWork], job: ImportJob, path: Path, options: ImportOptions
) -> tuple[ImportJob, float, dict[str, float]]:
    """Run `job` on `path`: the job as it ended, its wall time, the cores used meanwhile."""
    await create_import(new_uow(), job)
    cpu_before = process_cpu()
    started = time.perf_counter()
    done = await run_import(new_uow, job.id, path, options)
    span = time.perf_counter() - started
    assert done is not None
    return done, span, cpu_used(cpu_before, span, {os.getpid(): "import job"})


async def measure(args: argparse.Namespace, app_url: str, owner_dsn: str) -> dict[str, Any]:
    os.environ["PATRON_DATABASE_URL"] = app_url
    settings = ProfileSettings()
    runtime = ServiceRuntime.create("profile", settings, messaging)
    settle_heap()  # as the service does once started
    tenant = unique_tenant("bench")
    options = ImportOptions(
        phone_default_region=settings.phone_default_region,
        batch_size=args.batch_size or settings.import_batch_size,
        writers=args.writers or settings.import_writers,
    )
    with tempfile.TemporaryDirectory(prefix="imports-bench-") as directory:
        path = Path(directory) / "customers.csv"
        started = time.perf_counter()
        expected = write_file(path, args.rows, args.bad_every, args.duplicate_every)
        written_s = time.perf_counter() - started
        now = utcnow()
        job = ImportJob(
            id=uuid.uuid4(),
            tenant_id=tenant,
            format="csv",
            dry_run=False,
            mapping={},
            file_bytes=path.stat().st_size,
            created_at=now,
            updated_at=now,
        )

        def new_uow() -> ImportUnitOfWork:
            return runtime.unit_of_work(ImportUnitOfWork, tenant_id=tenant)

        done, span, cpu = await timed_import(new_uow, job, path, options)
        again = None
        if args.again:
            # the same emails once more: every good row now matches its customer, which it
            # leaves unchanged, or (`changed`) whose last name it changes
            if args.again == "changed":
                write_file(
                    path, args.rows, args.bad_every, args.duplicate_every, last_name="Renamed"
                )
            repeat = replace(job, id=uuid.uuid4(), created_at=utcnow(), updated_at=utcnow())
            redone, again_span, again_cpu = await timed_import(new_uow, repeat, path, options)
            again = {
                "kind": args.again,
                "status": redone.status,
                "import_s": round(again_span, 2),
                "seconds_per_million": round(again_span * 1_000_000 / args.rows, 1),
                "counts": asdict(redone.counts),
                "cpu_cores": again_cpu,
            }
    await runtime.engine.dispose()
    connection = await asyncpg.connect(owner_dsn)
    try:
        stored = await connection.fetchval(
            "SELECT count(*) FROM customers WHERE tenant_id = $1", tenant
        )
        created_events = await connection.fetchval(
            "SELECT count(*) FROM outbox WHERE tenant_id = $1 AND message_type = 'CustomerCreated'",
            tenant,
        )
        error_rows = await connection.fetchval(
            "SELECT count(DISTINCT row_number) FROM import_errors WHERE tenant_id = $1", tenant
        )
    finally:
        await connection.close()
    counts = done.counts
    return {
        "rows": args.rows,
        "batch_size": options.batch_size,
        "writers": options.writers,
        "file_bytes": job.file_bytes,
        "file_written_s": round(written_s, 2),
        "status": done.status,
        "failure": done.failure,
        "import_s": round(span, 2),
        "rows_per_s": round(args.rows / span, 1) if span else None,
        "seconds_per_million": round(span * 1_000_000 / args.rows, 1),
        "counts": {
            "rows": counts.rows,
            "created": counts.created,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "errors": counts.errors,
        },
        "expected": expected,
        "stored_customers": stored,
        "customer_created_events": created_events,
        "error_rows": error_rows,
        "cpu_cores": cpu,
        "again": again,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    superuser = resolve_database_url()
    database = await asyncio.to_thread(create_service_database, SERVICE, superuser, "bench_imports")
    try:
        owner_dsn = database.owner_url.replace("postgresql+asyncpg://", "postgresql://")
        figures = await measure(args, database.app_url, owner_dsn)
    finally:
        await asyncio.to_thread(drop_database, superuser, database.name)
    expected = figures["expected"]
    exact = (
        figures["status"] == "completed"
        and figures["counts"]["created"] == expected["good"] == figures["stored_customers"]
        and figures["customer_created_events"] == expected["good"]
        and figures["error_rows"] == expected["bad"] + expected["duplicates"]
    )
    return {
        "benchmark": NAME,
        "measured_at": datetime.now(UTC).isoformat(),
        **figures,
        "targets": {"seconds_per_million": TARGET_SECONDS_PER_MILLION},
        "verdicts": {
            "seconds_per_million": figures["seconds_per_million"] <= TARGET_SECONDS_PER_MILLION,
            "exact": exact,
        },
        "machine": {"cpus": os.cpu_count()},
    }


def report(result: dict[str, Any], stamp: str) -> None:
    verdicts = result["verdicts"]
    print(f"\n{NAME}: {result['rows']:,} CSV rows ({result['file_bytes']:,} bytes)")
    print(
        f"  imported in {result['import_s']} s: {result['rows_per_s']:,.0f} rows/s, "
        f"{result['seconds_per_million']} s per million (target <= "
        f"{TARGET_SECONDS_PER_MILLION:.0f}) {'OK' if verdicts['seconds_per_million'] else 'MISS'}"
    )
    print(
        f"  counts {result['counts']}; stored {result['stored_customers']:,}, "
        f"CustomerCreated {result['customer_created_events']:,}, error rows "
        f"{result['error_rows']:,} {'OK' if verdicts['exact'] else 'WRONG'}"
    )
    print(f"  cpu cores {result['cpu_cores']}")
    again = result["again"]
    if again is not None:
        print(
            f"  the same emails again ({again['kind']}): {again['import_s']} s "
            f"({again['seconds_per_million']} s per million), counts {again['counts']}, "
            f"cpu cores {again['cpu_cores']}"
        )
    print(f"  (JSON: bench/results/{NAME}-{stamp}.json)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=0, help="default: the settings'")
    parser.add_argument("--writers", type=int, default=0, help="default: the settings'")
    parser.add_argument("--bad-every", type=int, default=1_000, help="0: no bad rows")
    parser.add_argument("--duplicate-every", type=int, default=997, help="0: no duplicates")
    parser.add_argument(
        "--again",
        choices=["unchanged", "changed"],
        help="then import the same emails again: the same file, or with new last names",
    )
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"{NAME}-{stamp}.json").write_text(text)
    (RESULTS / f"{NAME}-latest.json").write_text(text)
    report(result, stamp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
