"""Batch dedupe run over 100,000 stored customers, end to end through the identity service.

1. A fresh identity database, migrated with the service's own migrations.
2. `--customers` records (default 100,000) from `bench/identity_data.py` (generated people,
   about a third of them with realistic duplicates) copied into one tenant's
   `identity_customers` with COPY, as the projection stores them; `ANALYZE`.
3. The real identity service under uvicorn (one worker, the application role). The run is
   started with `POST /api/v1/identity/dedupe-runs` and followed with `GET` every
   `--poll` seconds until it finishes; the time from the POST to `finished` is the figure
   (target <= 120 s), with how long each phase (loading, estimating, matching, applying)
   took as the polls saw it.
4. Holds the run's merges and review suggestions against the generator's truth: merge
   precision, and how many of the duplicate records were merged away.
5. Prints the figures, writes JSON to bench/results/identity_dedupe-<UTC time>.json and
   identity_dedupe-latest.json; drops the database unless `--keep-db`.

    uv run python bench/identity_dedupe.py [--customers N] [--estimate] [--keep-db]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench.identity_data` importable
    sys.path.insert(0, str(ROOT))

from bench.identity_data import generate  # noqa: E402
from patron_shared.auth import mint_dev_token  # noqa: E402
from patron_shared.settings import DEV_JWT_SECRET  # noqa: E402
from patron_shared.testing import (  # noqa: E402
    create_service_database,
    drop_database,
    resolve_database_url,
    resolve_kafka_bootstrap,
)

RESULTS = ROOT / "bench" / "results"
NAME = "identity_dedupe"
HOST = "127.0.0.1"
TENANT = "bench-dedupe"
TARGET_SECONDS = 120.0
COLUMNS = (
    "tenant_id",
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "address1",
    "address2",
    "city",
    "state",
    "postcode",
    "country",
    "date_of_birth",
    "source_updated_at",
    "created_at",
)


def customer_rows(count: int, seed: int) -> tuple[list[tuple[Any, ...]], dict[uuid.UUID, str]]:
    """`count` generated records as identity customer rows, oldest first by record id, and
    the person each customer id really is (the truth, for scoring the run's decisions)."""
    people = int(count / 1.4) + 100  # about 1.5 records per person
    records = generate(people, seed)
    while len(records) < count:
        people = int(people * 1.2)
        records = generate(people, seed)
    joined = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    person_of: dict[uuid.UUID, str] = {}
    for n, rec in enumerate(records[:count]):
        customer_id = uuid.uuid4()
        person_of[customer_id] = rec.person_id
        rows.append(
            (
                TENANT,
                customer_id,
                rec.email.strip().lower() or None,
                rec.phone or None,
                rec.first_name or None,
                rec.last_name or None,
                rec.address1 or None,
                rec.address2 or None,
                rec.city or None,
                rec.state or None,
                rec.postcode or None,
                rec.country or None,
                date.fromisoformat(rec.date_of_birth) if rec.date_of_birth else None,
                joined + timedelta(seconds=n),
                joined + timedelta(seconds=n),
            )
        )
    return rows, person_of


def plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def load(owner_url: str, rows: list[tuple[Any, ...]]) -> float:
    began = time.perf_counter()
    connection = await asyncpg.connect(plain_dsn(owner_url))
    try:
        await connection.copy_records_to_table(
            "identity_customers", records=rows, columns=list(COLUMNS)
        )
        await connection.execute("ANALYZE identity_customers")
    finally:
        await connection.close()
    return time.perf_counter() - began


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_service(app_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_")} | {
        "PATRON_DATABASE_URL": app_url,
        "PATRON_KAFKA_BOOTSTRAP": resolve_kafka_bootstrap(),
        "PATRON_CONSUMER_GROUP_PREFIX": f"bench-{uuid.uuid4().hex[:8]}-",
        "PATRON_CONSUMER_OFFSET_RESET": "latest",
        "PATRON_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        *("-m", "uvicorn", "patron_identity.app:create_app", "--factory"),
        *("--host", HOST, "--port", str(port), "--workers", "1", "--no-access-log"),
        *("--log-level", "warning"),
    ]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_service(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def wait_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    for _ in range(360):
        if process.poll() is not None:
            raise RuntimeError("the identity service exited early; see its log")
        try:
            if (await client.get("/ready")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.25)
    raise RuntimeError("the identity service did not get ready")


async def dedupe_run(base_url: str, estimate: bool, poll_s: float) -> dict[str, Any]:
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant=TENANT, roles=["admin"])
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        began = time.perf_counter()
        response = await client.post(
            "/api/v1/identity/dedupe-runs", json={"estimate_model": estimate}
        )
        response.raise_for_status()
        run = response.json()
        phases: dict[str, float] = {}
        phase_began, phase = began, run.get("phase") or run["status"]
        while run["status"] not in ("succeeded", "failed"):
            await asyncio.sleep(poll_s)
            run = (await client.get(f"/api/v1/identity/dedupe-runs/{run['id']}")).json()
            now_phase = run.get("phase") or run["status"]
            if now_phase != phase:
                phases[phase] = phases.get(phase, 0.0) + time.perf_counter() - phase_began
                phase, phase_began = now_phase, time.perf_counter()
            print(
                f"  {time.perf_counter() - began:6.1f} s  {run['status']:<9} "
                f"{run.get('phase') or '':<10} scanned {run['customers_scanned']:,}  "
                f"pairs {run['pairs_compared']:,}  merges {run['merges']:,}  "
                f"suggestions {run['suggestions']:,}",
                flush=True,
            )
        seconds = time.perf_counter() - began
    return {"seconds": round(seconds, 2), "phase_seconds": _rounded(phases), "run": run}


async def decision_quality(
    owner_url: str,
    person_of: dict[uuid.UUID, str],
    customers: list[tuple[Any, ...]],
    shown: int,
) -> dict[str, Any]:
    """The run's merges and review suggestions held against the truth.

    A merge is right when both customers are the same person. Duplicates are the records
    beyond each person's first: a perfect run merges every one of them away. Wrong merges
    are counted by the rule that made them, and the first few shown with their evidence.
    """
    connection = await asyncpg.connect(plain_dsn(owner_url))
    try:
        rows = await connection.fetch(
            "SELECT first_customer_id, second_customer_id, status, rule, score, explanation "
            "FROM duplicate_suggestions ORDER BY score DESC, id"
        )
    finally:
        await connection.close()
    by_id = {row[1]: row for row in customers}
    merges = [r for r in rows if r["status"] == "accepted"]
    reviews = [r for r in rows if r["status"] == "pending"]

    def same(row: Any) -> bool:
        return person_of[row["first_customer_id"]] == person_of[row["second_customer_id"]]

    right = sum(map(same, merges))
    duplicates = len(person_of) - len(set(person_of.values()))
    wrong = [row for row in merges if not same(row)]
    return {
        "wrong_merges_by_rule": dict(Counter(row["rule"] for row in wrong)),
        "wrong_merge_examples": [
            {
                "rule": row["rule"],
                "score": round(row["score"], 6),
                "customers": [
                    _described(by_id[row["first_customer_id"]]),
                    _described(by_id[row["second_customer_id"]]),
                ],
                "evidence": " ".join(
                    f"{item['field']}:{item['level']}({item['weight']:+.1f})"
                    for item in json.loads(row["explanation"])
                ),
            }
            for row in wrong[:shown]
        ],
        "true_duplicate_records": duplicates,
        "merges": len(merges),
        "merges_right": right,
        "merge_precision": round(right / len(merges), 5) if merges else None,
        "duplicates_merged_share": round(right / duplicates, 5) if duplicates else None,
        "reviews": len(reviews),
        "reviews_same_person": sum(map(same, reviews)),
    }


def _described(row: tuple[Any, ...]) -> str:
    # the row as COLUMNS lays it out, tenant and id left out
    return " | ".join("-" if value is None else str(value) for value in row[2:13])


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in values.items()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    rows, person_of = customer_rows(args.customers, args.seed)
    generation_seconds = time.perf_counter() - began
    superuser = resolve_database_url()
    # migrated by the service's own scripts (in a thread: the helper runs its own loop)
    database = await asyncio.to_thread(
        create_service_database, ROOT / "services" / "identity-merge", superuser, "bench_identity"
    )
    try:
        load_seconds = await load(database.owner_url, rows)
        print(f"loaded {len(rows):,} customers with COPY in {load_seconds:.1f} s", flush=True)
        port = free_port()
        log = Path(tempfile.gettempdir()) / f"{NAME}-service.log"
        process = start_service(database.app_url, port, log)
        try:
            async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client:
                await wait_ready(client, process)
            result = await dedupe_run(f"http://{HOST}:{port}", args.estimate, args.poll)
        finally:
            stop_service(process)
        quality = await decision_quality(database.owner_url, person_of, rows, args.show)
    finally:
        if not args.keep_db:
            await asyncio.to_thread(drop_database, superuser, database.name)
    final = result["run"]
    return {
        "customers": len(rows),
        "seed": args.seed,
        "estimate_model": args.estimate,
        "generation_seconds": round(generation_seconds, 2),
        "load_seconds": round(load_seconds, 2),
        "load_rows_per_second": round(len(rows) / load_seconds),
        "run_seconds": result["seconds"],
        "phase_seconds": result["phase_seconds"],
        "status": final["status"],
        "error": final["error"],
        "customers_scanned": final["customers_scanned"],
        "pairs_compared": final["pairs_compared"],
        "merges": final["merges"],
        "suggestions": final["suggestions"],
        "decision_quality": quality,
        "target_run_seconds": TARGET_SECONDS,
        "meets_target": final["status"] == "succeeded" and result["seconds"] <= TARGET_SECONDS,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }


def _quality_line(quality: dict[str, Any]) -> str:
    return (
        f"{quality['merges_right']:,} of {quality['merges']:,} merges right "
        f"(precision {quality['merge_precision']}), "
        f"{quality['duplicates_merged_share']} of {quality['true_duplicate_records']:,} "
        f"duplicate records merged away; {quality['reviews_same_person']:,} of "
        f"{quality['reviews']:,} review suggestions are the same person"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--estimate", action="store_true", help="fit the model in the run")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between GETs")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--show", type=int, default=5, help="wrong merges to print")
    args = parser.parse_args(argv)

    result = asyncio.run(run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"{NAME}-{stamp}.json").write_text(text)
    (RESULTS / f"{NAME}-latest.json").write_text(text)
    verdict = "OK" if result["meets_target"] else "MISS"
    print(
        f"\n{result['customers']:,} customers: dedupe run {result['status']} in "
        f"{result['run_seconds']:.1f} s (target <= {TARGET_SECONDS:.0f} s: {verdict})\n"
        f"  phases: {result['phase_seconds']}\n"
        f"  pairs compared {result['pairs_compared']:,}, merges {result['merges']:,}, "
        f"suggestions {result['suggestions']:,}\n"
        f"  against the truth: {_quality_line(result['decision_quality'])}\n"
        f"  wrong merges by rule: {result['decision_quality']['wrong_merges_by_rule']}\n"
        f"  COPY load: {result['load_seconds']:.1f} s ({result['load_rows_per_second']:,} rows/s)\n"
        f"  (JSON: bench/results/{NAME}-{stamp}.json)"
    )
    for example in result["decision_quality"]["wrong_merge_examples"]:
        print(f"  wrong merge ({example['rule']}, p={example['score']}):")
        for customer in example["customers"]:
            print(f"    {customer}")
        print(f"    {example['evidence']}")
    return 0 if result["status"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
