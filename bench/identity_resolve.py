"""Identity resolve benchmark: `POST /api/v1/identity/resolve` with 1,000,000 identities.

Makes a fresh database migrated like production's, loads N identifier rows (emails, phones
and external ids of N/2.5 customers) into one tenant with COPY, plus 10% in a second tenant,
then runs the real identity service under uvicorn and measures resolve with a mix of
requests: known emails (written as people type them: mixed case, plus tags), known phones
(national format), known external ids, and new people (a new customer each):

1. maximum throughput (closed loop, C connections);
2. latency at a constant rate (open loop, scheduled by the clock; latency counts from the
   scheduled time, so a server that falls behind shows its queue).

Before measuring, a handful of requests check that known identifiers resolve to the
customers that own them. New people leave `UpsertCustomerFromSource` commands in the outbox;
no relay runs, so nothing reaches Kafka. Reuses the profile benchmark's HTTP client, load
loops and server handling. Prints the figures against the target (p95 <= 20 ms) and writes
JSON to bench/results/identity_resolve-<UTC time>.json and identity_resolve-latest.json.

    uv run python bench/identity_resolve.py [--identities N] [--seconds S] [--rate R]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from patron_shared.auth import mint_dev_token
from patron_shared.settings import DEV_JWT_SECRET
from patron_shared.testing import (
    ServiceDatabase,
    create_service_database,
    drop_database,
    resolve_database_url,
    resolve_kafka_bootstrap,
    unique_tenant,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_api import (  # the sibling benchmark, importable once its directory is on the path
    HOST,
    RESULTS,
    ROOT,
    UVICORN_OPTIONS,
    HttpConnection,
    RequestMaker,
    ServerProcess,
    closed_loop,
    http_post_json,
    open_loop,
    plain_dsn,
    run_loop,
    serving,
)

TARGET_P95_MS = 20.0
URL = "/api/v1/identity/resolve"
IDENTIFIERS_PER_CUSTOMER = 2.5  # every customer an email and a phone, one in two a shop id
AREA_CODES = (212, 305, 312, 415, 646, 718)
# What the load asks for, out of 100 requests.
MIX = (("email", 40), ("phone", 25), ("external_id", 25), ("new", 10))


@dataclass(frozen=True)
class Person:
    customer_id: uuid.UUID
    number: int


def email_of(n: int) -> str:
    return f"user{n}@example{n % 97}.com"


def phone_of(n: int) -> str:
    """A valid US number in E.164: distinct for n below 6 * 8,000,000."""
    area = AREA_CODES[n % len(AREA_CODES)]
    rest = n // len(AREA_CODES)
    return f"+1{area}{200 + rest // 10_000}{rest % 10_000:04d}"


def external_id_of(n: int) -> str:
    return f"shopify:cust_{n}"


def identifier_rows(
    tenant: str, customers: int, first: int, when: datetime
) -> Iterator[tuple[Any, ...]]:
    for n in range(first, first + customers):
        customer_id = uuid.uuid4()
        yield (tenant, "email", email_of(n), customer_id, "profile", when, when)
        yield (tenant, "phone", phone_of(n), customer_id, "profile", when, when)
        if n % 2 == 0:
            yield (tenant, "external_id", external_id_of(n), customer_id, "shopify", when, when)


async def seed(owner_dsn: str, tenant: str, other: str, identities: int) -> dict[str, Any]:
    """COPY the identifier rows as the owner with the secondary index dropped, rebuild it
    from its own definition, then VACUUM ANALYZE and CHECKPOINT (no phase measures the
    seed's writes being flushed)."""
    customers = int(identities / IDENTIFIERS_PER_CUSTOMER)
    connection = await asyncpg.connect(owner_dsn)
    timings: dict[str, Any] = {"customers": customers}
    try:
        await connection.execute("SET maintenance_work_mem = '512MB'")
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = 'identifiers' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = 'identifiers'::regclass)"
        )
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        started = time.perf_counter()
        when = datetime.now(UTC)
        columns = ["tenant_id", "kind", "value", "customer_id", "source"]
        columns += ["first_seen_at", "last_seen_at"]
        for name, count, first in ((tenant, customers, 0), (other, customers // 10, customers)):
            rows = list(identifier_rows(name, count, first, when))
            await connection.copy_records_to_table("identifiers", records=rows, columns=columns)
        timings["copy_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        for index in indexes:
            await connection.execute(index["indexdef"])
        timings["index_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        await connection.execute("VACUUM (ANALYZE) identifiers")
        await connection.execute("CHECKPOINT")
        timings["vacuum_checkpoint_seconds"] = round(time.perf_counter() - started, 2)
        timings["rows"] = await connection.fetchval(
            "SELECT count(*) FROM identifiers WHERE tenant_id = $1", tenant
        )
        timings["table_mb"] = round(
            await connection.fetchval("SELECT pg_table_size('identifiers')") / 2**20, 1
        )
        timings["indexes_mb"] = round(
            await connection.fetchval("SELECT pg_indexes_size('identifiers')") / 2**20, 1
        )
    finally:
        await connection.close()
    return timings


async def owners(owner_dsn: str, tenant: str, numbers: list[int]) -> dict[int, str]:
    """Who owns each seeded person's email, read back from the database."""
    connection = await asyncpg.connect(owner_dsn)
    try:
        rows = await connection.fetch(
            "SELECT value, customer_id FROM identifiers WHERE tenant_id = $1 AND kind = 'email' "
            "AND value = ANY($2::text[])",
            tenant,
            [email_of(n) for n in numbers],
        )
    finally:
        await connection.close()
    by_email = {row["value"]: str(row["customer_id"]) for row in rows}
    return {n: by_email[email_of(n)] for n in numbers}


def typed_email(n: int, rng: random.Random) -> str:
    """The seeded address as a person might type it (normalization folds it back)."""
    local, domain = email_of(n).split("@")
    return f"{local.capitalize()}@{domain.upper() if rng.random() < 0.5 else domain}"


def national_phone(n: int) -> str:
    e164 = phone_of(n)
    return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"


def body_for(kind: str, n: int, rng: random.Random) -> dict[str, Any]:
    if kind == "email":
        return {"source": "api", "email": typed_email(n, rng)}
    if kind == "phone":
        return {"source": "api", "phone": national_phone(n)}
    if kind == "external_id":
        return {"source": "shopify", "external_id": f"cust_{n}"}
    fresh = uuid.uuid4().hex[:12]
    return {"source": "pos", "external_id": fresh, "email": f"new-{fresh}@example.org"}


def request_maker(port: int, token: str, customers: int, seed: int) -> RequestMaker:
    rng = random.Random(seed)
    kinds = [kind for kind, weight in MIX for _ in range(weight)]

    def make(_: int) -> tuple[str, bytes]:
        kind = rng.choice(kinds)
        n = rng.randrange(customers)
        if kind == "external_id":
            n -= n % 2  # one in two customers has a shop id: the even ones
        return kind, http_post_json(port, URL, token, body_for(kind, n, rng))

    return make


async def check_answers(
    port: int, token: str, expected: dict[int, str], rng: random.Random
) -> dict[str, int]:
    """Known identifiers (every kind, as typed) resolve to their owner; a new one creates."""
    connection = await HttpConnection(port).open()
    checked = 0
    try:
        for n, customer_id in expected.items():
            for kind in ("email", "phone", "external_id") if n % 2 == 0 else ("email", "phone"):
                status, raw = await connection.request(
                    http_post_json(port, URL, token, body_for(kind, n, rng))
                )
                answer = json.loads(raw)
                if status != 200 or answer["customer_id"] != customer_id:
                    raise RuntimeError(f"{kind} of person {n}: {status} {answer}")
                checked += 1
        status, raw = await connection.request(
            http_post_json(port, URL, token, body_for("new", 0, rng))
        )
        if status != 201 or not json.loads(raw)["created"]:
            raise RuntimeError(f"a new person was not created: {status} {raw!r}")
    finally:
        connection.close()
    return {"known_checked": checked, "new_checked": 1}


@dataclass(frozen=True)
class Options:
    identities: int
    seconds: float
    warmup: float
    concurrency: int
    rate: float
    pool_size: int


def identity_command() -> list[str]:
    return [
        sys.executable,
        *("-m", "uvicorn", "patron_identity.app:create_app", "--factory", "--host", HOST),
        *UVICORN_OPTIONS,
    ]


async def run(database: ServiceDatabase, options: Options, logs: Path) -> dict[str, Any]:
    tenant, other = unique_tenant("bench"), unique_tenant("bench-other")
    owner_dsn = plain_dsn(database.owner_url)
    print(f"loading {options.identities:,} identities with COPY (+10% in another tenant)")
    started = time.perf_counter()
    seeding = await seed(owner_dsn, tenant, other, options.identities)
    seeding["total_seconds"] = round(time.perf_counter() - started, 2)
    customers = seeding["customers"]
    print(
        f"  {seeding['rows']:,} rows in {seeding['total_seconds']} s (copy "
        f"{seeding['copy_seconds']} s, index {seeding['index_seconds']} s); table "
        f"{seeding['table_mb']} MB, indexes {seeding['indexes_mb']} MB"
    )
    rng = random.Random(7)
    expected = await owners(owner_dsn, tenant, rng.sample(range(customers), 20))
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant=tenant, roles=("service",))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_")} | {
        "PATRON_DATABASE_URL": database.app_url,
        "PATRON_DATABASE_POOL_SIZE": str(options.pool_size),
        "PATRON_KAFKA_BOOTSTRAP": resolve_kafka_bootstrap(),
        "PATRON_CONSUMER_GROUP_PREFIX": f"bench-{uuid.uuid4().hex[:8]}-",
        "PATRON_CONSUMER_OFFSET_RESET": "latest",
        "PATRON_OUTBOX_RELAY_IN_PROCESS": "false",
        "PATRON_LOG_LEVEL": "WARNING",
    }
    result: dict[str, Any] = {
        "identities": seeding["rows"],
        "customers": customers,
        "mix_percent": dict(MIX),
        "seeding": seeding,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "options": options.__dict__,
    }
    limit = int(options.seconds * 20_000)
    async with serving("identity", identity_command(), env, logs) as server:
        port = server.port
        result["correctness"] = await check_answers(port, token, expected, rng)
        print(f"measuring resolve: max throughput, {options.concurrency} connections")
        throughput = await closed_loop(
            port,
            request_maker(port, token, customers, 1),
            server_pid=server.pid,
            concurrency=options.concurrency,
            seconds=options.seconds,
            max_requests=limit,
            warmup=options.warmup,
        )
        result["throughput"] = throughput.report()
        print(f"measuring resolve: latency at {options.rate:.0f} requests/s")
        fixed, schedule = await open_loop(
            port,
            request_maker(port, token, customers, 2),
            server_pid=server.pid,
            rate=options.rate,
            seconds=options.seconds,
        )
        result["at_rate"] = fixed.report() | {"schedule": schedule}
    latency = result["at_rate"]["latency"]
    result["target_p95_ms"] = TARGET_P95_MS
    result["verdict"] = (
        "ERROR"
        if result["at_rate"]["errors"] or result["throughput"]["errors"]
        else ("PASS" if latency.get("p95_ms", float("inf")) <= TARGET_P95_MS else "MISS")
    )
    return result


def print_report(result: dict[str, Any], stamp: str) -> None:
    print(
        f"\nidentity_resolve: {result['identities']:,} identities of {result['customers']:,} "
        f"customers, {result['machine']['cpus']} CPUs"
    )
    for name in ("throughput", "at_rate"):
        phase = result[name]
        latency = phase["latency"]
        print(
            f"  {name:<11} {phase['requests_per_s']:>8.1f} req/s  p50 {latency['p50_ms']} ms  "
            f"p95 {latency['p95_ms']} ms  p99 {latency['p99_ms']} ms  errors {phase['errors']}"
        )
        for label, by in phase["by_label"].items():
            print(f"    {label:<12} p50 {by['p50_ms']} ms  p95 {by['p95_ms']} ms  n={by['count']}")
    cpu = result["at_rate"]["cpu"]
    print(
        f"  at rate: server {cpu['server_cores']:.2f} cores, postgres "
        f"{cpu['postgres_cores']:.2f}, generator {cpu['generator_cores']:.2f}, others "
        f"{cpu['other_processes_cores']:.2f}"
    )
    print(
        f"  p95 at {result['options']['rate']:.0f}/s: {result['at_rate']['latency']['p95_ms']} ms "
        f"(target <= {TARGET_P95_MS:.0f} ms): {result['verdict']}"
    )
    print(f"  (JSON: bench/results/identity_resolve-{stamp}.json)")


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--identities", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measurement")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16, help="clients for max throughput")
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s for latency")
    parser.add_argument("--pool-size", type=int, default=10, help="the service's DB pool")
    parser.add_argument("--keep-db", action="store_true", help="keep the loaded database")
    args = parser.parse_args()
    options = Options(
        identities=args.identities,
        seconds=args.seconds,
        warmup=args.warmup,
        concurrency=args.concurrency,
        rate=args.rate,
        pool_size=args.pool_size,
    )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    began = time.perf_counter()
    superuser = resolve_database_url()
    service = ROOT / "services" / "identity-merge"
    database = create_service_database(service, superuser, "bench_identity")
    logs = Path(tempfile.mkdtemp(prefix="patron-bench-"))
    try:
        result = run_loop(run(database, options, logs))
    finally:
        ServerProcess.stop_all()
        shutil.rmtree(logs, ignore_errors=True)
        if args.keep_db:
            print(f"kept database {database.name} ({plain_dsn(database.owner_url)})")
        else:
            drop_database(superuser, database.name)
    result["total_seconds"] = round(time.perf_counter() - began, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"identity_resolve-{stamp}.json").write_text(text)
    (RESULTS / "identity_resolve-latest.json").write_text(text)
    print_report(result, stamp)


if __name__ == "__main__":
    main()
